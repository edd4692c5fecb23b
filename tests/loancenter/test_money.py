"""Money helpers (SPEC §5): Decimal, two places, ROUND_HALF_UP; monthly rate = annual / 12."""

from __future__ import annotations

from decimal import Decimal

import cn2an
import pytest

from loancenter.lib.money import amount_in_words, equal_installment_payment, first_installment, fmt_pct, q2

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


# Amounts in Chinese capitals (大写金额) are written by our own function: cn2an omits the 零 that marks an empty
# 万 group (100,007,781 → 壹亿柒仟柒佰捌拾壹元整, which reads as a different amount); docs/decisions.md.
@pytest.mark.parametrize(("amount", "words"), [
    ("0.00", "零元整"),
    ("0.05", "伍分"),
    ("10.01", "壹拾元零壹分"),
    ("1001.10", "壹仟零壹元壹角整"),
    ("100000.00", "壹拾万元整"),
    ("100007781.00", "壹亿零柒仟柒佰捌拾壹元整"),
    ("100070000.00", "壹亿零柒万元整"),
    ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
])
def test_amount_in_capitals(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_amount_in_capitals_agrees_with_cn2an_but_for_the_empty_wan_group():
    disagreements = []
    for yuan in [1, 10, 101, 1010, 10001, 100010, 1000001, 10000100, 123456789, 100007781, 999999999999]:
        for cents in ("00", "01", "10", "55"):
            value = f"{yuan}.{cents}"
            ours, theirs = amount_in_words(Decimal(value)), cn2an.an2cn(value, "rmb")
            if ours != theirs and ours != theirs + "整":  # 整 after 角 is optional (支付结算办法)
                disagreements.append(value)
    assert disagreements == [f"100007781.{c}" for c in ("00", "01", "10", "55")]


# ``{{ amount|money }}``: the one way every page and paper prints money, the same in both languages.

@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(("value", "printed"), [
    (Decimal("1234567.5"), "1,234,567.50"), (Decimal("0.00"), "0.00"), (Decimal("999.995"), "1,000.00"),
    (Decimal("-2500.00"), "-2,500.00"), (None, ""),
])
def test_money_prints_two_decimals_grouped(language, value, printed):
    from django.template import Context, Template
    from django.utils import translation

    with translation.override(language):
        assert Template("{% load money %}{{ v|money }}").render(Context({"v": value})) == printed
