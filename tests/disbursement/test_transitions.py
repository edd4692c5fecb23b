"""sign_contract, register_collateral, prepare_receipt, disburse: posts, separation of duty, states, rules 13–17."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from applications.models import Loan, Status
from disbursement.models import CollateralRegistration, Contract, Disbursement, LoanReceipt
from disbursement.services import certificate_hand_over, registration_apply
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError, Forbidden, InvalidState, RuleViolation, SeparationOfDuty
from loancenter.models import AuditEntry, RefusedAttempt
from loancenter.services import staff_create
from loancenter.transitions import perform
from postloan.models import Installment
from tests.conftest import PASSWORD, PERSONAS, payloads
from tests.factories import CustomerFactory, LoanFactory, SecuredProductFactory, add_collateral, add_guarantor


def snapshot(loan: Loan):
    loan = Loan.objects.get(pk=loan.pk)
    return model_to_dict(loan), AuditEntry.objects.filter(loan=loan).count(), Contract.objects.filter(loan=loan).count()


def attempt(staff, loan, name, who, **overrides):
    data = {**payloads(staff, loan)[name], **overrides}
    return perform(name, loan_id=loan.pk, actor=who, data=data)


@pytest.fixture
def secured(staff):
    # A borrower of their own: with the unsecured draft's 100,000 the customer's exposure would exceed the approver's
    # limit (rule 27).
    product = SecuredProductFactory(code="housing")
    loan = LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt,
                       amount=Decimal("150000.00"),
                       term_months=120)
    add_collateral(loan)
    add_guarantor(loan, CustomerFactory(officer=staff.mkt))
    return loan


STEP_STATE = {
    "sign_contract": Status.APPROVED,
    "prepare_receipt": Status.CONTRACT_SIGNED,
    "disburse": Status.READY_TO_DISBURSE,
}
RIGHT = {"sign_contract": "mkt", "prepare_receipt": "rev", "disburse": "disb"}


@pytest.mark.parametrize(("name", "who"), [(n, w) for n in STEP_STATE for w in PERSONAS if w != RIGHT[n]])
def test_wrong_posts_are_refused_with_403_and_nothing_changes(staff, flow, draft, name, who):
    loan = flow.advance(draft, STEP_STATE[name])
    before = snapshot(loan)
    with pytest.raises(Forbidden) as refused:
        attempt(staff, loan, name, getattr(staff, who))
    assert refused.value.status == 403
    assert snapshot(loan) == before
    assert RefusedAttempt.objects.filter(action=name, loan_id_ref=loan.pk).exists()


@pytest.mark.parametrize("name", list(STEP_STATE))
@pytest.mark.parametrize("state", [Status.DRAFT, Status.UNDER_REVIEW, Status.PENDING_APPROVAL])
def test_wrong_states_are_refused_with_409(staff, flow, draft, name, state):
    loan = flow.advance(draft, state)
    before = snapshot(loan)
    with pytest.raises(InvalidState) as refused:
        attempt(staff, loan, name, getattr(staff, RIGHT[name]))
    assert refused.value.status == 409
    assert snapshot(loan) == before


def test_register_collateral_refused_for_unsecured_and_wrong_state(staff, flow, draft, secured):
    loan = flow.advance(draft, Status.CONTRACT_SIGNED)
    with pytest.raises(InvalidState):
        attempt(staff, loan, "register_collateral", staff.clerk)
    approved = flow.advance(secured, Status.APPROVED)
    with pytest.raises(InvalidState):
        attempt(staff, approved, "register_collateral", staff.clerk)


def test_contract_signing_writes_guarantee_and_mortgage_contracts(staff, flow, secured):
    loan = flow.advance(secured, Status.CONTRACT_SIGNED)
    kinds = sorted(loan.contracts.values_list("kind", "contract_no"))
    base = payloads(staff, loan)["sign_contract"]["contract_no"]
    assert kinds == [("guarantee", f"{base}-G1"), ("loan", base), ("mortgage", f"{base}-M1")]


def test_contract_must_be_signed_in_person_and_number_unique(staff, flow, draft, customer, product):
    loan = flow.advance(draft, Status.APPROVED)
    with pytest.raises(RuleViolation) as refused:
        attempt(staff, loan, "sign_contract", staff.mkt, signed_in_person=False)
    assert "12a" in refused.value.message
    attempt(staff, loan, "sign_contract", staff.mkt, contract_no="HT-SAME")
    other = flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.APPROVED)
    with pytest.raises(RuleViolation):
        attempt(staff, other, "sign_contract", staff.mkt, contract_no="HT-SAME")


def test_secured_loan_cannot_get_a_receipt_before_registration_and_hand_over(staff, flow, secured):
    loan = flow.advance(secured, Status.CONTRACT_SIGNED)
    with pytest.raises(RuleViolation) as refused:  # secured: the receipt comes after registration
        attempt(staff, loan, "prepare_receipt", staff.rev)
    assert refused.value.code == "mortgage_not_registered"
    registration_apply(loan_id=loan.pk, actor=staff.clerk, registry="东城区不动产登记中心", applied_on=today())
    attempt(staff, loan, "register_collateral", staff.clerk)
    loan.refresh_from_db()
    with pytest.raises(RuleViolation) as refused:
        attempt(staff, loan, "prepare_receipt", staff.rev)
    assert refused.value.code == "certificate_not_handed_over"
    certificate_hand_over(loan_id=loan.pk, actor=staff.clerk, to_user=staff.disb)
    attempt(staff, loan, "prepare_receipt", staff.rev)
    entry = CollateralRegistration.objects.get(loan=loan)
    assert entry.applied_on == today() and entry.registered_on == today() and entry.handed_over_to == staff.disb


def test_disbursement_refused_while_a_guarantee_contract_is_missing(staff, flow, secured):
    loan = flow.advance(secured, Status.READY_TO_DISBURSE)
    Contract.objects.filter(loan=loan, kind="guarantee").delete()
    with pytest.raises(RuleViolation) as refused:
        attempt(staff, loan, "disburse", staff.disb)
    assert refused.value.code == "contracts_missing"
    assert "13" in refused.value.message
    assert not Disbursement.objects.filter(loan=loan).exists()


def test_disbursement_refused_without_the_stamp(staff, flow, draft):
    loan = flow.advance(draft, Status.CONTRACT_SIGNED)
    attempt(staff, loan, "prepare_receipt", staff.rev, apply_stamp=False)
    with pytest.raises(RuleViolation) as refused:
        attempt(staff, loan, "disburse", staff.disb)
    assert refused.value.code == "receipt_not_stamped"
    assert Loan.objects.get(pk=loan.pk).status == Status.READY_TO_DISBURSE


def test_disbursement_refused_when_contract_not_yet_effective(staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    Contract.objects.filter(loan=loan).update(effective_on=today() + timedelta(days=2))
    with pytest.raises(RuleViolation) as refused:
        attempt(staff, loan, "disburse", staff.disb)
    assert refused.value.code == "contracts_not_effective"


def test_receipt_carries_value_date_maturity_rate_and_stamp(staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    receipt = LoanReceipt.objects.get(loan=loan)
    assert receipt.value_date == today()
    assert receipt.maturity_date.year == today().year + 3
    assert receipt.annual_rate == Decimal("0.0435") and receipt.amount == Decimal("100000.00")
    assert receipt.stamped_by == staff.rev


@pytest.mark.parametrize(
    ("category", "amount", "allowed"),
    [("consumer", "300000.00", True), ("consumer", "300000.01", False), ("business", "500000.00", True),
     ("business", "500000.01", False), ("housing", "100000.00", False)],
)
def test_self_payment_only_within_rule_17(staff, customer, category, amount, allowed):
    from disbursement.rules import check_payment_mode
    from tests.factories import ProductFactory

    loan = LoanFactory(customer=customer, product=ProductFactory(code=f"p-{category}", category=category),
                       marketing_officer=staff.mkt)
    check_payment_mode(loan, mode="entrusted", amount=Decimal(amount))  # entrusted is always fine
    if allowed:
        check_payment_mode(loan, mode="self", amount=Decimal(amount))
    else:
        with pytest.raises(RuleViolation):
            check_payment_mode(loan, mode="self", amount=Decimal(amount))


def test_disburse_is_exactly_once_and_a_retry_returns_the_first_result(staff, flow, draft):
    loan = flow.advance(draft, Status.ACTIVE)
    again = attempt(staff, loan, "disburse", staff.disb)
    assert again.status == Status.ACTIVE
    assert Disbursement.objects.filter(loan=loan).count() == 1
    assert Installment.objects.filter(loan=loan).count() == 36
    assert AuditEntry.objects.filter(loan=loan, action="disburse").count() == 1
    assert not RefusedAttempt.objects.filter(action="disburse", loan_id_ref=loan.pk).exists()  # a retry is no refusal


# Separation of duty (SPEC §4) at the new steps.
def multi(username, posts, **kw):
    return staff_create(username=username, posts=posts, password=PASSWORD, **kw)


def test_approver_may_not_disburse_the_loan_they_approved(staff, flow, draft):
    both = multi("appr_disb", ["approver", "disbursement"], approval_limit=Decimal("500000"))
    staff.appr = both
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    with pytest.raises(SeparationOfDuty):
        attempt(staff, loan, "disburse", both)


def test_approver_who_returned_the_loan_may_not_disburse_it_after_another_approved_it(staff, flow, draft):
    """The audit trail keeps the first approver's role once a second approver's decision overwrites ``approver``."""
    first = multi("appr_first", ["approver"], approval_limit=Decimal("500000"))
    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    perform("return_to_review", loan_id=loan.pk, actor=first, data={"reason": "income proof is stale"})
    loan = flow.advance(loan, Status.READY_TO_DISBURSE)  # reviewed again, approved by staff.appr
    assert loan.approver == staff.appr
    from loancenter.services import staff_set_posts

    staff_set_posts(user=first, posts=["disbursement"])
    before = snapshot(loan)
    with pytest.raises(SeparationOfDuty):
        attempt(staff, loan, "disburse", first)
    assert snapshot(loan) == before


def test_marketing_officer_may_not_disburse_own_loan(staff, flow, customer, product):
    both = multi("mkt_disb", ["marketing", "disbursement"])
    loan = LoanFactory(customer=customer, product=product, marketing_officer=both)
    staff.mkt = both
    loan = flow.advance(loan, Status.READY_TO_DISBURSE)
    with pytest.raises(SeparationOfDuty):
        attempt(staff, loan, "disburse", both)


def test_reviewer_of_the_loan_may_not_register_its_collateral(staff, flow, secured):
    # A reviewer who later also holds the clerk post (posts changed) still may not register this loan's collateral.
    loan = flow.advance(secured, Status.CONTRACT_SIGNED)
    staff.rev.groups.clear()
    from loancenter.services import staff_set_posts

    staff_set_posts(user=staff.rev, posts=["mortgage_clerk"])
    with pytest.raises(SeparationOfDuty):
        attempt(staff, loan, "register_collateral", staff.rev)


def test_approver_may_not_register_collateral_of_the_loan(staff, flow, secured):
    loan = flow.advance(secured, Status.CONTRACT_SIGNED)
    from loancenter.services import staff_set_posts

    staff_set_posts(user=staff.appr, posts=["mortgage_clerk"])
    with pytest.raises(SeparationOfDuty):
        attempt(staff, loan, "register_collateral", staff.appr)


def test_registrar_may_not_disburse_the_loan(staff, flow, secured):
    loan = flow.advance(secured, Status.READY_TO_DISBURSE)
    from loancenter.services import staff_set_posts

    staff_set_posts(user=staff.clerk, posts=["disbursement"])
    before = snapshot(loan)
    with pytest.raises(SeparationOfDuty):
        attempt(staff, loan, "disburse", staff.clerk)
    assert snapshot(loan) == before


def test_borrower_staff_may_do_nothing_on_their_loan(staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    borrower_staff = multi("borrower_disb", ["disbursement"], id_number=loan.customer.id_number)
    with pytest.raises(SeparationOfDuty):
        attempt(staff, loan, "disburse", borrower_staff)


def test_bad_payee_account_is_refused(staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    with pytest.raises(DomainError):
        attempt(staff, loan, "disburse", staff.disb, payee_account="abc")
    assert Loan.objects.get(pk=loan.pk).status == Status.READY_TO_DISBURSE
