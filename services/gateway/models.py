"""The gateway's tables (schema `gateway`): those every service schema has (idempotency keys, a
footprint consumer's position and dead letters; shared.service_tables) and the ingest inbox. It
keeps no domain tables: the gateway talks to the services over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared import service_tables
from shared.db import Base, created_at

SCHEMA = "gateway"

IDEMPOTENCY_KEY, CONSUMER_POSITION, CONSUMER_DEAD_LETTER = service_tables.declare(SCHEMA)


class Inbox(Base):
    """Every event a case system sent that passed the door (migration 0011): its raw JSON (`body`,
    cleared after the retention period; the row stays), where it came from, and its outcome.
    `(source, event_id)` is unique: a repeat is a duplicate. An element without an `id` is kept with
    `event_id` null, rejected, under its inbox `id`."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        CheckConstraint("status IN ('received', 'accepted', 'duplicate', 'rejected')", name="status"),
        CheckConstraint("attempt > 0", name="attempt"),
        CheckConstraint("jsonb_typeof(warnings) = 'array'", name="warnings"),
        Index("ix_inbox_received_at", "received_at", "id"),
        Index("ix_inbox_status", "status", "received_at", "id"),
        Index("ix_inbox_body_kept", "received_at", postgresql_where=text("body IS NOT NULL")),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    body: Mapped[str | None] = mapped_column(Text)
    body_cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default=text("'received'"))
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    note: Mapped[str | None] = mapped_column(Text)
    target: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    attempt: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    received_at: Mapped[dt.datetime] = created_at()
    received_by: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str | None] = mapped_column(Text)
