"""The service's view of children and held reviews, kept from the footprint.

The reviews service publishes `child.registered` and `review.held`; the consumer `participation.reviews`
copies what this service needs into `participation.child` and `participation.held_review`, in the
same transaction as its position (`shared.footprint.consumer`). The service never reads the reviews
schema. A request that needs a review held a moment ago calls `catch_up(session)` first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from fastapi import FastAPI
from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation.models import Child, HeldReview
from services.participation.settings import Settings
from shared.footprint.consumer import Consumer

NAME: Final = "participation.reviews"
SCHEMA: Final = "participation"
CHILD_REGISTERED: Final = "child.registered"
REVIEW_HELD: Final = "review.held"
TYPES: Final = frozenset({CHILD_REGISTERED, REVIEW_HELD})


def _uuid(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


def _child_id(event: Row[Any], payload: Mapping[str, Any]) -> uuid.UUID:
    child_id = event.child_id or _uuid(payload.get("child_id"))
    if child_id is None:
        raise ValueError(f"{event.type} at seq {event.seq} names no child")
    return uuid.UUID(str(child_id))


async def _child_registered(session: AsyncSession, event: Row[Any]) -> None:
    payload: Mapping[str, Any] = event.payload
    date_of_birth = _date(payload.get("date_of_birth"))
    if date_of_birth is None:
        raise ValueError(f"child.registered at seq {event.seq} has no date_of_birth")
    values = {"la_reference": payload.get("la_reference"), "date_of_birth": date_of_birth}
    statement = insert(Child).values(id=_child_id(event, payload), **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[Child.id], set_={**values, "updated_at": func.now()})
    )


async def _review_held(session: AsyncSession, event: Row[Any]) -> None:
    payload: Mapping[str, Any] = event.payload
    review_id = _uuid(payload.get("review_id"))
    held_on = _date(payload.get("held_on"))
    if review_id is None or held_on is None:
        raise ValueError(f"review.held at seq {event.seq} lacks review_id or held_on")
    child_id = _child_id(event, payload)
    date_of_birth = _date(payload.get("date_of_birth"))
    if date_of_birth is None:
        date_of_birth = await session.scalar(select(Child.date_of_birth).where(Child.id == child_id))
    if date_of_birth is None:
        raise ValueError(f"review.held at seq {event.seq}: the child's date of birth is not known")
    # A child first seen in a review (its registration not on the log): known by id and birth date.
    await session.execute(
        insert(Child).values(id=child_id, date_of_birth=date_of_birth).on_conflict_do_nothing(index_elements=[Child.id])
    )
    sequence = payload.get("sequence")
    values = {
        "child_id": child_id,
        "review_date": held_on,
        "date_of_birth": date_of_birth,
        "format": payload.get("format"),
        "chaired_by_iro_id": _uuid(payload.get("chaired_by_iro_id")),
        "sequence": int(sequence) if sequence is not None else None,
    }
    statement = insert(HeldReview).values(review_id=review_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[HeldReview.review_id], set_={**values, "updated_at": func.now()}
        )
    )


async def handle(session: AsyncSession, event: Row[Any]) -> None:
    """The consumer's handler: one footprint event into the service's view."""
    if event.type == CHILD_REGISTERED:
        await _child_registered(session, event)
    elif event.type == REVIEW_HELD:
        await _review_held(session, event)


def reviews_consumer(app: FastAPI, settings: Settings) -> Consumer:
    """The consumer of the reviews service's facts, on the app's engine and metrics registry."""
    return Consumer(
        name=NAME,
        schema=SCHEMA,
        engine=app.state.engine,
        handler=handle,
        types=TYPES,
        database_url=settings.database_url,
        role=settings.db_role(SCHEMA) if settings.db_use_service_roles else None,
        registry=app.state.metrics_registry,
    )


def consumer_hook(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[Consumer]]:
    """A lifespan hook for `build_app`: runs the consumer and keeps it on `app.state.consumer`."""

    def hook(app: FastAPI) -> AbstractAsyncContextManager[Consumer]:
        consumer = reviews_consumer(app, settings)
        app.state.consumer = consumer
        return consumer.running()

    return hook


def consumer_of(app: FastAPI) -> Consumer:
    """The running consumer (set by the lifespan hook)."""
    consumer: Consumer = app.state.consumer
    return consumer
