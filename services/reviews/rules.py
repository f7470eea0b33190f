"""The statutory rules of the review timetable, as pure functions: no I/O, no database, no FastAPI.

Sources: the Care Planning, Placement and Case Review (England) Regulations 2010 (reg 33, reviews;
reg 48 and Schedule 7, short breaks), the Children Act 1989 s105 (a child is under 18) and the IRO
Handbook; local practice (record-keeping deadlines, caseload guidance, the placement-change review)
comes from settings whose defaults are given here. Working days come from `shared.calendar`, code
lists from the CSVs in `shared/reference/`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal, TypeVar

from shared import reference
from shared.calendar import WorkingCalendar, add_months, birthday
from shared.logic import PYTHON, Logic

T = TypeVar("T")
ReviewKind = Literal["first", "second", "subsequent"]
CaseloadBand = Literal["below", "within", "above"]

STATUS_SCHEDULED: Final = "scheduled"
STATUS_HELD: Final = "held"
STATUS_MISSED: Final = "missed"
STATUS_CANCELLED: Final = "cancelled"
STATUS_OVERDUE: Final = "overdue"
STATUSES: Final = (STATUS_SCHEDULED, STATUS_OVERDUE, STATUS_HELD, STATUS_MISSED, STATUS_CANCELLED)
DECISION_OPEN: Final = "open"

FIRST_REVIEW_WORKING_DAYS: Final = 20
SECOND_REVIEW_MONTHS: Final = 3
SUBSEQUENT_REVIEW_MONTHS: Final = 6
SHORT_BREAK_LEGAL_STATUSES: Final = frozenset({"V3", "V4"})
SHORT_BREAK_FIRST_REVIEW_MONTHS: Final = 3
SHORT_BREAK_SUBSEQUENT_REVIEW_MONTHS: Final = 6
PLACEMENT_CHANGE_WORKING_DAYS: Final = 20
AGE_OF_MAJORITY: Final = 18
CASELOAD_LOWER: Final = 50.0
CASELOAD_UPPER: Final = 70.0
OTHER_REASON: Final = "other"


# --- The timetable (reg 33, reg 48) ------------------------------------------------------------


def review_kind(sequence: int) -> ReviewKind:
    """The kind of the `sequence`-th review of a care period: 1 first, 2 second, 3+ subsequent (reg 33)."""
    if sequence < 1:
        raise ValueError(f"a review sequence starts at 1, not {sequence}")
    if sequence == 1:
        return "first"
    if sequence == 2:
        return "second"
    return "subsequent"


def is_short_break(legal_status: str) -> bool:
    """True for the short-break legal statuses V3 and V4, reviewed under reg 48 (SSDA903 codes)."""
    return legal_status in SHORT_BREAK_LEGAL_STATUSES


def first_review_due(calendar: WorkingCalendar, started_on: date, *, short_break: bool) -> date:
    """The first review's due date: 20 working days from becoming looked after (reg 33(1)(a)), or
    3 months from the start of a short-break arrangement (reg 48)."""
    if short_break:
        return add_months(started_on, SHORT_BREAK_FIRST_REVIEW_MONTHS)
    return calendar.add_working_days(started_on, FIRST_REVIEW_WORKING_DAYS)


def next_review_due(held_on: date, *, held_sequence: int, short_break: bool) -> date:
    """The due date of review `held_sequence + 1`, in calendar months from the date review
    `held_sequence` was actually held: 3 months after the first, then 6 (reg 33(1)(b)-(c)); 6 months
    apart for short breaks (reg 48)."""
    if held_sequence < 1:
        raise ValueError(f"a review sequence starts at 1, not {held_sequence}")
    if short_break:
        months = SHORT_BREAK_SUBSEQUENT_REVIEW_MONTHS
    elif held_sequence == 1:
        months = SECOND_REVIEW_MONTHS
    else:
        months = SUBSEQUENT_REVIEW_MONTHS
    return add_months(held_on, months)


def review_due(
    calendar: WorkingCalendar,
    *,
    sequence: int,
    started_on: date,
    previous_held_on: date | None,
    short_break: bool,
    previous_judged: bool = True,
) -> date:
    """The statutory due date of the `sequence`-th review of a care period (reg 33, reg 48): the first
    from the period's start (sequence restarts at 1 in each period), later ones from the date the
    previous review in the same period was held. After a review whose timeliness is not judged
    (`previous_judged` false: its predecessors are before the data, `timeliness_judged`) the next is
    reckoned as after a later review, within 6 months: a period that began before the data has had
    its first review already (issue 13, "Backfill from the SSDA903 return")."""
    if sequence < 1:
        raise ValueError(f"a review sequence starts at 1, not {sequence}")
    if sequence == 1:
        if previous_held_on is not None:
            raise ValueError("the first review of a care period has no previous review in that period")
        return first_review_due(calendar, started_on, short_break=short_break)
    if previous_held_on is None:
        raise ValueError(f"review {sequence} is due from the date review {sequence - 1} was held")
    held_sequence = sequence - 1 if previous_judged else max(sequence - 1, 2)
    return next_review_due(previous_held_on, held_sequence=held_sequence, short_break=short_break)


def bring_forward(due_on: date, requested_on: date) -> date:
    """The review's working due date after an early-review request (reg 33(3)): the earlier of the two;
    the statutory due date is never moved."""
    return min(due_on, requested_on)


def placement_change_due(
    calendar: WorkingCalendar,
    changed_on: date,
    current_due_on: date,
    *,
    working_days: int = PLACEMENT_CHANGE_WORKING_DAYS,
) -> date | None:
    """The due date a review is brought forward to after an unplanned placement change (local policy
    setting, off by default): `working_days` after the change, or None when not earlier than now."""
    due = calendar.add_working_days(changed_on, working_days)
    return due if due < current_due_on else None


# --- Age (Children Act 1989 s105) -----------------------------------------------------------------


def statutory_cutoff(date_of_birth: date) -> date:
    """The child's 18th birthday, from which no review is scheduled or held (Children Act 1989 s105)."""
    return birthday(date_of_birth, AGE_OF_MAJORITY)


