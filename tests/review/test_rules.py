"""Review and approval rules of SPEC §3: 8 (debt-to-income), 9 (collateral), 11 (authority limit),
12 (customer notified of the decision)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from applications.models import Customer, Loan, Status
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.lib.money import first_installment
from loancenter.models import AuditEntry
from loancenter.selectors import late_notifications
from review.services import decision_record_notification
from tests.applications.support import RATE, assert_refused, call
from tests.factories import SecuredProductFactory, add_collateral

D = Decimal

# --- Rule 8: debt-to-income ------------------------------------------------------------------------------------


def over_dti(loan: Loan) -> str:
    """Raise the borrower's existing debt so that the new installment takes DTI above 50%; return the DTI text."""
    installment = first_installment(loan.amount, RATE, loan.term_months, loan.repayment_method)
    customer = loan.customer
    customer.monthly_debt_payment = D("9000.00")
    customer.save()
    dti = (customer.monthly_debt_payment + installment) / customer.monthly_income * 100
    return f"{dti.quantize(D('0.1'))}%"


@pytest.mark.parametrize("name, state, actor", [("pass_review", Status.UNDER_REVIEW, "rev"),
                                                ("approve", Status.PENDING_APPROVAL, "appr")])
def test_debt_to_income_above_the_product_maximum_is_refused(ctx, name, state, actor):
    loan = ctx.loan()
    if name == "pass_review":
        dti = over_dti(loan)  # (9000 + 2966.85) / 20000 = 59.8%, as the investigation then verifies it (rule 23)
        loan = ctx.advance(loan, state)
    else:  # the reviewer passed it; the approver reads the verified figures the loan keeps (rule 23)
        loan = ctx.advance(loan, state)
        Loan.objects.filter(pk=loan.pk).update(verified_monthly_debt=D("9000.00"))  # the customer row still says 1,000
        installment = first_installment(loan.amount, RATE, loan.term_months, loan.repayment_method)
        dti = f"{((D('9000.00') + installment) / D('20000.00') * 100).quantize(D('0.1'))}%"
    assert dti == "59.8%"
    error = assert_refused(loan, RuleViolation, lambda: call(name, loan, getattr(ctx.staff, actor)),
                           code="dti_exceeded", status=400)
    assert error.message == "Debt-to-income 59.8% exceeds the product limit 50% (rule 8)."


def test_debt_to_income_is_checked_on_the_decided_terms(ctx):
    """A shorter term raises the installment; the approver's terms are what rule 8 measures."""
    loan = ctx.loan()
    customer = loan.customer
    customer.monthly_debt_payment = D("6000.00")  # 36 months: (6000 + 2966.85) / 20000 = 44.8% — fine
    customer.save()
    loan = ctx.advance(loan, Status.PENDING_APPROVAL)
    error = assert_refused(loan, RuleViolation, lambda: call("approve", loan, ctx.staff.appr, term_months=12),
                           code="dti_exceeded")
    assert "(rule 8)" in error.message
    call("approve", loan, ctx.staff.appr)
    loan.refresh_from_db()
    assert loan.status == Status.APPROVED


def test_borrower_without_income_cannot_be_assessed(ctx):
    loan = ctx.loan()
    Customer.objects.filter(pk=loan.customer_id).update(monthly_income=0)  # as the investigation verifies it
    loan = ctx.advance(loan, Status.UNDER_REVIEW)
    error = assert_refused(loan, RuleViolation, lambda: call("pass_review", loan, ctx.staff.rev), code="dti")
    assert "(rule 8)" in error.message


# --- Rule 9: secured loans -------------------------------------------------------------------------------------


@pytest.fixture
def housing():
    return SecuredProductFactory(code="housing", max_ltv=D("0.7000"), appraisal_validity_days=180)


def secured_loan(ctx, housing, amount="600000.00", **collateral):
    loan = ctx.loan(product=housing, purpose="house_purchase", amount=D(amount),
                    customer=ctx.customer(monthly_income=D("80000.00")))
    add_collateral(loan, value=D("1000000.00"), **collateral)
    return loan


def refused_secured_submit(ctx, loan, code):
    error = assert_refused(loan, RuleViolation, lambda: call("submit", loan, ctx.staff.mkt), code=code)
    assert "(rule 9)" in error.message, error.message
    return error


def test_loan_to_value_above_the_maximum_is_refused(ctx, housing):
    error = refused_secured_submit(ctx, secured_loan(ctx, housing, amount="800000.00"), "ltv_exceeded")
    assert error.message == "Loan-to-value 80% exceeds the product limit 70% (rule 9)."


def test_loan_to_value_at_the_maximum_is_allowed(ctx, housing):
    loan = secured_loan(ctx, housing, amount="700000.00")
    assert call("submit", loan, ctx.staff.mkt).status == Status.SUBMITTED


