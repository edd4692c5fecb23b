"""``manage.py verify_audit`` walks the chain and names the first row someone rewrote or removed (issue 7 part 3).

The keyed chain, its head and truncation: tests/audit/test_keyed_chain.py (issue 13).
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from applications.models import Status
from loancenter import audit as audit_chain
from loancenter.models import AuditEntry
from tests.audit.support import empty_trail, raw, triggers_off


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue().strip()


def broken(excinfo) -> str:
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


@pytest.fixture
def approved(flow, draft):
    return flow.advance(draft, Status.APPROVED)


def test_the_chain_is_intact_after_a_loans_happy_path(approved):
    rows = AuditEntry.objects.count()
    assert approved.audit_entries.filter(action="approve").exists()

    last = AuditEntry.objects.order_by("id").last()
    assert verify().splitlines() == [f"audit chain intact: {rows} rows", f"checkpoint: {last.pk}:{last.hash}"]


def test_an_empty_trail_is_intact(db):
    empty_trail()
    assert verify() == "audit chain intact: 0 rows"


def test_a_payload_edited_behind_the_applications_back_is_found(approved):
    entries = list(approved.audit_entries.order_by("id"))
    target = next(e for e in entries if e.action == "approve")
    with triggers_off():
        raw(f"UPDATE {audit_chain.TABLE} SET payload = %s WHERE id = %s", ['{"amount": "9999999.00"}', target.pk])

    with pytest.raises(CommandError) as excinfo:
        verify()

    message = broken(excinfo)
    assert f"broken at row {target.pk} (content hash)" in message
    # Every row before it still checks out.
    assert f"after {AuditEntry.objects.filter(id__lt=target.pk).count()} intact rows" in message


def test_a_reason_edited_even_with_a_recomputed_own_hash_breaks_the_next_link(approved):
    entries = list(approved.audit_entries.order_by("id"))
    target, following = entries[-2], entries[-1]
    forged = audit_chain.entry_hash(
        prev_hash=target.prev_hash, at=target.at, actor_id=target.actor_id, action=target.action,
        loan_id=target.loan_id, object_type=target.object_type, object_id=target.object_id,
        from_status=target.from_status, to_status=target.to_status, payload=target.payload, reason="forged",
    )
    with triggers_off():
        raw(f"UPDATE {audit_chain.TABLE} SET reason = 'forged', hash = %s WHERE id = %s", [forged, target.pk])

    with pytest.raises(CommandError) as excinfo:
        verify()

    assert f"broken at row {following.pk} (previous link)" in broken(excinfo)


def test_a_deleted_middle_row_is_found_as_a_broken_link(approved):
    entries = list(AuditEntry.objects.order_by("id"))
    middle = len(entries) // 2
    removed, following = entries[middle], entries[middle + 1]
    with triggers_off():
        raw(f"DELETE FROM {audit_chain.TABLE} WHERE id = %s", [removed.pk])

    with pytest.raises(CommandError) as excinfo:
        verify()

    message = broken(excinfo)
    assert f"broken at row {following.pk} (previous link)" in message
    assert f"the preceding row's hash is {entries[middle - 1].hash}" in message


def test_a_tampered_timestamp_is_found(approved):
    target = approved.audit_entries.order_by("id").first()
    with triggers_off():
        AuditEntry.objects.filter(pk=target.pk).update(at=target.at.replace(year=target.at.year - 1))

    with pytest.raises(CommandError) as excinfo:
        verify()

    assert f"broken at row {target.pk} (content hash)" in broken(excinfo)
