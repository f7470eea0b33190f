"""The tables every service schema has, the same in each: idempotency keys (shared.idempotency,
migration 0003) and a footprint consumer's position and dead letters (shared.footprint.consumer,
migration 0002). Each service's models.py declares them in its schema: `declare(SCHEMA)`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.db import metadata


def declare(schema: str) -> tuple[Table, Table, Table]:
    """`<schema>.idempotency_key`, `<schema>.consumer_position` and `<schema>.consumer_dead_letter`."""
    idempotency_key = Table(
        "idempotency_key",
        metadata,
        Column("subject", Text, primary_key=True),
        Column("method", Text, primary_key=True),
        Column("path", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("request_hash", Text, nullable=False),
        Column("state", Text, nullable=False, server_default=text("'in_flight'")),
        Column("lease", UUID(as_uuid=True), nullable=False),
        Column("claimed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("effect_committed", Boolean, nullable=False, server_default=false()),
        Column("response_status", Integer),
        Column("response_headers", JSONB),
        Column("response_body", LargeBinary),
        Column("completed_at", DateTime(timezone=True)),
        CheckConstraint("state IN ('in_flight', 'done')", name="state"),
        Index("ix_idempotency_key_claimed_at", "claimed_at"),
        schema=schema,
    )
    consumer_position = Table(
        "consumer_position",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("position", BigInteger, nullable=False, server_default=text("0")),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=schema,
    )
    consumer_dead_letter = Table(
        "consumer_dead_letter",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("event_type", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=schema,
    )
    return idempotency_key, consumer_position, consumer_dead_letter
