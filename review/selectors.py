"""What the reviewer and the approver read beside their decision (issue 15, part 7): the authority limit and the
customer's exposure (rules 11, 27), DTI and LTV at the terms on the table (rules 8, 9), and every refusal the
decision would meet. Each figure comes from the function the decision's own check calls."""

from __future__ import annotations

from decimal import Decimal

from applications import rules
from applications.lpr.rules import price
from applications.models import Loan, Status
from applications.selectors import (
    customer_exposure,
    customer_exposures,
    other_installments,
    verified_borrower,
    verified_collaterals,
)
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError, Forbidden
from loancenter.lib.money import first_installment, fmt_pct, fmt_rate
from review.rules import approver_within_authority
from review.services import term_findings


def authority_applies(loan: Loan, user) -> bool:
    """Whether ``loan_approve`` measures ``user``'s limit on this loan: always at the center's approval, at branch
    level only for a branch approver with a limit (``review.services.loan_approve``)."""
    if loan.status == Status.PENDING_APPROVAL:
        return user.has_post(P.APPROVER)
    if loan.status == Status.PENDING_BRANCH_APPROVAL:
        return user.has_post(P.BRANCH_APPROVER) and user.approval_limit is not None
    return False


def authority_refusal(loan: Loan, user, exposure: Decimal) -> str | None:
    """Rule 11's refusal ``user`` would meet approving ``loan`` at ``exposure`` (None: within their limit)."""
    if not authority_applies(loan, user):
        return None
    try:
        approver_within_authority(user, exposure)
    except Forbidden as error:
        return error.message
    return None


def flag_over_limit(loans, user) -> list:
    """Mark each loan of an approver's queue page whose exposure is above their limit (``loan.over_limit``, with
    ``loan.exposure_total``): one query for the page."""
    loans = list(loans)
    deciding = [loan for loan in loans if authority_applies(loan, user)]
    exposures = customer_exposures(deciding) if deciding else {}
    for loan in loans:
        exposure = exposures.get(loan.pk)
        loan.exposure_total = exposure.total if exposure is not None else None
        loan.over_limit = exposure is not None and authority_refusal(loan, user, exposure.total) is not None
    return loans


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else fmt_pct(value)


def priced_rate(loan: Loan, *, annual_rate: Decimal | None, spread_bp: int | None) -> Decimal | None:
    """The rate the decision would fix: the one sent, or for an LPR-linked loan the LPR in force today plus the
    spread (``applications.lpr.rules.price``, as the decision itself prices it); None when no rate is known yet (no
    spread proposed, no LPR in force)."""
    if annual_rate is not None:
        return annual_rate
    if not loan.lpr_linked or spread_bp is None:
        return None
    try:
        return price(loan.product, annual_rate=None, spread_bp=spread_bp, on=today()).annual_rate
    except DomainError:
        return None


def decision_aids(loan: Loan, user, *, amount: Decimal, term_months: int, annual_rate: Decimal | None, method: str,
                  spread_bp: int | None = None) -> dict:
    """The figures beside a review or approval form for the terms it shows. An LPR-linked loan's terms carry the
    spread, not the rate: the aids are figured at the priced rate; with no rate known, the rate-dependent aids
    (installment, DTI, the term warnings) are left out rather than guessed."""
    annual_rate = priced_rate(loan, annual_rate=annual_rate, spread_bp=spread_bp)
    exposure = customer_exposure(loan, amount=amount)
    installment = None if annual_rate is None else first_installment(amount, annual_rate, term_months, method)
    dti = ltv = None
    if loan.verified_at is not None:
        if installment is not None:
            dti = rules.dti_ratio(verified_borrower(loan), installment=installment,
                                  other_installments=other_installments(loan))
        if loan.product.secured:
            ltv = rules.ltv_ratio(amount, [c.appraised_value for c in verified_collaterals(loan)])
    refusal = authority_refusal(loan, user, exposure.total)
    warnings = [] if annual_rate is None else [
        error.message for error in term_findings(loan, amount=amount, term_months=term_months,
                                                 annual_rate=annual_rate, method=method)]
    return {
        "amount": amount, "term_months": term_months, "annual_rate": annual_rate, "installment": installment,
        "dti": dti, "max_dti": loan.product.max_dti, "dti_ok": None if dti is None else dti <= loan.product.max_dti,
        "ltv": ltv, "max_ltv": loan.product.max_ltv,
        "ltv_ok": None if ltv is None or loan.product.max_ltv is None else ltv <= loan.product.max_ltv,
        "annual_rate_pct": None if annual_rate is None else fmt_rate(annual_rate), "dti_pct": _pct(dti), "max_dti_pct": _pct(loan.product.max_dti),
        "ltv_pct": _pct(ltv), "max_ltv_pct": _pct(loan.product.max_ltv),
        "authority_applies": authority_applies(loan, user), "over_limit": refusal is not None,
        "limit_refusal": refusal, "warnings": warnings,
    }

