"""The footprint's event types: one pydantic model per `type`, versioned, shared by every producer,
consumer, test and report.

    from shared.footprint import events

    await footprint.append(session, event=events.ReviewHeld(review_id=..., ...), actor=..., subject=..., ...)
    match events.parse(row.type, row.payload):
        case events.ReviewHeld() as held: ...

- A model's fields are its payload exactly as stored (the hash chain covers it): `to_payload()` is
  the JSON the log keeps, with `schema_version` added. Fields with a default are written only when
  the producer sets them (the partial-update events), or, when named in `omit_when_none`, only when
  not None.
- `parse(type, payload)` reads a stored payload: no `schema_version` reads as version 1 (events
  stored before versions existed); an older version is brought up to date by the `upgrade` hooks
  registered for (type, from_version), one version at a time.
- These are the facts the platform records, not the commands case systems send: inbound CloudEvents
  (whose `review.held` names a child by `la_reference`) have models of their own, elsewhere
  (`shared.ingest`), never these classes.

`docs/events.md` is generated from these models: `python -m shared.footprint.eventdocs > docs/events.md`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# --- The base, the registry and parsing ------------------------------------------------------------


class FootprintEvent(BaseModel):
    """A fact on the footprint. Subclasses set the ClassVars; the fields are the payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    """`<thing>.<past-tense verb>`, the event's `type` column."""
    schema_version: ClassVar[int] = 1
    """The payload's current version, written into it as `schema_version`."""
    written_by: ClassVar[tuple[str, ...]]
    """The modules that append it (`services.reviews.review_service`)."""
    read_by: ClassVar[tuple[str, ...]] = ()
    """The modules that read its payload besides the auditors' footprint API (consumers, lookups)."""
    omit_when_none: ClassVar[frozenset[str]] = frozenset()
    """Fields left out of the payload when None (absent rather than null, as stored)."""

    def to_payload(self) -> dict[str, Any]:
        """The payload as stored: JSON values (dates `YYYY-MM-DD`, uuids as strings) and `schema_version`."""
        body = self.model_dump(mode="json", exclude_unset=True)
        for name in self.omit_when_none:
            if body.get(name) is None:
                body.pop(name, None)
        body["schema_version"] = self.schema_version
        return body


class EventParseError(ValueError):
    """A stored payload this code cannot read as its type (unknown type, unknown or future version)."""


Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
E = TypeVar("E", bound=FootprintEvent)

EVENT_TYPES: dict[str, type[FootprintEvent]] = {}
"""Every footprint event type, by its `type`."""

UPGRADES: dict[tuple[str, int], Upgrade] = {}
"""Payload upgrades keyed by (type, from_version): each returns the payload at from_version + 1."""


def register(cls: type[E]) -> type[E]:
    """Add an event model to `EVENT_TYPES` (a class decorator)."""
    if cls.type in EVENT_TYPES:
        raise ValueError(f"two models for {cls.type}: {EVENT_TYPES[cls.type].__name__} and {cls.__name__}")
    EVENT_TYPES[cls.type] = cls
    return cls


def upgrade(event_type: str, from_version: int) -> Callable[[Upgrade], Upgrade]:
    """Register the function that turns a `from_version` payload of `event_type` into the next version's.

    When a model's payload changes: raise its `schema_version` and register the step, e.g.

        @upgrade("review.held", from_version=1)
        def _review_held_1_to_2(payload: dict[str, Any]) -> dict[str, Any]:
            return {**payload, "venue": None}
    """

    def add(function: Upgrade) -> Upgrade:
        if (event_type, from_version) in UPGRADES:
            raise ValueError(f"two upgrades of {event_type} from version {from_version}")
        UPGRADES[(event_type, from_version)] = function
        return function

    return add


