"""The three SSDA903 tables the platform reads, by the DfE's column names, and how a file is
recognised as one of them.

Each `Table` gives:

- `columns`: every column of the table in the return's CSV form, in the DfE's order.
- `used`: the columns the platform reads. They are also what a file must have to be taken as that
  table (`required`).
- `never_kept`: the table's other columns. Their values are never staged, stored, logged or put in a
  message; they live only while the line holding them is parsed.

Recognising a table (`problem_with_columns`). The validator councils run on the return
(data-to-insight's csc-validator-be-903, `lac_validator/ingress.py`) takes a CSV as a table when its
column names are exactly that table's set, in any order. This reader needs less, and checks one
thing more:

- It needs the `used` columns, and no more: a file may leave out the columns the platform never
  keeps (an authority minimising what it sends a new system may well strip UPN and the postcodes
  first), or add columns of its own, and still be read.
- It refuses a file with a column that only *another* 903 table has (`distinctive_columns`): such a
  file is that other table, or a merge of several. This is what tells the header file from the UASC
  file, whose columns CHILD, SEX and DOB are all the header's used ones: the UASC file has DUC.

Column names are compared without case and without surrounding spaces; their order is free; a
column named twice is refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "EPISODES",
    "HEADER",
    "OTHER_903_TABLES",
    "REVIEWS",
    "TABLES",
    "Table",
    "distinctive_columns",
    "problem_with_columns",
]


@dataclass(frozen=True)
class Table:
    """One 903 table as the platform reads it. `name` is the upload's part name and the staged
    table's name (`header`, `episodes`, `reviews`); `title` is how a data officer knows the file."""

    name: str
    title: str
    columns: tuple[str, ...]
    used: tuple[str, ...]

    @property
    def required(self) -> tuple[str, ...]:
        """The columns a file must have to be read as this table: the used ones."""
        return self.used

    @property
    def never_kept(self) -> tuple[str, ...]:
        """The table's columns the platform has no use for: never staged, never held past the line."""
        return tuple(column for column in self.columns if column not in self.used)


HEADER = Table(
    name="header",
    title="header",
    columns=("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"),
    used=("CHILD", "SEX", "DOB"),
)
"""One row per child: CHILD (the authority's reference), SEX, DOB (dd/mm/yyyy)."""

EPISODES = Table(
    name="episodes",
    title="episodes",
    columns=(
        "CHILD",
        "DECOM",
        "RNE",
        "LS",
        "CIN",
        "PLACE",
        "PLACE_PROVIDER",
        "DEC",
        "REC",
        "REASON_PLACE_CHANGE",
        "HOME_POST",
        "PL_POST",
        "URN",
    ),
    used=("CHILD", "DECOM", "RNE", "LS", "PLACE", "DEC", "REC"),
)
"""One row per episode of care: DECOM (start), RNE (reason for the new episode), LS (legal status),
PLACE (placement type), DEC (end, empty while open), REC (reason it ended; X1 = episode ends, care
continues)."""

REVIEWS = Table(
    name="reviews",
    title="reviews",
    columns=("CHILD", "DOB", "REVIEW", "REVIEW_CODE"),
    used=("CHILD", "REVIEW", "REVIEW_CODE"),
)
"""One row per review held: REVIEW (its date), REVIEW_CODE (the child's participation, PN0 to PN7).
The file's DOB repeats the header's and is not read."""

TABLES: dict[str, Table] = {table.name: table for table in (HEADER, EPISODES, REVIEWS)}
"""The tables read, by part name, in the order a child's history is built: header, episodes, reviews."""

OTHER_903_TABLES: dict[str, tuple[str, ...]] = {
    "UASC": ("CHILD", "SEX", "DOB", "DUC"),
    "OC2": (
        "CHILD", "DOB", "SDQ_SCORE", "SDQ_REASON", "CONVICTED", "HEALTH_CHECK", "IMMUNISATIONS", "TEETH_CHECK",
        "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE", "INTERVENTION_RECEIVED", "INTERVENTION_OFFERED",
    ),
    "OC3": ("CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"),
    "AD1": ("CHILD", "DOB", "DATE_INT", "DATE_MATCH", "FOSTER_CARE", "NB_ADOPTR", "SEX_ADOPTR", "LS_ADOPTR"),
    "placed for adoption": ("CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED", "REASON_PLACED_CEASED"),
    "previous permanence": ("CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"),
    "missing": ("CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"),
    "social worker episodes": ("CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"),
    "deprivation of liberty": ("CHILD", "DOB", "DOLO_START", "DOLO_END"),
}  # fmt: skip
"""The return's other tables, by the title a data officer knows them by (columns as the validator's
`lac_validator/config.py` lists them): never read, known only to say which file was uploaded by mistake."""


def _all_903_tables() -> dict[str, tuple[str, ...]]:
    return {**{table.title: table.columns for table in TABLES.values()}, **OTHER_903_TABLES}


def distinctive_columns() -> dict[str, str]:
    """Each column that exactly one 903 table has, to the title of that table (e.g. `DECOM` ->
    `episodes`, `DUC` -> `UASC`). CHILD, DOB and SEX are in several tables and are not here."""
    tables = _all_903_tables()
    counts = Counter(column for columns in tables.values() for column in set(columns))
    return {column: title for title, columns in tables.items() for column in columns if counts[column] == 1}


_DISTINCTIVE = distinctive_columns()
_KNOWN = {column for columns in _all_903_tables().values() for column in columns}


def _names(columns: Iterable[str], conjunction: str = "or") -> str:
    """`A`, `A or B`, `A, B or C` (or with `and`)."""
    items = list(columns)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def problem_with_columns(table: Table, columns: list[str]) -> str | None:
    """None when a header row's `columns` (already stripped and upper-cased) make a file `table`;
    otherwise the reason, a sentence for a data officer, e.g. "it has no DECOM or DEC column, so
    it looks like the header file, not the episodes file." The reason names only the DfE's column
    names, never another cell of the row (a file without a header row has data there)."""
    twice = sorted(column for column, count in Counter(columns).items() if count > 1 and column)
    if twice:
        return f"it names the {_names(twice, 'and')} column{'s' if len(twice) > 1 else ''} more than once."
    present = set(columns)
    missing = [column for column in table.required if column not in present]
    foreign = [column for column in columns if column in _DISTINCTIVE and column not in table.columns]
    if not missing and not foreign:
        return None
    if not present & _KNOWN:
        return (
            f"its first row names none of the 903 columns (the {table.title} file's are {', '.join(table.columns)}): "
            f"the first row must be the column names. Is this the {table.title} file?"
        )
    looks_like = Counter(_DISTINCTIVE[column] for column in foreign).most_common(1)[0][0] if foreign else None
    if missing:
        reason = f"it has no {_names(missing)} column"
    else:
        theirs = [column for column in foreign if _DISTINCTIVE[column] == looks_like]
        named = f"the {_names(theirs, 'and')} column{'s' if len(theirs) > 1 else ''}"
        reason = f"it has {named}, which only the 903 {looks_like} file has"
    if looks_like is not None:
        return f"{reason}, so it looks like the {looks_like} file, not the {table.title} file."
    return f"{reason}. Is this the {table.title} file?"