def within_care_age(day: date, date_of_birth: date) -> bool:
    """True when `day` is before the 18th birthday, so a review may fall on it (Children Act 1989 s105)."""
    return day < statutory_cutoff(date_of_birth)


def effective_end(ended_on: date | None, date_of_birth: date, *, today: date | None = None) -> date | None:
    """The care period's end, the 18th birthday when earlier or when still open (Children Act 1989 s105).

    With `today`, an open period whose 18th birthday is still after `today` gives None (still open).
    """
    cutoff = statutory_cutoff(date_of_birth)
    if ended_on is not None:
        return min(ended_on, cutoff)
    if today is not None and today < cutoff:
        return None
    return cutoff


ReviewProblem = Literal["held_on_or_after_18th_birthday"]
HELD_ON_OR_AFTER_18TH_BIRTHDAY: Final = "held_on_or_after_18th_birthday"


def review_problems(held_on: date | None, date_of_birth: date) -> list[ReviewProblem]:
    """What is wrong with a review as recorded, judged from the child's date of birth now: a review held on
    or after the 18th birthday (`held_on_or_after_18th_birthday`; Children Act 1989 s105), which only a
    corrected date of birth can make (holding one is refused). Empty normally. Flagged, never dropped."""
    if held_on is not None and not within_care_age(held_on, date_of_birth):
        return [HELD_ON_OR_AFTER_18TH_BIRTHDAY]
    return []


def closed_on_correction(date_of_birth: date, today: date) -> date:
    """The day an unheld review that a corrected date of birth takes off the timetable is closed: the
    18th birthday when it has passed (the care period reads as ended that day, s105), else today."""
    return min(statutory_cutoff(date_of_birth), today)


# --- Timeliness and status (reg 33, IRO Handbook) -------------------------------------------------


def timeliness_judged(started_before_data: Any, sequence: Any, logic: Logic = PYTHON) -> Any:
    """False for the one review whose timeliness is not judged: the first review (`sequence` 1) of a
    care period that began before the data (`started_before_data`, a backfill such as the SSDA903
    return whose first episode for the child is not a new period, RNE other than `S`). It has no known
    predecessor, so no statutory due date can be known for it: held, it is neither in time nor late;
    unheld, it is never missed. Every other review is judged (reg 33). Source: issue 13, "Backfill
    from the SSDA903 return" (the platform's rule for history it did not see, not a regulation)."""
    return logic.not_(logic.all(started_before_data, sequence == 1))


def is_in_time(held_on: date, statutory_due_on: date) -> bool:
    """True when held on or before the statutory due date (reg 33), whatever the working due date."""
    return held_on <= statutory_due_on


def in_time_if_judged(held_on: date, statutory_due_on: date, *, judged: bool = True) -> bool | None:
    """A held review's `in_time`: `is_in_time` (reg 33), or None when its timeliness is not judged
    (`timeliness_judged`; issue 13)."""
    return is_in_time(held_on, statutory_due_on) if judged else None


def needs_late_reason(held_on: date, statutory_due_on: date, *, judged: bool = True) -> bool:
    """True when held after the statutory due date, so a late reason is recorded (IRO Handbook); never
    for a review whose timeliness is not judged (`timeliness_judged`; issue 13)."""
    return judged and not is_in_time(held_on, statutory_due_on)


