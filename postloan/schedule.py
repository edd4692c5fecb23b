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
    monthly_rate,
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
    """
    amount = q2(amount)
    r = monthly_rate(annual_rate)
    n = term_months
    rows: list[Row] = []
    if method == BULLET:
        return [Row(1, add_months(value_date, n), amount, q2(amount * r * n))]
    balance = amount
    payment = equal_installment_payment(amount, annual_rate, n) if method == EQUAL_INSTALLMENT else None
    level_principal = q2(amount / n)
    for k in range(1, n + 1):
        interest = q2(balance * r)
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
        principal = min(principal, balance)
        rows.append(Row(k, add_months(value_date, k), principal, interest))
        balance -= principal
    return rows
