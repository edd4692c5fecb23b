"""Money per SPEC §5: Decimal, CNY, two places, ROUND_HALF_UP; daily rate = annual/360, monthly = annual/12."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

EQUAL_INSTALLMENT = "equal_installment"
EQUAL_PRINCIPAL = "equal_principal"
INTEREST_ONLY = "interest_only"
BULLET = "bullet"
REPAYMENT_METHODS = (EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET)


def q2(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return Decimal(annual_rate) / Decimal(12)


def daily_rate(annual_rate: Decimal) -> Decimal:
    return Decimal(annual_rate) / Decimal(360)


def equal_installment_payment(amount: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
    """等额本息 monthly payment: P·r·(1+r)^n / ((1+r)^n − 1), rounded to the cent."""
    r = monthly_rate(annual_rate)
    if r == 0:
        return q2(Decimal(amount) / term_months)
    growth = (1 + r) ** term_months
    return q2(Decimal(amount) * r * growth / (growth - 1))


def first_installment(amount: Decimal, annual_rate: Decimal, term_months: int, method: str) -> Decimal:
    """The monthly amount the borrower must find in the first month; the figure rule 8 (DTI) uses.

    For a bullet loan nothing is due monthly, so the monthly equivalent of the single repayment
    (principal plus all interest, spread over the term) is used instead of zero.
    """
    amount = Decimal(amount)
    r = monthly_rate(annual_rate)
    if method == EQUAL_INSTALLMENT:
        return equal_installment_payment(amount, annual_rate, term_months)
    if method == EQUAL_PRINCIPAL:
        return q2(amount / term_months + amount * r)
    if method == INTEREST_ONLY:
        return q2(amount * r)
    if method == BULLET:
        return q2((amount + amount * r * term_months) / term_months)
    raise ValueError(f"unknown repayment method {method!r}")


def fmt_pct(ratio: Decimal) -> str:
    """0.625 → '62.5%' (one decimal at most, no trailing zero)."""
    pct = (Decimal(ratio) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize()
    return f"{pct:f}%"
