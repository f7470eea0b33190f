"""Committed appends for the footprint tests (they leave events behind: the log is append-only,
so each test marks its own events with a unique type or subject and reads only those)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import footprint
from shared.footprint import events

ACTOR = footprint.Actor(sub="tester@council.gov.uk", role="iro")


def marker() -> str:
    """A fresh event type no other test writes, e.g. `test.r1a2b3c4d5`."""
    return f"test.r{uuid.uuid4().hex[:10]}"


class Probe(events.FootprintEvent):
    """A test-only event for the log's own tests (order, chain, reads): any payload, under a type no
    producer writes, stored exactly as given (no `schema_version`). Never in `events.EVENT_TYPES`."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: ClassVar[str] = "test.probe"
    written_by: ClassVar[tuple[str, ...]] = ("tests.footprint.helpers",)

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@functools.cache
def _probe_class(event_type: str) -> type[Probe]:
    return type(f"Probe_{event_type.replace('.', '_')}", (Probe,), {"type": event_type, "__module__": __name__})


def probe(event_type: str, payload: Mapping[str, Any] | None = None, *, malformed: bool = False) -> Probe:
    """A probe event of `event_type` carrying `payload`. A real event type is refused (build its model),
    unless `malformed`: a test of what a reader does with a payload that does not fit its type."""
    if event_type in events.EVENT_TYPES and not malformed:
        raise ValueError(f"{event_type} is a real event type: build events.{events.EVENT_TYPES[event_type].__name__}")
    return _probe_class(event_type)(**(payload if payload is not None else {"n": 1}))


async def append_one(
    session: AsyncSession,
    event_type: str,
    *,
    payload: Mapping[str, Any] | None = None,
    event: events.FootprintEvent | None = None,
    **overrides: Any,
) -> footprint.Event:
    """Append a probe of `event_type` with `payload` (default `{"n": 1}`), or the typed `event`."""
    values: dict[str, Any] = {
        "event": event if event is not None else probe(event_type, payload),
        "actor": ACTOR,
        "subject": footprint.Subject("thing", uuid.uuid4()),
        "service": "reviews",
    }
    values.update(overrides)
    return await footprint.append(session, **values)


async def append_committed(engine: AsyncEngine, event_type: str, count: int = 1, **overrides: Any) -> list[int]:
    seqs = []
    for _ in range(count):
        async with AsyncSession(engine) as session, session.begin():
            seqs.append((await append_one(session, event_type, **overrides)).seq)
    return seqs
