"""The reviews API's request and response bodies (CONTRACT.md, "Reviews service")."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import EmailStr, Field

from shared.schemas import ReadSchema, Schema

Text = Field(min_length=1, max_length=10_000)


# --- IROs ---------------------------------------------------------------------------------------


class IroCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    fte: Decimal = Field(gt=0, le=1, max_digits=4, decimal_places=3, description="Full-time equivalent, 0 < fte <= 1.")


class IroUpdate(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    fte: Decimal | None = Field(None, gt=0, le=1, max_digits=4, decimal_places=3)
    active: bool | None = None


class IroRead(ReadSchema):
    id: uuid.UUID
    name: str
    email: str
    fte: float
    active: bool
    caseload: int = Field(description="Children with an open care period allocated to this IRO today.")
    caseload_per_fte: float
    within_guidance: bool = Field(description="Caseload per FTE at most the guidance (70 by default).")
    band: Literal["below", "within", "above"]


# --- Children and care periods ------------------------------------------------------------------


class ChildCreate(Schema):
    la_reference: str = Field(min_length=1, max_length=64)
    date_of_birth: dt.date
    display_name: str | None = Field(None, max_length=200)
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
    started_on: dt.date
    legal_status: str = Field(description="An SSDA903 legal status code, e.g. C2 or V2.")
    placement_type: str | None = Field(None, description="An SSDA903 placement code, e.g. U4.")


class CarePeriodEnd(Schema):
    ended_on: dt.date
    reason: str = Field(description="An SSDA903 reason-episode-ceased code, e.g. E4A.")


class PlacementChangeCreate(Schema):
    changed_on: dt.date
    placement_type: str
    unplanned: bool = False


class PlacementChangeRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    care_period_id: uuid.UUID
    changed_on: dt.date
    placement_type: str
    unplanned: bool


class LegalStatusChangeCreate(Schema):
    changed_on: dt.date
    legal_status: str


class LegalStatusChangeRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    care_period_id: uuid.UUID
    changed_on: dt.date
    legal_status: str


class AllocationCreate(Schema):
    iro_id: uuid.UUID
    allocated_on: dt.date


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


class EarlyReview(Schema):
    due_on: dt.date
    reason: str = Field(description="A key of the early-review reasons (reg 33(3)), e.g. `iro_request`.")
    detail: str | None = Field(None, max_length=2000, description="Required when the reason is `other`.")


class Rearrangement(Schema):
    planned_on: dt.date
    reason: str = Field(min_length=1, max_length=2000)


class RearrangementRead(ReadSchema):
    id: uuid.UUID
    review_id: uuid.UUID
    previous_planned_on: dt.date | None
    planned_on: dt.date
    reason: str
    recorded_by: str
    created_at: dt.datetime


class ReviewHeld(Schema):
    held_on: dt.date = Field(description="The review date: the first meeting's when held as a series.")
    format: Literal["in_person", "virtual", "hybrid"] | None = None
    meeting_dates: list[dt.date] | None = Field(None, max_length=20)
    venue: str | None = Field(None, max_length=500)
    chaired_by_child: Literal["no", "co_chair", "chair"] | None = None
    late_reason: str | None = Field(None, description="A key of the late-review reasons; required when late.")
    late_reason_detail: str | None = Field(None, max_length=2000)


class ReviewRecordKeeping(Schema):
    sw_report_received_on: dt.date | None = None
    decisions_issued_on: dt.date | None = None
    record_issued_on: dt.date | None = None
    letter_to_child_sent_on: dt.date | None = None


class DecisionCreate(Schema):
    text: str = Text
    owner: str = Field(min_length=1, max_length=200)
    due_on: dt.date


class DecisionUpdate(Schema):
    status: Literal["open", "done", "not_done", "superseded"] | None = None
    completed_on: dt.date | None = None


class DecisionRead(ReadSchema):
    id: uuid.UUID
    review_id: uuid.UUID
    child_id: uuid.UUID
    text: str
    owner: str
    due_on: dt.date
    status: str
    completed_on: dt.date | None


class MidwayReviewCreate(Schema):
    held_on: dt.date
    outcome: Literal["on_track", "concerns", "escalated"]
    note: str | None = Field(None, max_length=10_000)


class MidwayReviewRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    held_on: dt.date
    outcome: str
    note: str | None
    iro_id: uuid.UUID | None


class CaseNoteCreate(Schema):
    recorded_on: dt.date
    text: str = Text
    kind: str | None = Field(None, max_length=100)
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
    reviews_held: int
    held_in_time: int
    pct_in_time: float | None
    overdue_unheld: int
    by_sequence: dict[Literal["first", "second", "subsequent"], SequenceCounts]
    late_by_reason: dict[str, int]
    children_reviewed: int
    children_all_in_time: int
    pct_children_all_in_time: float | None


class Caseload(ReadSchema):
    iro_id: uuid.UUID
    name: str
    fte: float
    caseload: int
    caseload_per_fte: float
    within_guidance: bool
    band: Literal["below", "within", "above"]


class Caseloads(ReadSchema):
    items: list[Caseload]
