"""The reviews API's request and response bodies (CONTRACT.md, "Reviews service")."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, EmailStr, Field

from services.reviews.rules import ReviewProblem
from shared.schemas import ReadSchema, Schema
from shared.types import Code, Date, DateOfBirth, Line, Paragraph, Reference, Text

# --- IROs ---------------------------------------------------------------------------------------


class IroCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Alice Smith", "email": "alice.smith@council.gov.uk", "fte": 0.8}]}
    )

    name: Line
    email: EmailStr
    fte: Decimal = Field(gt=0, le=1, max_digits=4, decimal_places=3, description="Full-time equivalent, 0 < fte <= 1.")


class IroUpdate(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"fte": 0.6}, {"active": False}, {"fte": 0.8, "changes_from": "2025-09-01"}]}
    )

    name: Line | None = None
    fte: Decimal | None = Field(None, gt=0, le=1, max_digits=4, decimal_places=3)
    active: bool | None = None
    changes_from: Date | None = Field(
        None,
        description="The day a new `fte` or `active` applies from (default today; not in the future). It "
        "applies until the IRO's next change already recorded after it, if any; a change already recorded "
        "on that day is replaced.",
    )


class IroFteRead(ReadSchema):
    valid_from: dt.date = Field(description="In force from this day until the next row's `valid_from`.")
    fte: float
    active: bool


class IroRead(ReadSchema):
    id: uuid.UUID
    name: str
    email: str
    fte: float = Field(description="The FTE in force today.")
    active: bool = Field(description="Active today.")
    caseload: int = Field(description="Children with an open care period allocated to this IRO today.")
    caseload_per_fte: float
    within_guidance: bool = Field(description="Caseload per FTE at most the guidance (70 by default).")
    band: Literal["below", "within", "above"]
    fte_history: list[IroFteRead] = Field(
        description="The IRO's FTE and whether active, oldest first, each in force from its `valid_from`."
    )


# --- Children and care periods ------------------------------------------------------------------

ReasonEpisodeCeased = Literal[
    "X1", "E11", "E12", "E13", "E14", "E15", "E16", "E17", "E2", "E3", "E4A", "E4B", "E41", "E45", "E46", "E47",
    "E48", "E5", "E6", "E7", "E8", "E9",
]  # fmt: skip
"""The SSDA903 reasons an episode ceased (REC), fixed by the DfE (shared/reference/reason_ceased_codes.csv)."""


class ChildCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "la_reference": "LA000123",
                    "date_of_birth": "2012-05-01",
                    "display_name": "Sam",
                    "sex": "female",
                    "uasc": False,
                }
            ]
        }
    )

    la_reference: Reference
    date_of_birth: DateOfBirth = Field(description="YYYY-MM-DD, from 1900-01-01, not in the future.")
    display_name: Line | None = None
    sex: Literal["male", "female", "other", "unknown"] | None = None
    uasc: bool | None = Field(None, description="An unaccompanied asylum-seeking child.")


class ChildUpdate(Schema):
    """A correction of a child's details (`PATCH /v1/children/{id}`, a case system's `child.updated`):
    any of the fields, at least one. `display_name`, `sex` and `uasc` may be set to null (unknown);
    `date_of_birth` may not."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"date_of_birth": "2012-06-01"},
                {"display_name": "Sam", "sex": "female", "uasc": True},
            ]
        }
    )

    date_of_birth: DateOfBirth | None = Field(
        None, description="YYYY-MM-DD, from 1900-01-01, not in the future; not after a care period began."
    )
    display_name: Line | None = None
    sex: Literal["male", "female", "other", "unknown"] | None = None
    uasc: bool | None = Field(None, description="An unaccompanied asylum-seeking child.")


class CarePeriodRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    started_on: dt.date
    legal_status: str
    placement_type: str | None
    ended_on: dt.date | None
    end_reason: str | None
    short_break: bool
    started_before_data: bool = Field(
        description="A backfill's period that began before the data (`started_on` is the first day the data "
        "shows): its first review held is not judged for timeliness."
    )


class ChildRead(ReadSchema):
    id: uuid.UUID
    la_reference: str
    date_of_birth: dt.date
    display_name: str | None
    sex: str | None
    uasc: bool | None
    eighteenth_birthday: dt.date
    current_care_period: CarePeriodRead | None
    iro_id: uuid.UUID | None = Field(description="The IRO allocated today.")


