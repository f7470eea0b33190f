"""The API's shapes: request bodies on `Schema` (unknown fields refused), responses on `ReadSchema`."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import ConfigDict, Field

from services.escalations.rules import Kind, Scope
from shared.schemas import ReadSchema, Schema
from shared.types import Date, Line, Text

MAX_CHILDREN = 500


# --- Requests -----------------------------------------------------------------------------------


class EscalationCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "formal",
                    "scope": "child",
                    "child_ids": ["3f6b2c1e-8d4a-4b7e-9c2f-5a1d0e7b6c43"],
                    "category": "care_plan_not_completed",
                    "team": "Children in Care Team 2",
                    "summary": "The care plan has not been updated since the placement move.",
                    "raised_on": "2025-12-01",
                },
                {
                    "kind": "alert",
                    "scope": "service",
                    "child_ids": [],
                    "category": "social_worker_availability",
                    "team": "Children in Care Team 1",
                    "summary": "Three children have had no allocated social worker for a month.",
                    "raised_on": "2025-12-01",
                },
            ]
        }
    )

    kind: Kind = Field(description="`alert` (informal, stage 0) or `formal` (stage 1).")
    scope: Scope = Field(description="`child` (one child), `children` (two or more), `service` (none named).")
    child_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_CHILDREN)
    category: Line = Field(description="A key of the configured categories (GET /v1/escalation-categories).")
    team: Line
    summary: Text
    raised_on: Date


class ResponseCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "responded_on": "2025-12-08",
                    "responder": "Jo Bloggs, Team Manager",
                    "text": "The updated care plan will be shared by 15 December.",
                }
            ]
        }
    )

    responded_on: Date
    responder: Line = Field(description="Who answered: the stage's addressee.")
    text: Text


class EscalateRequest(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"escalated_on": "2025-12-16", "reason": "No updated care plan within 10 working days."}]
        }
    )

    escalated_on: Date
    reason: Text


class ResolveRequest(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"resolved_on": "2026-01-05", "outcome": "The updated care plan was shared and agreed."}]
        }
    )

    resolved_on: Date
    outcome: Text


class WithdrawRequest(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"withdrawn_on": "2025-12-03", "reason": "Raised in error: the plan was already uploaded."}]
        }
    )

    withdrawn_on: Date
    reason: Text


class CafcassReferralRequest(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "referred_on": "2026-02-02",
                    "reason": "The local authority has not acted on the care plan despite escalation to the Director.",
                }
            ]
        }
    )

    referred_on: Date
    reason: Text


class CommendationCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "child_id": "3f6b2c1e-8d4a-4b7e-9c2f-5a1d0e7b6c43",
                    "team": "Fostering Team",
                    "summary": "The carers supported Sam to chair part of the review.",
                    "raised_on": "2025-11-28",
                }
            ]
        }
    )

    child_id: uuid.UUID | None = None
    team: Line
    summary: Text
    raised_on: Date


# --- Responses ----------------------------------------------------------------------------------


class StageRead(ReadSchema):
    stage: int
    name: str
    entered_on: dt.date
    entry_reason: str | None = Field(description="Why it was escalated to this stage (none for the first).")
    response_due_on: dt.date
    responded_on: dt.date | None
    responder: str | None
    response_text: str | None
    responded_in_time: bool | None = Field(description="Answered by its due day; null while unanswered.")
    overdue: bool = Field(description="Unanswered, open and past its due day, as of today.")
    ended_on: dt.date | None
    ended_how: str | None = Field(description="`escalated`, `resolved`, `withdrawn`, `referred_to_cafcass`.")
    end_reason: str | None = Field(description="The reason or outcome given when the stage ended.")


class EscalationRead(ReadSchema):
    id: uuid.UUID
    kind: Kind = Field(description="`alert` at stage 0, `formal` from stage 1 (an escalated alert is formal).")
    raised_as_alert: bool
    scope: Scope
    child_ids: list[uuid.UUID]
    category: str
    team: str
    summary: str
    raised_on: dt.date
    raised_by: str
    status: str = Field(description="`open`, `resolved`, `withdrawn` or `referred_to_cafcass`.")
    stage: int
    stage_name: str
    response_due_on: dt.date = Field(description="When the current stage's response is due.")
    responded_on: dt.date | None = Field(description="When the current stage was answered.")
    overdue: bool
    outcome: str | None = Field(description="The resolution's outcome, or the reason for withdrawal or referral.")
    closed_on: dt.date | None
    allowed_actions: list[str] = Field(description="What may be done now: respond, escalate, resolve, ...")
    stages: list[StageRead]


class LadderStageRead(ReadSchema):
    stage: int
    name: str
    response_working_days: int


class CategoryRead(ReadSchema):
    key: str
    label: str | None


class CommendationRead(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID | None
    team: str
    summary: str
    raised_on: dt.date
    raised_by: str


class StageCount(ReadSchema):
    stage: int
    name: str | None
    count: int


class CategoryCount(ReadSchema):
    category: str
    alerts: int
    formal: int


class TeamCount(ReadSchema):
    team: str
    count: int


class EscalationStats(ReadSchema):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    alerts: int = Field(description="Raised as an alert in the period (escalated or not).")
    formal: int = Field(description="Raised as a formal escalation in the period.")
    escalated_alerts: int = Field(description="Raised as an alert in the period and since escalated.")
    commendations: int
    by_stage_reached: list[StageCount]
    by_category: list[CategoryCount]
    by_team: list[TeamCount]
    formal_resolved: int = Field(description="Formal escalations (escalated alerts included) resolved in the period.")
    resolved_at_stage_1: int = Field(description="Of `formal_resolved`, those resolved while at stage 1.")
    resolved_at_stage_1_pct: float | None = Field(
        description="`resolved_at_stage_1` / `formal_resolved` x 100, one decimal place (half away from zero); "
        "null when `formal_resolved` is 0."
    )
    median_working_days_to_resolution: float | None = Field(
        description="Over the `formal_resolved` escalations: the median of the working days from raising (an "
        "escalated alert's raising as an alert) to resolution; null when none. Its count is "
        "`resolved_with_working_days`."
    )
    overdue_now: int = Field(description="Open escalations overdue as of `as_of` (today), whatever the period.")
    as_of: dt.date = Field(description="The day `overdue_now` is judged as of: today.")
    cafcass_referrals: int
    children_with_repeat_escalations: int = Field(description="Children named in two or more escalations raised.")
    resolved_with_working_days: int = Field(
        description="How many resolved escalations `median_working_days_to_resolution` is taken over: every one "
        "of `formal_resolved`."
    )
