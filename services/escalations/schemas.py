"""The API's shapes: request bodies on `Schema` (unknown fields refused), responses on `ReadSchema`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import AfterValidator, Field

from services.escalations.rules import Kind, Scope
from shared.schemas import ReadSchema, Schema

MAX_CHILDREN = 500


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Line = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
"""A short text: a team, a responder's name, a category key (blank after stripping is refused)."""

Text = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(_no_nul)]
"""A free text: a summary, a response, a reason, an outcome."""


# --- Requests -----------------------------------------------------------------------------------


class EscalationCreate(Schema):
    kind: Kind = Field(description="`alert` (informal, stage 0) or `formal` (stage 1).")
    scope: Scope = Field(description="`child` (one child), `children` (two or more), `service` (none named).")
    child_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_CHILDREN)
    category: Line = Field(description="A key of the configured categories (GET /v1/escalation-categories).")
    team: Line
    summary: Text
    raised_on: dt.date


class ResponseCreate(Schema):
    responded_on: dt.date
    responder: Line = Field(description="Who answered: the stage's addressee.")
    text: Text


class EscalateRequest(Schema):
    escalated_on: dt.date
    reason: Text


class ResolveRequest(Schema):
    resolved_on: dt.date
    outcome: Text


class WithdrawRequest(Schema):
    withdrawn_on: dt.date
    reason: Text


class CafcassReferralRequest(Schema):
    referred_on: dt.date
    reason: Text


class CommendationCreate(Schema):
    child_id: uuid.UUID | None = None
    team: Line
    summary: Text
    raised_on: dt.date


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
    resolved_at_stage_1: int
    resolved_at_stage_1_pct: float | None
    median_working_days_to_resolution: float | None
    overdue_now: int
    cafcass_referrals: int
    children_with_repeat_escalations: int = Field(description="Children named in two or more escalations raised.")