class CarePeriodStart(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"started_on": "2025-11-03", "legal_status": "C2", "placement_type": "U4"},
                {"started_on": "2025-11-03", "legal_status": "V2"},
                {"started_on": "2019-06-03", "legal_status": "C2", "started_before_data": True},
            ]
        }
    )

    started_on: Date
    legal_status: Code = Field(description="An SSDA903 legal status code, e.g. C2 or V2.")
    placement_type: Code | None = Field(None, description="An SSDA903 placement code, e.g. U4.")
    started_before_data: bool = Field(
        False,
        description="For backfills (the SSDA903 return): the period began before the data, so `started_on` is "
        "the first day the data shows. The first review of such a period has no known predecessor: it is held "
        "as usual, but its timeliness is not judged (`in_time` null, no late reason) and it is counted apart "
        "(`not_judged` in the timeliness figures).",
    )


class CarePeriodEnd(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ended_on": "2026-03-20", "reason": "E4A"}]})

    ended_on: Date
    reason: ReasonEpisodeCeased = Field(description="An SSDA903 reason-episode-ceased code (REC), e.g. E4A.")


class PlacementChangeCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"changed_on": "2026-01-12", "placement_type": "U6", "unplanned": True}]}
    )

    changed_on: Date
    placement_type: Code
    unplanned: bool = False


class PlacementChangeRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    care_period_id: uuid.UUID
    changed_on: dt.date
    placement_type: str
    unplanned: bool


class LegalStatusChangeCreate(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"changed_on": "2026-02-02", "legal_status": "C1"}]})

    changed_on: Date
    legal_status: Code


class LegalStatusChangeRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    care_period_id: uuid.UUID
    changed_on: dt.date
    legal_status: str


class AllocationCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"iro_id": "8d2f0b6e-3c51-4f4e-9a7e-1b2c3d4e5f60", "allocated_on": "2025-11-03"}]
        }
    )

    iro_id: uuid.UUID
    allocated_on: Date


class AllocationRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    iro_id: uuid.UUID
    allocated_on: dt.date
    ended_on: dt.date | None


# --- Reviews ------------------------------------------------------------------------------------


class RecordKeepingRead(ReadSchema):
    sw_report_due_on: dt.date
    sw_report_on_time: bool | None
    decisions_due_on: dt.date | None
    decisions_on_time: bool | None
    record_due_on: dt.date | None
    record_on_time: bool | None
    letter_to_child_due_on: dt.date | None
    letter_to_child_on_time: bool | None


class ReviewRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    care_period_id: uuid.UUID
    sequence: int
    kind: Literal["first", "second", "subsequent"]
    due_on: dt.date
    statutory_due_on: dt.date
    early_reason: str | None
    planned_on: dt.date | None
    status: Literal["scheduled", "overdue", "held", "missed", "cancelled"]
    held_on: dt.date | None
    meeting_dates: list[dt.date] | None
    format: str | None
    venue: str | None
    chaired_by_child: str | None
    chaired_by_iro_id: uuid.UUID | None
    in_time: bool | None
    late_reason: str | None
    late_reason_detail: str | None
    closed_on: dt.date | None
    sw_report_received_on: dt.date | None
    decisions_issued_on: dt.date | None
    record_issued_on: dt.date | None
    letter_to_child_sent_on: dt.date | None
    record_keeping: RecordKeepingRead
    problems: list[ReviewProblem] = Field(
        description="What is wrong with the review as recorded, judged from the child's date of birth now: "
        "`held_on_or_after_18th_birthday` when a corrected date of birth puts a held review on or after the "
        "18th birthday (s105). Empty normally."
    )


class EarlyReview(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"due_on": "2026-01-20", "reason": "iro_request"},
                {"due_on": "2026-01-20", "reason": "other", "detail": "The court asked for an updated care plan."},
            ]
        }
    )

    due_on: Date
    reason: Code = Field(description="A key of the early-review reasons (reg 33(3)), e.g. `iro_request`.")
    detail: Paragraph | None = Field(None, description="Required when the reason is `other`.")


class Rearrangement(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"planned_on": "2026-02-10", "reason": "The child's social worker is on leave that week."}]
        }
    )

    planned_on: Date
    reason: Paragraph


class RearrangementRead(ReadSchema):
    id: uuid.UUID
    review_id: uuid.UUID
    previous_planned_on: dt.date | None
    planned_on: dt.date
    reason: str
    recorded_by: str
    created_at: dt.datetime


