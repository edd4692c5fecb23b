"""Review (审查) and approval (审批) of applications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import rules
from applications.certificates import check_certificates_free
from applications.lpr.rules import price
from applications.models import Customer, Loan, Status
from applications.pricing.services import check_rate_grid, record_override
from applications.selectors import (
    Exposure,
    customer_exposure,
    other_installments,
    verified_borrower,
    verified_collaterals,
    verified_guarantors,
)
from applications.services import drop_verified_facts
from applications.terms import keep_terms, terms_at_approval
from applications.workflow import audit, jsonable, run_transition
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError, Forbidden, InvalidState, RuleViolation
from loancenter.lib.money import first_installment
from loancenter.refusals import recorded
from review.rules import approver_within_authority


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise RuleViolation("reason_required", _("State the reason."), field="reason")


def term_checks(loan: Loan, *, amount: Decimal, term_months: int, annual_rate: Decimal,
                method: str) -> list[Callable[[], None]]:
    """Every rule that depends on the terms being proposed or decided (rules 1–4, 8–10, 12b), on the facts the
    investigation verified (rule 23), and with the installments of the borrower's other live loans (rule 27): one
    call each, so that ``check_terms`` raises the first refusal and the decision forms list them all."""
    product = loan.product
    as_of = today()

    def borrower():
        return verified_borrower(loan)

    return [
        lambda: rules.check_amount(product, amount),
        lambda: rules.check_term(product, term_months, long_term_reason=loan.long_term_reason),
        lambda: rules.check_method(product, method),
        lambda: rules.check_rate(product, annual_rate),
        lambda: rules.check_civil_capacity(borrower(), as_of=as_of, who=_("Borrower")),
        lambda: rules.check_not_on_warning_list(borrower(), who=_("Borrower")),
        lambda: rules.check_guarantors(verified_guarantors(loan), borrower=borrower(), as_of=as_of),
        lambda: rules.check_age_at_maturity(borrower(), product, term_months=term_months, start=as_of),
        lambda: rules.check_dti(borrower(), product,
                                installment=first_installment(amount, annual_rate, term_months, method),
                                other_installments=other_installments(loan)),
        lambda: rules.check_collateral(product, verified_collaterals(loan), amount=amount, as_of=as_of),
        lambda: check_certificates_free(loan.collaterals.all(), loan=loan),
    ]


def check_terms(loan: Loan, *, amount: Decimal, term_months: int, annual_rate: Decimal, method: str) -> None:
    for check in term_checks(loan, amount=amount, term_months=term_months, annual_rate=annual_rate, method=method):
        check()


def term_findings(loan: Loan, **terms) -> list[DomainError]:
    """Each refusal ``check_terms`` would meet with these terms (``term_checks``), not only the first: the
    approver's warnings beside the decision form (issue 15, part 7). The same refusal once, however often met."""
    found: list[DomainError] = []
    for check in term_checks(loan, **terms):
        try:
            check()
        except DomainError as error:
            if all(error.message != seen.message for seen in found):
                found.append(error)
    return found


def _exposure_locked(loan: Loan, amount: Decimal) -> Exposure:
    """The borrower's exposure for a decision, with their customer row locked: two decisions on loans of one customer
    run one after the other, so the second counts the first (rule 27)."""
    Customer.objects.select_for_update().filter(pk=loan.customer_id).exists()
    return customer_exposure(loan, amount=amount)


def guarantee_terms_of(loan: Loan, conditions: str) -> dict:
    """Rule 31: the guarantee an approval is given on: the guarantors and collaterals as reviewed (SPEC §16.4), with
    the approver's conditions."""
    return jsonable({
        "guarantors": [{"customer": g.customer_id, "name": g.customer.name, "relationship": g.relationship}
                       for g in loan.guarantors.select_related("customer").order_by("pk")],
        "collaterals": [{"id": c.pk, "kind": c.kind, "description": c.description, "certificate_no": c.certificate_no,
                         "appraised_value": c.verified_appraised_value or c.appraised_value}
                        for c in loan.collaterals.order_by("pk")],
        "conditions": (conditions or "").strip(),
    })


