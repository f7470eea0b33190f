"""The simulator's own statutory timetable: an oracle written from DESIGN.md 2.1 and 2.3 alone.

It deliberately shares nothing with the platform's rules (services/*/rules.py) nor with the date
helpers they use (`shared.calendar.add_months`, `birthday`, `age_on`): the only thing borrowed is
whether a day is a working day (`shared.calendar.WorkingCalendar.is_working_day`: England's bank
holidays and the deployment's closure days), so a mistake in the platform's arithmetic shows up as a
disagreement instead of being copied into the expected figures.

- First review: within 20 working days of becoming looked after; day 0 is that day (reg 33).
- Second review: at most 3 months after the first was held; later ones at most 6 months after the
  previous one was held. Months are calendar months; a day the month lacks clamps to its last day.
- Short breaks (legal status V3 or V4, reg 48): the first review within 3 months of the start, the
  later ones at most 6 months apart.
- In time: held on or before the statutory due date.
- Nobody is looked after from their 18th birthday (s105); a 29 February birthday comes on
  1 March in a common year. PN0 exactly when under 4 on the review date.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Protocol

FIRST_REVIEW_WORKING_DAYS: Final = 20
SECOND_REVIEW_MONTHS: Final = 3
LATER_REVIEW_MONTHS: Final = 6
SHORT_BREAK_FIRST_MONTHS: Final = 3
SHORT_BREAK_LATER_MONTHS: Final = 6
SHORT_BREAK_STATUSES: Final = frozenset({"V3", "V4"})
ADULT_AGE: Final = 18
PN0_UNDER: Final = 4
PARTICIPATED: Final = frozenset({"PN1", "PN2", "PN3", "PN4", "PN5", "PN6"})

_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class WorkingDays(Protocol):
    """What the timetable needs of a calendar (`shared.calendar.WorkingCalendar` has it)."""

    def is_working_day(self, day: dt.date) -> bool: ...


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def month_length(year: int, month: int) -> int:
    return 29 if month == 2 and is_leap(year) else _DAYS_IN_MONTH[month - 1]


def plus_months(day: dt.date, months: int) -> dt.date:
    """`months` calendar months after `day` (before, when negative), clamped to the month's end."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return dt.date(year, month, min(day.day, month_length(year, month)))


def plus_working_days(calendar: WorkingDays, start: dt.date, days: int) -> dt.date:
    """The `days`-th working day after `start` (day 0 is `start`, working or not)."""
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return day


def birthday(date_of_birth: dt.date, age: int) -> dt.date:
    """The day someone reaches `age`: 29 February birthdays fall on 1 March in a common year."""
    year = date_of_birth.year + age
    if (date_of_birth.month, date_of_birth.day) == (2, 29) and not is_leap(year):
        return dt.date(year, 3, 1)
    return dt.date(year, date_of_birth.month, date_of_birth.day)


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Whole years of age on `day` (the birthday itself counts as reached)."""
    age = day.year - date_of_birth.year
    return age if day >= birthday(date_of_birth, age) else age - 1


def eighteenth_birthday(date_of_birth: dt.date) -> dt.date:
    return birthday(date_of_birth, ADULT_AGE)


def is_short_break(legal_status: str) -> bool:
    return legal_status in SHORT_BREAK_STATUSES


def first_review_due(calendar: WorkingDays, started_on: dt.date, *, short_break: bool) -> dt.date:
    if short_break:
        return plus_months(started_on, SHORT_BREAK_FIRST_MONTHS)
    return plus_working_days(calendar, started_on, FIRST_REVIEW_WORKING_DAYS)


def next_review_due(held_on: dt.date, *, held_sequence: int, short_break: bool) -> dt.date:
    """The statutory due date of review `held_sequence + 1` of a care period, from the day review
    `held_sequence` was actually held."""
    if short_break:
        months = SHORT_BREAK_LATER_MONTHS
    elif held_sequence == 1:
        months = SECOND_REVIEW_MONTHS
    else:
        months = LATER_REVIEW_MONTHS
    return plus_months(held_on, months)


def in_time(held_on: dt.date, statutory_due_on: dt.date) -> bool:
    return held_on <= statutory_due_on


def code_fits_age(code: str, date_of_birth: dt.date, review_on: dt.date) -> bool:
    """PN0 exactly when under 4 on the review date; PN1-PN7 exactly from the 4th birthday."""
    under_four = age_on(date_of_birth, review_on) < PN0_UNDER
    return code == "PN0" if under_four else code in {f"PN{n}" for n in range(1, 8)}


def percentage(part: int, whole: int) -> float | None:
    """`part` of `whole` as a percentage to one decimal place, rounded half up; None of nothing."""
    if whole == 0:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def collection_year(day: dt.date) -> int:
    """The DfE collection year of a day, named by its end: 2025 is 1 April 2024 to 31 March 2025."""
    return day.year + 1 if day.month >= 4 else day.year
