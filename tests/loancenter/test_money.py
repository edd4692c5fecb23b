"""Money helpers (SPEC §5): Decimal, two places, ROUND_HALF_UP; monthly rate = annual / 12."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loancenter.lib.money import equal_installment_payment, first_installment, fmt_pct, q2

D = Decimal


@pytest.mark.parametrize(
    "method, expected",
    [
        ("equal_installment", D("2934.64")),  # 100000·r·(1+r)^36/((1+r)^36−1), r = 0.003
        ("equal_principal", D("3077.78")),  # 100000/36 + 100000·0.003
        ("interest_only", D("300.00")),
        ("bullet", D("3077.78")),  # (100000 + 100000·0.003·36) / 36
    ],
)
def test_first_installment_of_100000_at_3_6_percent_over_36_months(method, expected):
    assert first_installment(D("100000"), D("0.036"), 36, method) == expected


def test_zero_rate_installment_is_amount_over_term():
    assert equal_installment_payment(D("1200"), D("0"), 12) == D("100.00")


def test_rounding_is_half_up():
    assert q2(D("0.005")) == D("0.01")
    assert q2(D("2.675")) == D("2.68")  # binary floats would give 2.67


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError):
        first_installment(D("1000"), D("0.04"), 12, "balloon")


def test_percent_formatting():
    assert fmt_pct(D("0.625")) == "62.5%"
    assert fmt_pct(D("0.5")) == "50%"
