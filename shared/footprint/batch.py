"""Appending many events at once: one call of `footprint.append_events` (migrations 0009, 0018), one
round trip, inside the caller's transaction.

A request records its events as it goes (`shared.context.RequestContext.record`) and its unit of
work appends them here just before the single commit (`shared.db.UnitOfWork`); ingest and the 903
backfill append their batches the same way. Order, gap-free `seq` and the hash chain are exactly
those of the single append (shared.footprint.append, docs/footprint.md): the events enter
`footprint.pending` in the order given and are chained in that order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import requestid
from shared.footprint import canonical
from shared.footprint.append import FootprintError
from shared.footprint.events import FootprintEvent
from shared.footprint.models import Actor, Event, Subject

_APPEND_MANY = text(
    "SELECT seq, recorded_at, prev_hash, hash FROM footprint.append_events("
    "CAST(:id AS uuid[]), CAST(:type AS text[]), CAST(:occurred_at AS timestamptz[]), CAST(:service AS text[]),"
    " CAST(CAST(:actor AS text[]) AS jsonb[]), CAST(:child_id AS uuid[]), CAST(:iro_id AS uuid[]),"
    " CAST(:subject_type AS text[]), CAST(:subject_id AS text[]), CAST(CAST(:payload AS text[]) AS jsonb[]),"
    " CAST(:request_id AS text[]), CAST(:before_recorded_at AS text[]), CAST(:before_seq AS text[]),"
    " CAST(:after_seq AS text[]))"
)


@dataclass(frozen=True)
class PendingEvent:
    """An event recorded during a request and not yet in the log: everything but `seq`,
    `recorded_at` and the hashes, which only the log can give."""

    type: str
    actor: Actor
    subject: Subject
    payload: Mapping[str, Any]
    service: str
    child_id: uuid.UUID | str | None = None
    iro_id: uuid.UUID | str | None = None
    occurred_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    request_id: str | None = field(default_factory=requestid.current)
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def of(cls, event: FootprintEvent, **where: Any) -> PendingEvent:
        """A typed event (shared.footprint.events) with its actor, subject, service, ids and times."""
        return cls(type=event.type, payload=event.to_payload(), **where)

    def fields(self) -> dict[str, Any]:
        """The stored columns but the four the log fills in, in their stored forms."""
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "service": self.service,
            "actor": self.actor.as_json(),
            "child_id": uuid.UUID(str(self.child_id)) if self.child_id else None,
            "iro_id": uuid.UUID(str(self.iro_id)) if self.iro_id else None,
            "subject_type": self.subject.type,
            "subject_id": str(self.subject.id),
            "payload": canonical.normalise_payload(self.payload),
            "request_id": self.request_id,
        }


async def append_many(session: AsyncSession, events: Sequence[PendingEvent]) -> list[Event]:
    """Append `events`, in order, to the caller's transaction. Never commits. Returns the stored
    events in the order given (with `seq`, `recorded_at`, `prev_hash`, `hash`, each None for an event
    left pending because another transaction was sequencing); none for an empty batch.

    Raises `FootprintError` when the transaction is not READ COMMITTED; `sqlalchemy.exc.IntegrityError`
    when an event's `id` is already in the log."""
    if not events:
        return []
    await session.flush()  # the changes these events record go first
    rows = [event.fields() for event in events]
    parts = [canonical.canonical_parts(**row) for row in rows]
    columns: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in rows[0]}
    columns["actor"] = [canonical.dumps(actor) for actor in columns["actor"]]
    columns["payload"] = [canonical.dumps(payload) for payload in columns["payload"]]
    columns["before_recorded_at"] = [part[0] for part in parts]
    columns["before_seq"] = [part[1] for part in parts]
    columns["after_seq"] = [part[2] for part in parts]
    try:
        results = (await session.execute(_APPEND_MANY, columns)).all()
    except DBAPIError as exc:
        if "READ COMMITTED" in str(exc):
            raise FootprintError(str(exc.orig)) from exc
        raise
    return [
        Event(**row, seq=result.seq, recorded_at=result.recorded_at, prev_hash=result.prev_hash, hash=result.hash)
        for row, result in zip(rows, results, strict=True)
    ]
