"""The gateway's tables (schema `gateway`): those every service schema has (idempotency keys, a
footprint consumer's position and dead letters; shared.service_tables) and the ingest inbox. It
keeps no domain tables: the gateway talks to the services over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
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
        Index("uq_inbox_seq", "seq", unique=True),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    """The order received (migration 0015): a request's events in the order sent, requests in turn."""
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


class ImportJob(Base):
    """An upload of a return (migration 0013): `receiving` while its files stream in (in the upload's
    own transaction: no one else ever sees it), `queued` until a worker claims it, then `running`,
    then `done` (with its `report`) or `failed` (with its `problem`). Idempotent by content: one
    import per (kind, collection year, SHA-256 of the rows read) unless it failed."""

    __tablename__ = "import_job"
    __table_args__ = (
        CheckConstraint("status IN ('receiving', 'queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("collection_year BETWEEN 2000 AND 2199", name="collection_year"),
        CheckConstraint(
            "status = 'receiving' OR (collection_year IS NOT NULL AND content_sha256 IS NOT NULL)", name="received"
        ),
        Index("ix_import_job_status", "status", "created_at"),
        Index(
            "uq_import_job_content",
            "kind",
            "collection_year",
            "content_sha256",
            unique=True,
            postgresql_where=text("status <> 'failed'"),
        ),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, server_default=text("'ssda903'"))
    collection_year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default=text("'queued'"))
    content_sha256: Mapped[str | None] = mapped_column(Text)
    upload_sha256: Mapped[str | None] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    files: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'"))
    uploaded_by: Mapped[str] = mapped_column(Text)
    uploaded_role: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    runs: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ImportRow(Base):
    """One staged row of an upload: only the columns the platform uses (`values`), the row number a
    data officer sees in Excel, and its outcome once applied (`field` and `reason` for a refusal)."""

    __tablename__ = "import_row"
    __table_args__ = (
        CheckConstraint("outcome IN ('applied', 'duplicate', 'refused')", name="outcome"),
        Index("ix_import_row_child", "import_id", "child"),
        {"schema": SCHEMA},
    )

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.import_job.id", ondelete="CASCADE"), primary_key=True
    )
    table: Mapped[str] = mapped_column(Text, primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    child: Mapped[str | None] = mapped_column(Text)
    values: Mapped[dict[str, str | None]] = mapped_column(JSONB, server_default=text("'{}'"))
    problem: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