def loan_pass_review(*, loan_id: int, actor, opinion: str, amount: Decimal, term_months: int,
                     repayment_method: str, annual_rate: Decimal | None = None, spread_bp: int | None = None,
                     override_reason: str = "") -> Loan:
    payload = {"opinion": opinion, "amount": amount, "term_months": term_months, "annual_rate": annual_rate,
               "repayment_method": repayment_method, "spread_bp": spread_bp, "override_reason": override_reason}
    priced: dict = {}

    def check(loan: Loan) -> None:
        if not (opinion or "").strip():
            raise RuleViolation("opinion_required", _("Write the review opinion."), field="opinion")
        p = priced["price"] = price(loan.product, annual_rate=annual_rate, spread_bp=spread_bp, on=today())
        check_terms(loan, amount=amount, term_months=term_months, annual_rate=p.annual_rate, method=repayment_method)
        # SPEC §15: a proposal outside the loan's row of the rate grid needs a reason (400 outside_rate_grid).
        priced["deviations"] = check_rate_grid(loan, amount=amount, annual_rate=p.annual_rate, spread_bp=p.spread_bp,
                                               step="pass_review", override_reason=override_reason)

    def apply(loan: Loan) -> None:
        loan.reviewer = actor
        loan.reviewed_at = timezone.now()
        loan.review_opinion = opinion
        loan.proposed_amount, loan.proposed_term_months = amount, term_months
        p = priced["price"]
        loan.proposed_rate, loan.proposed_method = p.annual_rate, repayment_method
        loan.proposed_spread_bp = p.spread_bp
        payload["annual_rate"] = p.annual_rate
        if record_override(loan, actor=actor, step="pass_review", deviations=priced["deviations"], amount=amount,
                           annual_rate=p.annual_rate, spread_bp=p.spread_bp, reason=override_reason):
            payload["override"] = priced["deviations"]

    return run_transition(loan_id=loan_id, actor=actor, name="pass_review", payload=payload, check=check, apply=apply)


def loan_return_to_marketing(*, loan_id: int, actor, reason: str) -> Loan:
    def apply(loan: Loan) -> None:
        loan.reviewer = actor  # the reviewer who returned it stays its reviewer for separation of duty
        drop_verified_facts(loan)  # the customer's facts may be corrected; the investigation is done again

    return run_transition(loan_id=loan_id, actor=actor, name="return_to_marketing", payload={"reason": reason},
                          check=lambda loan: _require_reason(reason), apply=apply)


def loan_approve(*, loan_id: int, actor, amount: Decimal, term_months: int, annual_rate: Decimal | None = None,
                 repayment_method: str, reason: str = "", guarantee_terms: str = "", spread_bp: int | None = None,
                 override_reason: str = "") -> Loan:
    """Approve within the approver's authority, measured on the customer's exposure (rules 11, 27); the loan keeps
    its terms (rule 29), the exposure decided on, the reasons and the guarantee terms (rule 31). An LPR-linked loan's
    rate is the LPR in force today plus the spread, both kept with the publication's date (SPEC §15, §16.31)."""
    payload = {"amount": amount, "term_months": term_months, "annual_rate": annual_rate,
               "repayment_method": repayment_method, "reason": reason, "spread_bp": spread_bp,
               "override_reason": override_reason}
    decided: dict = {}

    def check(loan: Loan) -> None:
        exposure = decided["exposure"] = _exposure_locked(loan, amount)
        if loan.status == Status.PENDING_APPROVAL or actor.approval_limit is not None:
            approver_within_authority(actor, exposure.total)  # who may decide it comes first (SPEC §16.2)
        _require_reason(reason)  # rule 31
        p = decided["price"] = price(loan.product, annual_rate=annual_rate, spread_bp=spread_bp, on=today())
        check_terms(loan, amount=amount, term_months=term_months, annual_rate=p.annual_rate, method=repayment_method)
        # SPEC §15: an approval outside the loan's row of the rate grid needs a reason.
        decided["deviations"] = check_rate_grid(loan, amount=amount, annual_rate=p.annual_rate, spread_bp=p.spread_bp,
                                                step="approve", override_reason=override_reason)

    def apply(loan: Loan) -> None:
        loan.approver = actor
        p = decided["price"]
        if record_override(loan, actor=actor, step="approve", deviations=decided["deviations"], amount=amount,
                           annual_rate=p.annual_rate, spread_bp=p.spread_bp, reason=override_reason):
            payload["override"] = decided["deviations"]
        keep_terms(loan, terms_at_approval(loan.product, amount=amount, term_months=term_months,
                                           annual_rate=p.annual_rate, method=repayment_method,
                                           spread_bp=p.spread_bp, lpr=p.lpr))
        loan.lpr_published_on = p.publication.published_on if p.publication else None
        payload["annual_rate"] = p.annual_rate
        loan.exposure = decided["exposure"].total
        loan.decision_reason = reason.strip()
        loan.approved_guarantee = guarantee_terms_of(loan, guarantee_terms)
        loan.decided_at = timezone.now()
        payload.update(exposure=decided["exposure"].as_dict(), terms=loan.terms.as_dict(),
                       guarantee_terms=loan.approved_guarantee)

    return run_transition(loan_id=loan_id, actor=actor, name="approve", payload=payload, check=check, apply=apply)


def loan_reject(*, loan_id: int, actor, reason: str) -> Loan:
    def apply(loan: Loan) -> None:
        loan.approver = actor
        loan.exposure = customer_exposure(loan).total  # as the decision saw it (rule 27)
        loan.decision_reason = reason.strip()
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
