"""Manual five-level grade changes (SPEC §6): worse at once with reasons; better only with a second person's approval."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from applications.models import Status
from loancenter.lib.errors import DomainError, SeparationOfDuty
from loancenter.lib.money import q2
from loancenter.services import staff_create
from postloan.grades import grade_change_approve, grade_change_propose, grade_change_reject
from postloan.models import GradeChange
from tests.conftest import PASSWORD

SH = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


@pytest.fixture
def loan(staff, flow, draft):
    with at(date(2025, 1, 15)):
        return flow.advance(draft, Status.ACTIVE)


def run_batch(day: date) -> None:
    with at(day, hour=23):
        call_command("run_nightly_batch", "--as-of", day.isoformat(), stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_downgrade_applies_at_once_and_the_batch_keeps_it_as_a_floor(staff, loan):
    with at(date(2025, 2, 1)):
        change = grade_change_propose(loan_id=loan.pk, actor=staff.rev, to_grade="substandard", reasons="借款人失业")
    assert change.status == GradeChange.APPLIED
    loan.refresh_from_db()
    assert loan.grade == "substandard" and loan.manual_grade == "substandard"
    assert loan.provision == q2(loan.outstanding_principal * Decimal("0.25"))
    run_batch(date(2025, 2, 1))
    loan.refresh_from_db()
    assert loan.days_past_due == 0 and loan.grade == "substandard"


def test_downgrade_needs_reasons_and_a_worse_grade(staff, loan):
    with at(date(2025, 2, 1)):
        with pytest.raises(DomainError) as caught:
            grade_change_propose(loan_id=loan.pk, actor=staff.gen, to_grade="doubtful", reasons=" ")
        assert caught.value.code == "reasons_required"
        with pytest.raises(DomainError) as caught:
            grade_change_propose(loan_id=loan.pk, actor=staff.mkt, to_grade="doubtful", reasons="x")
        assert caught.value.code == "post_required"
    loan.refresh_from_db()
    assert loan.grade == "normal" and loan.manual_grade == "" and not GradeChange.objects.exists()


def test_upgrade_waits_for_a_second_person_and_lowers_the_floor(staff, loan):
    with at(date(2025, 2, 1)):
        grade_change_propose(loan_id=loan.pk, actor=staff.gen, to_grade="doubtful", reasons="涉诉")
        up = grade_change_propose(loan_id=loan.pk, actor=staff.gen, to_grade="special_mention", reasons="诉讼和解")
        loan.refresh_from_db()
        assert up.status == GradeChange.PENDING and loan.grade == "doubtful"
        grade_change_approve(change_id=up.pk, actor=staff.boss, note="同意")
    loan.refresh_from_db()
    assert loan.grade == "special_mention" and loan.manual_grade == "special_mention"
    assert loan.provision == q2(loan.outstanding_principal * Decimal("0.02"))
    run_batch(date(2025, 2, 2))
    loan.refresh_from_db()
    assert loan.grade == "special_mention"


def test_proposer_never_approves_the_upgrade(staff, loan):
    boss_rev = staff_create(username="bossrev", posts=["manager", "reviewer"], password=PASSWORD, full_name="br")
    with at(date(2025, 2, 1)):
        grade_change_propose(loan_id=loan.pk, actor=staff.gen, to_grade="substandard", reasons="失联")
        up = grade_change_propose(loan_id=loan.pk, actor=boss_rev, to_grade="special_mention", reasons="已联系上")
        for service, kwargs in ((grade_change_approve, {}), (grade_change_reject, {"note": "x"})):
            with pytest.raises(SeparationOfDuty):
                service(change_id=up.pk, actor=boss_rev, **kwargs)
        with pytest.raises(DomainError) as caught:
            grade_change_approve(change_id=up.pk, actor=staff.gen)  # general proposes but does not approve
        assert caught.value.code == "post_required"
        up.refresh_from_db()
        loan.refresh_from_db()
        assert up.status == GradeChange.PENDING and loan.grade == "substandard"
        grade_change_approve(change_id=up.pk, actor=staff.rev)
    loan.refresh_from_db()
    assert loan.grade == "special_mention"


def test_upgrade_never_below_the_days_past_due_floor(staff, loan):
    run_batch(date(2025, 2, 20))  # first installment due 2025-02-15: 5 days past due
    loan.refresh_from_db()
    assert loan.grade == "special_mention"
    with at(date(2025, 2, 21)), pytest.raises(DomainError) as caught:
        grade_change_propose(loan_id=loan.pk, actor=staff.gen, to_grade="normal", reasons="客户信用良好")
    assert caught.value.code == "below_floor"
    assert not GradeChange.objects.exists()


def test_non_performing_by_arrears_goes_back_only_by_the_upgrade_rule(staff, loan):
    run_batch(date(2025, 5, 20))  # 94 days past due: substandard
    loan.refresh_from_db()
    assert loan.grade == "substandard"
    loan.oldest_unpaid_due = date(2025, 6, 15)  # as if the arrears were just repaid: the batch holds it until cured
    loan.save(update_fields=["oldest_unpaid_due"])
    assert loan.days_past_due == 0
    with at(date(2025, 5, 21)), pytest.raises(DomainError) as caught:
        grade_change_propose(loan_id=loan.pk, actor=staff.gen, to_grade="special_mention", reasons="已还清")
    assert caught.value.code == "upgrade_rule"
