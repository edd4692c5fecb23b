"""On PostgreSQL the global search's customer lookups can read their indexes (migration applications 0022): the
name's trigram index for a prefix and for a part, the reversed ID and phone numbers' B-trees for an ending. The
planner's choice on a million rows is measured by bench/search.py; here seq scans are switched off so that the plan
shows whether an index *can* serve each query the search sends."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loancenter import search as S

DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")),
                       reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)"),
    pytest.mark.django_db,
]


def customer_lookup_plan(user, q: str) -> str:
    with CaptureQueriesContext(connection) as captured:
        S.search(user, q)
    (sql,) = [x["sql"] for x in captured.captured_queries
              if x["sql"].startswith('SELECT "applications_customer"."id" AS "pk"')]
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cur.fetchall())


@pytest.mark.parametrize("q,index", [("欧阳", "customer_name_trgm"), ("欧阳锋", "customer_name_trgm"),
                                     ("5678", "customer_phone_suffix"), ("５６７８", "customer_id_suffix"),
                                     ("12345X", "customer_id_suffix")])
def test_each_customer_lookup_reads_its_index(staff, q, index):
    assert index in customer_lookup_plan(staff.boss, q)


def test_the_migration_made_the_indexes():
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'applications_customer'")
        names = {row[0] for row in cur.fetchall()}
    assert {"customer_name_trgm", "customer_id_suffix", "customer_phone_suffix"} <= names
