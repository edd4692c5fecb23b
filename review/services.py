"""Review (审查) and approval (审批) of applications."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules
from applications.models import Loan, Status
from applications.services import check_people
from applications.workflow import audit, run_transition
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import Forbidden, InvalidState, RuleViolation
from loancenter.lib.money import first_installment
from loancenter.refusals import recorded
from review.rules import approver_within_authority


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise RuleViolation("reason_required", _("State the reason."), field="reason")


def check_terms(loan: Loan, *, amount: Decimal, term_months: int, annual_rate: Decimal, method: str) -> None:
    """Every rule that depends on the terms being proposed or decided (rules 1–4, 8–10, 12b)."""
    product = loan.product
    as_of = today()
    rules.check_amount(product, amount)
    rules.check_term(product, term_months, long_term_reason=loan.long_term_reason)
    rules.check_method(product, method)
    rules.check_rate(product, annual_rate)
    check_people(loan, as_of=as_of)
    rules.check_age_at_maturity(loan.customer, product, term_months=term_months, start=as_of)
    rules.check_dti(loan.customer, product, installment=first_installment(amount, annual_rate, term_months, method))
    rules.check_collateral(product, list(loan.collaterals.all()), amount=amount, as_of=as_of)


def loan_pass_review(*, loan_id: int, actor, opinion: str, amount: Decimal, term_months: int,
                     annual_rate: Decimal, repayment_method: str) -> Loan:
    payload = {"opinion": opinion, "amount": amount, "term_months": term_months, "annual_rate": annual_rate,
               "repayment_method": repayment_method}

    def check(loan: Loan) -> None:
        if not (opinion or "").strip():
            raise RuleViolation("opinion_required", _("Write the review opinion."), field="opinion")
        check_terms(loan, amount=amount, term_months=term_months, annual_rate=annual_rate, method=repayment_method)

    def apply(loan: Loan) -> None:
        loan.reviewer = actor
        loan.reviewed_at = timezone.now()
        loan.review_opinion = opinion
        loan.proposed_amount, loan.proposed_term_months = amount, term_months
        loan.proposed_rate, loan.proposed_method = annual_rate, repayment_method

    return run_transition(loan_id=loan_id, actor=actor, name="pass_review", payload=payload, check=check, apply=apply)


def loan_return_to_marketing(*, loan_id: int, actor, reason: str) -> Loan:
    def apply(loan: Loan) -> None:
        loan.reviewer = actor  # the reviewer who returned it stays its reviewer for separation of duty

    return run_transition(loan_id=loan_id, actor=actor, name="return_to_marketing", payload={"reason": reason},
                          check=lambda loan: _require_reason(reason), apply=apply)


def loan_approve(*, loan_id: int, actor, amount: Decimal, term_months: int, annual_rate: Decimal,
                 repayment_method: str, reason: str = "") -> Loan:
    payload = {"amount": amount, "term_months": term_months, "annual_rate": annual_rate,
               "repayment_method": repayment_method, "reason": reason}

    def check(loan: Loan) -> None:
        if loan.status == Status.PENDING_APPROVAL or actor.approval_limit is not None:
            approver_within_authority(actor, amount)
        check_terms(loan, amount=amount, term_months=term_months, annual_rate=annual_rate, method=repayment_method)

    def apply(loan: Loan) -> None:
        loan.approver = actor
        loan.approved_amount, loan.approved_term_months = amount, term_months
        loan.annual_rate, loan.approved_method = annual_rate, repayment_method
        loan.decided_at = timezone.now()

    return run_transition(loan_id=loan_id, actor=actor, name="approve", payload=payload, check=check, apply=apply)


def loan_reject(*, loan_id: int, actor, reason: str) -> Loan:
    def apply(loan: Loan) -> None:
        loan.approver = actor
        loan.decided_at = timezone.now()

    return run_transition(loan_id=loan_id, actor=actor, name="reject", payload={"reason": reason},
                          check=lambda loan: _require_reason(reason), apply=apply)


def loan_return_to_review(*, loan_id: int, actor, reason: str) -> Loan:
    def apply(loan: Loan) -> None:
        loan.approver = actor

    return run_transition(loan_id=loan_id, actor=actor, name="return_to_review", payload={"reason": reason},
                          check=lambda loan: _require_reason(reason), apply=apply)


def loan_escalate(*, loan_id: int, actor, reason: str) -> Loan:
    def apply(loan: Loan) -> None:
        loan.escalated_by = actor

    return run_transition(loan_id=loan_id, actor=actor, name="escalate", payload={"reason": reason},
                          check=lambda loan: _require_reason(reason), apply=apply)


@recorded("customer_notified", posts=(P.MARKETING, P.MANAGER))
@transaction.atomic
def decision_record_notification(*, loan_id: int, actor, notified_on: date) -> Loan:
    """Rule 12: the customer is told of the decision within 3 working days; the officer records when."""
    loan = Loan.objects.select_for_update().get(pk=loan_id)
    if actor.has_post(P.MARKETING) and not actor.has_post(P.MANAGER) and loan.marketing_officer_id != actor.pk:
        raise Forbidden("not_owner", _("Only the loan's own marketing officer may do this."))
    if loan.decided_at is None or loan.status not in (Status.APPROVED, Status.REJECTED) and loan.stage_reached < 6:
        raise InvalidState(_("There is no decision to notify yet."))
    if loan.customer_notified_on is not None:
        raise InvalidState(_("The customer was already notified on %(d)s.") % {"d": loan.customer_notified_on})
    if notified_on > today() or notified_on < timezone.localtime(loan.decided_at).date():
        raise RuleViolation("notified_on", _("The notification date must lie between the decision and today."),
                            field="notified_on")
    loan.customer_notified_on = notified_on
    loan.save(update_fields=["customer_notified_on"])
    audit(actor=actor, action="customer_notified", loan=loan, payload={"notified_on": notified_on})
    return loan
