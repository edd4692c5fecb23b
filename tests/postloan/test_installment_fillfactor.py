"""The installments' pages keep room for a repricing night's rewrites (PostgreSQL; postloan 0028).

A rewrite stays on its page, writing no index entry, only while the page has room for the new version; the 1M
January bench's night found room for 4,456,222 of 5,033,337 rewrites at fillfactor 60 and 3,366,217 at 70
(docs/decisions.md). A migration that reset the table's storage setting would slow every 1 January night unnoticed.
"""

from __future__ import annotations

import pytest
from django.db import connection

from postloan.models import Installment

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"),
]


@pytest.mark.django_db
def test_the_installments_table_is_filled_to_sixty_percent():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [Installment._meta.db_table])
        (options,) = cursor.fetchone()
    assert options == ["fillfactor=60"]
