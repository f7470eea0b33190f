"""The reviews service's tables (schema `reviews`, migration 0004), as the migrations made them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from alembic_utils.pg_function import PGFunction
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy import text as sql_text  # `text` is a column of Decision and CaseNote
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared import service_tables
from shared.db import Base, created_at, uuid_pk

SCHEMA = "reviews"

IDEMPOTENCY_KEY, CONSUMER_POSITION, CONSUMER_DEAD_LETTER = service_tables.declare(SCHEMA)

# The 18th birthday (Children Act 1989 s105); 1 March for a 29 February birth in a common year.
# `service.eighteenth_birthday` calls it in queries. Migration 0004 created it (and its COMMENT); 0017
# dropped STRICT, which kept PostgreSQL from inlining it (its CASE is not strict): inlined, a query
# over 100,000 children runs it some 20 times faster. A null date of birth still gives null.
# shared/footprint/ddl.py says how a function declared here is compared and changed.
EIGHTEENTH_BIRTHDAY = PGFunction(
    schema=SCHEMA,
    signature="eighteenth_birthday(date_of_birth date)",
    definition="""RETURNS date
    LANGUAGE sql IMMUTABLE AS $fn$
    SELECT (date_of_birth + interval '18 years'
            + CASE WHEN extract(month FROM date_of_birth) = 2 AND extract(day FROM date_of_birth) = 29
                        AND extract(day FROM date_of_birth + interval '18 years') = 28
                   THEN interval '1 day' ELSE interval '0 days' END)::date
$fn$""",
)


class Iro(Base):
    __tablename__ = "iro"
    __table_args__ = (
        CheckConstraint("fte > 0 AND fte <= 1", name="fte"),
        Index("uq_iro_email", sql_text("lower(email)"), unique=True),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    fte: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = created_at()


class IroFte(Base):
    """An IRO's staffing history (migration 0017): the `fte` and `active` in force from `valid_from` until
    the next row's `valid_from` (exclusive). `Iro.fte` and `Iro.active` are the row in force today; a
    caseload table as of a past day reads the row in force then."""

    __tablename__ = "iro_fte"
    __table_args__ = (
        CheckConstraint("fte > 0 AND fte <= 1", name="fte"),
        {"schema": SCHEMA},
    )

    iro_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.iro.id"), primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    fte: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = created_at()


class Child(Base):
    __tablename__ = "child"
    __table_args__ = (
        UniqueConstraint("la_reference"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    la_reference: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    display_name: Mapped[str | None] = mapped_column(Text)
    sex: Mapped[str | None] = mapped_column(Text)
    uasc: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = created_at()


def _legal_status_as_inserted(context: Any) -> Any:
    return context.get_current_parameters()["legal_status"]


class CarePeriod(Base):
    __tablename__ = "care_period"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="dates"),
        Index("uq_care_period_one_open", "child_id", unique=True, postgresql_where=sql_text("ended_on IS NULL")),
        Index("ix_care_period_child_id", "child_id", "started_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    started_on: Mapped[dt.date] = mapped_column(Date)
    legal_status: Mapped[str] = mapped_column(Text)  # the current one: a legal status change updates it
    # The legal status the period started with (migration 0017; by default the row's `legal_status` as
    # inserted); the changes after it are `LegalStatusChange`s. Null only for a row inserted without the
    # ORM and without it: read then as `legal_status` (services/reviews/ssda903.py).
    initial_legal_status: Mapped[str | None] = mapped_column(Text, default=_legal_status_as_inserted)
    placement_type: Mapped[str | None] = mapped_column(Text)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    # A backfill's period that began before the data (migration 0014): its first review is not judged.
    started_before_data: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = created_at()


class PlacementChange(Base):
    __tablename__ = "placement_change"
    __table_args__ = (
        Index("ix_placement_change_child_id", "child_id", "changed_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    care_period_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.care_period.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    placement_type: Mapped[str] = mapped_column(Text)
    unplanned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = created_at()


class LegalStatusChange(Base):
    __tablename__ = "legal_status_change"
    __table_args__ = (
        Index("ix_legal_status_change_child_id", "child_id", "changed_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    care_period_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.care_period.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    legal_status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()


class Allocation(Base):
    """One IRO's allocation to one child, from `allocated_on` until `ended_on` (exclusive)."""

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= allocated_on", name="dates"),
        Index("uq_allocation_one_current", "child_id", unique=True, postgresql_where=sql_text("ended_on IS NULL")),
        Index("ix_allocation_iro_id", "iro_id", "allocated_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    iro_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.iro.id"))
    allocated_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("care_period_id", "sequence"),
        CheckConstraint("status IN ('scheduled', 'held', 'missed', 'cancelled')", name="status"),
        CheckConstraint("(status = 'held') = (held_on IS NOT NULL)", name="held"),
        CheckConstraint("due_on <= statutory_due_on", name="due"),
        Index("ix_review_child_id", "child_id", "sequence"),
        Index("ix_review_due_on", "due_on", postgresql_where=sql_text("status = 'scheduled'")),
        Index("ix_review_held_on", "held_on", postgresql_where=sql_text("status = 'held'")),
        Index("ix_review_statutory_due_on", "statutory_due_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    care_period_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.care_period.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    statutory_due_on: Mapped[dt.date] = mapped_column(Date)
    early_reason: Mapped[str | None] = mapped_column(Text)
    planned_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, default="scheduled", server_default=sql_text("'scheduled'"))
    held_on: Mapped[dt.date | None] = mapped_column(Date)
    meeting_dates: Mapped[list[dt.date] | None] = mapped_column(ARRAY(Date))
    format: Mapped[str | None] = mapped_column(Text)
    venue: Mapped[str | None] = mapped_column(Text)
    chaired_by_child: Mapped[str | None] = mapped_column(Text)
    chaired_by_iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    in_time: Mapped[bool | None] = mapped_column(Boolean)
    late_reason: Mapped[str | None] = mapped_column(Text)
    late_reason_detail: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    sw_report_received_on: Mapped[dt.date | None] = mapped_column(Date)
    decisions_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    record_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    letter_to_child_sent_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()


class Rearrangement(Base):
    __tablename__ = "rearrangement"
    __table_args__ = (
        Index("ix_rearrangement_review_id", "review_id", "created_at"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.review.id"))
    previous_planned_on: Mapped[dt.date | None] = mapped_column(Date)
    planned_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()


class Decision(Base):
    __tablename__ = "decision"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'not_done', 'superseded')", name="status"),
        Index("ix_decision_child_id", "child_id", "due_on"),
        Index("ix_decision_due_on", "due_on", postgresql_where=sql_text("status = 'open'")),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.review.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, default="open", server_default=sql_text("'open'"))
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()


class MidwayReview(Base):
    __tablename__ = "midway_review"
    __table_args__ = (
        CheckConstraint("outcome IN ('on_track', 'concerns', 'escalated')", name="outcome"),
        Index("ix_midway_review_child_id", "child_id", "held_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()


class CaseNote(Base):
    __tablename__ = "case_note"
    __table_args__ = (
        Index("ix_case_note_child_id", "child_id", "recorded_on"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
