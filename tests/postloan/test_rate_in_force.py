"""After a repricing, servicing and penalty use the rate in force, not the rate of the disbursement (issue 19, SPEC §15,
§16.31–33; ``postloan.models.RateHistory``).

An LPR loan approved at 5-year LPR 3.65 % − 20 bp = 3.45 % is repriced by the real nightly batch to 3.30 % − 20 bp =
3.10 %. The expected figures are worked out here with exact fractions and the hand rules of ``test_repricing``
(``expected_tail``: balance × rate / 12 half-up, the annuity rounded to the cent), not with the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications.models import Status
from postloan.book import penalty_on_sql
from postloan.collections import overdue_amounts
from postloan.models import Installment, Notice, RateClock, Repayment, Repricing, ServicingRequest, rate_history
from postloan.selectors import schedule_as_of_book
from postloan.services import repayment_post
from postloan.servicing import payoff_quote, servicing_approve, servicing_execute, servicing_file
from postloan.write_off import write_off_propose
from tests.postloan.test_batch_life import at, run_batch
from tests.postloan.test_repricing import (  # noqa: F401  (lpr_product: a fixture)
    ANNIVERSARY,
    expected_tail,
    figures,
    half_up,
    lpr_loan,
    lpr_product,
    pay_through,
    publish,
)

SR = ServicingRequest
OLD, NEW = Decimal("0.0345"), Decimal("0.0310")
MARKUP = Decimal("0.5")  # the product's penalty markup, kept at approval
JANUARY = date(2026, 1, 1)


def accrued(amount: Decimal, rate: Decimal, days: int) -> Decimal:
    """Interest of ``amount`` for ``days`` at annual/360 a day, half-up (SPEC §5), exactly."""
    return half_up(Fraction(amount) * Fraction(rate) * days / 360)


def penalty(base: Decimal, rate: Decimal, days: int) -> Decimal:
    return half_up(Fraction(base) * Fraction(rate) * (1 + Fraction(MARKUP)) * days / 360)


def unpaid_principal(loan, first_number: int) -> Decimal:
    return sum((row[2] for row in figures(loan) if row[0] >= first_number), Decimal("0"))


@pytest.fixture
def repriced(api, staff, customer, lpr_product):  # noqa: F811
    """Equal installment, 150,000 over 36 months from 2025-03-10 at 3.45 %; the LPR moved; repriced on its first
    anniversary (2026-03-10) to 3.10 % by the real batch: installments 13–36 (periods from the anniversary on)."""
    publish(staff, date(2025, 2, 20), "0.0310", "0.0365")
    loan = lpr_loan(api, staff, customer, lpr_product)
    publish(staff, date(2025, 10, 20), "0.0300", "0.0330")
    pay_through(staff, loan, 11)
    return loan


def reprice(staff, loan, *, pay_twelfth: bool = True):
    if pay_twelfth:
        pay_through(staff, loan, 12)
    run_batch(ANNIVERSARY)
    record = Repricing.objects.get(loan=loan)
    assert (record.old_rate, record.new_rate, record.first_number) == (OLD, NEW, 13)
    loan.refresh_from_db()
    return loan


def prepay(staff, loan, on: date, kind: str, amount: Decimal | None = None, reference: str = "PP-1"):
    with at(on, hour=10):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=kind, amount=amount)
        servicing_approve(request_id=request.pk, actor=staff.rev)
        servicing_execute(request_id=request.pk, actor=staff.gen, paid_on=on, reference=reference)
    request.refresh_from_db()
    return request


def test_the_rate_in_force_follows_the_repricings(staff, repriced):
    loan = reprice(staff, repriced)
    rates = rate_history(loan)
    assert rates.on(ANNIVERSARY - timedelta(days=1)) == OLD and rates.on(ANNIVERSARY) == NEW
    assert rates.on(date(2030, 1, 1)) == NEW == RateClock.objects.get(loan=loan).current_rate == loan.current_rate
    twelfth, thirteenth = Installment.objects.filter(loan=loan, number__in=(12, 13)).order_by("number")
    assert (rates.of(twelfth), rates.of(thirteenth)) == (OLD, NEW)


@pytest.mark.sidedoor(rule="rate-in-force", path="command: run_nightly_batch repricing, then a partial prepayment")
def test_partial_prepayment_after_repricing_rebuilds_at_the_new_rate(staff, repriced):
    """Prepaid on 2026-04-01, in installment 13's period (from the anniversary): the rest re-amortised at 3.10 %, and the
    prepaid principal's 22 days at 3.10 % added to installment 13 (the old code used 3.45 % for both)."""
    loan = reprice(staff, repriced)
    before = figures(loan)
    left = unpaid_principal(loan, 13)
    amount = Decimal("30000.00")
    request = prepay(staff, loan, date(2026, 4, 1), SR.PREPAY_PARTIAL, amount)

    after = figures(loan)
    assert after[:12] == before[:12]
    expected = expected_tail(left - amount, NEW, 24, "equal_installment")
    interest_of_days = accrued(amount, NEW, 22)  # 2026-03-10 → 2026-04-01
    expected[0] = (expected[0][0], expected[0][1] + interest_of_days)
    assert [(row[2], row[3]) for row in after[12:]] == expected
    assert all(row[7] == ANNIVERSARY for row in after[12:])  # still at the anniversary's rate
    assert sum(row[2] for row in after) + amount == Decimal("150000.00")
    assert Decimal(request.result["accrued_interest_added"]) == interest_of_days
    # At the old rate the figures would differ: this is the bug the test guards.
    assert expected_tail(left - amount, OLD, 24, "equal_installment")[5] != expected[5]


