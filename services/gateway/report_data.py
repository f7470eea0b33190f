"""The annual report's dataset (`GET /v1/reports/annual`; IRO Handbook para 7.11, DESIGN.md 2.6): its shape.

Every percentage, ratio and median carries what it was computed from, so an analyst can check it:

- `Rate`: `numerator` of `denominator`, and `pct` (numerator / denominator x 100, one decimal place,
  half up; None when the denominator is 0).
- `Ratio`: `value` = `numerator` / `denominator` to one decimal place (caseload per FTE: children over
  FTE).
- `Median`: `median` taken over `count` values (None when there are none).

Plain counts are `int`. Every theme is a `Theme`: the figures of the period (`current`) and of the same
period a year earlier (`previous`), each None when the theme has no data for that period (it ends
before `data_from`, the first day the theme has records for), never zeros. The definitions of every
figure are in docs/reports.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Figure(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Rate(Figure):
    numerator: int
    denominator: int
    pct: float | None = Field(description="numerator / denominator x 100, one decimal place; None when 0/0.")


class Ratio(Figure):
    value: float | None = Field(description="numerator / denominator, one decimal place; None when 0 FTE.")
    numerator: int
    denominator: float


class Median(Figure):
    median: float | None = Field(description="The median of `count` values; None when there are none.")
    count: int


class Period(Figure):
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    as_of: dt.date = Field(description="The day the period's figures are judged as of: min(to, today).")


class Theme(Figure, Generic[T]):
    data_from: dt.date | None = Field(
        description="The first day this theme has records for (None: no records at all). A period ending "
        "before it has no data (None), never zeros; one starting before it is counted from it."
    )
    current: T | None
    previous: T | None = Field(description="The same period a year earlier; None when it has no data.")


# --- themes ----------------------------------------------------------------------------------------


class ChildrenLookedAfter(Figure):
    looked_after_at_start: int = Field(description="Looked after on `from`.")
    looked_after_at_end: int = Field(description="Looked after on `as_of`.")
    looked_after_during: int = Field(description="Looked after on any day of [from, as_of].")
    started: int = Field(description="Care periods started in the period.")
    ceased: int = Field(description="Care periods ended in the period.")


class IroCaseload(Figure):
    iro_id: uuid.UUID
    name: str
    fte: float
    caseload: int
    caseload_per_fte: float | None
    band: Literal["below", "within", "above"]


class Staffing(Figure):
    as_of: dt.date = Field(description="The period's end, or today while it runs.")
    iros: int
    fte: float = Field(description="The IROs' FTE in force on `as_of`, summed.")
    children_allocated: int
    unallocated: int = Field(description="Children looked after on `as_of` with no IRO allocated.")
    caseload_per_fte: Ratio = Field(description="Children allocated over FTE.")
    within_guidance: Rate = Field(description="IROs whose caseload per FTE is at most the upper bound, of IROs.")
    by_band: dict[str, int] = Field(description="IROs below, within and above the band.")
    guidance_lower: float
    guidance_upper: float
    per_iro: list[IroCaseload]


class Continuity(Figure):
    looked_after_throughout: int = Field(description="Children looked after on every day of the period.")
    kept_one_iro: Rate = Field(description="Of those, children with one IRO through the whole period.")


class SequenceFigures(Figure):
    sequence: Literal["first", "second", "subsequent"]
    held: int
    in_time: Rate


class Reviews(Figure):
    held: int = Field(description="Reviews held in the period whose timeliness is judged.")
    not_judged: int = Field(description="Held, first reviews of care periods that began before the records.")
    by_sequence: list[SequenceFigures]


class ReasonCount(Figure):
    reason: str
    share: Rate = Field(description="Late reviews with this reason, of late reviews held.")


class MonthTimeliness(Figure):
    month: str = Field(description="YYYY-MM.")
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    as_of: dt.date
    held: int
    in_time: Rate
    overdue_unheld: int


class Timeliness(Figure):
    as_of: dt.date
    reviews_in_time: Rate = Field(description="Held in time, of reviews held (judged).")
    children_all_in_time: Rate = Field(description="Children whose every review was in time, of children reviewed.")
    overdue_unheld: int
    late_by_reason: list[ReasonCount]
    by_month: list[MonthTimeliness]


class RecordKeeping(Figure):
    as_of: dt.date
    sw_report_on_time: Rate
    decisions_on_time: Rate
    record_on_time: Rate
    letter_to_child_on_time: Rate
    letter_to_child_sent: Rate


class CodeShare(Figure):
    code: str
    label: str
    share: Rate = Field(description="Reviews with this code, of coded reviews.")


class AgeParticipation(Figure):
    age: int
    participated: Rate = Field(description="Coded PN1-PN6, of coded reviews of children of this age.")


class Participation(Figure):
    age_on: dt.date | None = Field(description="Ages on this day; None: ages on each review's date.")
    reviews: int = Field(description="Held reviews in the period.")
    uncoded: int = Field(description="Held reviews with no participation code yet.")
    by_code: list[CodeShare]
    aged_4_plus: Rate = Field(description="Reviews of children 4 or over coded PN1-PN6, of those coded.")
    by_age: list[AgeParticipation]


class Share(Figure):
    key: str
    share: Rate


class ParticipationDetail(Figure):
    recorded: int = Field(description="Held reviews with a participation record: the denominator below.")
    methods: list[Share]
    chaired_by_child: list[Share] = Field(
        description="Held reviews by who chaired (chair, co_chair, no), of those whose chair was recorded."
    )
    parents_taking_part: Rate = Field(description="Reviews where a parent attended or conveyed views.")
    interpreter_used: Rate
    met_iro_before: Rate


class StageReached(Figure):
    stage: int
    name: str | None
    count: int


class CategoryKind(Figure):
    category: str
    alerts: int
    formal: int


class TeamCount(Figure):
    team: str
    count: int


class Escalations(Figure):
    alerts: int
    formal: int
    escalated_alerts: int
    by_stage_reached: list[StageReached]
    by_category: list[CategoryKind]
    by_team: list[TeamCount]
    resolved_at_stage_1: Rate = Field(description="Resolved at stage 1, of formal escalations resolved.")
    working_days_to_resolution: Median
    overdue_now: int = Field(description="Open and overdue as of today, whatever the period.")
    overdue_as_of: dt.date = Field(description="The day `overdue_now` is judged on: today.")
    cafcass_referrals: int
    children_with_repeat_escalations: int
    commendations: int


class IroActivity(Figure):
    iro_id: uuid.UUID | None = Field(description="None: events filed under no IRO.")
    name: str | None
    midway_reviews: list[int] = Field(description="Per month of `months`.")
    case_notes: list[int] = Field(description="Per month of `months`.")


class Footprint(Figure):
    months: list[str] = Field(description="YYYY-MM, the period's months.")
    midway_reviews: int
    case_notes: int
    events_recorded: int = Field(
        description="Footprint events that occurred in the period (`occurred_at`; a backfill's by their own dates)."
    )
    per_iro: list[IroActivity]


class QuestionSummary(Figure):
    key: str
    text: str | None
    answers: list[Share] = Field(description="Each answer's share of the answers to the question.")


class Feedback(Figure):
    forms: int
    anonymous: int
    by_respondent: list[Share]
    questions: list[QuestionSummary]


class QuarterCount(Figure):
    quarter: str
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    referrals: int


class Advocacy(Figure):
    referrals: int
    by_quarter: list[QuarterCount]


class AnnualReport(Figure):
    period: Period
    previous_period: Period = Field(description="The same period a year earlier.")
    generated_at: dt.datetime = Field(description="UTC.")
    records_from: dt.date | None = Field(
        description="The first day of the records brought in from the SSDA903 return or case system "
        "(children looked after, reviews, timeliness and participation codes have data from it)."
    )
    platform_from: dt.date | None = Field(
        description="The first day the platform recorded anything: the themes only the platform "
        "records (staffing, escalations, feedback ...) have data from it."
    )
    children: Theme[ChildrenLookedAfter]
    staffing: Theme[Staffing]
    continuity: Theme[Continuity]
    reviews: Theme[Reviews]
    timeliness: Theme[Timeliness]
    record_keeping: Theme[RecordKeeping]
    participation: Theme[Participation]
    participation_detail: Theme[ParticipationDetail]
    escalations: Theme[Escalations]
    footprint: Theme[Footprint]
    feedback: Theme[Feedback]
    advocacy: Theme[Advocacy]
