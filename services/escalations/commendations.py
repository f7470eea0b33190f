"""Commendations: good practice the IRO records, counted beside the challenges (brief 2.4).

Plain module-level functions: a write takes the request context first (`EscalationsCtx`), a lookup
the session; they `flush()` and record the footprint, the route's unit of work commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalations import consumers, rules
from services.escalations.models import Commendation
from services.escalations.schemas import CommendationCreate
from services.escalations.service import EscalationsCtx, check_cursor, footprint_iro
from shared.errors import NotFound
from shared.footprint import Subject, events
from shared.footprint.consumer import Consumer
from shared.pagination import PageParams, paginate


async def record_commendation(
    ctx: EscalationsCtx, *, body: CommendationCreate, consumer: Consumer | None
) -> Commendation:
    """Record good practice, for a child or a team; `commendation.recorded` on the footprint.
    `consumer` catches this service up with the children registered (None: it is not running)."""
    raised_on = rules.check_not_future(body.raised_on, ctx.today, "raised_on")
    if body.child_id is not None:
        await consumers.ensure_known(ctx.session, [body.child_id], consumer=consumer, field="child_id")
    commendation = Commendation(
        id=uuid.uuid4(),
        child_id=body.child_id,
        team=body.team,
        summary=body.summary,
        raised_on=raised_on,
        raised_by=ctx.actor.sub,
    )
    ctx.session.add(commendation)
    await ctx.session.flush()
    ctx.record(
        events.CommendationRecorded(
            commendation_id=commendation.id, team=commendation.team, raised_on=commendation.raised_on
        ),
        subject=Subject("commendation", commendation.id),
        child_id=commendation.child_id,
        iro_id=await footprint_iro(ctx, child_id=commendation.child_id),
    )
    return commendation


async def get_commendation(session: AsyncSession, *, commendation_id: uuid.UUID) -> Commendation:
    """The commendation; 404 when there is none with that id."""
    commendation = await session.get(Commendation, commendation_id)
    if commendation is None:
        raise NotFound(f"No commendation {commendation_id}.")
    return commendation


async def list_commendations(
    session: AsyncSession,
    *,
    params: PageParams,
    child_id: uuid.UUID | None = None,
    team: str | None = None,
    raised_from: dt.date | None = None,
    raised_to: dt.date | None = None,
) -> tuple[list[Commendation], str | None]:
    """One keyset page of commendations, oldest raised first, filtered."""
    check_cursor(params, dt.date, uuid.UUID)
    query: Select[Any] = select(Commendation)
    if child_id is not None:
        query = query.where(Commendation.child_id == child_id)
    if team is not None:
        query = query.where(Commendation.team == team)
    if raised_from is not None:
        query = query.where(Commendation.raised_on >= raised_from)
    if raised_to is not None:
        query = query.where(Commendation.raised_on <= raised_to)
    return await paginate(session, query, keys=[Commendation.raised_on, Commendation.id], params=params)
