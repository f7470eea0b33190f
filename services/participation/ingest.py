"""Ingested events applied by the participation service (its batch command path,
`POST /v1/ingest/participation`): a `review.held` event's `participation_code`, once the reviews
service has held the review (the gateway names it in the command's `target`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import select

from services.participation import service
from services.participation.consumers import consumer_of
from services.participation.models import Participation
from services.participation.schemas import ParticipationIn
from shared import roles
from shared.context import RequestContext
from shared.errors import InvalidField
from shared.footprint.consumer import Consumer
from shared.ingest.commands import Command, CommandBatch, CommandResults
from shared.ingest.runner import Applied, Handler, rebuild, run


async def review_held(ctx: RequestContext[Any], event: Any, command: Command, *, consumer: Consumer) -> Applied:
    """Record the code of the review the reviews service held for this event; a review already
    coded (by an IRO) keeps its record (`duplicate`)."""
    review_id = (command.target or {}).get("review_id")
    if review_id is None:
        raise InvalidField(["target", "review_id"], "The review held for this event is not named.")
    target = {"review_id": review_id}
    if event.participation_code is None:
        return Applied(target, duplicate=True, note="The event carries no participation code.")
    rid = uuid.UUID(review_id)
    if await ctx.session.scalar(select(Participation.review_id).where(Participation.review_id == rid)):
        return Applied(target, duplicate=True, note="The review's participation is already recorded.")
    body = rebuild(ParticipationIn, {"code": event.participation_code})
    await service.put_record(ctx, consumer=consumer, review_id=rid, body=body)
    return Applied(target)


def handlers(app: FastAPI) -> dict[str, Handler]:
    """Every event type this service applies, bound to the app's consumer of review facts."""

    async def held(ctx: RequestContext[Any], event: Any, command: Command) -> Applied:
        return await review_held(ctx, event, command, consumer=consumer_of(app))

    return {"review.held": held}


router = APIRouter(prefix="/v1", tags=["ingest"])


@router.post("/ingest/participation")
async def apply_events(batch: CommandBatch, request: Request, principal: roles.Caller) -> CommandResults:
    """Internal (only the gateway calls it): record ingested reviews' participation codes, in order,
    one savepoint each, in one transaction (shared.ingest.runner)."""
    return await run(request, principal, batch, handlers(request.app), schema="participation")