class ReviewHeld(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "held_on": "2025-11-28",
                    "format": "in_person",
                    "venue": "The foster carers' home",
                    "chaired_by_child": "no",
                },
                {
                    "held_on": "2026-06-04",
                    "format": "virtual",
                    "meeting_dates": ["2026-06-04", "2026-06-11"],
                    "late_reason": "key_people_unavailable",
                },
            ]
        }
    )

    held_on: Date = Field(description="The review date: the first meeting's when held as a series.")
    format: Literal["in_person", "virtual", "hybrid"] | None = None
    meeting_dates: list[Date] | None = Field(None, max_length=20)
    venue: Paragraph | None = None
    chaired_by_child: Literal["no", "co_chair", "chair"] | None = None
    late_reason: Code | None = Field(None, description="A key of the late-review reasons; required when late.")
    late_reason_detail: Paragraph | None = None


class ReviewRecordKeeping(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sw_report_received_on": "2025-11-25", "decisions_issued_on": "2025-12-03"}]}
    )

    sw_report_received_on: Date | None = None
    decisions_issued_on: Date | None = None
    record_issued_on: Date | None = None
    letter_to_child_sent_on: Date | None = None


class DecisionCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "The social worker arranges life-story work with Sam before the next review.",
                    "owner": "Social worker",
                    "due_on": "2026-01-31",
                }
            ]
        }
    )

    text: Text
    owner: Line
    due_on: Date


class DecisionUpdate(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "done", "completed_on": "2026-01-20"}]})

    status: Literal["open", "done", "not_done", "superseded"] | None = None
    completed_on: Date | None = None


class DecisionRead(ReadSchema):
    id: uuid.UUID
    review_id: uuid.UUID
    child_id: uuid.UUID
    text: str
    owner: str
    due_on: dt.date
    status: str
    completed_on: dt.date | None
    past_due: bool = Field(description="Open and past its due date, as of today.")


class MidwayReviewCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "held_on": "2026-02-15",
                    "outcome": "on_track",
                    "note": "Care plan actions on track; school attendance improved.",
                }
            ]
        }
    )

    held_on: Date
    outcome: Literal["on_track", "concerns", "escalated"]
    note: Text | None = None


class MidwayReviewRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    held_on: dt.date
    outcome: str
    note: str | None
    iro_id: uuid.UUID | None


class CaseNoteCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "recorded_on": "2025-12-01",
                    "text": "Spoke to the carer: Sam settled well after the move.",
                    "kind": "contact",
                }
            ]
        }
    )

    recorded_on: Date
    text: Text
    kind: Line | None = None
    iro_id: uuid.UUID | None = Field(None, description="The author, when not the caller (e.g. from a case system).")


class CaseNoteRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    recorded_on: dt.date
    text: str
    kind: str | None
    iro_id: uuid.UUID | None


# --- Stats --------------------------------------------------------------------------------------


class SequenceCounts(ReadSchema):
    held: int
    in_time: int


class Timeliness(ReadSchema):
    reviews_held: int = Field(description="Reviews held in the period whose timeliness is judged.")
    held_in_time: int
    pct_in_time: float | None
    overdue_unheld: int
    by_sequence: dict[Literal["first", "second", "subsequent"], SequenceCounts]
    late_by_reason: dict[str, int]
    children_reviewed: int
    children_all_in_time: int
    pct_children_all_in_time: float | None
    not_judged: int = Field(
        description="Reviews held in the period whose timeliness is not judged (the first review of a care "
        "period that began before the data, from a backfill): counted here only, in no other figure."
    )
    as_of: dt.date = Field(description="The day the figures are as of: the earlier of `to` and today.")


class MonthTimeliness(Timeliness):
    month: str = Field(description="YYYY-MM.")
    from_: dt.date = Field(serialization_alias="from", description="The month's first day, or the period's if later.")
    to: dt.date = Field(description="The month's last day, or the period's if earlier.")


class TimelinessByMonth(ReadSchema):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    months: list[MonthTimeliness] = Field(
        description="Each calendar month of the period that has begun by today, cut by the period's ends, "
        "with the figures of `GET /v1/stats/timeliness` for it as of its own end (or today)."
    )