def parse(
    event_type: str,
    payload: Mapping[str, Any],
    *,
    event_types: Mapping[str, type[FootprintEvent]] | None = None,
    upgrades: Mapping[tuple[str, int], Upgrade] | None = None,
) -> FootprintEvent:
    """A stored payload as its event model, upgraded to the current version first.

    Raises `EventParseError` for an unknown type or version, and pydantic's `ValidationError` (a
    `ValueError` too) for a payload that does not fit its model."""
    event_types = EVENT_TYPES if event_types is None else event_types
    upgrades = UPGRADES if upgrades is None else upgrades
    cls = event_types.get(event_type)
    if cls is None:
        raise EventParseError(f"unknown footprint event type {event_type!r}")
    data = dict(payload)
    version = data.pop("schema_version", 1)
    if type(version) is not int or not 1 <= version <= cls.schema_version:
        raise EventParseError(f"{event_type}: schema_version {version!r} is not one of 1 to {cls.schema_version}")
    while version < cls.schema_version:
        step = upgrades.get((event_type, version))
        if step is None:
            raise EventParseError(f"{event_type}: no upgrade from schema_version {version}")
        data = step(data)
        version += 1
    return cls.model_validate(data)


# --- Shared value types -----------------------------------------------------------------------------

ReviewKind = Literal["first", "second", "subsequent"]
ReviewFormat = Literal["in_person", "virtual", "hybrid"]
ChairedByChild = Literal["no", "co_chair", "chair"]
DecisionStatus = Literal["open", "done", "not_done", "superseded"]
EscalationKind = Literal["alert", "formal"]
EscalationScope = Literal["child", "children", "service"]
EscalationStatus = Literal["open", "resolved", "withdrawn", "referred_to_cafcass"]

_REVIEWS = "services.reviews.service"
_REVIEW_SERVICE = "services.reviews.review_service"
_ESCALATIONS = "services.escalations.service"
_ESCALATIONS_CONSUMER = "services.escalations.consumers"
_PARTICIPATION_CONSUMER = "services.participation.consumers"
_AUTHOR = "shared.author"


def _field(description: str) -> Any:
    return Field(description=description)


# --- reviews: IROs, children, care periods, allocation ----------------------------------------------


@register
class IroRegistered(FootprintEvent):
    """An IRO was registered."""

    type: ClassVar[str] = "iro.registered"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)
    read_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS_CONSUMER, _AUTHOR)

    iro_id: uuid.UUID = _field("The IRO's id.")
    email: str = _field("The IRO's email, lowercased: how a token's identity claim finds the IRO.")
    fte: str = _field("Full-time equivalent as a decimal string, e.g. `0.800`.")


@register
class IroUpdated(FootprintEvent):
    """An IRO's details changed; only the fields that changed are in the payload."""

    type: ClassVar[str] = "iro.updated"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)

    iro_id: uuid.UUID = _field("The IRO's id.")
    name: str | None = Field(None, description="The new name, when it changed.")
    fte: str | None = Field(None, description="The new full-time equivalent (decimal string), when it changed.")
    active: bool | None = Field(None, description="Whether the IRO is active, when it changed.")
    changes_from: dt.date | None = Field(
        None,
        description="The day the new `fte` or `active` applies from (the IRO's staffing history), when "
        "either changed; absent in events written before it was recorded (they applied from the day written).",
    )


@register
class ChildRegistered(FootprintEvent):
    """A child was registered (never their name: special-category data stays in the reviews schema)."""

    type: ClassVar[str] = "child.registered"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)
    read_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS_CONSUMER, _PARTICIPATION_CONSUMER)

    child_id: uuid.UUID = _field("The child's id.")
    la_reference: str = _field("The local authority's reference for the child (the case system's id).")
    date_of_birth: dt.date = _field("The child's date of birth: PN-code validity and the 18th birthday.")
    uasc: bool | None = _field("An unaccompanied asylum-seeking child, when known.")


ChildField = Literal["date_of_birth", "display_name", "sex", "uasc"]
Sex = Literal["male", "female", "other", "unknown"]


