"""Repayments: allocation penalty → interest → principal, oldest installment first; idempotent references."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from applications.models import Status
from loancenter.lib.dates import today
from loancenter.lib.errors import Conflict, Forbidden, RuleViolation
from loancenter.models import AuditEntry
from postloan.models import Installment, Repayment
from postloan.services import loan_settle, outstanding_total, repayment_post


@pytest.fixture
def active(flow, draft):
    return flow.advance(draft, Status.ACTIVE)


def pay(staff, loan, amount, reference, actor=None):
    return repayment_post(loan_id=loan.pk, actor=actor or staff.gen, amount=Decimal(amount), paid_on=today(),
                          reference=reference)


def test_disbursement_writes_the_schedule_from_the_receipt(active):
    rows = list(active.installments.all())
    assert len(rows) == 36
    assert sum(r.principal for r in rows) == Decimal("100000.00")
    assert rows[0].due_date > active.receipt.value_date
    assert active.outstanding_principal == Decimal("100000.00")


def test_payment_goes_penalty_then_interest_then_principal_oldest_first(staff, active):
    first, second = active.installments.order_by("number")[:2]
    # Both installments owe penalty (as the nightly batch would accrue it).
    Installment.objects.filter(pk__in=[first.pk, second.pk]).update(penalty=Decimal("10.00"), penalty_accrued=Decimal("10"))
    interest, principal = first.interest, first.principal
    amount = Decimal("10.00") + interest + principal + Decimal("5.00") + Decimal("1.00")
    repayment, created = pay(staff, active, amount, "CB-0001")
    assert created
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.paid_penalty, first.paid_interest, first.paid_principal) == (Decimal("10.00"), interest, principal)
    assert first.status == Installment.PAID and first.paid_off_on == today()
    # What is left goes to the next installment's penalty first, then its interest.
    assert (second.paid_penalty, second.paid_interest, second.paid_principal) == (Decimal("6.00"), Decimal("0.00"), Decimal("0.00"))
    assert second.status == Installment.PARTIAL
    assert repayment.to_penalty == Decimal("16.00") and repayment.to_interest == interest
    assert repayment.allocation[0] == {"installment": 1, "penalty": "10.00", "interest": str(interest), "principal": str(principal)}
    active.refresh_from_db()
    assert active.outstanding_principal == Decimal("100000.00") - principal


def test_same_reference_twice_is_applied_once_and_returns_the_first_result(staff, active):
    first, created = pay(staff, active, "1000.00", "CB-0002")
    again, created_again = pay(staff, active, "1000.00", "CB-0002")
    assert created and not created_again
    assert again.pk == first.pk
    assert Repayment.objects.filter(loan=active).count() == 1
    assert active.installments.get(number=1).paid_interest + active.installments.get(number=1).paid_principal == Decimal("1000.00")


def test_reference_of_another_loan_is_a_conflict(staff, flow, active, customer, product):
    from tests.factories import LoanFactory

    other = flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.ACTIVE)
    pay(staff, active, "100.00", "CB-0003")
    with pytest.raises(Conflict):
        pay(staff, other, "100.00", "CB-0003")
    assert not Repayment.objects.filter(loan=other).exists()


@pytest.mark.parametrize("amount", ["0", "-5.00", "10.001"])
def test_bad_amounts_are_refused_and_nothing_is_written(staff, active, amount):
    audit_before = AuditEntry.objects.count()
    with pytest.raises(RuleViolation):
        pay(staff, active, amount, f"BAD-{amount}")
    assert not Repayment.objects.exists()
    assert AuditEntry.objects.count() == audit_before
    assert not active.installments.filter(paid_principal__gt=0).exists()


def test_overpayment_is_refused_with_the_amount_owed(staff, active):
    owed = outstanding_total(active)
    with pytest.raises(RuleViolation) as refused:
        pay(staff, active, owed + Decimal("0.01"), "CB-OVER")
    assert f"{owed:,.2f}" in refused.value.message
    assert not Repayment.objects.exists()


def test_future_payment_date_is_refused(staff, active):
    with pytest.raises(RuleViolation):
        repayment_post(loan_id=active.pk, actor=staff.gen, amount=Decimal("10.00"), paid_on=today() + timedelta(days=1),
                       reference="CB-FUT")


@pytest.mark.parametrize("who", ["mkt", "inv", "rev", "appr", "clerk", "arch", "boss", "outsider"])
def test_only_general_and_disbursement_posts_post_repayments(staff, active, who):
    with pytest.raises(Forbidden):
        pay(staff, active, "10.00", f"CB-{who}", actor=getattr(staff, who))


def test_paying_everything_allows_settlement(staff, active):
    with pytest.raises(RuleViolation):
        loan_settle(loan_id=active.pk, actor=staff.gen)
    pay(staff, active, outstanding_total(active), "CB-ALL", actor=staff.disb)
    active.refresh_from_db()
    assert active.outstanding_principal == Decimal("0.00")
    assert not active.installments.exclude(status=Installment.PAID).exists()
    loan = loan_settle(loan_id=active.pk, actor=staff.gen)
    assert loan.status == Status.SETTLED
    assert loan.audit_entries.filter(action="settle", to_status="settled").count() == 1
