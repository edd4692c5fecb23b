"""A loan's life through the nightly batch, day by day (SPEC §6; issue 4's required checkpoints)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from applications.models import Status
from loancenter.lib.dates import add_months
from postloan.models import CollectionCase, EscalationTask, Installment
from postloan.selectors import schedule_as_of_book
from postloan.services import repayment_post
from tests.factories import CustomerFactory, add_guarantor

SH = ZoneInfo("Asia/Shanghai")
RATE, MARKUP = Decimal("0.0435"), Decimal("0.5")
PROVISION = {"normal": "0.01", "special_mention": "0.02", "substandard": "0.25", "doubtful": "0.50", "loss": "1.00"}


def at(day: date, hour: int = 2):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


def run_batch(as_of: date) -> None:
    with at(as_of + timedelta(days=1)):
        call_command("run_nightly_batch", "--as-of", as_of.isoformat(), stdout=open("/dev/null", "w"))  # noqa: SIM115


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_penalty(loan, as_of: date) -> Decimal:
    """Worked out independently: each unpaid installment due before as-of, (principal + interest) × rate × 1.5 / 360 × days."""
    total = Decimal("0")
    for inst in loan.installments.filter(due_date__lt=as_of):
        days = (as_of - inst.due_date).days
        total += cents((inst.principal + inst.interest) * RATE * (1 + MARKUP) / 360 * days)
    return total


@pytest.fixture
def disbursed(staff, flow, draft):
    add_guarantor(draft, CustomerFactory(officer=staff.mkt))
    with at(date(2025, 1, 15), hour=10):
        return flow.advance(draft, Status.ACTIVE)


CHECKPOINTS = [
    # days past due, tier, owner post, grade
    (0, "", None, "normal"),
    (1, "T1", "marketing", "special_mention"),
    (30, "T1", "marketing", "special_mention"),
    (31, "T2", "general", "special_mention"),
    (90, "T2", "general", "special_mention"),
    (91, "T3", "general", "substandard"),
    (270, "T3", "general", "substandard"),
    (271, "T3", "general", "doubtful"),
    (360, "T3", "general", "doubtful"),
    (361, "T3", "general", "loss"),
]


def test_unpaid_loan_moves_through_tiers_grades_and_penalty_to_the_cent(staff, disbursed):
    loan = disbursed
    first_due = loan.installments.get(number=1).due_date
    assert first_due == date(2025, 2, 15)
    for days, tier, owner_post, grade in CHECKPOINTS:
        as_of = first_due + timedelta(days=days)
        run_batch(as_of)
        loan.refresh_from_db()
        assert loan.days_past_due == days, as_of
        assert loan.collection_tier == tier, days
        assert loan.grade == grade, days
        assert loan.provision == cents(loan.outstanding_principal * Decimal(PROVISION[grade])), days
        penalty = sum(i.penalty for i in schedule_as_of_book(loan))  # what the schedule page and API show
        assert penalty == expected_penalty(loan, as_of), days
        case = CollectionCase.objects.filter(loan=loan, closed_on__isnull=True).first()
        if owner_post is None:
            assert case is None
        else:
            assert (case.tier, case.owner_post) == (tier, owner_post)
            assert case.owner == (staff.mkt if tier == "T1" else None)
    kinds = set(EscalationTask.objects.filter(loan=loan).values_list("kind", flat=True))
    assert kinds == {"handover_t2", "legal_action", "guarantor_demand"}
    assert CollectionCase.objects.filter(loan=loan).count() == 1


def test_penalty_on_day_one_and_thirty(disbursed):
    loan = disbursed
    first = loan.installments.get(number=1)
    daily = (first.principal + first.interest) * RATE * Decimal("1.5") / 360
    run_batch(first.due_date + timedelta(days=1))
    shown = schedule_as_of_book(loan)[0]
    assert shown.penalty == cents(daily)
    assert shown.status == Installment.OVERDUE
    run_batch(first.due_date + timedelta(days=30))
    assert schedule_as_of_book(loan)[0].penalty == cents(daily * 30)


def test_running_the_same_date_twice_changes_nothing(disbursed):
    loan = disbursed
    as_of = loan.installments.get(number=1).due_date + timedelta(days=45)
    run_batch(as_of)
    state = lambda: (  # noqa: E731
        list(loan.installments.values_list("penalty_accrued", "penalty", "status")),
        list(type(loan).objects.filter(pk=loan.pk).values_list("oldest_unpaid_due", "grade", "collection_tier", "provision")),
        loan.regrade_pending,
        list(CollectionCase.objects.values_list("tier", "closed_on")), EscalationTask.objects.count(),
    )
    before = state()
    run_batch(as_of)
    call_command("run_nightly_batch", "--as-of", as_of.isoformat(), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert state() == before


def pay_arrears(staff, loan, on: date, ref: str) -> None:
    owed = sum((i.due_on(on) for i in loan.installments.filter(due_date__lte=on, paid_off_on__isnull=True)), Decimal("0"))
    with at(on, hour=12):
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=owed, paid_on=on, reference=ref)


def test_paid_up_closes_the_case_but_a_bad_loan_regrades_only_after_six_months_on_time(staff, disbursed):
    loan = disbursed
    first_due = loan.installments.get(number=1).due_date
    run_batch(first_due + timedelta(days=100))
    loan.refresh_from_db()
    assert loan.grade == "substandard"
    cured_on = first_due + timedelta(days=101)
    pay_arrears(staff, loan, cured_on, "ARREARS")
    run_batch(cured_on)
    loan.refresh_from_db()
    assert loan.days_past_due == 0 and loan.collection_tier == ""
    assert CollectionCase.objects.get(loan=loan).closed_on == cured_on
    assert loan.grade == "substandard"  # arrears repaid, but not yet 6 months on time
    # The borrower pays every installment on its due date for the next six months.
    day = cured_on
    for n, inst in enumerate(loan.installments.filter(due_date__gt=cured_on).order_by("number")[:7]):
        pay_arrears(staff, loan, inst.due_date, f"ON-TIME-{n}")
        day = inst.due_date
        if day >= add_months(cured_on, 6):
            break
        run_batch(day)
        loan.refresh_from_db()
        assert loan.grade == "substandard", day
    run_batch(add_months(cured_on, 6))
    loan.refresh_from_db()
    assert loan.grade == "normal"
    assert loan.provision == cents(loan.outstanding_principal * Decimal("0.01"))
