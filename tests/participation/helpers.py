"""What the participation tests share: the reviews service simulated by appending its events
(`child.registered`, `review.held`) in the test's own session, and reading back this service's events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews.rules import review_kind  # the producer's rule, so the fake's kind cannot drift
from shared import footprint
from shared.footprint import events
from shared.footprint.models import Event

REVIEWS = footprint.Actor(sub="reviews-service@council.gov.uk", role="iro")
TODAY = dt.date(2024, 6, 28)  # the test app's fixed clock


async def register_child(
    session: AsyncSession, date_of_birth: dt.date, *, la_reference: str | None = None
) -> uuid.UUID:
    """Append `child.registered` as the reviews service writes it; the child's id."""
    child_id = uuid.uuid4()
    await footprint.append(
        session,
        event=events.ChildRegistered(
            child_id=child_id,
            la_reference=la_reference or f"LA-{child_id.hex[:8]}",
            date_of_birth=date_of_birth,
            uasc=None,
        ),
        actor=REVIEWS,
        subject=footprint.Subject("child", child_id),
        service="reviews",
        child_id=child_id,
    )
    return child_id


async def register_iro(session: AsyncSession, email: str, iro_id: uuid.UUID | None = None) -> uuid.UUID:
    """Append `iro.registered` as the reviews service writes it; the IRO's id."""
    iro_id = iro_id or uuid.uuid4()
    await footprint.append(
        session,
        event=events.IroRegistered(iro_id=iro_id, email=email.lower(), fte="1.000"),
        actor=footprint.Actor(sub="manager@council.gov.uk", role="manager"),
        subject=footprint.Subject("iro", iro_id),
        service="reviews",
        iro_id=iro_id,
    )
    return iro_id


async def hold_review(
    session: AsyncSession,
    child_id: uuid.UUID,
    date_of_birth: dt.date,
    held_on: dt.date,
    *,
    iro_id: uuid.UUID | None = None,
    sequence: int = 1,
    review_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Append `review.held` as the reviews service writes it; the review's id."""
    review_id = review_id or uuid.uuid4()
    await footprint.append(
        session,
        event=events.ReviewHeld(
            review_id=review_id,
            care_period_id=uuid.uuid4(),
            child_id=child_id,
            date_of_birth=date_of_birth,
            held_on=held_on,
            sequence=sequence,
            kind=review_kind(sequence),
            format="in_person",
            chaired_by_iro_id=iro_id,
            chaired_by_child=None,
            in_time=True,
            statutory_due_on=held_on,
            late_reason=None,
        ),
        actor=REVIEWS,
        subject=footprint.Subject("review", review_id),
        service="reviews",
        child_id=child_id,
        iro_id=iro_id,
    )
    return review_id


async def child_with_review(
    session: AsyncSession, date_of_birth: dt.date, held_on: dt.date, *, iro_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, uuid.UUID]:
    """A registered child and one held review of theirs: (child_id, review_id)."""
    child_id = await register_child(session, date_of_birth)
    review_id = await hold_review(session, child_id, date_of_birth, held_on, iro_id=iro_id)
    return child_id, review_id


async def events_of(session: AsyncSession, subject_id: uuid.UUID | str) -> list[Event]:
    """This service's events about one subject, in log order."""
    query = (
        select(Event).where(Event.service == "participation", Event.subject_id == str(subject_id)).order_by(Event.seq)
    )
    return list((await session.scalars(query)).all())


def record(code: str, **fields: Any) -> dict[str, Any]:
    """A PUT body."""
    return {"code": code, **fields}
