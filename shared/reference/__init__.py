"""The code lists (DfE SSDA903 and practice lists) as CSV in this package, read once.

Where they come from (README.md here has the detail): the SSDA903 lists, the escalation ladder and
categories, and the early and late review reasons were copied from the design brief's reference
folder; `late_review_reasons.csv`'s `not_recorded` row was copied from it later, for imports of
the DfE return only (`IMPORT_ONLY`: an IRO may not submit it). The participation practice lists
(`participation_methods`, `parent_relationships`, `parent_participation`, `feedback_respondents`,
`feedback_channels`) moved here from services/participation/rules.py so the gateway can serve them.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import cache
from importlib import resources

IMPORT_ONLY: dict[str, frozenset[str]] = {"late_review_reasons": frozenset({"not_recorded"})}
"""Codes a list carries for imported records only: never accepted from an IRO."""


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of `shared/reference/<name>.csv`, as dicts keyed by its header."""
    text = resources.files(__name__).joinpath(f"{name}.csv").read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines()))


@cache
def codes(name: str, column: str | None = None) -> frozenset[str]:
    """The set of codes (first column unless named) in a list, e.g. `codes("legal_status_codes")`."""
    table = rows(name)
    if not table:
        return frozenset()
    key = column or next(iter(table[0]))
    return frozenset(row[key] for row in table)


def input_codes(name: str) -> tuple[str, ...]:
    """The codes of a list a person may enter, in file order: without the `IMPORT_ONLY` ones."""
    table = rows(name)
    if not table:
        return ()
    key = next(iter(table[0]))
    return tuple(row[key] for row in table if row[key] not in IMPORT_ONLY.get(name, frozenset()))


@cache
def labels(name: str) -> dict[str, str]:
    """Code to its label or meaning."""
    out: dict[str, str] = {}
    for row in rows(name):
        values = list(row.values())
        out[values[0]] = values[1]
    return out


# --- Placement types change between collection years --------------------------------------------


def collection_year(day: dt.date) -> int:
    """The DfE collection year a day falls in: 2022 is 1 April 2021 to 31 March 2022."""
    return day.year + 1 if day.month >= 4 else day.year


@cache
def placement_type_years() -> dict[str, tuple[int, int | None]]:
    """Each placement code's first and last collection year (inclusive; None: still in use), from
    placement_type_codes.csv's `years` column (`2022-` or `2022-2024`)."""
    out: dict[str, tuple[int, int | None]] = {}
    for row in rows("placement_type_codes"):
        first, _, last = row["years"].partition("-")
        out[row["code"]] = (int(first), int(last) if last else None)
    return out


def placement_types_in(year: int) -> tuple[str, ...]:
    """The placement codes in use in a collection year, in file order. The list starts at its
    earliest year (2022); a year before that is given that year's codes."""
    earliest = min(first for first, _ in placement_type_years().values())
    year = max(year, earliest)
    return tuple(
        code
        for code, (first, last) in placement_type_years().items()
        if first <= year and (last is None or year <= last)
    )


def placement_types_on(day: dt.date) -> tuple[str, ...]:
    """The placement codes in use on a day (its collection year's)."""
    return placement_types_in(collection_year(day))
