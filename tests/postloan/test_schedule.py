"""Schedules against independently computed figures, and properties over random loans (SPEC §5)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import example, given, settings
from hypothesis import strategies as st

from postloan.schedule import build_schedule

VALUE_DATE = date(2026, 1, 31)


def schedule(method, amount="100000.00", rate="0.036", term=36):
    return build_schedule(amount=Decimal(amount), annual_rate=Decimal(rate), term_months=term, method=method,
                          value_date=VALUE_DATE)


def annuity_by_float(amount: float, annual: float, n: int) -> Decimal:
    """An independent computation in binary floating point, rounded once at the end."""
    r = annual / 12
    payment = amount * r * (1 + r) ** n / ((1 + r) ** n - 1)
    return Decimal(repr(payment)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_equal_installment_100k_at_3_6_percent_over_36_months_is_2934_64():
    rows = schedule("equal_installment")
    assert rows[0].total == Decimal("2934.64")
    assert annuity_by_float(100000, 0.036, 36) == Decimal("2934.64")
    assert rows[0].interest == Decimal("300.00")  # 100,000 × 0.036 / 12
    assert all(r.total == Decimal("2934.64") for r in rows[:-1])


def test_equal_principal_first_installment_is_3077_78():
    rows = schedule("equal_principal")
    assert rows[0].principal == Decimal("2777.78")
    assert rows[0].total == Decimal("3077.78")
    # Interest falls as principal is repaid: second month on 97,222.22 → 291.67.
    assert rows[1].interest == Decimal("291.67")
    assert rows[-1].principal == Decimal("100000.00") - Decimal("2777.78") * 35


def test_interest_only_pays_principal_at_maturity():
    rows = schedule("interest_only", term=12)
    assert [r.principal for r in rows[:-1]] == [Decimal("0.00")] * 11
    assert rows[-1].principal == Decimal("100000.00")
    assert all(r.interest == Decimal("300.00") for r in rows)


def test_bullet_is_one_installment_at_maturity():
    rows = schedule("bullet", term=12)
    assert len(rows) == 1
    assert rows[0].due_date == date(2027, 1, 31)
    assert rows[0].principal == Decimal("100000.00")
    assert rows[0].interest == Decimal("3600.00")


def half_up(value: Fraction) -> Decimal:
    """An exact non-negative amount in yuan rounded half-up to the cent, worked out in integers."""
    cents, rest = divmod(value * 100, 1)
    return Decimal(int(cents) + (1 if rest * 2 >= 1 else 0)) / 100


def test_an_exact_half_cent_of_interest_rounds_up():
    """SPEC §5: 1,501.50 at 4.00 % for a month is 5.005 exactly, so 5.01. (4 % / 12 = 0.00333… does not terminate:
    multiplying by the twelfth cut to 28 digits gave 5.004999… and 5.00, issue 19.)"""
    assert half_up(Fraction("1501.50") * Fraction("0.04") / 12) == Decimal("5.01")
    rows = schedule("interest_only", amount="1501.50", rate="0.04", term=3)
    assert [r.interest for r in rows] == [Decimal("5.01")] * 3
    # Equal principal: 3,003.00 in two halves of 1,501.50; the second month's interest is on 1,501.50.
    rows = schedule("equal_principal", amount="3003.00", rate="0.04", term=2)
    assert [(r.principal, r.interest) for r in rows] == [(Decimal("1501.50"), Decimal("10.01")),
                                                        (Decimal("1501.50"), Decimal("5.01"))]
    # A bullet loan's three months at once: 15.015 → 15.02 (one rounding).
    assert schedule("bullet", amount="1501.50", rate="0.04", term=3)[0].interest == Decimal("15.02")


def test_due_dates_clamp_to_month_end():
    rows = schedule("equal_installment", term=3)
    assert [r.due_date for r in rows] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


loans = st.fixed_dictionaries({
    "amount": st.decimals(min_value=Decimal("1000.00"), max_value=Decimal("5000000.00"), places=2),
    "rate": st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.2400"), places=4),
    "term": st.integers(min_value=1, max_value=360),
    "method": st.sampled_from(["equal_installment", "equal_principal", "interest_only", "bullet"]),
})


@settings(max_examples=300, deadline=None)
@given(loans)
# Found by this test: at 22.24 % over 327 months the cent of rounding repaid the principal before maturity.
@example({"amount": Decimal("1000.00"), "rate": Decimal("0.2224"), "term": 327, "method": "equal_installment"})
@example({"amount": Decimal("1501.50"), "rate": Decimal("0.0400"), "term": 12, "method": "interest_only"})
def test_schedule_properties(loan):
    rows = build_schedule(amount=loan["amount"], annual_rate=loan["rate"], term_months=loan["term"],
                          method=loan["method"], value_date=VALUE_DATE)
    assert sum(r.principal for r in rows) == loan["amount"]
    for row in rows:
        assert row.principal >= 0 and row.interest >= 0
        assert row.principal == row.principal.quantize(Decimal("0.01"))
        assert row.interest == row.interest.quantize(Decimal("0.01"))
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    # Each period's interest is the balance before it × rate / 12, exactly, rounded half-up once.
    balance, rate = Fraction(loan["amount"]), Fraction(loan["rate"])
    if loan["method"] == "bullet":
        assert rows[0].interest == half_up(balance * rate * loan["term"] / 12)
    else:
        for row in rows:
            assert row.interest == half_up(balance * rate / 12)
            balance -= Fraction(row.principal)
    assert all(a.due_date < b.due_date for a, b in zip(rows, rows[1:], strict=False))
    if loan["method"] == "equal_installment":
        assert len({r.total for r in rows[:-1]}) <= 1