@pytest.mark.sidedoor(rule="rate-in-force", path="command: run_nightly_batch repricing, then a partial prepayment")
def test_partial_prepayment_in_a_period_begun_before_the_repricing_date(api, staff, customer, lpr_product):  # noqa: F811
    """1 January repricing: installment 10 (2025-12-10 → 2026-01-10) began before it and keeps 3.45 %; the prepayment
    on 2026-01-05 accrues 26 days at 3.45 %, installment 10's interest stays at 3.45 % on the new balance, installments
    11–36 are amortised at 3.10 % (as the batch would have), principal still summing to the loan amount."""
    publish(staff, date(2025, 2, 20), "0.0310", "0.0365")
    loan = lpr_loan(api, staff, customer, lpr_product, repricing="january")
    publish(staff, date(2025, 12, 22), "0.0300", "0.0330")
    pay_through(staff, loan, 9)
    run_batch(JANUARY)
    assert Repricing.objects.get(loan=loan).first_number == 11
    left = unpaid_principal(loan, 10)
    amount = Decimal("20000.00")
    request = prepay(staff, loan, date(2026, 1, 5), SR.PREPAY_PARTIAL, amount)

    after = figures(loan)
    balance = left - amount
    expected = expected_tail(balance, NEW, 27, "equal_installment")
    interest_of_days = accrued(amount, OLD, 26)  # 2025-12-10 → 2026-01-05, at the period's rate
    expected[0] = (expected[0][0], half_up(Fraction(balance) * Fraction(OLD) / 12) + interest_of_days)
    assert [(row[2], row[3]) for row in after[9:]] == expected
    assert [row[7] for row in after[9:11]] == [None, JANUARY]
    assert sum(row[2] for row in after) + amount == Decimal("150000.00")
    assert Decimal(request.result["accrued_interest_added"]) == interest_of_days


@pytest.mark.sidedoor(rule="rate-in-force", path="command: run_nightly_batch repricing, then a full prepayment")
def test_full_prepayment_after_repricing_accrues_at_the_new_rate(staff, repriced):
    loan = reprice(staff, repriced)
    principal = unpaid_principal(loan, 13)
    on = date(2026, 4, 1)
    with at(on, hour=10):
        quote = payoff_quote(loan, on)
    assert quote["accrued_interest"] == accrued(principal, NEW, 22)
    prepay(staff, loan, on, SR.PREPAY_FULL, reference="FP-1")
    repayment = Repayment.objects.get(reference="FP-1")
    assert (repayment.to_principal, repayment.to_interest) == (principal, accrued(principal, NEW, 22))
    loan.refresh_from_db()
    assert loan.status == "settled"


