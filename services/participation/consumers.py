"""The service's view of children and held reviews, kept from the footprint.

The reviews service publishes `child.registered` and `review.held`; the consumer `participation.reviews`
copies what this service needs into `participation.child` and `participation.held_review`, in the
same transaction as its position (`shared.footprint.consumer`). The service never reads the reviews
schema. A request that needs a review held a moment ago calls `catch_up(session)` first.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from fastapi import FastAPI
from sqlalchemy import Row, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation.models import Child, HeldReview
from services.participation.settings import Settings
from shared.footprint import events
from shared.footprint.consumer import Consumer

NAME: Final = "participation.reviews"
SCHEMA: Final = "participation"
TYPES: Final = frozenset({events.ChildRegistered.type, events.ReviewHeld.type})


async def _child_registered(session: AsyncSession, child: events.ChildRegistered) -> None:
    values = {"la_reference": child.la_reference, "date_of_birth": child.date_of_birth}
    statement = insert(Child).values(id=child.child_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[Child.id], set_={**values, "updated_at": func.now()})
    )


async def _review_held(session: AsyncSession, held: events.ReviewHeld) -> None:
    # A child first seen in a review (its registration not on the log): known by id and birth date.
    await session.execute(
        insert(Child)
        .values(id=held.child_id, date_of_birth=held.date_of_birth)
        .on_conflict_do_nothing(index_elements=[Child.id])
    )
    values = {
        "child_id": held.child_id,
        "review_date": held.held_on,
        "date_of_birth": held.date_of_birth,
        "format": held.format,
        "chaired_by_iro_id": held.chaired_by_iro_id,
        "sequence": held.sequence,
    }
    statement = insert(HeldReview).values(review_id=held.review_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[HeldReview.review_id], set_={**values, "updated_at": func.now()}
        )
    )


async def handle(session: AsyncSession, row: Row[Any]) -> None:
    """The consumer's handler: one footprint event into the service's view. A payload that does not
    parse as its type raises, so the consumer retries it and then sets it aside, never guessing."""
    match events.parse(row.type, row.payload):
        case events.ChildRegistered() as child:
            await _child_registered(session, child)
        case events.ReviewHeld() as held:
            await _review_held(session, held)


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