@register
class ChildUpdated(FootprintEvent):
    """A child's details were corrected (a case system's `child.updated`, or `PATCH /v1/children/{id}`):
    `changed` names every field that changed; the new values follow for the date of birth (with the
    previous one), sex and UASC, never the name (special-category data stays in the reviews schema)."""

    type: ClassVar[str] = "child.updated"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)
    read_by: ClassVar[tuple[str, ...]] = (_PARTICIPATION_CONSUMER,)

    child_id: uuid.UUID = _field("The child's id.")
    changed: list[ChildField] = _field(
        "The fields that changed, in this order: `date_of_birth`, `display_name`, `sex`, `uasc`."
    )
    date_of_birth: dt.date | None = Field(None, description="The new date of birth, when it changed.")
    previous_date_of_birth: dt.date | None = Field(
        None, description="The date of birth before the correction, when it changed."
    )
    sex: Sex | None = Field(None, description="The new sex, when it changed (null: cleared).")
    uasc: bool | None = Field(None, description="Whether an unaccompanied asylum-seeking child, when it changed.")


@register
class CarePeriodStarted(FootprintEvent):
    """A period of care began (a new period restarts the review cycle at a first review)."""

    type: ClassVar[str] = "care_period.started"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)

    care_period_id: uuid.UUID = _field("The care period's id.")
    child_id: uuid.UUID = _field("The child's id.")
    started_on: dt.date = _field("The day the child became looked after.")
    legal_status: str = _field("SSDA903 legal status code, e.g. `C2`.")
    placement_type: str | None = _field("SSDA903 placement code, e.g. `U4`, when known.")
    started_before_data: bool = Field(
        False,
        description="True for a backfill's period that began before the data (`started_on` is the first day "
        "the data shows): its first review held is not judged for timeliness. Written only when true.",
    )


@register
class CarePeriodEnded(FootprintEvent):
    """A period of care ended."""

    type: ClassVar[str] = "care_period.ended"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)

    care_period_id: uuid.UUID = _field("The care period's id.")
    child_id: uuid.UUID = _field("The child's id.")
    ended_on: dt.date = _field("The day the period ended.")
    reason: str = _field("SSDA903 reason-episode-ceased code, e.g. `E4A`.")


@register
class PlacementChanged(FootprintEvent):
    """The child's placement changed within a care period."""

    type: ClassVar[str] = "placement.changed"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)

    care_period_id: uuid.UUID = _field("The care period's id.")
    changed_on: dt.date = _field("The day of the change.")
    placement_type: str = _field("The new SSDA903 placement code.")
    unplanned: bool = _field("An unplanned change (may bring the next review forward, by setting).")


@register
class LegalStatusChanged(FootprintEvent):
    """The child's legal status changed within a care period."""

    type: ClassVar[str] = "legal_status.changed"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)

    care_period_id: uuid.UUID = _field("The care period's id.")
    changed_on: dt.date = _field("The day of the change.")
    legal_status: str = _field("The new SSDA903 legal status code.")
    previous_legal_status: str = _field("The legal status before the change.")


@register
class IroAllocated(FootprintEvent):
    """A child was allocated to an IRO (ending any previous allocation)."""

    type: ClassVar[str] = "iro.allocated"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)
    read_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS_CONSUMER,)

    allocation_id: uuid.UUID = _field("The allocation's id.")
    child_id: uuid.UUID = _field("The child's id.")
    iro_id: uuid.UUID = _field("The IRO now allocated.")
    allocated_on: dt.date = _field("The day the allocation began.")
    previous_iro_id: uuid.UUID | None = _field("The IRO allocated before, if any.")


# --- reviews: the review timetable -----------------------------------------------------------------


@register
class ReviewScheduled(FootprintEvent):
    """A review was scheduled (the first of a care period, or the next after one was held)."""

    type: ClassVar[str] = "review.scheduled"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)

    review_id: uuid.UUID = _field("The review's id.")
    care_period_id: uuid.UUID = _field("The care period's id.")
    child_id: uuid.UUID = _field("The child's id.")
    sequence: int = _field("The review's number within the care period, from 1.")
    kind: ReviewKind = _field("`first`, `second` or `subsequent` (reg 33).")
    due_on: dt.date = _field("The working due date.")
    statutory_due_on: dt.date = _field("The regulation's due date.")


