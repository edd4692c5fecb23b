"""Date helpers: months arithmetic, working days, ages."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.utils import timezone

# SPEC §10: no date of a past event (a payment, an interview, a receipt…) lies before this day.
EARLIEST_EVENT_DATE = date(2000, 1, 1)


def today() -> date:
    return timezone.localdate()


def add_months(start: date, months: int) -> date:
    """Same day-of-month ``months`` later, clamped to the month's last day (Jan 31 + 1 → Feb 28/29)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def add_working_days(start: date, days: int) -> date:
    """Monday–Friday working days. Public holidays are not modelled (docs/decisions.md)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
