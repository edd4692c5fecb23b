"""Retention and destruction: not before the retention date, approved by someone else, witnessed, once, kept forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from archive import services
from archive.models import Destruction, ItemState, RetentionPeriod
from archive.selectors import destruction_register, items_due_for_destruction
from loancenter.lib.dates import add_months, today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation, SeparationOfDuty
from loancenter.models import AuditEntry, RefusedAttempt
from tests.archive.conftest import item, lend_out, tick, tick_all

ELEVEN_YEARS = timedelta(days=365 * 11 + 3)


@pytest.fixture
def filed(staff, settled):
    tick_all(staff, settled)
    return settled


def later(delta=ELEVEN_YEARS):
    return time_machine.travel(timezone.now() + delta)


def test_defaults_are_ten_years_and_thirty_for_accounting_vouchers(db):
    years = dict(RetentionPeriod.objects.values_list("category", "years"))
    assert years == {"borrower": 10, "investigation": 10, "legal": 10, "voucher": 30, "postloan": 10}


def test_destroying_before_the_retention_date_is_refused(staff, filed):
    it = item(filed, "loan_application")
    until = add_months(today(), 120)

    with pytest.raises(RuleViolation) as refused:
        services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="到期")

    assert refused.value.code == "retention_not_expired" and until.isoformat() in refused.value.message
    assert not Destruction.objects.exists()
    assert RefusedAttempt.objects.filter(action="archive_destruction_propose", code="retention_not_expired").exists()


def test_active_loan_documents_cannot_be_destroyed(staff, active):
    it = tick(staff, item(active, "loan_application"))
    with later(), pytest.raises(RuleViolation) as refused:
        services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="到期")
    assert refused.value.code == "retention_not_started"


def test_accounting_vouchers_are_kept_thirty_years(staff, filed):
    voucher = item(filed, "disbursement_voucher")
    with later():
        with pytest.raises(RuleViolation, match="must be kept until"):
            services.destruction_propose(item_id=voucher.pk, actor=staff.arch, reason="到期")
        due = {i.code for i in items_due_for_destruction()}
        assert "loan_application" in due and "disbursement_voucher" not in due
    with later(timedelta(days=365 * 30 + 10)):
        services.destruction_propose(item_id=voucher.pk, actor=staff.arch, reason="会计凭证保管期满")


def test_propose_approve_with_witness_destroys_and_keeps_the_record(staff, filed):
    it = item(filed, "loan_application")
    with later():
        destruction = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=staff.gen,
                                     method="碎纸机粉碎")
        destroyed_on = today()
        assert list(destruction_register(destroyed_on, destroyed_on)) == [destruction]

    destruction.refresh_from_db()
    it.refresh_from_db()
    assert destruction.status == Destruction.DESTROYED
    assert (destruction.proposed_by, destruction.decided_by, destruction.witness) == (staff.arch, staff.boss, staff.gen)
    assert it.state == ItemState.DESTROYED and it.destroyed_on == destruction.destroyed_on
    assert AuditEntry.objects.get(action="archive_destruction_approve").payload["witness"] == "gen"
    with pytest.raises(ValueError, match="kept forever"):
        destruction.delete()
    destruction.method = "改写"
    with pytest.raises(ValueError, match="never changed"):
        destruction.save()


def test_proposer_cannot_approve_their_own_destruction(staff, filed):
    it = item(filed, "loan_application")
    with later():
        destruction = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        with pytest.raises(SeparationOfDuty):
            services.destruction_approve(destruction_id=destruction.pk, actor=staff.arch, witness=staff.gen)
    destruction.refresh_from_db()
    it.refresh_from_db()
    assert destruction.status == Destruction.PROPOSED and it.state == ItemState.ON_FILE
    assert RefusedAttempt.objects.filter(action="archive_destruction_approve", code="separation_of_duty").exists()


def test_approval_needs_a_deciding_post_and_a_witness_other_than_the_proposer(staff, filed):
    it = item(filed, "loan_application")
    with later():
        destruction = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        with pytest.raises(Forbidden):
            services.destruction_approve(destruction_id=destruction.pk, actor=staff.rev, witness=staff.gen)
        with pytest.raises(RuleViolation, match="witness"):
            services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=staff.arch)
        with pytest.raises(RuleViolation, match="witness"):
            services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=None)
    destruction.refresh_from_db()
    assert destruction.status == Destruction.PROPOSED


def test_destroying_twice_is_refused(staff, filed):
    it = item(filed, "loan_application")
    with later():
        destruction = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        with pytest.raises(InvalidState, match="already proposed"):
            services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="再次")
        services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=staff.gen)
        with pytest.raises(InvalidState, match="already destroyed"):
            services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="再次")
        with pytest.raises(InvalidState, match="already"):
            services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=staff.gen)
    assert Destruction.objects.count() == 1


def test_a_file_lent_out_cannot_be_destroyed(staff, filed):
    it = item(filed, "loan_application")
    with later():
        destruction = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        lending = lend_out(staff, it, requester=staff.gen, approver=staff.boss)
        with pytest.raises(InvalidState, match="lent out"):
            services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=staff.gen)
        services.lending_return(lending_id=lending.pk, actor=staff.arch)
        services.destruction_approve(destruction_id=destruction.pk, actor=staff.boss, witness=staff.gen)


def test_retention_is_configurable_and_the_change_is_audited(staff, filed):
    it = item(filed, "loan_application")
    services.retention_set(category="borrower", years=15, actor=staff.gen)
    assert AuditEntry.objects.get(action="archive_retention_set").payload == {
        "category": "borrower", "years": 15, "before": 10, "basis": ""}
    with later(), pytest.raises(RuleViolation, match="must be kept until"):
        services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
    with pytest.raises(Forbidden):
        services.retention_set(category="borrower", years=1, actor=staff.arch)


def test_refused_destruction_can_be_proposed_again_later(staff, filed):
    it = item(filed, "loan_application")
    with later():
        first = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="保管期满")
        services.destruction_refuse(destruction_id=first.pk, actor=staff.boss, reason="涉诉,暂缓销毁")
        second = services.destruction_propose(item_id=it.pk, actor=staff.arch, reason="诉讼已结")
    first.refresh_from_db()
    assert first.status == Destruction.REFUSED and second.status == Destruction.PROPOSED