@register
class ReviewBroughtForward(FootprintEvent):
    """A review was brought forward (an early review, reg 33(3)); its statutory date never moves."""

    type: ClassVar[str] = "review.brought_forward"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS, _REVIEW_SERVICE)

    review_id: uuid.UUID = _field("The review's id.")
    due_on: dt.date = _field("The new, earlier working due date.")
    statutory_due_on: dt.date = _field("The regulation's due date (unchanged).")
    reason: str = _field("An early-review reason key, e.g. `iro_request` or `placement_change`.")


@register
class ReviewRearranged(FootprintEvent):
    """A review was stood down and rearranged to a new planned date."""

    type: ClassVar[str] = "review.rearranged"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEW_SERVICE,)

    review_id: uuid.UUID = _field("The review's id.")
    planned_on: dt.date = _field("The new planned date.")
    previous_planned_on: dt.date | None = _field("The planned date before, if there was one.")


@register
class ReviewHeld(FootprintEvent):
    """A review was held: the facts other services need about it (participation checks PN codes
    against the child's age on the review date from this)."""

    type: ClassVar[str] = "review.held"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEW_SERVICE,)
    read_by: ClassVar[tuple[str, ...]] = (_PARTICIPATION_CONSUMER,)

    review_id: uuid.UUID = _field("The review's id.")
    care_period_id: uuid.UUID = _field("The care period's id.")
    child_id: uuid.UUID = _field("The child's id.")
    date_of_birth: dt.date = _field("The child's date of birth.")
    held_on: dt.date = _field("The review date (the first meeting's, when held as a series).")
    sequence: int = _field("The review's number within the care period, from 1.")
    kind: ReviewKind = _field("`first`, `second` or `subsequent` (reg 33).")
    format: ReviewFormat | None = _field("`in_person`, `virtual` or `hybrid`, when recorded.")
    chaired_by_iro_id: uuid.UUID | None = _field("The IRO who chaired it, when known.")
    chaired_by_child: ChairedByChild | None = _field("`no`, `co_chair` or `chair`, when recorded.")
    in_time: bool | None = _field(
        "Held on or before the statutory due date; null when its timeliness is not judged (the first review "
        "of a care period that began before the data: no known predecessor)."
    )
    statutory_due_on: dt.date = _field("The regulation's due date.")
    late_reason: str | None = _field("The late-review reason key; None when in time or not judged.")


class _ReviewClosed(FootprintEvent):
    review_id: uuid.UUID = _field("The review's id.")
    care_period_id: uuid.UUID = _field("The care period's id.")
    sequence: int = _field("The review's number within the care period.")
    statutory_due_on: dt.date = _field("The regulation's due date.")
    closed_on: dt.date = _field(
        "The day it was closed: the day the care period ended, or (a corrected date of birth) the 18th "
        "birthday or the day of the correction, whichever came first."
    )


@register
class ReviewMissed(_ReviewClosed):
    """An unheld review whose statutory due date had passed when the child left care (counts as not
    in time)."""

    type: ClassVar[str] = "review.missed"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)


@register
class ReviewCancelled(_ReviewClosed):
    """An unheld review not yet due when the child left care, or now due on or after the 18th birthday by a
    corrected date of birth (not counted at all)."""

    type: ClassVar[str] = "review.cancelled"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)


