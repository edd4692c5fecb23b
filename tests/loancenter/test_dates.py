"""Working days follow the official Chinese calendar (SPEC §13, §16.28); month arithmetic clamps to the month's end."""

from __future__ import annotations

import logging
from datetime import date

from loancenter.lib import dates
from loancenter.lib.dates import add_months, add_working_days, is_working_day


def test_spring_festival_2026_is_not_counted_and_its_make_up_saturday_is():
    # 2026-02-13 is a Friday; Saturday 14 February is a make-up working day (调休), then the holiday runs to the 23rd.
    assert is_working_day(date(2026, 2, 14))
    assert not is_working_day(date(2026, 2, 17))
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)


def test_national_day_week_2026():
    assert not is_working_day(date(2026, 10, 5))  # a Monday inside the holiday
    assert is_working_day(date(2026, 10, 10))  # a Saturday worked in its place
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_a_year_beyond_the_package_falls_back_to_weekdays_and_fixed_holidays(caplog, monkeypatch):
    monkeypatch.setattr(dates, "_years_warned", set())
    with caplog.at_level(logging.WARNING, logger="loancenter.lib.dates"):
        assert add_working_days(date(2027, 12, 31), 1) == date(2028, 1, 3)  # New Year's Day is a Saturday
        assert not is_working_day(date(2028, 1, 1))
        assert not is_working_day(date(2028, 5, 1))  # Labour Day, a Monday
        assert not is_working_day(date(2028, 10, 3))  # National Day, a Tuesday
        assert is_working_day(date(2028, 10, 9))
    warnings = [r for r in caplog.records if "2028" in r.getMessage()]
    assert len(warnings) == 1  # once per year, not once per day asked


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
