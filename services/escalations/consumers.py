"""What this service learns from the footprint: which children exist (`child.registered`), the
IROs (`iro.registered`) and who is allocated to whom (`iro.allocated`).

The reviews service registers children; this service never reads its schema. The consumer keeps
`escalations.known_child` up to date, running for the life of the app; a request naming a child
not yet known first catches the consumer up inside its own transaction (`ensure_known`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalations.models import KnownChild, KnownIro
from shared.errors import UnknownChild
from shared.footprint import events
from shared.footprint.consumer import Consumer
from shared.settings import CommonSettings

NAME = "escalations.children"
SCHEMA = "escalations"
TYPES = frozenset({events.ChildRegistered.type, events.IroRegistered.type, events.IroAllocated.type})


async def remember_child(session: AsyncSession, child: events.ChildRegistered, seq: int) -> None:
    """Upsert the registered child: its id, reference and date of birth."""
    values = {
        "id": child.child_id,
        "la_reference": child.la_reference,
        "date_of_birth": child.date_of_birth,
        "registered_seq": seq,
    }
    statement = insert(KnownChild).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[KnownChild.id],
        set_={
            "la_reference": statement.excluded.la_reference,
            "date_of_birth": statement.excluded.date_of_birth,
            "registered_seq": statement.excluded.registered_seq,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.execute(statement)


async def remember(session: AsyncSession, row: Row[Any]) -> None:
    """Children (`child.registered`), IROs (`iro.registered`) and who is allocated (`iro.allocated`)."""
    match events.parse(row.type, row.payload):
        case events.ChildRegistered() as child:
            await remember_child(session, child, row.seq)
        case events.IroRegistered() as iro:
            statement = insert(KnownIro).values(id=iro.iro_id, email=iro.email.lower(), registered_seq=row.seq)
            await session.execute(statement.on_conflict_do_nothing(index_elements=[KnownIro.id]))
        case events.IroAllocated() as allocation:
            known = await session.get(KnownChild, allocation.child_id)
            if known is not None:
                known.iro_id = allocation.iro_id


def children_consumer_hook(settings: CommonSettings) -> Any:
    """A lifespan hook: build the consumer on the app's engine, keep it on `app.state`, run it."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[Consumer]:
        consumer = Consumer(
            name=NAME,
            schema=SCHEMA,
            engine=app.state.engine,
            handler=remember,
            types=TYPES,
            database_url=settings.database_url,
            role=settings.db_role("escalations") if settings.db_use_service_roles else None,
            registry=app.state.metrics_registry,
        )
        app.state.children_consumer = consumer
        try:
            async with consumer.running():
                yield consumer
        finally:
            app.state.children_consumer = None

    return hook


async def _unknown(session: AsyncSession, child_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    known = set((await session.scalars(select(KnownChild.id).where(KnownChild.id.in_(child_ids)))).all())
    return [child_id for child_id in child_ids if child_id not in known]


async def ensure_known(
    session: AsyncSession, child_ids: Sequence[uuid.UUID], *, consumer: Consumer | None, field: str
) -> None:
    """422 on `field` naming the ids no `child.registered` event has announced.

    Before refusing, the consumer catches up in this session's transaction, so a child registered
    a moment ago (or earlier in this very transaction) is found."""
    if not child_ids:
        return
    unknown = await _unknown(session, child_ids)
    if unknown and consumer is not None:
        await consumer.catch_up(session)
        unknown = await _unknown(session, child_ids)
    if unknown:
        names = ", ".join(str(child_id) for child_id in unknown)
        raise UnknownChild(
            f"Unknown child id(s): {names}.", field=field, unknown=[str(child_id) for child_id in unknown]
        )