class RetimedReview(BaseModel):
    """One review a recomputed timetable changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review_id: uuid.UUID = _field("The review's id.")
    care_period_id: uuid.UUID = _field("The care period's id.")
    sequence: int = _field("The review's number within the care period.")
    previous_status: Literal["scheduled", "cancelled"] | None = _field(
        "Its stored status before: `scheduled`, `cancelled`, or null when it was not scheduled at all."
    )
    status: Literal["scheduled", "cancelled"] = _field("Its stored status now.")
    previous_due_on: dt.date | None = _field("Its working due date before, or null when it was not scheduled.")
    due_on: dt.date = _field("Its working due date now.")


@register
class ReviewTimetableRecomputed(FootprintEvent):
    """A child's timetable of unheld reviews was recomputed, e.g. after a corrected date of birth moved the
    18th birthday (Children Act 1989 s105): reviews now due on or after it were cancelled, and an open care
    period's next review that the old birthday had kept off the timetable was scheduled. Each change is also
    written as its own `review.cancelled` or `review.scheduled`."""

    type: ClassVar[str] = "review.timetable_recomputed"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEWS,)

    child_id: uuid.UUID = _field("The child's id.")
    reason: Literal["date_of_birth_corrected"] = _field("Why it was recomputed: `date_of_birth_corrected`.")
    eighteenth_birthday: dt.date = _field("The child's 18th birthday by the corrected date of birth.")
    reviews: list[RetimedReview] = _field("The reviews whose status or due date changed (may be empty).")


@register
class ReviewRecordKeepingUpdated(FootprintEvent):
    """Record-keeping dates around a review were set; only the fields sent are in the payload (null
    clears one)."""

    type: ClassVar[str] = "review.record_keeping_updated"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEW_SERVICE,)

    review_id: uuid.UUID = _field("The review's id.")
    sw_report_received_on: dt.date | None = Field(None, description="The social worker's report arrived.")
    decisions_issued_on: dt.date | None = Field(None, description="The review decisions were circulated.")
    record_issued_on: dt.date | None = Field(None, description="The full record was issued.")
    letter_to_child_sent_on: dt.date | None = Field(None, description="The letter to the child was sent.")


@register
class DecisionRecorded(FootprintEvent):
    """A decision was made at a held review (its text stays in the reviews schema)."""

    type: ClassVar[str] = "decision.recorded"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEW_SERVICE,)

    decision_id: uuid.UUID = _field("The decision's id.")
    review_id: uuid.UUID = _field("The review it was made at.")
    owner: str = _field("Who owns the action, e.g. `Social worker`.")
    due_on: dt.date = _field("When it is due.")


@register
class DecisionUpdated(FootprintEvent):
    """A decision's follow-up was recorded; only the fields sent are in the payload."""

    type: ClassVar[str] = "decision.updated"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEW_SERVICE,)

    decision_id: uuid.UUID = _field("The decision's id.")
    status: DecisionStatus | None = Field(None, description="`open`, `done`, `not_done` or `superseded`, when sent.")
    completed_on: dt.date | None = Field(None, description="The day it was completed, when sent.")


@register
class MidwayReviewHeld(FootprintEvent):
    """The IRO's check on the plan between reviews."""

    type: ClassVar[str] = "midway_review.held"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEW_SERVICE,)

    midway_review_id: uuid.UUID = _field("The midway review's id.")
    held_on: dt.date = _field("The day it was held.")
    outcome: Literal["on_track", "concerns", "escalated"] = _field("`on_track`, `concerns` or `escalated`.")


@register
class CaseNoteRecorded(FootprintEvent):
    """An IRO case note was recorded (its text stays in the reviews schema)."""

    type: ClassVar[str] = "case_note.recorded"
    written_by: ClassVar[tuple[str, ...]] = (_REVIEW_SERVICE,)

    case_note_id: uuid.UUID = _field("The note's id.")
    recorded_on: dt.date = _field("The day it is about.")
    kind: str | None = _field("The kind of note, e.g. `contact`, when given.")
    author_iro_id: uuid.UUID | None = _field("The IRO who wrote it, when known.")


# --- escalations ------------------------------------------------------------------------------------


class _EscalationFacts(FootprintEvent):
    """What every escalation event carries (never the summary, response or reasons: free text)."""

    escalation_id: uuid.UUID = _field("The escalation's id.")
    kind: EscalationKind = _field("`alert` (informal, stage 0) or `formal`.")
    raised_as_alert: bool = _field("It began as an informal alert.")
    scope: EscalationScope = _field("`child`, `children` or `service`.")
    children: int = _field("How many children it names (0 for `service`).")
    category: str = _field("The category key.")
    team: str = _field("The team it concerns.")
    raised_on: dt.date = _field("The day it was raised.")
    status: EscalationStatus = _field("`open`, `resolved`, `withdrawn` or `referred_to_cafcass`.")
    stage: int = _field("The stage it is at (0 an alert, 1 the first formal stage).")
    stage_name: str = _field("The stage's name on the ladder.")
    response_due_on: dt.date = _field("When the current stage's response is due.")


