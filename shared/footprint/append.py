"""Appending to the footprint, inside the caller's transaction.

Order: every append takes one transaction-level advisory lock, then reads the head (the last `seq`
and `hash`) in a new statement, so it sees every event committed before it got the lock, and
inserts `seq = head + 1`. The lock is held until the caller's transaction ends, and PostgreSQL
makes a commit visible before it releases the transaction's locks, so `seq` grows in commit order
with no gaps: a reader that has seen `seq = n` has seen every event before it. Call `append` last
in the transaction, so the lock is held only for the commit. docs/footprint.md has the reasoning
and the measured cost.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import requestid
from shared.footprint import canonical
from shared.footprint.models import Actor, Event, Subject

# pg_advisory_xact_lock key of the footprint: 'footprnt' read as a big-endian int64.
APPEND_LOCK_KEY = int.from_bytes(b"footprnt", "big", signed=True)
NOTIFY_CHANNEL = "footprint"

# NOTIFY is delivered at commit whenever it is issued, so it rides on the lock's round trip.
_LOCK = text("SELECT pg_advisory_xact_lock(:key), pg_notify(:channel, '')")
_HEAD = text(
    "SELECT (SELECT seq FROM footprint.events ORDER BY seq DESC LIMIT 1) AS seq,"
    " (SELECT hash FROM footprint.events ORDER BY seq DESC LIMIT 1) AS hash,"
    " clock_timestamp() AS now, current_setting('transaction_isolation') AS isolation"
)


class FootprintError(RuntimeError):
    """A misuse of the footprint by the calling code (never the client's fault)."""


async def append(
    session: AsyncSession,
    *,
    type: str,
    actor: Actor,
    subject: Subject,
    payload: Mapping[str, Any],
    service: str,
    child_id: uuid.UUID | str | None = None,
    iro_id: uuid.UUID | str | None = None,
    occurred_at: dt.datetime | None = None,
    request_id: str | None = None,
) -> Event:
    """Add one event to the caller's transaction. Never commits; never opens a session of its own.

    `occurred_at` is when it happened in the world (default: now); `recorded_at` is the database's
    clock when the event took its place in the log. `request_id` defaults to the current request's.
    """
    await session.flush()  # the change this event records goes first
    await session.execute(_LOCK, {"key": APPEND_LOCK_KEY, "channel": NOTIFY_CHANNEL})
    head = (await session.execute(_HEAD)).one()
    if head.isolation != "read committed":
        raise FootprintError(f"footprint appends need READ COMMITTED, not {head.isolation}")
    seq = (head.seq or 0) + 1
    prev_hash = head.hash or canonical.GENESIS_HASH
    recorded_at: dt.datetime = head.now
    values: dict[str, Any] = {
        "seq": seq,
        "id": uuid.uuid4(),
        "type": type,
        "occurred_at": occurred_at or recorded_at,
        "recorded_at": recorded_at,
        "service": service,
        "actor": actor.as_json(),
        "child_id": uuid.UUID(str(child_id)) if child_id else None,
        "iro_id": uuid.UUID(str(iro_id)) if iro_id else None,
        "subject_type": subject.type,
        "subject_id": str(subject.id),
        "payload": canonical.normalise_payload(payload),
        "request_id": request_id if request_id is not None else requestid.current(),
    }
    values["hash"] = canonical.chain_hash(prev_hash, canonical.canonical(**values))
    values["prev_hash"] = prev_hash
    await session.execute(insert(Event).values(**values))
    return Event(**values)
