"""Write-off (rule 21): proposed with legal documents, reviewed, approved by someone else; recoveries recorded apart."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Status
from loancenter.lib.errors import DomainError, SeparationOfDuty
from loancenter.models import AuditEntry
from loancenter.services import staff_create
from loancenter.transitions import perform
from postloan.models import Repayment, WriteOff, WriteOffRecovery
from postloan.write_off import (
    recovery_record,
    write_off_approve,
    write_off_propose,
    write_off_reject,
    write_off_review,
)
from tests.conftest import PASSWORD

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def loan(staff, flow, draft):
    with time_machine.travel(datetime.combine(date(2025, 1, 15), time(10), tzinfo=SH), tick=False):
        return flow.advance(draft, Status.ACTIVE)


def propose(staff, loan, actor=None):
    return write_off_propose(loan_id=loan.pk, actor=actor or staff.gen, reason="借款人死亡,无遗产可供执行",
                             legal_documents=["death_certificate", "enforcement_terminated"])


def test_full_path_then_transition_then_recoveries(staff, loan):
    proposal = propose(staff, loan)
    assert proposal.principal == Decimal("100000.00")
    write_off_review(write_off_id=proposal.pk, actor=staff.rev, note="材料齐全")
    write_off_approve(write_off_id=proposal.pk, actor=staff.boss, note="同意核销")
    perform("write_off", loan_id=loan.pk, actor=staff.gen, data={"reason": "经批准核销"})
    loan.refresh_from_db()
    proposal.refresh_from_db()
    assert loan.status == Status.WRITTEN_OFF and proposal.status == WriteOff.DONE
    recovery, created = recovery_record(loan_id=loan.pk, actor=staff.gen, amount=Decimal("5000.00"),
                                        recovered_on=date.today(), reference="REC-1")
    again, created_again = recovery_record(loan_id=loan.pk, actor=staff.gen, amount=Decimal("5000.00"),
                                           recovered_on=date.today(), reference="REC-1")
    assert created and not created_again and again.pk == recovery.pk
    assert WriteOffRecovery.objects.filter(loan=loan).count() == 1
    assert not Repayment.objects.filter(loan=loan).exists()  # reported apart from repayments
    with pytest.raises(DomainError) as caught:
        recovery_record(loan_id=loan.pk, actor=staff.gen, amount=proposal.total, recovered_on=date.today(), reference="REC-2")
    assert caught.value.code == "over_recovery"


def test_write_off_transition_refused_without_an_approved_write_off(staff, loan):
    proposal = propose(staff, loan)
    write_off_review(write_off_id=proposal.pk, actor=staff.rev)
    audits = AuditEntry.objects.count()
    with pytest.raises(DomainError) as caught:
        perform("write_off", loan_id=loan.pk, actor=staff.gen, data={"reason": "x"})
    assert caught.value.code == "write_off_not_approved"
    loan.refresh_from_db()
    assert loan.status == Status.ACTIVE and AuditEntry.objects.count() == audits


def test_proposer_never_reviews_or_approves(staff, loan):
    gen_rev = staff_create(username="genrev", posts=["general", "reviewer"], password=PASSWORD, full_name="gr")
    gen_boss = staff_create(username="genboss", posts=["general", "manager"], password=PASSWORD, full_name="gb")
    proposal = propose(staff, loan, actor=gen_rev)
    with pytest.raises(SeparationOfDuty):
        write_off_review(write_off_id=proposal.pk, actor=gen_rev)
    with pytest.raises(SeparationOfDuty):
        write_off_reject(write_off_id=proposal.pk, actor=gen_rev, note="撤回")
    proposal.refresh_from_db()
    assert proposal.status == WriteOff.PROPOSED and proposal.reviewed_by is None
    write_off_reject(write_off_id=proposal.pk, actor=staff.rev, note="材料不全")
    second = propose(staff, loan, actor=gen_boss)
    write_off_review(write_off_id=second.pk, actor=staff.rev)
    with pytest.raises(SeparationOfDuty):
        write_off_approve(write_off_id=second.pk, actor=gen_boss)
    second.refresh_from_db()
    assert second.status == WriteOff.REVIEWED and second.approved_by is None


def test_reviewer_never_approves(staff, loan):
    rev_boss = staff_create(username="revboss", posts=["reviewer", "manager"], password=PASSWORD, full_name="rb")
    proposal = propose(staff, loan)
    write_off_review(write_off_id=proposal.pk, actor=rev_boss)
    with pytest.raises(SeparationOfDuty) as caught:
        write_off_approve(write_off_id=proposal.pk, actor=rev_boss)
    assert "reviewed" in caught.value.message
    proposal.refresh_from_db()
    assert proposal.status == WriteOff.REVIEWED
    write_off_approve(write_off_id=proposal.pk, actor=staff.appr)


def test_proposal_needs_legal_documents_and_general_post(staff, loan):
    with pytest.raises(DomainError) as caught:
        write_off_propose(loan_id=loan.pk, actor=staff.gen, reason="无法收回", legal_documents=[])
    assert caught.value.code == "legal_documents"
    with pytest.raises(DomainError) as caught:
        propose(staff, loan, actor=staff.rev)
    assert caught.value.code == "post_required"
    assert not WriteOff.objects.exists()


def test_approval_only_after_review(staff, loan):
    proposal = propose(staff, loan)
    with pytest.raises(DomainError) as caught:
        write_off_approve(write_off_id=proposal.pk, actor=staff.boss)
    assert caught.value.code == "invalid_state"


def test_who_turns_a_write_off_down_depends_on_how_far_it_went(staff, loan):
    """The reviewer turns down a proposal, the manager or approver a reviewed one; never the other way round."""
    proposal = propose(staff, loan)
    with pytest.raises(DomainError) as caught:
        write_off_reject(write_off_id=proposal.pk, actor=staff.boss, note="不同意")
    assert caught.value.code == "post_required"
    write_off_review(write_off_id=proposal.pk, actor=staff.rev)
    with pytest.raises(DomainError) as caught:
        write_off_reject(write_off_id=proposal.pk, actor=staff.rev, note="不同意")
    assert caught.value.code == "post_required"
    proposal.refresh_from_db()
    assert proposal.status == WriteOff.REVIEWED and proposal.rejected_by is None
    write_off_reject(write_off_id=proposal.pk, actor=staff.boss, note="不同意")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.rejected_by) == (WriteOff.REJECTED, staff.boss)
    with pytest.raises(DomainError) as caught:
        write_off_reject(write_off_id=proposal.pk, actor=staff.boss, note="再次")
    assert caught.value.code == "invalid_state"
