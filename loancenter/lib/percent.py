"""Rates typed and shown as percentages on pages (SPEC §16.5, issue 15 part 5): the person types 4.35 and reads
"4.35 %"; the model, the services and the API keep the fraction 0.0435.

``PercentField`` is the Django form field; ``percent_post`` and ``percent_value`` do the same for the transition
forms drawn from a DRF input serializer (``applications.input_forms``), whose fields stay fractions for the API.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loancenter.lib.money import to_percent

HUNDRED = Decimal(100)


class PercentInput(forms.NumberInput):
    """A number box for a percentage: any number of decimals, the "%" said beside it by the template's label."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"step": "any", "inputmode": "decimal", "data-percent": "true", **(attrs or {})})


class PercentField(forms.DecimalField):
    """A fraction stored, a percentage typed: ``PercentField(places=6, max_percent=100)`` takes "4.35" and cleans to
    ``Decimal("0.0435")``; its initial ``Decimal("0.0435")`` is shown as "4.35". Limits and the number of decimals
    are checked on the percentage, so the messages speak of what the person typed (never "≤ 1")."""

    widget = PercentInput
    default_error_messages = {
        "max_value": _("Enter a percentage of at most %(limit_value)s%%."),
        "min_value": _("Enter a percentage of at least %(limit_value)s%%."),
        "max_decimal_places": _("Enter at most %(max)s decimals in the percentage."),
    }

    def __init__(self, *, places: int = 6, max_percent: Decimal | int | None = 100, min_percent: Decimal | int = 0,
                 **kwargs):
        self.places = places  # the fraction's decimals (the model field's decimal_places)
        kwargs.setdefault("help_text", _("In percent: type 4.35 for 4.35%."))
        super().__init__(max_value=max_percent, min_value=min_percent, decimal_places=max(places - 2, 0), **kwargs)

    def prepare_value(self, value):
        # A fraction from the record (Decimal) is shown as its percentage; what the person typed is shown as typed.
        if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
            return format(to_percent(value), "f")
        return value

    def clean(self, value):
        percent = super().clean(value)
        if percent is None:
            return None
        return percent / HUNDRED  # at most ``places`` decimals: the percentage was checked for places - 2

    def has_changed(self, initial, data) -> bool:
        if self.disabled:
            return False
        try:
            percent = self.to_python(data)
        except ValidationError:
            return True
        if initial in (None, "") or percent is None:
            return (initial in (None, "")) != (percent is None)
        return Decimal(str(initial)) != percent / HUNDRED


def percent_value(fraction) -> str:
    """A fraction as the text of a percent box ("0.0435" → "4.35"); anything that is no number is shown as it is."""
    if fraction in (None, ""):
        return ""
    try:
        return format(to_percent(fraction), "f")
    except (InvalidOperation, ValueError, TypeError):
        return str(fraction)


def percent_post(text: str) -> str:
    """What a person typed in a percent box, as the fraction the API takes ("4.35" → "0.0435"); text that is no
    number is passed on unchanged, for the input serializer to refuse with its own message."""
    try:
        value = Decimal(text.strip().rstrip("%").strip())
    except (InvalidOperation, AttributeError):
        return text
    if not value.is_finite():
        return text
    return format((value / HUNDRED).normalize(), "f")
