"""Committed appends for the footprint tests (they leave events behind: the log is append-only,
so each test marks its own events with a unique type or subject and reads only those)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import footprint

ACTOR = footprint.Actor(sub="tester@council.gov.uk", role="iro")


def marker() -> str:
    """A fresh event type no other test writes, e.g. `test.r1a2b3c4d5`."""
    return f"test.r{uuid.uuid4().hex[:10]}"


async def append_one(session: AsyncSession, event_type: str, **overrides: Any) -> footprint.Event:
    values: dict[str, Any] = {
        "type": event_type,
        "actor": ACTOR,
        "subject": footprint.Subject("thing", uuid.uuid4()),
        "payload": {"n": 1},
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
