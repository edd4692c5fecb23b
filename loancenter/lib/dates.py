"""Date helpers: months arithmetic, working days, ages, the book date."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

import chinese_calendar
from dateutil.relativedelta import relativedelta
from django.utils import timezone

# SPEC §10: no date of a past event (a payment, an interview, a receipt…) lies before this day.
EARLIEST_EVENT_DATE = date(2000, 1, 1)

logger = logging.getLogger(__name__)

# Holidays that fall on the same calendar day every year (元旦, 劳动节, 国庆节's first three days). Used only for
# years the calendar package does not know yet (SPEC §16.28); the lunar holidays and the make-up working days (调休)
# are published by the State Council each November and come with the package's next release.
FIXED_DATE_HOLIDAYS = frozenset({(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)})

_years_warned: set[int] = set()


def today() -> date:
    return timezone.localdate()


def add_months(start: date, months: int) -> date:
    """Same day-of-month ``months`` later, clamped to the month's last day (Jan 31 + 1 → Feb 28/29)."""
    return start + relativedelta(months=months)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_working_day(day: date) -> bool:
    """The official Chinese calendar (holidays and make-up working days) from ``chinese_calendar``.

    The package knows the years up to its release; for a later year it raises, and the day counts as a working day
    when it is Monday–Friday and not a fixed-date holiday. That is logged once per year, never raised (SPEC §16.28).
    """
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _years_warned:
            _years_warned.add(day.year)
            logger.warning("The Chinese holiday calendar does not know %s yet: counting Monday–Friday without the "
                           "fixed-date holidays for that year. Upgrade chinesecalendar.", day.year)
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS


def add_working_days(start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``is_working_day``)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


# --- the book date -------------------------------------------------------------------------------------------------
# Pages, reports and exports show days past due as of the book date: the as-of date of the latest finished nightly
# run (``postloan.book.book_date``). The nightly batch sits above the loan model, so it hands its reader down at
# start-up (``PostloanConfig.ready``) instead of the model importing upwards.

_book_date_reader: Callable[[], date | None] | None = None


def set_book_date_reader(reader: Callable[[], date | None]) -> None:
    global _book_date_reader
    _book_date_reader = reader


def book_date() -> date | None:
    """As-of date of the latest finished nightly run (None before the first run)."""
    if _book_date_reader is None:
        raise RuntimeError("no book date reader: is postloan in INSTALLED_APPS?")
    return _book_date_reader()


def days_past_due(oldest_unpaid_due: date | None, on: date | None) -> int:
    """Days from the oldest unpaid due date to ``on`` (0 when nothing unpaid is due before it)."""
    if oldest_unpaid_due is None or on is None or oldest_unpaid_due >= on:
        return 0
    return (on - oldest_unpaid_due).days


# --- durations -------------------------------------------------------------------------------------------------------
# One way to print how long something took or has waited (issue 15 part 10): whole days and the hours beyond them,
# "under an hour" below that. Pages print it with ``{{ delta|duration }}`` (loancenter/templatetags/durations.py).


def format_duration(delta: timedelta) -> str:
    from django.utils.translation import gettext, ngettext

    seconds = max(int(delta.total_seconds()), 0)
    days, hours = seconds // 86400, seconds % 86400 // 3600
    if not days and not hours:
        return gettext("under an hour")
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    return " ".join(parts)