@pytest.fixture
def senior(ctx):
    """The approver with authority for housing loans."""
    ctx.staff.appr.approval_limit = D("5000000.00")
    ctx.staff.appr.save()
    return ctx.staff.appr


def test_higher_amount_at_approval_that_breaks_loan_to_value_is_refused(ctx, housing, senior):
    loan = ctx.advance(secured_loan(ctx, housing), Status.PENDING_APPROVAL)
    error = assert_refused(loan, RuleViolation, lambda: call("approve", loan, ctx.staff.appr, amount=D("750000.00")),
                           code="ltv_exceeded")
    assert "75%" in error.message


def test_appraisal_older_than_the_products_validity_is_refused(ctx, housing):
    loan = secured_loan(ctx, housing, appraised_on=today() - timedelta(days=181))
    error = refused_secured_submit(ctx, loan, "appraisal_expired")
    assert "180 days" in error.message


def test_appraisal_that_expires_before_approval_is_refused_then(ctx, housing, senior):
    loan = ctx.advance(secured_loan(ctx, housing, appraised_on=today() - timedelta(days=170)), Status.PENDING_APPROVAL)
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        assert_refused(loan, RuleViolation, lambda: call("approve", loan, ctx.staff.appr), code="appraisal_expired")
    assert call("approve", loan, ctx.staff.appr).status == Status.APPROVED  # the same loan today: still fresh


def test_missing_ownership_certificate_is_refused(ctx, housing):
    error = refused_secured_submit(ctx, secured_loan(ctx, housing, certificate_no=""), "collateral")
    assert "ownership certificate" in error.message


def test_missing_disposer_consent_is_refused(ctx, housing):
    error = refused_secured_submit(ctx, secured_loan(ctx, housing, consent=False), "collateral")
    assert "consent" in error.message


def test_secured_product_without_collateral_is_refused(ctx, housing):
    loan = ctx.loan(product=housing, purpose="house_purchase")
    refused_secured_submit(ctx, loan, "collateral")


# --- Rule 11: authority limit and escalation -------------------------------------------------------------------


def big_loan(ctx, amount="300000.00"):
    return ctx.advance(ctx.loan(amount=D(amount)), Status.PENDING_APPROVAL)


def test_approver_cannot_approve_above_limit(ctx):
    loan = big_loan(ctx)
    error = assert_refused(loan, Forbidden, lambda: call("approve", loan, ctx.staff.appr),
                           code="authority_limit", status=403)
    assert "300,000.00" in error.message and "200,000.00" in error.message and "(rule 11)" in error.message


def test_approver_can_approve_exactly_at_the_limit(ctx):
    loan = big_loan(ctx, amount="200000.00")
    call("approve", loan, ctx.staff.appr)
    loan.refresh_from_db()
    assert (loan.status, loan.approved_amount) == (Status.APPROVED, D("200000.00"))


def test_approver_may_approve_a_reduced_amount_within_the_limit(ctx):
    loan = big_loan(ctx)
    call("approve", loan, ctx.staff.appr, amount=D("150000.00"))
    loan.refresh_from_db()
    assert (loan.status, loan.approved_amount) == (Status.APPROVED, D("150000.00"))


def test_approver_without_a_limit_cannot_approve(ctx):
    nolimit = ctx.person("nolimit", "approver")
    loan = big_loan(ctx, amount="1000.00")
    assert_refused(loan, Forbidden, lambda: call("approve", loan, nolimit), code="authority_limit")


def test_above_limit_loan_is_escalated_and_the_branch_approves_it(ctx):
    loan = big_loan(ctx)
    call("escalate", loan, ctx.staff.appr, reason="超权限")
    loan.refresh_from_db()
    assert (loan.status, loan.escalated_by) == (Status.PENDING_BRANCH_APPROVAL, ctx.staff.appr)
    assert_refused(loan, Forbidden, lambda: call("approve", loan, ctx.staff.appr), code="post_required")

    call("approve", loan, ctx.staff.branch)
    loan.refresh_from_db()
    assert (loan.status, loan.approver, loan.approved_amount) == (Status.APPROVED, ctx.staff.branch, D("300000.00"))
    assert list(loan.audit_entries.filter(action__in=["escalate", "approve"]).values_list(
        "action", "from_status", "to_status")) == [
        ("escalate", "pending_approval", "pending_branch_approval"),
        ("approve", "pending_branch_approval", "approved"),
    ]


def test_branch_approver_above_their_own_limit_is_refused(ctx):
    loan = big_loan(ctx, amount="300000.00")
    call("escalate", loan, ctx.staff.appr, reason="超权限")
    small_branch = ctx.person("smallbranch", "branch_approver", limit=D("250000.00"))
    assert_refused(loan, Forbidden, lambda: call("approve", loan, small_branch), code="authority_limit")


