"""The working-day calendar: England and Wales bank holidays (the `holidays` package, which carries
one-off days such as the 2022 Platinum Jubilee and State Funeral and the substitute days) plus a
deployment's local closure days. Pure: no I/O once built.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import holidays


@lru_cache(maxsize=1)
def _england() -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG")


class WorkingCalendar:
    """Monday to Friday, less England bank holidays, less the configured closure days."""

    def __init__(self, closure_days: Iterable[dt.date] = ()) -> None:
        self._bank_holidays = _england()
        self._closures = frozenset(closure_days)

    def is_bank_holiday(self, day: dt.date) -> bool:
        return day in self._bank_holidays

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self._closures and day not in self._bank_holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (day 0 is `start` itself, working or not).

        Negative `days` counts back: `add_working_days(d, -5)` is the fifth working day before `d`.
        """
        step = 1 if days >= 0 else -1
        remaining = abs(days)
        day = start
        while remaining:
            day += dt.timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when `end <= start`)."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months later, clamping to the month's last day (31 Aug + 6 months = 28 or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def birthday(date_of_birth: dt.date, years: int) -> dt.date:
    """The day someone born on `date_of_birth` reaches `years` of age. In England a person born on
    29 February reaches an age on 1 March in a common year."""
    year = date_of_birth.year + years
    if date_of_birth.month == 2 and date_of_birth.day == 29 and not _stdlib_calendar.isleap(year):
        return dt.date(year, 3, 1)
    return date_of_birth.replace(year=year)


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Age in whole years on `day` (on the birthday itself the new age has been reached)."""
    years = day.year - date_of_birth.year
    return years if day >= birthday(date_of_birth, years) else years - 1
