"""SSDA903 rows to the events the platform applies (docs/ssda903.md, "The mapping"). Pure: one
child's staged rows in, its events (with the rows each came from) and its rows refused before any
event out. The DfE's field names throughout: CHILD, SEX, DOB; DECOM, RNE, LS, PLACE, DEC, REC;
REVIEW, REVIEW_CODE (SSDA903 guidance, "Children looked after return").

- Header: CHILD -> `la_reference`, DOB and SEX (1 male, 2 female) -> `child.registered`
  (`ssda903:header:<CHILD>`); a child already known with another DOB is corrected by the reviews
  service, as `child.updated` would.
- Episodes, in DECOM order: RNE `S` starts a care period; `L` changes the legal status; `P`, `T` the
  placement; `B`, `U` both, at DECOM; a REC other than `X1` ends the period at DEC. The child's
  first episode in the files that is not `S` starts a period flagged `started_before_data`.
  Ids: `ssda903:episodes:<CHILD>:<DECOM>:<n>:<start|legal_status|placement|end>`, `n` counting
  episodes of the child with that DECOM. A period whose `S` episode is before the collection year
  is flagged too: the return holds only its own year's reviews, so the ones before are not in the
  data either. (A period already known to the platform stays as it is: the reviews service takes
  such a start for a duplicate.)
- Reviews: REVIEW -> a `review.held` (`ssda903:reviews:<CHILD>:<REVIEW>`), REVIEW_CODE its
  participation code; a code not on the list is refused alone (the review is still applied).
- Dates after the collection year's end or after today are refused ("a return for YYYY cannot
  contain it"), and so are reviews before the year began; episodes carry their earlier history.
- A child's events are applied in date order across the three files: a period begins before its
  reviews, and a review on the day a period ends comes before the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.periods import collection_year

SOURCE = "ssda903"
FILES = {"header": "header.csv", "episodes": "episodes.csv", "reviews": "reviews.csv"}
SEX = {"1": "male", "2": "female"}
RNE = frozenset({"S", "L", "P", "T", "B", "U"})
PN_CODES = frozenset(f"PN{n}" for n in range(8))
CONTINUES = "X1"  # REC: the episode ends, the period of care continues
COLUMN_OF = {
    "la_reference": "CHILD", "date_of_birth": "DOB", "sex": "SEX", "started_on": "DECOM", "changed_on": "DECOM",
    "legal_status": "LS", "placement_type": "PLACE", "ended_on": "DEC", "reason": "REC", "held_on": "REVIEW",
    "participation_code": "REVIEW_CODE",
}  # fmt: skip
"""The event's data field to the 903 column a refusal names."""
_ORDER = {"start": 0, "legal_status": 1, "placement": 2, "review": 3, "end": 4}

Row = tuple[str, int]
"""A staged row: (table, row number as a data officer sees it in Excel)."""


@dataclass
class Staged:
    """One staged row: its table, Excel row number, used columns (`values`) and a reading problem."""

    table: str
    row: int
    values: dict[str, str | None]
    problem: str | None = None


@dataclass
class Derived:
    """An event derived from rows: its deterministic id, type, date (the row's; None for the header)
    and `data`; `rows` it came from; `order` breaks ties on one date."""

    id: str
    type: str
    day: dt.date | None
    data: dict[str, Any]
    rows: list[Row]
    order: int = 0

    def cloudevent(self) -> dict[str, Any]:
        """The event as a CloudEvent 1.0 from source `ssda903`; `time` is the row's date (UTC midnight)."""
        event: dict[str, Any] = {"specversion": "1.0", "id": self.id, "source": SOURCE, "type": self.type,
                                 "data": self.data}  # fmt: skip
        if self.day is not None:
            event["time"] = f"{self.day.isoformat()}T00:00:00Z"
        return event


@dataclass
class Refusal:
    """A row refused before any event: the column at fault and why, in a data officer's words."""

    table: str
    row: int
    field: str | None
    reason: str


