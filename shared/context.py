"""One request context for every route of every service: the unit of work of a request.

    async def hold_review(ctx: RequestContext[Settings], *, review_id: uuid.UUID, body: ReviewHeld) -> Review:
        review = ...                                     # change rows through ctx.session, flush()
        ctx.record(events.ReviewHeld(...), subject=Subject("review", review.id), child_id=..., iro_id=...)
        return review

A route receives it as a dependency (`Ctx`), after the caller's token and role are checked; the
service functions take it first, with keyword-only arguments after. Events are *recorded* on it while
the request runs and appended to the footprint in one batch (shared.footprint.batch) by the request's
unit of work (`shared.db.UnitOfWork`), just before the single commit: the append lock is held for
the batch and the commit only, never across the request's queries. A request that fails records
nothing: its events go with its rolled-back changes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared import requestid, roles
from shared.auth import Principal
from shared.calendar import WorkingCalendar
from shared.clock import today
from shared.db import get_session
from shared.footprint.batch import PendingEvent
from shared.footprint.events import FootprintEvent
from shared.footprint.models import SOURCE_HEADER, Actor, Subject, actor_for
from shared.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)


@dataclass
class RequestContext(Generic[S]):
    """Who is asking, when (today in England, or `IRO_TODAY`), by which working-day calendar, under
    which settings, in which session; and the footprint events the request has recorded so far."""

    session: AsyncSession
    principal: Principal
    actor: Actor
    today: dt.date
    calendar: WorkingCalendar
    settings: S
    service: str
    request_id: str | None = None
    occurred_at: dt.datetime | None = None
    """When what the request records happened, if not now: an ingested event's `time` (UTC)."""
    recorded: list[PendingEvent] = field(default_factory=list)

    def record(
        self,
        event: FootprintEvent,
        *,
        subject: Subject,
        child_id: uuid.UUID | None = None,
        iro_id: uuid.UUID | None = None,
        occurred_at: dt.datetime | None = None,
    ) -> PendingEvent:
        """Record a footprint event of this request (a model of shared.footprint.events), to be
        appended with the request's changes at its commit. `iro_id` is whose footprint it is
        (shared.author decides); `occurred_at` defaults to the context's, else now (UTC)."""
        pending = PendingEvent.of(
            event,
            actor=self.actor,
            subject=subject,
            service=self.service,
            child_id=child_id,
            iro_id=iro_id,
            occurred_at=occurred_at or self.occurred_at or dt.datetime.now(dt.UTC),
            request_id=self.request_id,
        )
        self.recorded.append(pending)
        return pending


def start(request: Request, session: AsyncSession, principal: Principal, *, today: dt.date) -> RequestContext[Any]:
    """The context of `request`, kept on `request.state.context` so the unit of work can append
    what it records. The actor is the token's subject and role (and, for the integration role, the
    case system named by the gateway's `X-Event-Source`)."""
    app = request.app
    context: RequestContext[Any] = RequestContext(
        session=session,
        principal=principal,
        actor=actor_for(principal, request.headers.get(SOURCE_HEADER)),
        today=today,
        calendar=app.state.calendar,
        settings=app.state.settings,
        service=app.state.service,
        request_id=requestid.current(),
    )
    request.state.context = context
    return context


async def get_context(
    request: Request,
    session: Annotated[AsyncSession, Depends(get_session)],
    principal: roles.Caller,
    day: Annotated[dt.date, Depends(today)],
) -> RequestContext[Any]:
    """The dependency: the request's context, after the caller's token (401) and role (403, from the
    route's row in the one role table, shared.roles) are checked."""
    return start(request, session, principal, today=day)


Ctx = Annotated[RequestContext[Any], Depends(get_context)]
