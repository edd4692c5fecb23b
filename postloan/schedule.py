"""Repayment schedules (SPEC §5): pure functions, Decimal throughout, the last installment absorbs rounding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from loancenter.lib.dates import add_months
from loancenter.lib.money import (
    BULLET,
    EQUAL_INSTALLMENT,
    EQUAL_PRINCIPAL,
    INTEREST_ONLY,
    equal_installment_payment,
    period_interest,
    q2,
)


@dataclass(frozen=True)
class Row:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def build_schedule(*, amount: Decimal, annual_rate: Decimal, term_months: int, method: str, value_date: date) -> list[Row]:
    """Installments due monthly on the value date's day (clamped to month end); a bullet loan has one, at maturity.

    Interest of a period is the outstanding principal × annual rate / 12, rounded half-up to the cent.
    An equal installment is the annuity rounded to the cent; where that cent of rounding, compounded over a long
    term at a high rate, would repay the principal before maturity, the installment is a cent lower and the last one
    absorbs the difference (every installment but the last stays equal).
    """
    amount = q2(amount)
    n = term_months
    if method == BULLET:
        return [Row(1, add_months(value_date, n), amount, period_interest(amount, annual_rate, n))]
    payment = equal_installment_payment(amount, annual_rate, n) if method == EQUAL_INSTALLMENT else None
    rows, early = _amortise(amount, annual_rate, n, method, value_date, payment)
    while early and payment is not None and payment > Decimal("0.01"):
        payment -= Decimal("0.01")
        rows, early = _amortise(amount, annual_rate, n, method, value_date, payment)
    return rows


def _amortise(amount: Decimal, annual_rate: Decimal, n: int, method: str, value_date: date,
              payment: Decimal | None) -> tuple[list[Row], bool]:
    """The rows, and whether the principal ran out before the last installment."""
    rows: list[Row] = []
    balance = amount
    level_principal = q2(amount / n)
    early = False
    for k in range(1, n + 1):
        interest = period_interest(balance, annual_rate)
        if k == n:
            principal = balance
        elif method == EQUAL_INSTALLMENT:
            principal = payment - interest
        elif method == EQUAL_PRINCIPAL:
            principal = level_principal
        elif method == INTEREST_ONLY:
            principal = Decimal("0.00")
        else:
            raise ValueError(f"unknown repayment method {method!r}")
        if k < n and principal >= balance and method == EQUAL_INSTALLMENT:
            early = True
        principal = min(principal, balance)
        rows.append(Row(k, add_months(value_date, k), principal, interest))
        balance -= principal
    return rows, early
