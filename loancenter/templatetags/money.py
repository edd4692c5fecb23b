"""``{{ amount|money }}``: how every page and paper prints an amount of money (``{% load money %}``);
``{{ rate|pct }}``: how they print a rate or ratio (0.0435 → "4.35%", ``loancenter.lib.money.fmt_rate``).

One rule in every language: two decimals rounded half up (SPEC §5), a comma every three digits, as Chinese banks print
amounts (Django's zh-Hans formats group nothing), nothing for an empty value (``|default:"—"`` after it shows a dash).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from loancenter.lib.money import fmt_rate, q2

register = template.Library()


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return ""
    try:
        return f"{q2(Decimal(str(value))):,.2f}"
    except (InvalidOperation, ValueError, TypeError):
        return ""


@register.filter
def pct(value) -> str:
    """A stored rate or ratio (a fraction) as a percentage: one rule for pages, PDFs and exports (issue 15 part 5)."""
    try:
        return fmt_rate(value)
    except (InvalidOperation, ValueError, TypeError):
        return ""
