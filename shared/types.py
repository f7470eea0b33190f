"""The types every query parameter and body field is declared with, so a value is checked against
what the database holds and what makes sense before any SQL sees it.

- `Int64`, `Seq`, `PositiveSeq`: integers within PostgreSQL's `bigint` (a footprint position is
  never negative).
- `Code`, `Reference`, `Line`, `Paragraph`, `Text`: text without NUL (PostgreSQL text cannot hold
  it) of 1 to 40, 64, 200, 2,000 and 20,000 characters (pick the type that fits: a `Field(max_length=)` on top
  works but loses the string-length message); `refuse_nul` is the same check for any value, nested
  containers included (the base request schema applies it to every field).
- `Date`: `YYYY-MM-DD` only (no Unix timestamps, no datetimes), years 1900 to 2199: the dates the
  statutory rules can do arithmetic on. `DateOfBirth` adds its own message and never echoes the
  value; `check_date_of_birth` refuses one in the future (it needs today, so it runs where today is
  known).
- `Timestamp`: RFC 3339 with a zone, within UTC years 1 to 9999; returned in UTC.

Each failure is a pydantic error on the field, so the API answers 422 with `errors[].loc` naming it.

Declare a query parameter as `x: Annotated[Date, Query(...)]` or `x: Date | None = Query(None, ...)`,
never `x: Date = Query(...)`: in that one form FastAPI keeps the bare type and drops its validators.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from shared.errors import DateInFuture

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


# --- Integers -----------------------------------------------------------------------------------

Int64 = Annotated[int, Ge(INT64_MIN), Le(INT64_MAX)]
"""An integer PostgreSQL's `bigint` holds: -2**63 to 2**63 - 1."""

Seq = Annotated[int, Ge(0), Le(INT64_MAX)]
"""A footprint position, 0 (before the first event) to 2**63 - 1."""

PositiveSeq = Annotated[int, Ge(1), Le(INT64_MAX)]
"""A footprint event's `seq`: 1 to 2**63 - 1."""


# --- Text ---------------------------------------------------------------------------------------


def refuse_nul(value: Any) -> Any:
    """`value` unchanged, or a `nul_character` error when it (or any string inside a list, tuple,
    set or dict, keys included) contains NUL, which PostgreSQL text cannot hold."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul_character", "must not contain a NUL character")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            refuse_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key)
            refuse_nul(item)
    return value


NoNul = AfterValidator(refuse_nul)
"""Add to any `Annotated[str, ...]` to refuse NUL characters."""

Code = Annotated[str, StringConstraints(min_length=1, max_length=40), NoNul]
"""A key of a code list (`C2`, `PN4`, `iro_request`, `child`): 1 to 40 characters, no NUL."""

Reference = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul]
"""A local authority's reference for a child (`la_reference`): 1 to 64 characters, no NUL."""

Line = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
"""A short text (a name, a team, a reference, a filter value): 1 to 200 characters, no NUL."""

Paragraph = Annotated[str, StringConstraints(min_length=1, max_length=2000), NoNul]
"""A reason, a detail, an outcome, a venue: 1 to 2,000 characters, no NUL."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000), NoNul]
"""A free text (a summary, a note, a reason): 1 to 20,000 characters, no NUL."""


# --- Dates and timestamps -----------------------------------------------------------------------


def _date_only(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_format", "must be a date as YYYY-MM-DD, not a timestamp")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "must be a date as YYYY-MM-DD (e.g. 2022-01-20)")


def _date_in_range(value: dt.date) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise PydanticCustomError(
            "date_range", "must be between {first} and {last}", {"first": str(FIRST_DATE), "last": str(LAST_DATE)}
        )
    return value


def _birth_in_range(value: dt.date) -> dt.date:
    if value < FIRST_DATE:
        raise PydanticCustomError("date_of_birth_range", "a date of birth must be on or after 1900-01-01")
    return value


Date = Annotated[dt.date, BeforeValidator(_date_only), AfterValidator(_date_in_range)]
"""A calendar date sent as `YYYY-MM-DD` (nothing else), 1900-01-01 to 2199-12-31."""

DateOfBirth = Annotated[dt.date, BeforeValidator(_date_only), AfterValidator(_birth_in_range)]
"""A date of birth as `YYYY-MM-DD`, on or after 1900-01-01; `check_date_of_birth` refuses the future.
Messages never repeat the value."""


def check_date_of_birth(value: dt.date, *, today: dt.date, loc: tuple[str, ...] = ("body", "date_of_birth")) -> None:
    """Refuse a date of birth after `today` (the platform's clock).

    Raises `DateInFuture` (422) naming `loc`; the message does not repeat the submitted date."""
    if value > today:
        raise DateInFuture("A date of birth cannot be in the future.", loc=loc)


def _timestamp_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value):
        return value
    raise PydanticCustomError(
        "timestamp_format", "must be an RFC 3339 timestamp with a time zone (e.g. 2022-01-20T10:00:00Z)"
    )


def _in_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise PydanticCustomError("timestamp_range", "must be within the years 1 to 9999 in UTC") from None


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text), AfterValidator(_in_utc)]
"""An instant sent as RFC 3339 with a zone (`Z` or `+01:00`); it must fall within UTC years 1 to
9999 (what Python, and so every query built from it, can hold). Returned in UTC."""
