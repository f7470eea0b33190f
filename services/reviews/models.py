"""The reviews service's tables (schema `reviews`)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, created_at, uuid_pk

SCHEMA = "reviews"


class Iro(Base):
    __tablename__ = "iro"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    fte: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = created_at()


class Child(Base):
    __tablename__ = "child"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    la_reference: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    display_name: Mapped[str | None] = mapped_column(Text)
    sex: Mapped[str | None] = mapped_column(Text)
    uasc: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = created_at()


class CarePeriod(Base):
    __tablename__ = "care_period"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    started_on: Mapped[dt.date] = mapped_column(Date)
    legal_status: Mapped[str] = mapped_column(Text)
    placement_type: Mapped[str | None] = mapped_column(Text)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()


class PlacementChange(Base):
    __tablename__ = "placement_change"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    care_period_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.care_period.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    placement_type: Mapped[str] = mapped_column(Text)
    unplanned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = created_at()


class LegalStatusChange(Base):
    __tablename__ = "legal_status_change"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    care_period_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.care_period.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    legal_status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()


class Allocation(Base):
    """One IRO's allocation to one child, from `allocated_on` until `ended_on` (exclusive)."""

    __tablename__ = "allocation"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    iro_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.iro.id"))
    allocated_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()


class Review(Base):
    __tablename__ = "review"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    care_period_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.care_period.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    statutory_due_on: Mapped[dt.date] = mapped_column(Date)
    early_reason: Mapped[str | None] = mapped_column(Text)
    planned_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, default="scheduled")
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
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.review.id"))
    previous_planned_on: Mapped[dt.date | None] = mapped_column(Date)
    planned_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()


class Decision(Base):
    __tablename__ = "decision"
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.review.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, default="open")
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = created_at()


class MidwayReview(Base):
    __tablename__ = "midway_review"
    __table_args__ = {"schema": SCHEMA}

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
    __table_args__ = {"schema": SCHEMA}

    id: Mapped[uuid.UUID] = uuid_pk()
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.child.id"))
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    iro_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
