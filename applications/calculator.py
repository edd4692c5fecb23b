"""The application form's live calculator (issue 15, part 6): installment, DTI and LTV against the product's limits.

Every figure and every warning comes from the rule functions the checks themselves call (``applications.rules``:
``dti_ratio``/``check_dti`` for rule 8, ``ltv_ratio``/``check_ltv`` for rule 9, ``check_amount``/``check_term``/
``check_method`` for rule 4, ``check_age_at_maturity`` for rule 3; ``first_installment`` for the installment rule 8
measures), so the calculator can never say "fine" where submit or approval would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from applications import rules
from applications.selectors import customer_other_installments
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.lib.money import first_installment, fmt_pct, fmt_rate
from loancenter.templatetags.money import money


def _finding(check: Callable[[], None]) -> dict | None:
    try:
        check()
    except DomainError as error:
        return {"code": error.code, "message": str(error.message), "field": error.field}
    return None


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else fmt_pct(value)


def estimate(*, product, amount: Decimal, term_months: int, method: str, customer=None,
             appraised_values: Sequence[Decimal] = (), long_term_reason: str = "") -> dict:
    """What the application's terms come to for ``product`` (and ``customer`` when chosen), with the warnings the
    checks would raise. The installment is at the product's highest rate: the rate is set at review, so the officer
    sees the dearest case (as the scorecard's DTI factor does, SPEC §16.30)."""
    rate = product.max_rate
    method_ok = method in (product.repayment_methods or [])
    installment = first_installment(amount, rate, term_months, method) if method_ok else None
    other = customer_other_installments(customer.pk) if customer is not None else Decimal("0.00")
    dti = None
    if customer is not None and installment is not None:
        dti = rules.dti_ratio(customer, installment=installment, other_installments=other)
    values = [Decimal(v) for v in appraised_values if v is not None]
    ltv = rules.ltv_ratio(amount, values) if product.secured else None
    checks: list[Callable[[], None]] = [
        lambda: rules.check_amount(product, amount),
        lambda: rules.check_term(product, term_months, long_term_reason=long_term_reason),
        lambda: rules.check_method(product, method),
    ]
    if customer is not None:
        checks.append(lambda: rules.check_age_at_maturity(customer, product, term_months=term_months, start=today()))
        if installment is not None:
            checks.append(lambda: rules.check_dti(customer, product, installment=installment, other_installments=other))
    if product.secured:
        checks.append(lambda: rules.check_ltv(product, amount, values))
    warnings = [found for found in map(_finding, checks) if found is not None]
    return {
        "product": product.code,
        "annual_rate": f"{rate:.6f}", "annual_rate_pct": fmt_rate(rate),
        "installment": None if installment is None else f"{installment:.2f}",
        "installment_display": money(installment),  # as the pages print amounts (with separators)
        "other_installments": f"{other:.2f}",
        "dti": _ratio(dti), "dti_pct": _pct(dti), "max_dti": _ratio(product.max_dti), "max_dti_pct": _pct(product.max_dti),
        "dti_ok": None if dti is None else dti <= product.max_dti,
        "ltv": _ratio(ltv), "ltv_pct": _pct(ltv), "max_ltv": _ratio(product.max_ltv), "max_ltv_pct": _pct(product.max_ltv),
        "ltv_ok": None if ltv is None or product.max_ltv is None else ltv <= product.max_ltv,
        "warnings": warnings,
    }