@dataclass(frozen=True)
class ReviewFacts:
    """What a review's status is judged from: plain values (`logic.PYTHON`) or columns (`logic.SQL`).

    `stored` is the status written by a change (`scheduled`, `held`, `missed`, `cancelled`);
    `eighteenth_birthday` the child's (`statutory_cutoff`); `judged` whether the review's timeliness is
    judged (`timeliness_judged`)."""

    stored: Any
    due_on: Any
    statutory_due_on: Any
    held_on: Any
    closed_on: Any
    eighteenth_birthday: Any
    judged: Any = True


def review_status(review: ReviewFacts, day: Any, logic: Logic = PYTHON) -> Any:
    """A review's status as of `day`, the one derivation every read and filter uses (reg 33; Children
    Act 1989 s105; DESIGN.md 2.1, CONTRACT.md "A review"):

    - `held`: held on or before `day`;
    - `missed` or `cancelled`: closed on or before `day` when the child left care (as stored); or
      still unheld on the 18th birthday, which ends the care period that day (s105):
      `outcome_when_leaving_care` from the birthday (never `missed` for a review whose timeliness is
      not judged);
    - `overdue`: still open and past its working due date `due_on` (the due day itself is not);
    - `scheduled`: otherwise.

    As of a past day it is the status the review had then (held or closed later: not yet)."""
    on_eighteenth = outcome_when_leaving_care(
        review.statutory_due_on, review.eighteenth_birthday, logic, judged=review.judged
    )
    return logic.first(
        [
            (logic.known_by(review.held_on, day), STATUS_HELD),
            (logic.known_by(review.closed_on, day), review.stored),
            (logic.known_by(review.eighteenth_birthday, day), on_eighteenth),
            (logic.before(review.due_on, day), STATUS_OVERDUE),
        ],
        STATUS_SCHEDULED,
    )


def outcome_when_leaving_care(
    statutory_due_on: Any, ended_on: Any, logic: Logic = PYTHON, *, judged: Any = True
) -> Any:
    """An unheld review when the care period ends: "missed" if its statutory due date was before the
    end, else "cancelled" (reg 33; the child is no longer looked after; DESIGN.md 2.1). A review whose
    timeliness is not judged (`timeliness_judged`: no known predecessor, so no known due date) is
    "cancelled": "missed" would judge it late (issue 13)."""
    missed = logic.all(judged, logic.before(statutory_due_on, ended_on))
    return logic.first([(missed, STATUS_MISSED)], STATUS_CANCELLED)


def decision_past_due(status: Any, due_on: Any, day: Any, logic: Logic = PYTHON) -> Any:
    """A review decision is past due as of `day` when still open after its due date (IRO Handbook:
    decisions are followed up at the next review); done, not done or superseded ones never are."""
    return logic.all(status == DECISION_OPEN, logic.before(due_on, day))


def review_date_of_meetings(meeting_dates: Iterable[date]) -> date:
    """The date of a review held as a series of meetings: the first meeting (IRO Handbook)."""
    dates = list(meeting_dates)
    if not dates:
        raise ValueError("a review needs at least one meeting")
    return min(dates)


# --- Record keeping (settings) --------------------------------------------------------------------


@dataclass(frozen=True)
class RecordKeeping:
    """Record-keeping deadlines in working days (local settings, with these defaults)."""

    sw_report_days_before: int = 5
    decisions_days: int = 5
    record_days: int = 20
    letter_days: int = 20


DEFAULT_RECORD_KEEPING: Final = RecordKeeping()


@dataclass(frozen=True)
class RecordDeadlines:
    """The deadlines around one review."""

    sw_report_due: date
    decisions_due: date
    record_due: date
    letter_due: date


def sw_report_due(calendar: WorkingCalendar, review_on: date, settings: RecordKeeping = DEFAULT_RECORD_KEEPING) -> date:
    """The social worker's report: `sw_report_days_before` working days before the review (setting, 5)."""
    return calendar.add_working_days(review_on, -settings.sw_report_days_before)


def decisions_due(calendar: WorkingCalendar, held_on: date, settings: RecordKeeping = DEFAULT_RECORD_KEEPING) -> date:
    """The review decisions circulated: `decisions_days` working days after the review (setting, 5)."""
    return calendar.add_working_days(held_on, settings.decisions_days)


def record_due(calendar: WorkingCalendar, held_on: date, settings: RecordKeeping = DEFAULT_RECORD_KEEPING) -> date:
    """The full review record: `record_days` working days after the review (setting, 20)."""
    return calendar.add_working_days(held_on, settings.record_days)


def letter_due(calendar: WorkingCalendar, held_on: date, settings: RecordKeeping = DEFAULT_RECORD_KEEPING) -> date:
    """The letter to the child: `letter_days` working days after the review (setting, as the record: 20)."""
    return calendar.add_working_days(held_on, settings.letter_days)


