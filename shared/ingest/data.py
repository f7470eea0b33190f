"""The `data` of each event type a case system sends (CONTRACT.md, "Events from case systems"):
children named by `la_reference`, IROs by `iro_email`. Checked here for shape (types, dates, lengths);
the codes (legal status, placement type, reason ceased, late reason) and the statutory rules are the
owning service's, checked when the event is applied. An unknown field is refused, so a misspelt one
(`dob`) is named rather than silently dropped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.types import Code, Date, DateOfBirth, Line, Paragraph, Reference, Text

__all__ = ["DATA_MODELS", "EventData", "data_model"]

Sex = Literal["male", "female", "other", "unknown"]
ParticipationCode = Literal["PN0", "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"]


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    la_reference: Reference = Field(description="The child, by the authority's reference.")


class ChildRegistered(EventData):
    """`child.registered`: a new child (POST /v1/children)."""

    date_of_birth: DateOfBirth
    display_name: Line | None = None
    sex: Sex | None = None
    uasc: bool | None = None


class CarePeriodStarted(EventData):
    """`care_period.started`: the child became looked after (903 RNE `S`)."""

    started_on: Date
    legal_status: Code
    placement_type: Code | None = None
    started_before_data: bool = Field(False, description="For backfills: the period began before the data.")


class PlacementChanged(EventData):
    """`placement.changed`: a new placement within the open care period."""

    changed_on: Date
    placement_type: Code
    unplanned: bool = False


class CarePeriodEnded(EventData):
    """`care_period.ended`: the child left care; `reason` is the 903 REC code."""

    ended_on: Date
    reason: Code


class IroAllocated(EventData):
    """`iro.allocated`: the IRO (by email) allocated to the child from `allocated_on`."""

    iro_email: Line
    allocated_on: Date


class ReviewHeld(EventData):
    """`review.held`: the child's review on `held_on`; the platform finds which review it is."""

    held_on: Date
    format: Literal["in_person", "virtual", "hybrid"] | None = None
    participation_code: ParticipationCode | None = None
    late_reason: Code | None = None
    late_reason_detail: Paragraph | None = None


class CaseNoteRecorded(EventData):
    """`case_note.recorded`: a note written by the IRO named by `iro_email`."""

    iro_email: Line
    recorded_on: Date
    text: Text
    kind: Line | None = None


class LegalStatusChanged(EventData):
    """`legal_status.changed`: a new legal status within the open care period."""

    changed_on: Date
    legal_status: Code


class ChildUpdated(EventData):
    """`child.updated`: corrections to the child's details; at least one field."""

    date_of_birth: DateOfBirth | None = None
    display_name: Line | None = None
    sex: Sex | None = None
    uasc: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _something_to_change(cls, value: Any) -> Any:
        # Only when nothing else is given: a misspelt field (`dob`) is named by the unknown-field check.
        if isinstance(value, dict) and not set(value) - {"la_reference"}:
            raise ValueError("give at least one of date_of_birth, display_name, sex, uasc")
        return value


DATA_MODELS: dict[str, type[EventData]] = {
    "child.registered": ChildRegistered,
    "care_period.started": CarePeriodStarted,
    "placement.changed": PlacementChanged,
    "care_period.ended": CarePeriodEnded,
    "iro.allocated": IroAllocated,
    "review.held": ReviewHeld,
    "case_note.recorded": CaseNoteRecorded,
    "legal_status.changed": LegalStatusChanged,
    "child.updated": ChildUpdated,
}
"""Every type the gateway accepts, to the model of its `data`."""


def data_model(event_type: str) -> type[EventData] | None:
    """The model of `event_type`'s data, or None for a type the platform does not take."""
    return DATA_MODELS.get(event_type)
