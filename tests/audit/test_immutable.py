"""Audit rows can be inserted but never updated or deleted: the database itself refuses (issue 7 part 3)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from applications.models import Status
from applications.workflow import audit
from loancenter import audit as audit_chain
from loancenter.models import AuditEntry
from tests.audit.support import raw


@pytest.fixture
def entry(staff, draft):
    return audit(actor=staff.mkt, action="loan_update", loan=draft, obj=draft, payload={"amount": "100000.00"},
                 reason="typo")


def unchanged(entry: AuditEntry) -> bool:
    row = AuditEntry.objects.get(pk=entry.pk)
    return (row.reason, row.payload, row.hash) == ("typo", {"amount": "100000.00"}, entry.hash)


def test_an_orm_update_is_refused_by_the_database(entry):
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="nothing happened")

    assert unchanged(entry)


def test_an_orm_delete_is_refused_by_the_database(entry):
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()

    assert unchanged(entry)


@pytest.mark.parametrize("sql", [
    f"UPDATE {audit_chain.TABLE} SET payload = '{{}}' WHERE id = %s",
    f"UPDATE {audit_chain.TABLE} SET hash = 'x' WHERE id = %s",
    f"DELETE FROM {audit_chain.TABLE} WHERE id = %s",
])
def test_raw_sql_cannot_update_or_delete_an_audit_row(entry, sql):
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        raw(sql, [entry.pk])

    assert unchanged(entry)


def test_saving_or_deleting_an_entry_object_is_refused_before_the_database(entry):
    entry.reason = "rewritten"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()

    assert unchanged(entry)


def test_each_row_links_to_the_one_before(flow, draft):
    flow.advance(draft, Status.UNDER_REVIEW)

    rows = list(AuditEntry.objects.order_by("id").values_list("prev_hash", "hash"))
    assert len(rows) > 3
    assert rows[0][0] == audit_chain.GENESIS
    assert all(later[0] == earlier[1] for earlier, later in zip(rows, rows[1:], strict=False))
    assert len({digest for _prev, digest in rows}) == len(rows)


def test_bulk_create_appends_each_row_to_the_chain(staff):
    before = AuditEntry.objects.count()

    AuditEntry.objects.bulk_create([AuditEntry(actor=staff.gen, action=f"import_{n}") for n in range(3)])

    rows = list(AuditEntry.objects.order_by("id").values_list("prev_hash", "hash"))[before - 1 if before else 0:]
    assert AuditEntry.objects.count() == before + 3
    assert all(later[0] == earlier[1] for earlier, later in zip(rows, rows[1:], strict=False))


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_database_and_leaves_the_rows_immutable(staff):
    # Transactional tests (and `manage.py flush`) empty every table between tests: TRUNCATE on
    # PostgreSQL, which row triggers do not see; on SQLite our flush lifts the triggers for that moment.
    from django.core.management import call_command

    assert AuditEntry.objects.exists()  # staff_create audited the personas' posts
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists()

    entry = AuditEntry.objects.create(action="after_flush")
    assert entry.prev_hash == audit_chain.GENESIS
    with pytest.raises(IntegrityError, match="immutable"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
