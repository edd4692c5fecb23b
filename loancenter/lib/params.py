"""Query-string parameters of reports, drill-downs, exports and lists (SPEC §10: never a 500 on what a URL carries).

Every parameter a page or an export reads from its address goes through one of these: a value outside what the
report can mean (a date before 2000 or far in the future, a page beyond any list, an id that is not a plain number)
is refused with a message (``ValueError`` / a form error), and the caller answers 400 or falls back to its default.
"""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loancenter.lib.dates import EARLIEST_EVENT_DATE, today

# The dates a report or a filter can be about: from the earliest date the center accepts to the last maturity a
# 30-year loan taken out today could have.
LATEST_REPORT_DATE = date(2100, 12, 31)
MAX_PERIOD_DAYS = 3660  # the dashboard's period figures: at most ten years
MAX_PAGE = 100_000  # pages of 50: five million rows, more than any list here holds
MAX_DAYS = 36_600  # days past due: a hundred years
MAX_ID = 2**63 - 1

_ASCII_INT = re.compile(r"[0-9]{1,19}")


def parse_date(raw: str | None, *, latest: date | None = None) -> date | None:
    """``YYYY-MM-DD`` between 2000-01-01 and ``latest`` (default 2100-12-31); None when absent or blank."""
    if raw is None or not raw.strip():
        return None
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": raw[:40]}) from None
    top = latest or LATEST_REPORT_DATE
    if not EARLIEST_EVENT_DATE <= value <= top:
        raise ValueError(_("%(value)s is outside %(low)s … %(high)s.")
                         % {"value": value.isoformat(), "low": EARLIEST_EVENT_DATE.isoformat(), "high": top.isoformat()})
    return value


def parse_as_of(raw: str | None) -> date | None:
    """A snapshot day: a date from 2000-01-01 to today."""
    return parse_date(raw, latest=today())


def parse_month(raw: str | None) -> tuple[int, int] | None:
    """``YYYY-MM`` from 2000-01 to this month; None when absent or blank."""
    if raw is None or not raw.strip():
        return None
    match = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", raw.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(_("%(value)s is not a month (YYYY-MM).") % {"value": raw[:40]})
    year, month = int(match[1]), int(match[2])
    now = today()
    if (year, month) < (EARLIEST_EVENT_DATE.year, EARLIEST_EVENT_DATE.month) or (year, month) > (now.year, now.month):
        raise ValueError(_("%(value)s is outside %(low)s … %(high)s.")
                         % {"value": raw.strip(), "low": f"{EARLIEST_EVENT_DATE:%Y-%m}", "high": f"{now:%Y-%m}"})
    return year, month


def parse_int(raw: str | None, *, low: int, high: int, default: int) -> int:
    """A whole number in ASCII digits within ``low``…``high``; ``default`` when absent or blank."""
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,19}", text):
        raise ValueError(_("%(value)s is not a whole number.") % {"value": text[:40]})
    value = int(text)
    if not low <= value <= high:
        raise ValueError(_("%(value)s is outside %(low)s … %(high)s.") % {"value": text, "low": low, "high": high})
    return value


def parse_id(raw: str | None) -> int | None:
    """An object id in ASCII digits (``²`` is a digit to Python, not to the database); None for anything else."""
    text = (raw or "").strip()
    if not _ASCII_INT.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_page(raw: str | None) -> int:
    """A page number from 1 to ``MAX_PAGE``; anything else is the first page (a page link is never worth a 400)."""
    try:
        return parse_int(raw, low=1, high=MAX_PAGE, default=1)
    except ValueError:
        return 1


# ---------------------------------------------------------------------------------------------------------------
# Form fields for filter forms


class ReportDateField(forms.DateField):
    """A filter date from 2000-01-01 to 2100-12-31."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators += [MinValueValidator(EARLIEST_EVENT_DATE), MaxValueValidator(LATEST_REPORT_DATE)]


class ReportDaysField(forms.IntegerField):
    """A number of days, 0 to a hundred years."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_DAYS)
        super().__init__(**kwargs)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Choices by id, where an id that is not a plain in-range number is an unknown choice (not a database error)."""

    default_error_messages = {"invalid_pk_value": gettext_lazy("“%(pk)s” is not a valid value.")}

    def _check_values(self, value):
        for pk in value:
            if parse_id(str(pk)) is None:
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                            params={"pk": str(pk)[:40]})
        return super()._check_values(value)
