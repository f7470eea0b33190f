"""The footprint table and the value objects written to it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.auth import Principal
from shared.db import Base

# Access events: who looked at a child's record. Kept apart from activity counts.
ACCESS_TYPES = frozenset({"child.record_viewed"})


class Event(Base):
    """A row of `footprint.events` (migration 0002). Written only by `footprint.sequence`, which the
    appends `footprint.append_event(s)` call (shared/footprint/ddl.py); the triggers there keep it
    append-only.

    `seq` is None on an event just appended that is still pending (`footprint.pending`: another
    transaction held the footprint's lock); it gets its place within milliseconds, and a reader of
    the platform sequences what is pending before it reads (shared.footprint.sequencer)."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint(r"type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'", name="type_shape"),
        CheckConstraint("jsonb_typeof(actor) = 'object' AND actor ? 'sub' AND actor ? 'role'", name="actor_shape"),
        CheckConstraint("hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$'", name="hash_shape"),
        # The auditors' queries, each ordered by seq (docs/footprint.md).
        Index("ix_events_child_id_seq", "child_id", "seq", postgresql_where=text("child_id IS NOT NULL")),
        Index("ix_events_iro_id_seq", "iro_id", "seq", postgresql_where=text("iro_id IS NOT NULL")),
        # A child's or an IRO's window of days (migration 0019).
        Index(
            "ix_events_child_id_occurred_at", "child_id", "occurred_at", postgresql_where=text("child_id IS NOT NULL")
        ),
        Index("ix_events_iro_id_occurred_at", "iro_id", "occurred_at", postgresql_where=text("iro_id IS NOT NULL")),
        Index("ix_events_type_seq", "type", "seq"),
        Index(
            "ix_events_work_day",
            "type",
            text("(coalesce(payload ->> 'held_on', payload ->> 'recorded_on'))"),
            postgresql_where=text("type IN ('midway_review.held', 'case_note.recorded')"),
        ),
        Index(
            "ix_events_occurred_at_not_imported",
            "occurred_at",
            postgresql_where=text("(actor ->> 'source') IS DISTINCT FROM 'ssda903'"),
        ),
        Index("ix_events_occurred_at_seq", "occurred_at", "seq"),
        Index("ix_events_recorded_at_seq", "recorded_at", "seq"),
        Index("ix_events_actor_sub_seq", text("(actor ->> 'sub')"), "seq"),
        Index("ix_events_service_seq", "service", "seq"),
        {"schema": "footprint"},
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    type: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    service: Mapped[str] = mapped_column(Text)
    actor: Mapped[dict[str, Any]] = mapped_column(JSONB)
    child_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    subject_type: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)


class Pending(Base):
    """A row of `footprint.pending` (migration 0018): an event committed with its change and waiting
    for the sequencer to give it its `seq`, `recorded_at` and hashes. A queue: each row lives for
    milliseconds. No service role reads or writes it but through the footprint's functions."""

    __tablename__ = "pending"
    __table_args__ = (
        CheckConstraint(r"type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'", name="type_shape"),
        CheckConstraint("jsonb_typeof(actor) = 'object' AND actor ? 'sub' AND actor ? 'role'", name="actor_shape"),
        {"schema": "footprint"},
    )

    pending_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    type: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    service: Mapped[str] = mapped_column(Text)
    actor: Mapped[dict[str, Any]] = mapped_column(JSONB)
    child_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    subject_type: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)
    # The canonical encoding's three parts around `recorded_at` and `seq` (shared.footprint.canonical).
    canonical_before_recorded_at: Mapped[str] = mapped_column(Text)
    canonical_before_seq: Mapped[str] = mapped_column(Text)
    canonical_after_seq: Mapped[str] = mapped_column(Text)
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("clock_timestamp()"))


@dataclass(frozen=True)
class Actor:
    """Who did it: the token's subject and role, and the case system when it came from one."""

    sub: str
    role: str
    source: str | None = None

    def as_json(self) -> dict[str, str]:
        out = {"sub": self.sub, "role": self.role}
        if self.source:
            out["source"] = self.source
        return out


SOURCE_HEADER = "X-Event-Source"


def actor_for(principal: Principal, source: str | None = None) -> Actor:
    """The actor of a request: the token's subject and role. `source` (the gateway's
    `X-Event-Source` header on ingested events) counts only for the integration role."""
    trusted = source if source and "integration" in principal.roles else None
    return Actor(sub=principal.sub, role=principal.role, source=trusted)


@dataclass(frozen=True)
class Subject:
    """What it was done to: `Subject("review", review_id)`."""

    type: str
    id: str | uuid.UUID
