"""Appending to the footprint, inside the caller's transaction.

One call of `footprint.append_event` (migrations 0007, 0018): the event goes into `footprint.pending`
in the caller's transaction, so it commits with the change it records or not at all; no lock is
waited for. Then, if the footprint's lock is free, the call sequences at once (its own event and
every committed pending one: gap-free `seq`, one `recorded_at`, the hash chain) and keeps the lock
to the caller's commit, so a reader that has seen `seq = n` has seen every event before it. When
another transaction holds the lock, the event stays pending and the returned `Event.seq` is None:
the next append, the sequencer process (`iro sequencer`) or a reader (shared.footprint.sequencer)
chains it within milliseconds. Call `append` last in the transaction, so the lock, when taken, is
held only for the commit. docs/footprint.md ("Order") has the reasoning and the measured cost.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import requestid
from shared.footprint import canonical
from shared.footprint.events import FootprintEvent
from shared.footprint.models import Actor, Event, Subject

# pg_advisory_xact_lock key of the footprint: 'footprnt' read as a big-endian int64.
APPEND_LOCK_KEY = int.from_bytes(b"footprnt", "big", signed=True)
NOTIFY_CHANNEL = "footprint"

_APPEND = text(
    "SELECT seq, recorded_at, prev_hash, hash FROM footprint.append_event("
    ":id, :type, :occurred_at, :service, CAST(:actor AS jsonb), :child_id, :iro_id, :subject_type, :subject_id,"
    " CAST(:payload AS jsonb), :request_id, :before_recorded_at, :before_seq, :after_seq)"
)


class FootprintError(RuntimeError):
    """A misuse of the footprint by the calling code (never the client's fault)."""


async def append(
    session: AsyncSession,
    *,
    event: FootprintEvent,
    actor: Actor,
    subject: Subject,
    service: str,
    child_id: uuid.UUID | str | None = None,
    iro_id: uuid.UUID | str | None = None,
    occurred_at: dt.datetime | None = None,
    request_id: str | None = None,
) -> Event:
    """Add one event to the caller's transaction. Never commits; never opens a session of its own.

    `event` is the typed fact (shared.footprint.events): its `type` and its `to_payload()` are stored.
    `occurred_at` is when it happened in the world (default: now); `recorded_at` is the database's
    clock when the event took its place in the log. `request_id` defaults to the current request's.
    The returned event's `seq`, `recorded_at`, `prev_hash` and `hash` are None when it is pending
    (another transaction was sequencing). Raises `FootprintError` when the transaction is not READ
    COMMITTED; `sqlalchemy.exc.IntegrityError` when an event with this `id` is already in the log.
    """
    await session.flush()  # the change this event records goes first
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "type": event.type,
        "occurred_at": occurred_at or dt.datetime.now(dt.UTC),
        "service": service,
        "actor": actor.as_json(),
        "child_id": uuid.UUID(str(child_id)) if child_id else None,
        "iro_id": uuid.UUID(str(iro_id)) if iro_id else None,
        "subject_type": subject.type,
        "subject_id": str(subject.id),
        "payload": canonical.normalise_payload(event.to_payload()),
        "request_id": request_id if request_id is not None else requestid.current(),
    }
    before_recorded_at, before_seq, after_seq = canonical.canonical_parts(**fields)
    try:
        row = (
            await session.execute(
                _APPEND,
                {
                    **fields,
                    "actor": canonical.dumps(fields["actor"]),
                    "payload": canonical.dumps(fields["payload"]),
                    "before_recorded_at": before_recorded_at,
                    "before_seq": before_seq,
                    "after_seq": after_seq,
                },
            )
        ).one()
    except DBAPIError as exc:
        if "READ COMMITTED" in str(exc):
            raise FootprintError(str(exc.orig)) from exc
        raise
    return Event(**fields, seq=row.seq, recorded_at=row.recorded_at, prev_hash=row.prev_hash, hash=row.hash)
