"""The SSDA903 return's reviews table for a collection year (DESIGN.md 2.7): which held reviews go in,
which are left out, and the bytes of the file.

Pure: the reviews service's rows (`GET /v1/ssda903/reviews`: each review held in the year, with the
child's `la_reference`, date of birth, whether every legal status the child had in the year was a
short break, and the review's problems) joined to the participation service's
(`GET /v1/ssda903/participation`: each held review's code and problems) by `review_id`.

- A child whose legal statuses in the year are all V3/V4 (short breaks) is left out: the DfE's rule
  399 refuses a review for such a child.
- Every row exported passes the DfE's rules (csc-validator-be-903, lac2022_23): 166 (REVIEW a valid
  `dd/mm/yyyy` date), 167 (REVIEW_CODE one of PN0-PN7), 440 (no PN0 after the 4th birthday) and 441
  (no PN1-PN7 before it). A review that would fail one is never exported with an invented code or
  date: it is a `Problem` (`GET /v1/exports/ssda903/problems`) for a data officer to fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

COLUMNS = ("CHILD", "DOB", "REVIEW", "REVIEW_CODE")  # the DfE's order
CODES = frozenset({"PN0", "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"})

# What is wrong with a held review that cannot be exported, and what the data officer reads.
NO_PARTICIPATION_RECORD = "no_participation_record"
NO_CODE = "no_participation_code"
SERVICES_DISAGREE = "date_of_birth_not_yet_agreed"
RULE_440 = "rule_440_pn0_at_4_or_over"
RULE_441 = "rule_441_pn1_to_pn7_under_4"
RULE_167 = "rule_167_code_not_a_participation_code"
DETAILS = {
    NO_PARTICIPATION_RECORD: "The participation service has no record of this held review yet.",
    NO_CODE: "The review was held but no participation code (PN0-PN7) is recorded.",
    SERVICES_DISAGREE: "The child's date of birth was corrected and the participation record does not show it yet.",
    RULE_440: "PN0 is recorded but the child was 4 or over on the review date (DfE rule 440).",
    RULE_441: "A code PN1-PN7 is recorded but the child was under 4 on the review date (DfE rule 441).",
    RULE_167: "The code recorded is not one of PN0-PN7 (DfE rule 167).",
    # flagged by the services after a date-of-birth correction (their `problems` lists)
    "code_invalid_for_age": "The code recorded no longer fits the child's age after a date-of-birth correction.",
    "review_on_or_after_18th_birthday": "The review date is on or after the 18th birthday (corrected date of birth).",
    "review_before_date_of_birth": "The review date is before the child's (corrected) date of birth.",
    "held_on_or_after_18th_birthday": "The review was held on or after the 18th birthday (corrected date of birth).",
}


@dataclass(frozen=True)
class Row:
    """One line of the reviews table."""

    child: str  # CHILD: the la_reference
    date_of_birth: dt.date  # DOB
    review: dt.date  # REVIEW: the day it was held
    code: str  # REVIEW_CODE


@dataclass(frozen=True)
class Problem:
    """A held review left out of the table until someone fixes it."""

    review_id: str
    child_id: str
    la_reference: str
    review_date: dt.date
    problem: str
    detail: str


@dataclass(frozen=True)
class Export:
    rows: list[Row]
    problems: list[Problem]
    short_breaks_only: int  # held reviews left out under rule 399


def fourth_birthday(date_of_birth: dt.date) -> dt.date:
    """The day a child is 4 (a 29 February birthday falls on 28 February: DESIGN.md 2.3)."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + 4)
    except ValueError:
        return date_of_birth.replace(year=date_of_birth.year + 4, day=28)


def rule_problems(code: str, review: dt.date, date_of_birth: dt.date) -> list[str]:
    """Which of the DfE's rules 167, 440 and 441 a row would fail (empty: it passes)."""
    if code not in CODES:
        return [RULE_167]
    under_4 = review < fourth_birthday(date_of_birth)
    if code == "PN0" and not under_4:
        return [RULE_440]
    if code != "PN0" and under_4:
        return [RULE_441]
    return []


def build(reviews: Iterable[Mapping[str, Any]], participation: Iterable[Mapping[str, Any]]) -> Export:
    """The table's rows (by CHILD, then REVIEW) and the held reviews that cannot go in it.

    `reviews` and `participation` are the services' items for one collection year (module doc)."""
    codes = {item["review_id"]: item for item in participation}
    rows: list[Row] = []
    problems: list[Problem] = []
    short_breaks = 0
    for item in reviews:
        if item["short_breaks_only"]:
            short_breaks += 1
            continue
        held = dt.date.fromisoformat(str(item["held_on"]))
        born = dt.date.fromisoformat(str(item["date_of_birth"]))
        found = list(item.get("problems") or [])
        record = codes.get(item["review_id"])
        code = record.get("code") if record else None
        if record is None:
            found.append(NO_PARTICIPATION_RECORD)
        else:
            found.extend(p for p in record.get("problems") or [] if p not in found)
            if str(record.get("date_of_birth")) != born.isoformat():
                found.append(SERVICES_DISAGREE)
            if code is None:
                found.append(NO_CODE)
        if not found and code is not None:
            found = rule_problems(code, held, born)
        if found or code is None:
            problems.extend(
                Problem(
                    review_id=str(item["review_id"]), child_id=str(item["child_id"]),
                    la_reference=item["la_reference"], review_date=held, problem=name,
                    detail=DETAILS.get(name, name),
                )
                for name in found
            )  # fmt: skip
            continue
        rows.append(Row(child=item["la_reference"], date_of_birth=born, review=held, code=code))
    rows.sort(key=lambda r: (r.child, r.review))
    problems.sort(key=lambda p: (p.la_reference, p.review_date, p.problem))
    return Export(rows=rows, problems=problems, short_breaks_only=short_breaks)


def dfe_date(day: dt.date) -> str:
    """`dd/mm/yyyy`, the return's date format."""
    return day.strftime("%d/%m/%Y")


def to_csv(rows: Iterable[Row]) -> bytes:
    """The reviews table as the DfE's tools read it: UTF-8, the DfE's column order, CRLF line ends."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow((row.child, dfe_date(row.date_of_birth), dfe_date(row.review), row.code))
    return out.getvalue().encode("utf-8")
