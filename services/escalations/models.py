"""The escalations service's tables (schema `escalations`; migration 0005).

An escalation's current stage is the highest of its `stages` rows (stages only go up); `stage` on
the escalation is that number, kept for filtering and counting. No foreign keys leave the schema:
`child_id` values name children the footprint told us about (`known_child`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared import service_tables
from shared.db import Base

SCHEMA = "escalations"

IDEMPOTENCY_KEY, CONSUMER_POSITION, CONSUMER_DEAD_LETTER = service_tables.declare(SCHEMA)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Escalation(Base):
    __tablename__ = "escalation"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved', 'withdrawn', 'referred_to_cafcass')", name="status"),
        CheckConstraint("scope IN ('child', 'children', 'service')", name="scope"),
        CheckConstraint("stage >= 0 AND (raised_as_alert OR stage >= 1)", name="stage"),
        CheckConstraint(
            "(status = 'open') = (closed_on IS NULL) AND (closed_on IS NULL OR closed_on >= raised_on)", name="closed"
        ),
        Index("ix_escalation_raised_on_id", "raised_on", "id"),
        Index("ix_escalation_closed_on", "closed_on", postgresql_where=text("closed_on IS NOT NULL")),
        Index("ix_escalation_open", "id", postgresql_where=text("status = 'open'")),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = _id()
    raised_as_alert: Mapped[bool] = mapped_column(Boolean)
    scope: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    team: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[dt.date] = mapped_column(Date)
    raised_by: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="open", server_default=text("'open'"))
    stage: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = _created()

    children: Mapped[list[EscalationChild]] = relationship(
        lazy="selectin", order_by="EscalationChild.position", cascade="all, delete-orphan"
    )
    stages: Mapped[list[EscalationStage]] = relationship(
        lazy="selectin", order_by="EscalationStage.stage", cascade="all, delete-orphan"
    )

    @property
    def child_ids(self) -> list[uuid.UUID]:
        return [link.child_id for link in self.children]

    @property
    def current(self) -> EscalationStage:
        """The stage the escalation is at (or was at when it closed)."""
        return self.stages[-1]


class EscalationChild(Base):
    """A child an escalation names (one for scope `child`, several for `children`)."""

    __tablename__ = "escalation_child"
    __table_args__ = (
        Index("ix_escalation_child_child_id", "child_id"),
        {"schema": SCHEMA},
    )

    escalation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.escalation.id"), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class EscalationStage(Base):
    """One stage an escalation has been at: its dates, the response, and how it ended."""

    __tablename__ = "escalation_stage"
    __table_args__ = (
        CheckConstraint(
            "response_due_on >= entered_on AND (responded_on IS NULL OR responded_on >= entered_on)"
            " AND (ended_on IS NULL OR ended_on >= entered_on)",
            name="dates",
        ),
        CheckConstraint(
            "(ended_how IS NULL) = (ended_on IS NULL)"
            " AND (ended_how IS NULL OR ended_how IN ('escalated', 'resolved', 'withdrawn', 'referred_to_cafcass'))",
            name="ended_how",
        ),
        Index(
            "ix_escalation_stage_open_due",
            "response_due_on",
            postgresql_where=text("ended_on IS NULL AND responded_on IS NULL"),
        ),
        {"schema": SCHEMA},
    )

    escalation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.escalation.id"), primary_key=True)
    stage: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    entered_on: Mapped[dt.date] = mapped_column(Date)
    response_due_on: Mapped[dt.date] = mapped_column(Date)
    entry_reason: Mapped[str | None] = mapped_column(Text)
    responded_on: Mapped[dt.date | None] = mapped_column(Date)
    responder: Mapped[str | None] = mapped_column(Text)
    response_text: Mapped[str | None] = mapped_column(Text)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_how: Mapped[str | None] = mapped_column(Text)
    end_reason: Mapped[str | None] = mapped_column(Text)


class Commendation(Base):
    """Good practice the IRO records: it goes to the worker and their managers."""

    __tablename__ = "commendation"
    __table_args__ = (
        Index("ix_commendation_raised_on_id", "raised_on", "id"),
        Index("ix_commendation_child_id", "child_id", postgresql_where=text("child_id IS NOT NULL")),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = _id()
    child_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    team: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[dt.date] = mapped_column(Date)
    raised_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()


class KnownChild(Base):
    """A child registered with the reviews service, learnt from `child.registered` on the footprint."""

    __tablename__ = "known_child"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    la_reference: Mapped[str | None] = mapped_column(Text)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    registered_seq: Mapped[int] = mapped_column(BigInteger)
    iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KnownIro(Base):
    """An IRO registered with the reviews service (`iro.registered`), to name whose footprint an event is."""

    __tablename__ = "known_iro"
    __table_args__ = (
        Index("ix_known_iro_email", text("lower(email)")),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    registered_seq: Mapped[int] = mapped_column(BigInteger)