@register
class EscalationRaised(_EscalationFacts):
    """An alert or formal escalation was raised: one event per child named, one without a child for
    a service-wide one."""

    type: ClassVar[str] = "escalation.raised"
    written_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS,)


@register
class EscalationResponded(_EscalationFacts):
    """The addressee responded at the current stage."""

    type: ClassVar[str] = "escalation.responded"
    written_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS,)

    responded_on: dt.date = _field("The day of the response.")
    responded_in_time: bool = _field("Responded on or before `response_due_on`.")


@register
class EscalationEscalated(_EscalationFacts):
    """Moved up the ladder (an alert becomes formal at stage 1)."""

    type: ClassVar[str] = "escalation.escalated"
    written_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS,)

    from_stage: int = _field("The stage it left.")
    escalated_on: dt.date = _field("The day it was escalated.")


@register
class EscalationResolved(_EscalationFacts):
    """Resolved."""

    type: ClassVar[str] = "escalation.resolved"
    written_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS,)

    resolved_on: dt.date = _field("The day it was resolved.")
    working_days_open: int = _field("Working days from raising to resolution.")


@register
class EscalationWithdrawn(_EscalationFacts):
    """Withdrawn."""

    type: ClassVar[str] = "escalation.withdrawn"
    written_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS,)

    withdrawn_on: dt.date = _field("The day it was withdrawn.")
    working_days_open: int = _field("Working days from raising to withdrawal.")


@register
class EscalationReferredToCafcass(_EscalationFacts):
    """The IRO referred the case to Cafcass (s25B(3)), closing the escalation."""

    type: ClassVar[str] = "escalation.referred_to_cafcass"
    written_by: ClassVar[tuple[str, ...]] = (_ESCALATIONS,)

    referred_on: dt.date = _field("The day of the referral.")
    working_days_open: int = _field("Working days from raising to the referral.")


@register
class CommendationRecorded(FootprintEvent):
    """Good practice recorded (its summary stays in the escalations schema)."""

    type: ClassVar[str] = "commendation.recorded"
    written_by: ClassVar[tuple[str, ...]] = ("services.escalations.commendations",)

    commendation_id: uuid.UUID = _field("The commendation's id.")
    team: str = _field("The team commended.")
    raised_on: dt.date = _field("The day it was recorded.")


# --- participation ----------------------------------------------------------------------------------


class ParentParticipation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    relationship: str = _field("The parent's or carer's relationship key, e.g. `mother`.")
    participation: str = _field("How they took part, e.g. `attended`.")


class ParticipationValues(BaseModel):
    """A participation record's values, as stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = _field("PN0-PN7 (SSDA903).")
    methods: list[str] = _field("How the child took part (method keys).")
    met_iro_before: bool | None = _field("The child met the IRO before the review.")
    interpreter_used: bool | None = _field("An interpreter was used.")
    parents: list[ParentParticipation] = _field("Each parent's participation.")


@register
class ParticipationRecorded(FootprintEvent):
    """A held review's first participation record."""

    type: ClassVar[str] = "participation.recorded"
    written_by: ClassVar[tuple[str, ...]] = ("services.participation.service",)

    review_id: uuid.UUID = _field("The review's id.")
    review_date: dt.date = _field("The day the review was held.")
    version: int = _field("The record's version: 1.")
    code: str = _field("PN0-PN7 (SSDA903).")
    methods: list[str] = _field("How the child took part (method keys).")
    met_iro_before: bool | None = _field("The child met the IRO before the review.")
    interpreter_used: bool | None = _field("An interpreter was used.")
    parents: list[ParentParticipation] = _field("Each parent's participation.")


@register
class ParticipationReplaced(FootprintEvent):
    """A held review's participation record was replaced; the previous values are kept here."""

    type: ClassVar[str] = "participation.replaced"
    written_by: ClassVar[tuple[str, ...]] = ("services.participation.service",)

    review_id: uuid.UUID = _field("The review's id.")
    review_date: dt.date = _field("The day the review was held.")
    version: int = _field("The record's new version, from 2.")
    previous: ParticipationValues = _field("The values replaced.")
    new: ParticipationValues = _field("The values now recorded.")


