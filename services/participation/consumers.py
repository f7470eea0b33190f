"""The service's view of children and held reviews, kept from the footprint.

The reviews service publishes `child.registered`, `child.updated` and `review.held`; the consumer
`participation.reviews` copies what this service needs into `participation.child` and
`participation.held_review`, in the same transaction as its position (`shared.footprint.consumer`).
The service never reads the reviews schema. A request that needs a review held a moment ago calls
`catch_up(session)` first.

A corrected date of birth (`child.updated`) is copied onto the child and each of its held reviews, and
each review's `problems` are recomputed (`rules.problems_of`): a stored code the new date makes wrong
for the child's age is kept and flagged, never dropped. When a review's problems change, the handler
appends `participation.flagged` to the footprint in the consumer's transaction (so with the position:
never a flag without its event, never twice), as the actor of the correction, with its request id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, cast

from fastapi import FastAPI
from sqlalchemy import Row, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation import rules
from services.participation.models import Child, HeldReview, Participation
from services.participation.settings import Settings
from shared import footprint
from shared.footprint import events
from shared.footprint.consumer import Consumer

NAME: Final = "participation.reviews"
SCHEMA: Final = "participation"
TYPES: Final = frozenset({events.ChildRegistered.type, events.ChildUpdated.type, events.ReviewHeld.type})
SERVICE: Final = "participation"


async def _child_registered(session: AsyncSession, child: events.ChildRegistered) -> None:
    values = {"la_reference": child.la_reference, "date_of_birth": child.date_of_birth}
    statement = insert(Child).values(id=child.child_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[Child.id], set_={**values, "updated_at": func.now()})
    )


async def _child_updated(session: AsyncSession, updated: events.ChildUpdated, row: Row[Any]) -> None:
    """A corrected date of birth onto the child and its held reviews, then their problems recomputed.
    Other corrections (name, sex, UASC) are nothing this service keeps."""
    if updated.date_of_birth is None:
        return
    # A child not seen yet (its registration not on the log): known by id and birth date.
    statement = insert(Child).values(id=updated.child_id, date_of_birth=updated.date_of_birth)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Child.id], set_={"date_of_birth": updated.date_of_birth, "updated_at": func.now()}
        )
    )
    await session.execute(
        update(HeldReview)
        .where(HeldReview.child_id == updated.child_id, HeldReview.date_of_birth != updated.date_of_birth)
        .values(date_of_birth=updated.date_of_birth, updated_at=func.now())
    )
    await refresh_problems(session, row, child_id=updated.child_id)


async def refresh_problems(
    session: AsyncSession, row: Row[Any], *, child_id: uuid.UUID, review_ids: Sequence[uuid.UUID] | None = None
) -> None:
    """Recompute the problems of the child's held reviews (or of `review_ids`) from the date of birth
    and code stored now (`rules.problems_of`); for each review whose problems change, store them and
    append `participation.flagged`, written as the footprint event `row` caused it (its actor, request
    id and time), filed under the IRO who chaired the review."""
    query = (
        select(HeldReview, Participation.code)
        .outerjoin(Participation, Participation.review_id == HeldReview.review_id)
        .where(HeldReview.child_id == child_id)
        .order_by(HeldReview.review_date, HeldReview.review_id)
        .with_for_update(of=HeldReview)
        .execution_options(populate_existing=True)
    )
    if review_ids is not None:
        query = query.where(HeldReview.review_id.in_(review_ids))
    for held, code in (await session.execute(query)).all():
        problems = rules.problems_of(code=code, date_of_birth=held.date_of_birth, review_date=held.review_date)
        previous = list(held.problems)
        if problems == previous:
            continue
        held.problems = problems
        await session.flush()  # the change is written before its event
        await footprint.append(
            session,
            event=flagged(held.review_id, problems, previous),
            actor=footprint.Actor(sub=row.actor["sub"], role=row.actor["role"], source=row.actor.get("source")),
            subject=footprint.Subject("review", held.review_id),
            service=SERVICE,
            child_id=held.child_id,
            iro_id=held.chaired_by_iro_id,
            occurred_at=row.occurred_at,
            request_id=row.request_id,
        )


def flagged(review_id: uuid.UUID, problems: list[str], previous: list[str]) -> events.ParticipationFlagged:
    """`participation.flagged` for a review whose problems went from `previous` to `problems`."""
    return events.ParticipationFlagged(
        review_id=review_id,
        problems=cast("list[events.ParticipationProblem]", problems),
        previous_problems=cast("list[events.ParticipationProblem]", previous),
    )


async def _review_held(session: AsyncSession, held: events.ReviewHeld, row: Row[Any]) -> None:
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
    inserted = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[HeldReview.review_id], set_={**values, "updated_at": func.now()}
        ).returning(literal_column("xmax = 0"))  # true: a new row, false: one updated
    )
    # A review delivered again (another date or date of birth) may now have a problem with its code; a
    # new one only by its date (the reviews service holds none on or after the 18th birthday).
    if not inserted or rules.problems_of(code=None, date_of_birth=held.date_of_birth, review_date=held.held_on):
        await refresh_problems(session, row, child_id=held.child_id, review_ids=[held.review_id])


async def handle(session: AsyncSession, row: Row[Any]) -> None:
    """The consumer's handler: one footprint event into the service's view. A payload that does not
    parse as its type raises, so the consumer retries it and then sets it aside, never guessing."""
    match events.parse(row.type, row.payload):
        case events.ChildRegistered() as child:
            await _child_registered(session, child)
        case events.ChildUpdated() as updated:
            await _child_updated(session, updated, row)
        case events.ReviewHeld() as held:
            await _review_held(session, held, row)


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