@dataclass
class Derivation:
    events: list[Derived] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    notes: dict[Row, tuple[str, str]] = field(default_factory=dict)
    """Rows applied with one column refused alone: (field, reason), e.g. a REVIEW_CODE not on the list."""


class _Refused(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


def _date(values: dict[str, str | None], column: str, *, required: bool = True) -> dt.date | None:
    raw = values.get(column)
    if raw is None:
        if required:
            raise _Refused(column, f"{column} is empty.")
        return None
    try:
        return dt.datetime.strptime(raw, "%d/%m/%Y").date()
    except ValueError:
        raise _Refused(column, f"{column} {raw!r} is not a date written dd/mm/yyyy.") from None


def _text(values: dict[str, str | None], column: str) -> str:
    raw = values.get(column)
    if raw is None:
        raise _Refused(column, f"{column} is empty.")
    return raw


def _not_after(day: dt.date, column: str, *, year: int, today: dt.date) -> None:
    end = collection_year(year)[1]
    if day > end:
        raise _Refused(column, f"{column} {day:%d/%m/%Y} is after 31/03/{year}: a return for {year} cannot contain it.")
    if day > today:
        raise _Refused(column, f"{column} {day:%d/%m/%Y} is after today: a return for {year} cannot contain it.")


def derive_child(child: str, rows: Sequence[Staged], *, year: int, today: dt.date) -> Derivation:
    """One child's events and refusals from their staged rows (any order: sorted here by date)."""
    out = Derivation()

    def refuse(staged: Staged, column: str | None, reason: str) -> None:
        out.refusals.append(Refusal(staged.table, staged.row, column, reason))

    good: dict[str, list[Staged]] = {"header": [], "episodes": [], "reviews": []}
    for staged in rows:
        if staged.problem:
            refuse(staged, None, staged.problem)
        else:
            good[staged.table].append(staged)
    _header(child, good["header"], out, refuse)
    _episodes(child, good["episodes"], out, refuse, year=year, today=today)
    _reviews(child, good["reviews"], out, refuse, year=year, today=today)
    out.events.sort(key=lambda e: (e.day is not None, e.day or dt.date.min, e.order))
    return out


def _header(child: str, rows: list[Staged], out: Derivation, refuse: Any) -> None:
    for index, staged in enumerate(sorted(rows, key=lambda s: s.row)):
        if index > 0:
            refuse(staged, "CHILD", f"CHILD {child} appears more than once in the header file; row "
                                    f"{rows[0].row} is the one applied.")  # fmt: skip
            continue
        try:
            born = _date(staged.values, "DOB")
            sex_code = staged.values.get("SEX")
            if sex_code is not None and sex_code not in SEX:
                raise _Refused("SEX", f"SEX {sex_code!r} is not 1 (male) or 2 (female).")
        except _Refused as refused:
            refuse(staged, refused.column, refused.reason)
            continue
        data: dict[str, Any] = {"la_reference": child, "date_of_birth": born.isoformat() if born else None}
        if sex_code is not None:
            data["sex"] = SEX[sex_code]
        out.events.append(
            Derived(f"{SOURCE}:header:{child}", "child.registered", None, data, [(staged.table, staged.row)])
        )


def _episodes(child: str, rows: list[Staged], out: Derivation, refuse: Any, *, year: int, today: dt.date) -> None:
    dated: list[tuple[dt.date, Staged]] = []
    for staged in rows:
        try:
            decom = _date(staged.values, "DECOM")
            assert decom is not None
            _not_after(decom, "DECOM", year=year, today=today)
        except _Refused as refused:
            refuse(staged, refused.column, refused.reason)
            continue
        dated.append((decom, staged))
    dated.sort(key=lambda pair: (pair[0], pair[1].row))
    seen: dict[dt.date, int] = {}
    first = True
    for decom, staged in dated:
        values = staged.values
        seen[decom] = n = seen.get(decom, 0) + 1
        base = f"{SOURCE}:episodes:{child}:{decom.isoformat()}:{n}"
        here: Row = (staged.table, staged.row)
        try:
            rne = _text(values, "RNE")
            if rne not in RNE:
                raise _Refused("RNE", f"RNE {rne!r} is not a reason for a new episode (S, L, P, T, B, U).")
            ended = _date(values, "DEC", required=False)
            if ended is not None:
                _not_after(ended, "DEC", year=year, today=today)
            reason = values.get("REC")
            if ended is not None and reason is None:
                raise _Refused("REC", "REC is empty but DEC is given: why did the episode end?")
            events: list[Derived] = []
            if first or rne == "S":
                data: dict[str, Any] = {"la_reference": child, "started_on": decom.isoformat(),
                                        "legal_status": _text(values, "LS")}  # fmt: skip
                if values.get("PLACE"):
                    data["placement_type"] = values["PLACE"]
                if rne != "S" or decom < collection_year(year)[0]:
                    data["started_before_data"] = True
                events.append(Derived(f"{base}:start", "care_period.started", decom, data, [here], _ORDER["start"]))
            else:
                if rne in ("L", "B", "U"):
                    data = {"la_reference": child, "changed_on": decom.isoformat(), "legal_status": _text(values, "LS")}
                    events.append(Derived(f"{base}:legal_status", "legal_status.changed", decom, data, [here],
                                          _ORDER["legal_status"]))  # fmt: skip
                if rne in ("P", "T", "B", "U"):
                    data = {"la_reference": child, "changed_on": decom.isoformat(),
                            "placement_type": _text(values, "PLACE")}  # fmt: skip
                    events.append(Derived(f"{base}:placement", "placement.changed", decom, data, [here],
                                          _ORDER["placement"]))  # fmt: skip
            if ended is not None and reason != CONTINUES:
                data = {"la_reference": child, "ended_on": ended.isoformat(), "reason": reason}
                events.append(Derived(f"{base}:end", "care_period.ended", ended, data, [here], _ORDER["end"]))
        except _Refused as refused:
            refuse(staged, refused.column, refused.reason)
            continue
        first = False
        out.events.extend(events)


def _reviews(child: str, rows: list[Staged], out: Derivation, refuse: Any, *, year: int, today: dt.date) -> None:
    start = collection_year(year)[0]
    for staged in rows:
        try:
            held = _date(staged.values, "REVIEW")
            assert held is not None
            _not_after(held, "REVIEW", year=year, today=today)
            if held < start:
                raise _Refused("REVIEW", f"REVIEW {held:%d/%m/%Y} is before 01/04/{year - 1}: the {year} return "
                                         "holds the reviews of its own year only.")  # fmt: skip
        except _Refused as refused:
            refuse(staged, refused.column, refused.reason)
            continue
        data: dict[str, Any] = {"la_reference": child, "held_on": held.isoformat()}
        code = staged.values.get("REVIEW_CODE")
        here: Row = (staged.table, staged.row)
        if code is not None and code.upper() in PN_CODES:
            data["participation_code"] = code.upper()
        elif code is not None:
            out.notes[here] = ("REVIEW_CODE", f"REVIEW_CODE {code!r} is not PN0-PN7: the review is applied uncoded.")
        out.events.append(Derived(f"{SOURCE}:reviews:{child}:{held.isoformat()}", "review.held", held, data, [here],
                                  _ORDER["review"]))  # fmt: skip


def column_of(problem: dict[str, Any] | None) -> str | None:
    """The 903 column a service's problem names (its first `loc` under `data`), if any."""
    for error in (problem or {}).get("errors") or []:
        loc = list(error.get("loc") or [])
        if len(loc) >= 2 and loc[0] == "data":
            return COLUMN_OF.get(str(loc[1]), str(loc[1]))
    return None


def reason_of(problem: dict[str, Any] | None) -> str:
    """A refusal's reason from a service's problem: its detail, else its first error, else its title."""
    problem = problem or {}
    if problem.get("detail"):
        return str(problem["detail"])
    errors: Iterable[dict[str, Any]] = problem.get("errors") or []
    for error in errors:
        return str(error.get("msg"))
    return str(problem.get("title", "Refused."))
