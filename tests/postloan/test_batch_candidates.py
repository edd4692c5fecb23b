"""The nightly batch touches only the loans that move (issue 4's scale target): a loan is graded again the night its
days past due cross a threshold, after something changed it (a payment), or when the provision rates change; days
past due and penalty interest are read from stored facts as of the last run, to the cent."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from applications.models import Loan
from postloan.models import BatchRun, CollectionCase, Installment, ProvisionRate
from postloan.selectors import schedule_as_of_book
from postloan.services import repayment_post
from tests.postloan.test_batch_life import at
from tests.postloan.test_batch_runs import START, portfolio, run  # noqa: F401  (fixture)

FIRST_DUE = date(2025, 4, 10)  # START + 1 month: the portfolio's first installments


def changed(as_of: date) -> int:
    return BatchRun.objects.get(as_of=as_of).loans_changed


def test_a_quiet_night_changes_nothing_and_a_threshold_night_changes_every_loan_that_crosses(portfolio):  # noqa: F811
    run(FIRST_DUE + timedelta(days=9))  # first run: every loan graded (T1, 关注)
    assert BatchRun.objects.get(as_of=FIRST_DUE + timedelta(days=9)).graded_all
    run(FIRST_DUE + timedelta(days=31))  # catches up day by day to 31 days past due
    for days in range(10, 31):
        assert changed(FIRST_DUE + timedelta(days=days)) == 0, days  # 10…30 days past due: still T1, 关注
    assert changed(FIRST_DUE + timedelta(days=31)) == len(portfolio)  # 31 days: T2, handed over to the general post
    for loan in Loan.objects.all():
        assert (loan.days_past_due, loan.collection_tier, loan.grade, loan.regrade_pending) == (31, "T2", "special_mention", False)
    assert set(CollectionCase.objects.values_list("tier", "owner_post")) == {("T2", "general")}


def test_a_payment_flags_the_loan_and_the_next_run_grades_it(staff, portfolio):  # noqa: F811
    loan = portfolio[0]
    run(FIRST_DUE + timedelta(days=14))
    paid_on = FIRST_DUE + timedelta(days=15)
    first = loan.installments.get(number=1)
    with at(paid_on):
        owed = first.due_on(paid_on)
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=owed, paid_on=paid_on, reference="ARREARS-1")
    loan.refresh_from_db()
    assert loan.regrade_pending and loan.collection_tier == "T1"  # graded tonight, not before
    assert loan.days_past_due == 0  # nothing unpaid is due any more (counted to the last run's date)
    run(paid_on)
    assert changed(paid_on) == 1
    loan.refresh_from_db()
    assert (loan.collection_tier, loan.grade, loan.regrade_pending) == ("", "normal", False)
    assert CollectionCase.objects.get(loan=loan).closed_on == paid_on
    assert CollectionCase.objects.filter(closed_on__isnull=True).count() == len(portfolio) - 1


def test_new_provision_rates_regrade_every_loan(portfolio):  # noqa: F811
    run(FIRST_DUE + timedelta(days=5))
    ProvisionRate.objects.create(grade="special_mention", rate=Decimal("0.0300"))
    run(FIRST_DUE + timedelta(days=6))
    assert BatchRun.objects.get(as_of=FIRST_DUE + timedelta(days=6)).graded_all
    for loan in Loan.objects.all():
        assert loan.provision == (loan.outstanding_principal * Decimal("0.03")).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_penalty_accrues_on_what_is_left_after_a_partial_payment_to_the_cent(staff, portfolio):  # noqa: F811
    loan = portfolio[0]
    first = loan.installments.get(number=1)
    daily = loan.annual_rate * Decimal("1.5") / 360  # contract rate × (1 + 50 % markup) / 360
    base = first.principal + first.interest
    paid_on = FIRST_DUE + timedelta(days=10)
    with at(paid_on):  # pays the ten days' penalty, the interest and 1,000.00 of principal
        penalty_10 = (base * daily * 10).quantize(Decimal("0.01"), ROUND_HALF_UP)
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=penalty_10 + first.interest + Decimal("1000.00"),
                       paid_on=paid_on, reference="PART-1")
    first.refresh_from_db()
    assert (first.paid_penalty, first.penalty_through, first.status) == (penalty_10, paid_on, Installment.OVERDUE)
    as_of = FIRST_DUE + timedelta(days=25)
    run(as_of)
    rest = first.principal - Decimal("1000.00")
    expected = (base * daily * 10 + rest * daily * 15).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert schedule_as_of_book(loan)[0].penalty == expected
    loan.refresh_from_db()
    assert loan.days_past_due == 25 and loan.collection_tier == "T1"


def test_an_on_time_payment_of_a_performing_loan_leaves_the_night_nothing_to_grade(staff, portfolio):  # noqa: F811
    run(FIRST_DUE - timedelta(days=1))  # every loan current: 正常, no tier
    loan = portfolio[0]
    first = loan.installments.get(number=1)
    with at(FIRST_DUE, hour=10):
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=first.principal + first.interest, paid_on=FIRST_DUE,
                       reference="ON-TIME-1")
    loan.refresh_from_db()
    assert not loan.regrade_pending
    assert loan.provision == (loan.outstanding_principal * Decimal("0.01")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    run(FIRST_DUE + timedelta(days=1))  # the others fall 1 day past due; the payer stays as the payment left it
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.collection_tier, loan.grade) == (0, "", "normal")
    assert loan.provision == (loan.outstanding_principal * Decimal("0.01")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    others = Loan.objects.exclude(pk=loan.pk)
    assert {(o.days_past_due, o.collection_tier, o.grade) for o in others} == {(1, "T1", "special_mention")}
