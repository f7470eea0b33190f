"""The participation service's tables (schema `participation`, migrations 0006 and 0012).

`child` and `held_review` are this service's own view of facts the reviews service publishes on the
footprint (`child.registered`, `review.held`; `consumers.py` keeps them); the rest it owns.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared import service_tables
from shared.db import Base, created_at, uuid_pk

SCHEMA = "participation"

IDEMPOTENCY_KEY, CONSUMER_POSITION, CONSUMER_DEAD_LETTER = service_tables.declare(SCHEMA)


class Child(Base):
    """A child as `child.registered` announced it."""

    __tablename__ = "child"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    la_reference: Mapped[str | None] = mapped_column(Text)
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = created_at()


class HeldReview(Base):
    """A review as `review.held` announced it: `review_date` is its `held_on`; `date_of_birth` the
    child's, corrected by `child.updated`. `problems` are recomputed whenever the date of birth or the
    review's participation code changes (`rules.problems_of`): kept and flagged, never dropped."""

    __tablename__ = "held_review"
    __table_args__ = (
        Index("ix_held_review_review_date", "review_date"),
        Index("ix_held_review_child_id", "child_id", "review_date"),
        {"schema": SCHEMA},
    )

    review_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    review_date: Mapped[dt.date] = mapped_column(Date)
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    format: Mapped[str | None] = mapped_column(Text)
    chaired_by_iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    sequence: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = created_at()
    problems: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))


class Participation(Base):
    """One review's participation record; replacing it keeps the earlier one on the footprint."""

    __tablename__ = "participation"
    __table_args__ = (
        CheckConstraint("code IN ('PN0', 'PN1', 'PN2', 'PN3', 'PN4', 'PN5', 'PN6', 'PN7')", name="code"),
        CheckConstraint("jsonb_typeof(parents) = 'array'", name="parents"),
        CheckConstraint("version > 0", name="version"),
        {"schema": SCHEMA},
    )

    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.held_review.review_id"), primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    methods: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    met_iro_before: Mapped[bool | None] = mapped_column(Boolean)
    interpreter_used: Mapped[bool | None] = mapped_column(Boolean)
    parents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'"))
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = created_at()
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))


class Feedback(Base):
    """One feedback form; anonymous when it names neither a review nor a child."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("jsonb_typeof(answers) = 'object'", name="answers"),
        Index("ix_feedback_received_on", "received_on", "id"),
        Index("ix_feedback_child_id", "child_id", "received_on", postgresql_where=text("child_id IS NOT NULL")),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    respondent: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    review_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    child_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    answers: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default=text("'{}'"))
    comment: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = created_at()


class AdvocacyReferral(Base):
    """A referral of a child to an advocacy provider, and its outcome once known."""

    __tablename__ = "advocacy_referral"
    __table_args__ = (
        Index("ix_advocacy_referral_referred_on", "referred_on", "id"),
        Index("ix_advocacy_referral_child_id", "child_id", "referred_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    referred_on: Mapped[dt.date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = created_at()
