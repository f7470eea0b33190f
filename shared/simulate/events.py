"""The case system's part of the world as CloudEvents 1.0 (structured JSON), in time order.

Types and `data` are exactly `shared.ingest.data`'s (CONTRACT.md, "Events from case systems"):
children by `la_reference`, IROs by `iro_email`. Each event's `id` is the child's reference and the
event's number in that child's history (`sim-<seed>-<la_reference>-<n>`), so it is the same every
time the same seed is run on the same day, and a rerun is answered `duplicate`.

Order: by day; within a day, a child is registered and enters care before anything else about them
happens, a review is held before the day's case notes, and a care period ends last.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from shared.simulate.world import CarePeriod, Child, Review, World

SOURCE: Final = "simulator"
ORDER: Final = (
    "child.registered",
    "care_period.started",
    "iro.allocated",
    "child.updated",
    "legal_status.changed",
    "placement.changed",
    "review.held",
    "case_note.recorded",
    "care_period.ended",
)
"""The order of a day's events about one child; each is given a time of day from it (UTC)."""


@dataclass(frozen=True)
class Outgoing:
    """One event to send, with the world's review when it holds one (to find it on the API after)."""

    event: dict[str, Any]
    child: Child
    review: Review | None = None
    period: CarePeriod | None = None
    same_iro: bool = False  # an `iro.allocated` of the IRO already allocated: the platform changes nothing

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(str(self.event["time"])[:10])


def _time(day: dt.date, event_type: str) -> str:
    minutes = 8 * 60 + 30 * ORDER.index(event_type)  # 08:00 UTC on: the same day in England all year
    return f"{day.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00Z"


@dataclass(frozen=True)
class _Item:
    day: dt.date
    type: str
    data: dict[str, Any]
    review: Review | None = None
    period: CarePeriod | None = None
    same_iro: bool = False


def _review_held(ref: str, review: Review) -> dict[str, Any]:
    assert review.held_on is not None
    held: dict[str, Any] = {"la_reference": ref, "held_on": review.held_on.isoformat()}
    if review.format is not None:
        held["format"] = review.format
    if review.code_via == "event" and review.code is not None:
        held["participation_code"] = review.code
    if review.late_reason is not None:
        held["late_reason"] = review.late_reason
    if review.late_reason_detail is not None:
        held["late_reason_detail"] = review.late_reason_detail
    return held


def _child_events(child: Child, emails: dict[str, str]) -> list[_Item]:
    ref = child.la_reference
    registered: dict[str, Any] = {
        "la_reference": ref,
        "date_of_birth": child.registered_date_of_birth.isoformat(),
        "display_name": child.display_name,
        "sex": child.sex,
    }
    if child.uasc is not None:
        registered["uasc"] = child.uasc
    out = [_Item(child.registered_on, "child.registered", registered)]
    for period in child.periods:
        started = {
            "la_reference": ref,
            "started_on": period.started_on.isoformat(),
            "legal_status": period.legal_status,
            "placement_type": period.placement_type,
        }
        out.append(_Item(period.started_on, "care_period.started", started, period=period))
        for day, code in period.legal_status_changes:
            change = {"la_reference": ref, "changed_on": day.isoformat(), "legal_status": code}
            out.append(_Item(day, "legal_status.changed", change, period=period))
        for day, code, unplanned in period.placement_changes:
            move = {"la_reference": ref, "changed_on": day.isoformat(), "placement_type": code, "unplanned": unplanned}
            out.append(_Item(day, "placement.changed", move, period=period))
        for review in period.reviews:
            if review.held_on is not None:
                out.append(_Item(review.held_on, "review.held", _review_held(ref, review), review, period))
        if period.ended_on is not None and period.reason is not None:
            ended = {"la_reference": ref, "ended_on": period.ended_on.isoformat(), "reason": period.reason}
            out.append(_Item(period.ended_on, "care_period.ended", ended, period=period))
    previous: str | None = None
    for day, iro in child.allocations:
        allocated = {"la_reference": ref, "iro_email": emails[iro], "allocated_on": day.isoformat()}
        out.append(_Item(day, "iro.allocated", allocated, same_iro=iro == previous))
        previous = iro
    for note in child.case_notes:
        written = {
            "la_reference": ref,
            "iro_email": emails[note.iro],
            "recorded_on": note.recorded_on.isoformat(),
            "text": note.text,
            "kind": note.kind,
        }
        out.append(_Item(note.recorded_on, "case_note.recorded", written))
    for correction in child.corrections:
        out.append(_Item(correction.on, "child.updated", {"la_reference": ref, **correction.changes}))
    out.sort(key=lambda item: (item.day, ORDER.index(item.type)))
    return out


def cloudevents(world: World) -> list[Outgoing]:
    """Every case-system event of the world, in time order (ties: by `ORDER`, then by child)."""
    emails = {iro.key: iro.email for iro in world.iros}
    keyed: list[tuple[tuple[dt.date, int, int, int], Outgoing]] = []
    for child in world.children:
        for number, item in enumerate(_child_events(child, emails), start=1):
            event = {
                "specversion": "1.0",
                "id": f"sim-{world.options.seed}-{child.la_reference}-{number:04d}",
                "source": SOURCE,
                "type": item.type,
                "time": _time(item.day, item.type),
                "datacontenttype": "application/json",
                "data": item.data,
            }
            key = (item.day, ORDER.index(item.type), child.index, number)
            outgoing = Outgoing(event, child, review=item.review, period=item.period, same_iro=item.same_iro)
            keyed.append((key, outgoing))
    keyed.sort(key=lambda pair: pair[0])
    return [outgoing for _, outgoing in keyed]