@pytest.mark.sidedoor(rule="rate-in-force", path="command: run_nightly_batch repricing, then an extension")
def test_extension_after_repricing_adds_installments_at_the_new_rate(staff, repriced):
    loan = reprice(staff, repriced)
    left = unpaid_principal(loan, 13)
    with at(date(2026, 4, 1), hour=10):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=12)
        servicing_approve(request_id=request.pk, actor=staff.rev)
    after = figures(loan)
    assert len(after) == 48
    assert [(row[2], row[3]) for row in after[12:]] == expected_tail(left, NEW, 36, "equal_installment")
    assert all(row[7] == ANNIVERSARY for row in after[12:])


@pytest.mark.sidedoor(rule="rate-in-force", path="command: run_nightly_batch repricing, then penalty interest (collections, schedule, write-off, a repayment)")
def test_penalty_is_at_the_rate_of_the_overdue_installments_period(staff, repriced):
    """Installment 12 (period before the anniversary, 3.45 %) and 13 (repriced, 3.10 %) left unpaid: on 2026-04-30 the
    penalty is (principal + interest) × the period's rate × 1.5 / 360 a day, each at its own rate — in the collections
    figures (SQL as well as Python), the schedule page's, a write-off proposal's and the payment that settles it."""
    loan = reprice(staff, repriced, pay_twelfth=False)
    twelfth, thirteenth = Installment.objects.filter(loan=loan, number__in=(12, 13)).order_by("number")
    assert (twelfth.repriced_on, thirteenth.repriced_on) == (None, ANNIVERSARY)
    on = date(2026, 4, 30)
    expected = (penalty(twelfth.principal + twelfth.interest, OLD, 51),
                penalty(thirteenth.principal + thirteenth.interest, NEW, 20))
    assert expected[1] != penalty(thirteenth.principal + thirteenth.interest, OLD, 20)

    rows = list(Installment.objects.filter(loan=loan, number__in=(12, 13)).order_by("number"))
    with at(on, hour=10):
        assert overdue_amounts(loan, on)["penalty"] == sum(expected)
        assert tuple(i.penalty_on(on) for i in rows) == expected
        sql = Installment.objects.filter(pk__in=[i.pk for i in rows]).order_by("number").annotate(p=penalty_on_sql(on))
        assert tuple(sql.values_list("p", flat=True)) == expected
    run_batch(on - timedelta(days=1))  # the book date: the schedule shows the penalty as of it
    shown = [i for i in schedule_as_of_book(loan) if i.number in (12, 13)]
    assert tuple(i.penalty for i in shown) == (penalty(twelfth.principal + twelfth.interest, OLD, 50),
                                               penalty(thirteenth.principal + thirteenth.interest, NEW, 19))
    owed = sum((i.principal + i.interest for i in rows), Decimal("0")) + sum(expected)
    with at(on, hour=10):
        proposal = write_off_propose(loan_id=loan.pk, actor=staff.gen, reason="借款人死亡,无遗产可供执行",
                                     legal_documents=["death_certificate", "enforcement_terminated"])
        assert proposal.penalty == sum(expected)
        repayment, _created = repayment_post(loan_id=loan.pk, actor=staff.gen, amount=owed, paid_on=on, reference="LATE-1")
    assert repayment.to_penalty == sum(expected)
    assert Installment.objects.filter(loan=loan, number__in=(12, 13), paid_off_on=on).count() == 2


def test_a_fixed_rate_loan_keeps_its_rate(staff, flow, draft):
    """No repricing: every date's rate is the kept one, with no query."""
    with at(date(2025, 3, 10), hour=10):
        loan = flow.advance(draft, Status.ACTIVE)
    loan.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        rates = rate_history(loan)
    assert len(queries) == 0
    assert rates.on(date(2030, 1, 1)) == loan.annual_rate == rates.kept


