"""Reporting periods: `[from, to]` in calendar days, both ends included.

A period may span at most `MAX_YEARS` years (OWASP API4, the report issue): a stats or report query
over longer is refused at once (422 naming `to`) instead of running for minutes. Years are added as
the calendar does: 29 February plus a year is 28 February.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import Query

from shared.errors import InvalidField
from shared.types import Date

MAX_YEARS = 10
FIRST_COLLECTION_YEAR, LAST_COLLECTION_YEAR = 1990, 2200

# Query parameters. `Annotated[...]`, not `x: Date = Query(...)`: FastAPI drops a type's validators there.
From = Annotated[Date, Query(alias="from", description="First day of the period (inclusive), YYYY-MM-DD.")]
To = Annotated[
    Date,
    Query(
        alias="to",
        description="Last day of the period (inclusive), YYYY-MM-DD: not before `from`, and under 10 years after it.",
    ),
]
CollectionYear = Annotated[
    int,
    Query(
        ge=FIRST_COLLECTION_YEAR,
        le=LAST_COLLECTION_YEAR,
        description="The SSDA903 collection year Y: 1 April of Y-1 to 31 March of Y (2022: 2021-04-01 to 2022-03-31).",
    ),
]


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` moved by whole `years` (negative for earlier); 29 February becomes 28 February in a
    year without one."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def check_period(start: dt.date, end: dt.date, *, max_years: int = MAX_YEARS, location: str = "query") -> None:
    """Refuse a period that ends before it starts, or spans more than `max_years` years (`end` on or
    after `start` + `max_years` years): 422 `invalid-field` naming `to`."""
    if end < start:
        raise InvalidField((location, "to"), f"to ({end}) is before from ({start}).")
    if end >= add_years(start, max_years):
        raise InvalidField(
            (location, "to"),
            f"A period may span at most {max_years} years: to must be before {add_years(start, max_years)}.",
        )


def year_earlier(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The same period a year earlier (the annual report's comparison)."""
    return add_years(start, -1), add_years(end, -1)


def months(start: dt.date, end: dt.date) -> Iterator[tuple[str, dt.date, dt.date]]:
    """The calendar months `[start, end]` touches, each as (`YYYY-MM`, first day counted, last day
    counted): a month cut by the period's ends is counted from or to them."""
    first = start.replace(day=1)
    while first <= end:
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        yield first.strftime("%Y-%m"), max(first, start), min(following - dt.timedelta(days=1), end)
        first = following


def collection_year(year: int) -> tuple[dt.date, dt.date]:
    """The SSDA903 collection year `year`: 1 April of the year before to 31 March of `year`
    (`collection_year=2022` is 1 April 2021 - 31 March 2022; DESIGN.md 2.7)."""
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)