def test_branch_rejects_an_escalated_loan(ctx):
    loan = big_loan(ctx)
    call("escalate", loan, ctx.staff.appr, reason="超权限")
    call("reject", loan, ctx.staff.branch, reason="风险过高")
    loan.refresh_from_db()
    assert (loan.status, loan.approver) == (Status.REJECTED, ctx.staff.branch)
    assert loan.decided_at is not None


# --- Rule 12: customer notified of the decision ----------------------------------------------------------------


@pytest.fixture
def decided(ctx):
    """A loan approved ten days ago."""
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        loan = ctx.advance(ctx.loan(), Status.APPROVED)
    loan.refresh_from_db()
    return loan


def decision_day(loan):
    return timezone.localtime(loan.decided_at).date()


def test_notification_between_decision_and_today_is_recorded(ctx, decided):
    on = decision_day(decided) + timedelta(days=2)
    decision_record_notification(loan_id=decided.pk, actor=ctx.staff.mkt, notified_on=on)
    decided.refresh_from_db()
    assert decided.customer_notified_on == on
    entry = AuditEntry.objects.filter(loan=decided, action="customer_notified").get()
    assert (entry.actor, entry.payload) == (ctx.staff.mkt, {"notified_on": on.isoformat()})


@pytest.mark.parametrize("offset", ["before_decision", "tomorrow"])
def test_notification_date_outside_decision_to_today_is_refused(ctx, decided, offset):
    on = decision_day(decided) - timedelta(days=1) if offset == "before_decision" else today() + timedelta(days=1)
    error = assert_refused(decided, RuleViolation, lambda: decision_record_notification(
        loan_id=decided.pk, actor=ctx.staff.mkt, notified_on=on), code="notified_on")
    assert error.field == "notified_on"


def test_notification_is_recorded_once(ctx, decided):
    decision_record_notification(loan_id=decided.pk, actor=ctx.staff.mkt, notified_on=today())
    decided.refresh_from_db()
    assert_refused(decided, InvalidState, lambda: decision_record_notification(
        loan_id=decided.pk, actor=ctx.staff.mkt, notified_on=today()))


def test_rejection_is_notified_too(ctx):
    loan = ctx.advance(ctx.loan(), Status.REJECTED)
    decision_record_notification(loan_id=loan.pk, actor=ctx.staff.boss, notified_on=today())
    loan.refresh_from_db()
    assert loan.customer_notified_on == today()


def test_no_notification_before_a_decision(ctx):
    loan = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    assert_refused(loan, InvalidState, lambda: decision_record_notification(
        loan_id=loan.pk, actor=ctx.staff.mkt, notified_on=today()))


@pytest.mark.parametrize("persona, code", [("mkt2", "not_owner"), ("rev", "post_required"), ("appr", "post_required")])
def test_only_the_loans_officer_or_the_manager_records_the_notification(ctx, decided, persona, code):
    assert_refused(decided, Forbidden, lambda: decision_record_notification(
        loan_id=decided.pk, actor=getattr(ctx.staff, persona), notified_on=today()), code=code)


def decided_at(ctx, when: datetime, *, to=Status.APPROVED) -> Loan:
    with time_machine.travel(when, tick=False):
        return ctx.advance(ctx.loan(), to)


SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)


def test_decision_not_notified_within_three_working_days_shows_as_late(ctx, settings):
    assert settings.DECISION_NOTICE_WORKING_DAYS == 3
    loan = decided_at(ctx, MONDAY)  # due by Thursday 6 March
    assert loan not in late_notifications(as_of=date(2025, 3, 6))
    assert list(late_notifications(as_of=date(2025, 3, 7))) == [loan]


def test_weekend_does_not_count_towards_the_notice_period(ctx):
    friday = decided_at(ctx, MONDAY + timedelta(days=4), to=Status.REJECTED)  # due by Wednesday 12 March
    assert friday not in late_notifications(as_of=date(2025, 3, 12))
    assert friday in late_notifications(as_of=date(2025, 3, 13))


def test_notified_and_undecided_loans_are_not_late(ctx):
    notified = decided_at(ctx, MONDAY)
    with time_machine.travel(MONDAY + timedelta(days=8), tick=False):
        decision_record_notification(loan_id=notified.pk, actor=ctx.staff.mkt, notified_on=date(2025, 3, 10))
    with time_machine.travel(MONDAY, tick=False):
        pending = ctx.advance(ctx.loan(), Status.PENDING_APPROVAL)
    late = list(late_notifications(as_of=date(2025, 3, 20)))
    assert notified not in late and pending not in late
