"""Request and response bodies of the participation API (CONTRACT.md, "Participation service").

Request fields are strings where a list decides what is valid (codes, methods, respondents ...):
`rules.py` checks them, so a bad value gets a 422 naming the field and the valid values.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from shared.schemas import ReadSchema, Schema

# --- Participation records ------------------------------------------------------------------------


class ParentIn(Schema):
    relationship: str = Field(max_length=40, description="mother, father, parent, step_parent, carer, guardian, other")
    participation: str = Field(
        max_length=40,
        description="attended, views_conveyed, invited_did_not_attend, not_invited, not_appropriate",
    )


class ParticipationIn(Schema):
    code: str = Field(max_length=10, description="PN0-PN7 (SSDA903); PN0 exactly when the child is under 4.")
    methods: list[str] = Field(default_factory=list, max_length=20, description="How the child took part.")
    met_iro_before: bool | None = Field(None, description="The child met the IRO before the review.")
    interpreter_used: bool | None = None
    parents: list[ParentIn] = Field(default_factory=list, max_length=20)


class ParentOut(BaseModel):
    relationship: str
    participation: str


class ParticipationOut(BaseModel):
    review_id: uuid.UUID
    child_id: uuid.UUID
    review_date: dt.date
    code: str
    methods: list[str]
    met_iro_before: bool | None
    interpreter_used: bool | None
    parents: list[ParentOut]
    recorded_at: dt.datetime
    recorded_by: str


# --- Feedback ------------------------------------------------------------------------------------


class FeedbackIn(Schema):
    respondent: str = Field(max_length=40, description="child, parent, carer, social_worker, ...")
    channel: str = Field(max_length=40, description="paper, online, app, phone, face_to_face")
    review_id: uuid.UUID | None = Field(None, description="Omit, with `child_id`, for anonymous feedback.")
    child_id: uuid.UUID | None = None
    answers: dict[str, str] = Field(default_factory=dict, description="Question key to always, sometimes or never.")
    comment: str | None = Field(None, max_length=5000)
    received_on: dt.date | None = Field(None, description="Default: today. The stats count by this date.")


class FeedbackOut(ReadSchema):
    id: uuid.UUID
    respondent: str
    channel: str
    review_id: uuid.UUID | None
    child_id: uuid.UUID | None
    answers: dict[str, str]
    comment: str | None
    received_on: dt.date
    recorded_at: dt.datetime
    recorded_by: str


class QuestionOut(BaseModel):
    key: str
    text: str


class QuestionSetOut(BaseModel):
    questions: list[QuestionOut]
    answers: list[str]
    respondents: dict[str, str]
    channels: dict[str, str]


# --- Advocacy referrals --------------------------------------------------------------------------


class AdvocacyIn(Schema):
    child_id: uuid.UUID
    referred_on: dt.date
    provider: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(None, max_length=2000)


class AdvocacyOutcomeIn(Schema):
    outcome: str = Field(min_length=1, max_length=2000)
    outcome_on: dt.date | None = Field(None, description="Default: today.")


class AdvocacyOut(ReadSchema):
    id: uuid.UUID
    child_id: uuid.UUID
    referred_on: dt.date
    provider: str
    reason: str | None
    outcome: str | None
    outcome_on: dt.date | None
    recorded_at: dt.datetime
    recorded_by: str


# --- Stats ---------------------------------------------------------------------------------------


class Period(BaseModel):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date


class Rate(BaseModel):
    reviews: int
    participated: int
    pct: float | None = Field(description="participated / reviews, a percentage to one decimal place")


class AgeRate(BaseModel):
    age: int
    reviews: int
    participated: int
    pct: float | None


class ParticipationStats(Period):
    age_on: dt.date | None
    reviews: int
    uncoded: int
    by_code: dict[str, int]
    aged_4_plus: Rate
    by_age: list[AgeRate]


class QuestionStats(BaseModel):
    key: str
    text: str | None = Field(description="None for a question no longer in the configured set")
    answers: dict[str, int]
    by_respondent: dict[str, dict[str, int]]


class FeedbackStats(Period):
    forms: int
    anonymous: int
    by_respondent: dict[str, int]
    questions: list[QuestionStats]


class QuarterCount(BaseModel):
    quarter: str
    start: dt.date = Field(description="The first day counted: the quarter's, or the period's if later")
    end: dt.date = Field(description="The last day counted: the quarter's, or the period's if earlier")
    referrals: int


class AdvocacyStats(Period):
    referrals: int
    by_quarter: list[QuarterCount]