@pytest.mark.sidedoor(rule="rate-in-force", path="command: run_nightly_batch repricing, then a negotiated repayment plan")
def test_a_negotiated_plan_after_repricing_is_at_the_new_rate(staff, repriced):
    """Installments 12 and 13 in arrears on 2026-04-30; the plan (24 months, equal principal) starts with installment 14
    (period from 2026-04-10, after the anniversary): its principal re-shared at 3.10 %, the arrears — the unpaid
    interest and each installment's penalty at its period's rate — spread in equal cents."""
    loan = reprice(staff, repriced, pay_twelfth=False)
    twelfth, thirteenth = Installment.objects.filter(loan=loan, number__in=(12, 13)).order_by("number")
    on = date(2026, 4, 30)
    principal = unpaid_principal(loan, 12)
    arrears = (twelfth.interest + thirteenth.interest + penalty(twelfth.principal + twelfth.interest, OLD, 51)
               + penalty(thirteenth.principal + thirteenth.interest, NEW, 20))
    with at(on, hour=10):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=24,
                                 plan_method="equal_principal", reason="协商还款")
        servicing_approve(request_id=request.pk, actor=staff.rev)
    after = figures(loan)
    assert [row[0] for row in after[11:]] == list(range(14, 38))
    share = (arrears / 24).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    shares = [share] * 23 + [arrears - share * 23]
    expected = [(p, i + s) for (p, i), s in zip(expected_tail(principal, NEW, 24, "equal_principal"), shares, strict=True)]
    assert [(row[2], row[3]) for row in after[11:]] == expected
    assert all(row[7] == ANNIVERSARY for row in after[11:])


@pytest.mark.sidedoor(rule="rate-in-force", path="command: run_nightly_batch repricing, then an extension")
def test_a_bullet_loan_changes_rate_on_its_repricing_date_and_an_extension_adds_months_at_it(
        api, staff, customer, lpr_product):  # noqa: F811
    """A 12-month bullet loan repricing each 1 January: on 2026-01-01 its single installment (period from the value date)
    keeps its figures, but the loan's rate changes (record with no installment, notice, clock). An extension of 12
    months then adds interest at 3.10 % (the months from the old maturity), and the stopped clock starts again for the
    next 1 January, now before the new maturity."""
    publish(staff, date(2025, 2, 20), "0.0310", "0.0365")
    loan = lpr_loan(api, staff, customer, lpr_product, method="bullet", repricing="january", term=12, amount="30000.00")
    publish(staff, date(2025, 12, 22), "0.0300", "0.0330")
    before = figures(loan)
    assert before[0][3] == half_up(Fraction(30000) * Fraction(OLD))  # 12 months at 3.45 %
    run_batch(JANUARY)
    assert figures(loan) == before
    record = Repricing.objects.get(loan=loan)
    assert (record.old_rate, record.new_rate, record.installments, record.first_number) == (OLD, NEW, 0, None)
    assert Notice.objects.filter(loan=loan, kind="repriced").count() == 1
    clock = RateClock.objects.get(loan=loan)
    assert (clock.current_rate, clock.next_repricing_on) == (NEW, None)  # 2027-01-01 is after the maturity

    with at(date(2026, 2, 2), hour=10):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=12)
        servicing_approve(request_id=request.pk, actor=staff.rev)
    (row,) = figures(loan)
    assert row[1] == date(2027, 3, 10)
    assert row[3] == before[0][3] + half_up(Fraction(30000) * Fraction(NEW))  # the added 12 months at 3.10 %
    clock.refresh_from_db()
    assert clock.next_repricing_on == date(2027, 1, 1)


def test_a_tail_too_small_for_the_rounded_annuity_is_repriced_a_cent_lower(staff, repriced):
    """The schedule builder's rule (SPEC §5) after a repricing: prepaid down to 36 fen before the anniversary, the tail's
    rounded annuity at 3.10 % (2 fen) would repay it by the 18th of 24 installments, so the installment is a cent lower
    and the last one takes the rest — in the batch's set-based amortisation as in the builder."""
    left = unpaid_principal(repriced, 12)
    prepay(staff, repriced, date(2026, 2, 20), SR.PREPAY_PARTIAL, left - Decimal("0.36"))
    loan = reprice(staff, repriced)
    after = figures(loan)
    tail = unpaid_principal(loan, 13)
    expected = expected_tail(tail, NEW, 24, "equal_installment")
    assert [(row[2], row[3]) for row in after[12:]] == expected
    assert all(row[7] == ANNIVERSARY for row in after[12:])
    # The rule was needed: the plain rounded annuity repays the tail before the last installment.
    monthly = NEW / 12
    growth = (1 + monthly) ** 24
    plain = (tail * monthly * growth / (growth - 1)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert plain * 23 >= tail and expected[0][0] == plain - Decimal("0.01")
    assert expected[-1][0] > expected[0][0]  # the last takes what is left