def record_deadlines(
    calendar: WorkingCalendar, review_on: date, settings: RecordKeeping = DEFAULT_RECORD_KEEPING
) -> RecordDeadlines:
    """Every record-keeping deadline of a review on `review_on` (settings)."""
    return RecordDeadlines(
        sw_report_due=sw_report_due(calendar, review_on, settings),
        decisions_due=decisions_due(calendar, review_on, settings),
        record_due=record_due(calendar, review_on, settings),
        letter_due=letter_due(calendar, review_on, settings),
    )


def on_time(actual: date | None, due: date) -> bool | None:
    """True when done on or before its due date, False after, None when not yet done (settings)."""
    if actual is None:
        return None
    return actual <= due


# --- Caseloads (IRO Handbook: 50 to 70 children per full-time IRO; settings) ---------------------


def caseload_per_fte(caseload: int, fte: float) -> float:
    """Children per full-time equivalent, to 2 decimals (IRO Handbook); `fte` in (0, 1]."""
    if not 0 < fte <= 1:
        raise ValueError(f"fte must be more than 0 and at most 1, not {fte}")
    if caseload < 0:
        raise ValueError(f"a caseload cannot be negative, not {caseload}")
    return round(caseload / fte, 2)


def children_per_fte(children: int, fte: Decimal) -> float | None:
    """A service's caseload: children allocated over the IROs' summed FTE, to one decimal place, half up
    (IRO Handbook: children per full-time IRO); None when there is no FTE to divide by."""
    if fte <= 0:
        return None
    return float((Decimal(children) / fte).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def in_force(history: Sequence[tuple[date, T]], day: date) -> T | None:
    """The value in force on `day` in a history of `(valid_from, value)` in `valid_from` order: the last
    one from on or before `day`; None before the first (the IRO's staffing history, settings)."""
    found = None
    for valid_from, value in history:
        if valid_from > day:
            break
        found = value
    return found


def within_guidance(per_fte: float, upper: float = CASELOAD_UPPER) -> bool:
    """True when at most `upper` children per FTE (setting, 70; IRO Handbook): fewer is no breach."""
    return per_fte <= upper


def caseload_band(per_fte: float, lower: float = CASELOAD_LOWER, upper: float = CASELOAD_UPPER) -> CaseloadBand:
    """Below under `lower`, within from `lower` to `upper` inclusive, above over (settings, 50 and 70)."""
    if per_fte < lower:
        return "below"
    if per_fte > upper:
        return "above"
    return "within"


# --- Code lists (shared/reference/*.csv); these never raise ---------------------------------------


def valid_legal_status(code: str) -> bool:
    """True for an SSDA903 legal status code (legal_status_codes.csv)."""
    return code in reference.codes("legal_status_codes", "code")


def _placement_years(code: str) -> tuple[int, int | None] | None:
    for row in reference.rows("placement_type_codes"):
        if row["code"] == code:
            first, _, last = row["years"].partition("-")
            return int(first), int(last) if last else None
    return None


def valid_placement_type(code: str, year: int | None = None) -> bool:
    """True for an SSDA903 placement type code, and in use in `year` when given (the list's `years`
    column, inclusive; placement_type_codes.csv)."""
    years = _placement_years(code)
    if years is None:
        return False
    if year is None:
        return True
    first, last = years
    return first <= year and (last is None or year <= last)


def placement_types_on(day: date) -> tuple[str, ...]:
    """The SSDA903 placement codes in use on `day`: those of its collection year (1 April to
    31 March, named by its end; the list's `years` column; placement_type_codes.csv). A day before
    the list's first year gets that year's codes."""
    return reference.placement_types_on(day)


def listed(name: str) -> tuple[str, ...]:
    """The codes of a reference list in file order, for a 422 naming the valid ones; without the
    codes kept for imported records (`reference.IMPORT_ONLY`)."""
    return reference.input_codes(name)


def valid_early_reason(key: str) -> bool:
    """True for an early-review reason (reg 33(3); early_review_reasons.csv)."""
    return key in reference.codes("early_review_reasons", "key")


def valid_late_reason(key: str, *, imported: bool = False) -> bool:
    """True for a late-review reason an IRO may give (IRO Handbook; late_review_reasons.csv);
    `imported` also accepts `not_recorded`, kept for records imported from the DfE return."""
    if imported:
        return key in reference.codes("late_review_reasons", "key")
    return key in listed("late_review_reasons")


def valid_reason_ceased(code: str) -> bool:
    """True for an SSDA903 reason-episode-ceased code (reason_ceased_codes.csv)."""
    return code in reference.codes("reason_ceased_codes", "code")


def reason_needs_detail(key: str) -> bool:
    """True for the "other" early or late reason, which needs its detail given (reason lists)."""
    return key == OTHER_REASON