class Caseload(ReadSchema):
    iro_id: uuid.UUID
    name: str
    fte: float = Field(description="The FTE in force on `as_of`.")
    active: bool = Field(description="Active on `as_of` (an inactive IRO is listed only with a caseload that day).")
    caseload: int
    caseload_per_fte: float
    within_guidance: bool
    band: Literal["below", "within", "above"]


class Caseloads(ReadSchema):
    as_of: dt.date = Field(description="The day of the caseloads: `as_of` (or `on`), default today.")
    items: list[Caseload] = Field(
        description="IROs active on `as_of`, and any other IRO with a caseload that day, by name."
    )
    iros: int = Field(description="IROs in `items`.")
    fte: float = Field(description="Their FTE on `as_of`, summed.")
    children_allocated: int = Field(description="Children looked after on `as_of` with an IRO allocated.")
    caseload_per_fte: float | None = Field(
        description="`children_allocated` / `fte`, one decimal place; null when `fte` is 0."
    )
    unallocated: int = Field(description="Children looked after on `as_of` with no IRO allocated.")
    guidance_lower: float = Field(description="Caseload per FTE below this is band `below` (setting).")
    guidance_upper: float = Field(description="Caseload per FTE above this is outside guidance (setting).")


class Rate(ReadSchema):
    numerator: int
    denominator: int
    pct: float | None = Field(description="numerator / denominator x 100, one decimal place, half up; null for 0/0.")


class Continuity(ReadSchema):
    looked_after_throughout: int = Field(
        description="Children looked after on every day of [from, as_of] in one care period."
    )
    kept_one_iro: int = Field(
        description="Of those, children with exactly one IRO allocation overlapping [from, as_of], covering all of it."
    )


class ChildrenStats(ReadSchema):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    as_of: dt.date = Field(description="The earlier of `to` and today.")
    looked_after_at_start: int = Field(description="Children looked after on `from`.")
    looked_after_at_end: int = Field(description="Children looked after on `as_of`.")
    looked_after_during: int = Field(description="Children looked after on any day of [from, as_of].")
    started: int = Field(
        description="Care periods started in [from, as_of], less those that began before the data (a backfill)."
    )
    ceased: int = Field(
        description="Care periods that ended in [from, as_of]: on their `ended_on`, or on the 18th birthday "
        "when still open then (s105)."
    )
    data_from: dt.date | None = Field(description="The earliest start of any care period; null when there is none.")
    continuity: Continuity


class RecordKeepingStats(ReadSchema):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    as_of: dt.date = Field(description="The earlier of `to` and today.")
    reviews_held: int = Field(description="Reviews held in [from, to], judged for timeliness or not.")
    sw_report_on_time: Rate = Field(
        description="Social worker's report received by its due date (working days before the review), of held."
    )
    decisions_on_time: Rate = Field(
        description="Decisions issued by their deadline, of held reviews whose deadline is on or before `as_of` "
        "or whose decisions were issued anyway."
    )
    record_on_time: Rate = Field(description="The full record issued by its deadline (as `decisions_on_time`).")
    letter_to_child_on_time: Rate = Field(description="The letter to the child by its deadline (as above).")
    letter_to_child_sent: Rate = Field(description="A letter to the child sent (any date), of held.")
    chaired_by_child: dict[Literal["chair", "co_chair", "no", "not_recorded"], Rate] = Field(
        description="Held reviews by who chaired, of held."
    )
    by_format: dict[Literal["in_person", "virtual", "hybrid", "not_recorded"], Rate] = Field(
        description="Held reviews by format, of held."
    )


# --- The DfE SSDA903 return (internal: read by the gateway's export) -----------------------------


class Ssda903Review(ReadSchema):
    review_id: uuid.UUID
    child_id: uuid.UUID
    la_reference: str
    date_of_birth: dt.date = Field(description="The child's date of birth now (corrections applied).")
    held_on: dt.date
    sequence: int = Field(description="The review's number in its care period (1: first).")
    short_breaks_only: bool = Field(
        description="Every legal status the child had on any day of the collection year was V3 or V4 (short "
        "breaks): the DfE's rule 399 refuses reviews for such a child, so the export leaves them out."
    )
    problems: list[ReviewProblem] = Field(description="As the review reads (`GET /v1/reviews/{id}`).")


class Ssda903Reviews(ReadSchema):
    collection_year: int = Field(description="Y: 1 April of Y-1 to 31 March of Y.")
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    items: list[Ssda903Review] = Field(description="Each review held in [from, to], by `la_reference`, then `held_on`.")
