"""What this service learns from the footprint: which children exist (`child.registered`), the
IROs (`iro.registered`) and who is allocated to whom (`iro.allocated`).

The reviews service registers children; this service never reads its schema. The consumer keeps
`escalations.known_child` up to date, running for the life of the app; a request naming a child
not yet known first catches the consumer up inside its own transaction (`ensure_known`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalations.models import KnownChild, KnownIro
from shared.errors import InvalidField
from shared.footprint.consumer import Consumer
from shared.settings import CommonSettings

NAME = "escalations.children"
SCHEMA = "escalations"
TYPES = frozenset({"child.registered", "iro.registered", "iro.allocated"})


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def remember_child(session: AsyncSession, event: Row[Any]) -> None:
    """Upsert the registered child: its id (the event's `child_id`), reference and date of birth."""
    payload = event.payload or {}
    child_id = event.child_id or uuid.UUID(str(payload["child_id"]))
    la_reference = payload.get("la_reference")
    values = {
        "id": child_id,
        "la_reference": la_reference if isinstance(la_reference, str) else None,
        "date_of_birth": _date(payload.get("date_of_birth")),
        "registered_seq": event.seq,
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


async def remember(session: AsyncSession, event: Row[Any]) -> None:
    """Children (`child.registered`), IROs (`iro.registered`) and who is allocated (`iro.allocated`)."""
    payload = event.payload or {}
    if event.type == "child.registered":
        await remember_child(session, event)
    elif event.type == "iro.registered":
        statement = insert(KnownIro).values(
            id=uuid.UUID(str(payload["iro_id"])), email=str(payload["email"]).lower(), registered_seq=event.seq
        )
        await session.execute(statement.on_conflict_do_nothing(index_elements=[KnownIro.id]))
    elif event.type == "iro.allocated" and event.child_id is not None:
        known = await session.get(KnownChild, event.child_id)
        if known is not None:
            known.iro_id = uuid.UUID(str(payload["iro_id"]))


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
        raise InvalidField(
            ("body", field), f"Unknown child id(s): {names}.", unknown=[str(child_id) for child_id in unknown]
        )