ParticipationProblem = Literal[
    "code_invalid_for_age", "review_on_or_after_18th_birthday", "review_before_date_of_birth"
]


@register
class ParticipationFlagged(FootprintEvent):
    """A held review's problems changed: a corrected date of birth made its stored PN code wrong for the
    child's age on the review date, or put the review on or after the 18th birthday (the record is kept
    and flagged, never dropped; the DfE export lists it as a problem); or a new valid code cleared a flag."""

    type: ClassVar[str] = "participation.flagged"
    written_by: ClassVar[tuple[str, ...]] = (_PARTICIPATION_CONSUMER, "services.participation.service")

    review_id: uuid.UUID = _field("The review's id.")
    problems: list[ParticipationProblem] = _field("The review's problems now (empty: none left).")
    previous_problems: list[ParticipationProblem] = _field("Its problems before.")


@register
class FeedbackReceived(FootprintEvent):
    """A feedback form came in (its comment never goes on the footprint: it could identify an
    anonymous respondent)."""

    type: ClassVar[str] = "feedback.received"
    written_by: ClassVar[tuple[str, ...]] = ("services.participation.forms",)
    omit_when_none: ClassVar[frozenset[str]] = frozenset({"review_id"})

    feedback_id: uuid.UUID = _field("The form's id.")
    respondent: str = _field("Who filled it in (respondent key).")
    channel: str = _field("How it came in (channel key).")
    received_on: dt.date = _field("The day it was received.")
    answers: dict[str, str] = _field("Question key to `always`, `sometimes` or `never`.")
    has_comment: bool = _field("It has a free-text comment.")
    anonymous: bool = _field("It names no child.")
    review_id: uuid.UUID | None = Field(None, description="The held review it is about; absent when none.")


@register
class AdvocacyReferred(FootprintEvent):
    """A child was referred to an advocacy provider."""

    type: ClassVar[str] = "advocacy.referred"
    written_by: ClassVar[tuple[str, ...]] = ("services.participation.forms",)

    referral_id: uuid.UUID = _field("The referral's id.")
    referred_on: dt.date = _field("The day of the referral.")
    provider: str = _field("The advocacy provider.")
    reason: str | None = _field("The reason, when given.")


class AdvocacyOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: str | None = _field("The outcome, if one was recorded.")
    outcome_on: dt.date | None = _field("The day of the outcome, if one was recorded.")


@register
class AdvocacyUpdated(FootprintEvent):
    """A referral's outcome was recorded or changed."""

    type: ClassVar[str] = "advocacy.updated"
    written_by: ClassVar[tuple[str, ...]] = ("services.participation.forms",)

    referral_id: uuid.UUID = _field("The referral's id.")
    previous: AdvocacyOutcome = _field("The outcome before (nulls when there was none).")
    new: AdvocacyOutcome = _field("The outcome now.")


# --- gateway ----------------------------------------------------------------------------------------


@register
class ChildRecordViewed(FootprintEvent):
    """Someone opened a child's overview: an access event, kept apart from activity counts."""

    type: ClassVar[str] = "child.record_viewed"
    written_by: ClassVar[tuple[str, ...]] = ("services.gateway.routes.views",)

    view: Literal["overview"] = _field("What was opened.")
    missing: list[str] = _field("Services that did not answer, so their parts were not shown.")


@register
class IngestRejected(FootprintEvent):
    """A case system's event was refused (kept in the gateway's inbox with its problem, replayable).
    Never the event's body: the footprint is append-only, and a body may hold what must not be kept."""

    type: ClassVar[str] = "ingest.rejected"
    written_by: ClassVar[tuple[str, ...]] = ("services.gateway.ingest",)
    omit_when_none: ClassVar[frozenset[str]] = frozenset({"event_type"})

    inbox_id: uuid.UUID = _field("The inbox row that keeps the event and its outcome.")
    source: str = _field("The case system that sent it (the CloudEvent's `source`).")
    event_type: str | None = _field("The CloudEvent's `type`, when it had a readable one.")
    problem_type: str = _field("The problem's `type` (docs/errors.md), e.g. `unknown-child`.")
