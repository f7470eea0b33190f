"""The code lists (DfE SSDA903 and practice lists), copied from the design brief's reference folder
into this package as CSV and read once."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


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


@cache
def labels(name: str) -> dict[str, str]:
    """Code to its label or meaning."""
    out: dict[str, str] = {}
    for row in rows(name):
        values = list(row.values())
        out[values[0]] = values[1]
    return out
