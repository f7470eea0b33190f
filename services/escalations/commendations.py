"""Commendations: good practice the IRO records, counted beside the challenges (brief 2.4).

Plain module-level functions, the session first; they `flush()`, the route commits.
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
from services.escalations.service import SERVICE, check_cursor, footprint_iro
from shared import footprint
from shared.auth import Principal
from shared.errors import NotFound
from shared.footprint import events
from shared.footprint.consumer import Consumer
from shared.pagination import PageParams, paginate


async def record_commendation(
    session: AsyncSession,
    *,
    body: CommendationCreate,
    today: dt.date,
    actor: footprint.Actor,
    principal: Principal,
    consumer: Consumer | None,
) -> Commendation:
    """Record good practice, for a child or a team; `commendation.recorded` on the footprint."""
    raised_on = rules.check_not_future(body.raised_on, today, "raised_on")
    if body.child_id is not None:
        await consumers.ensure_known(session, [body.child_id], consumer=consumer, field="child_id")
    commendation = Commendation(
        id=uuid.uuid4(),
        child_id=body.child_id,
        team=body.team,
        summary=body.summary,
        raised_on=raised_on,
        raised_by=actor.sub,
    )
    session.add(commendation)
    await session.flush()
    await footprint.append(
        session,
        event=events.CommendationRecorded(
            commendation_id=commendation.id, team=commendation.team, raised_on=commendation.raised_on
        ),
        actor=actor,
        subject=footprint.Subject("commendation", commendation.id),
        service=SERVICE,
        child_id=commendation.child_id,
        iro_id=await footprint_iro(session, principal, commendation.child_id),
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
