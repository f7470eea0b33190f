"""Request and response bodies of the participation API (CONTRACT.md, "Participation service").

Request fields are strings where a practice list decides what is valid (methods, respondents ...):
`rules.py` checks them, so a bad value gets a 422 naming the field and the valid values (GET
/v1/reference/{list} at the gateway serves the lists). The participation code is a fixed SSDA903
list, so it is an enum in the schema.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import ReadSchema, Schema
from shared.types import Code, Date, Line, Paragraph, Text

# --- Participation records ------------------------------------------------------------------------

ParticipationCode = Literal["PN0", "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"]
"""The SSDA903 participation codes, fixed by the DfE (shared/reference/participation_codes.csv)."""

Problem = Literal["code_invalid_for_age", "review_on_or_after_18th_birthday", "review_before_date_of_birth"]
"""A held review's problems (`rules.PROBLEMS`)."""


class ParentIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"relationship": "mother", "participation": "attended"}]})

    relationship: Code = Field(description="mother, father, parent, step_parent, carer, guardian, other")
    participation: Code = Field(
        description="attended, views_conveyed, invited_did_not_attend, not_invited, not_appropriate",
    )


class ParticipationIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "PN1",
                    "methods": ["in_person", "consultation_form"],
                    "met_iro_before": True,
                    "interpreter_used": False,
                    "parents": [
                        {"relationship": "mother", "participation": "attended"},
                        {"relationship": "father", "participation": "views_conveyed"},
                    ],
                },
                {"code": "PN0"},
            ]
        }
    )

    code: ParticipationCode = Field(description="PN0-PN7 (SSDA903); PN0 exactly when the child is under 4.")
    methods: list[Code] = Field(default_factory=list, max_length=20, description="How the child took part.")
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
    problems: list[Problem] = Field(
        description="What is wrong with the record under the child's date of birth now, kept and flagged "
        "(never dropped) after a correction: `code_invalid_for_age` (the stored code contradicts the child's "
        "age on the review date), `review_on_or_after_18th_birthday`, `review_before_date_of_birth`. Empty "
        "normally; the DfE export lists flagged records as problems and never exports them."
    )


# --- Feedback ------------------------------------------------------------------------------------


class FeedbackIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "respondent": "child",
                    "channel": "online",
                    "review_id": "c7e1a9b3-5d2f-4e8a-b6c0-1f3d5e7a9b21",
                    "answers": {"iro_listens": "always", "understand_care_plan": "sometimes"},
                    "comment": "I liked having the meeting at school.",
                    "received_on": "2025-12-02",
                },
                {"respondent": "carer", "channel": "paper", "answers": {"iro_listens": "always"}},
            ]
        }
    )

    respondent: Code = Field(description="child, parent, carer, social_worker, ...")
    channel: Code = Field(description="paper, online, app, phone, face_to_face")
    review_id: uuid.UUID | None = Field(None, description="Omit, with `child_id`, for anonymous feedback.")
    child_id: uuid.UUID | None = None
    answers: dict[Line, Code] = Field(
        default_factory=dict, max_length=100, description="Question key to always, sometimes or never."
    )
    comment: Text | None = None
    received_on: Date | None = Field(None, description="Default: today. The stats count by this date.")


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "child_id": "3f6b2c1e-8d4a-4b7e-9c2f-5a1d0e7b6c43",
                    "referred_on": "2025-12-01",
                    "provider": "Coram Voice",
                    "reason": "Sam wants help to say what she wants about contact.",
                }
            ]
        }
    )

    child_id: uuid.UUID
    referred_on: Date
    provider: Line
    reason: Paragraph | None = None


class AdvocacyOutcomeIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome": "An advocate met Sam and attended the review with her.", "outcome_on": "2026-01-10"}
            ]
        }
    )

    outcome: Paragraph
    outcome_on: Date | None = Field(None, description="Default: today.")


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


class YesNoCounts(BaseModel):
    yes: int
    no: int
    not_recorded: int = Field(description="Records that leave the question unanswered (null)")


class ParentStats(BaseModel):
    reviews_with_parents_recorded: int = Field(description="Records listing at least one parent")
    reviews_with_a_parent_taking_part: int = Field(
        description="Records listing at least one parent whose participation is `attended` or `views_conveyed`"
    )
    by_participation: dict[str, int] = Field(
        description="Parent entries per participation value (every configured value, zeros included); a record "
        "listing two parents counts twice"
    )


class ParticipationStats(Period):
    age_on: dt.date | None
    reviews: int
    uncoded: int
    by_code: dict[str, int]
    aged_4_plus: Rate
    by_age: list[AgeRate]
    recorded: int = Field(
        description="Reviews with a participation record (`reviews` - `uncoded`): the denominator of `methods`, "
        "`met_iro_before`, `interpreter_used` and `parents`"
    )
    methods: dict[str, int] = Field(
        description="Records listing each method of taking part (every configured method, zeros included); a "
        "record listing two methods counts once under each"
    )
    met_iro_before: YesNoCounts = Field(description="Records by whether the child met the IRO before the review")
    interpreter_used: YesNoCounts = Field(description="Records by whether an interpreter was used")
    parents: ParentStats


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


# --- The DfE SSDA903 return (internal: read by the gateway's export) -----------------------------


class Ssda903Row(ReadSchema):
    review_id: uuid.UUID
    child_id: uuid.UUID
    la_reference: str | None = Field(description="The child's local reference, as registered; null if none")
    review_date: dt.date
    date_of_birth: dt.date = Field(description="The child's date of birth now (corrections applied)")
    code: ParticipationCode | None = Field(description="The recorded participation code; null when none is")
    problems: list[Problem] = Field(description="The held review's problems (as on a participation record)")


class Ssda903Participation(ReadSchema):
    collection_year: int = Field(description="Y: 1 April of Y-1 to 31 March of Y")
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    items: list[Ssda903Row] = Field(description="Every held review of the year, by review date then review id")
