"""Composed views: a child's overview and an IRO's worklist, each calling the services at once.

A view degrades clearly when a service is down: the parts that answered, and `missing` naming
the ones that did not, with a 200; never a partial answer that looks whole."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.clients import ServiceClient, ServiceDown
from shared import footprint, requestid
from shared.auth import Principal, require_roles
from shared.clock import today
from shared.db import get_session
from shared.errors import Forbidden, NotFound
from shared.footprint import read
from shared.footprint.models import Event

logger = logging.getLogger("iro.gateway.views")

router = APIRouter(prefix="/v1", tags=["views"])

VIEWERS = require_roles("iro", "manager", "auditor", "admin")


class Part:
    """A call to a service that may not answer."""

    def __init__(self, service: str, status: int | None = None, body: Any = None) -> None:
        self.service, self.status, self.body = service, status, body

    @property
    def answered(self) -> bool:
        return self.status is not None and self.status < 500


async def call(request: Request, principal: Principal, service: str, path: str, **params: Any) -> Part:
    client: ServiceClient = request.app.state.clients[service]
    headers = {"Authorization": f"Bearer {principal.token}"}
    rid = requestid.current()
    if rid:
        headers["X-Request-ID"] = rid
    try:
        reply = await client.get(path, params={k: v for k, v in params.items() if v is not None}, headers=headers)
    except ServiceDown as down:
        logger.warning("view: %s did not answer (%s)", service, "timeout" if down.timed_out else "unreachable")
        return Part(service)
    return Part(service, reply.status, reply.body)


def items(part: Part) -> list[dict[str, Any]]:
    return list(part.body.get("items", [])) if part.answered and isinstance(part.body, dict) else []


class Overview(BaseModel):
    child: dict[str, Any] | None
    current_care_period: dict[str, Any] | None
    iro: dict[str, Any] | None
    next_review: dict[str, Any] | None
    last_review: dict[str, Any] | None
    participation: list[dict[str, Any]]
    open_escalations: list[dict[str, Any]]
    recent_footprint: list[dict[str, Any]]
    missing: list[str] = Field(description="Services that did not answer: their parts are empty, not absent.")


@router.get("/children/{child_id}/overview", response_model=Overview)
async def overview(
    child_id: uuid.UUID,
    request: Request,
    session: Annotated[AsyncSession, Depends(get_session)],
    principal: Principal = Depends(VIEWERS),
) -> Overview:
    """The child, current care period, IRO, next and last review, participation history, open
    escalations and recent footprint. Opening it is itself recorded (`child.record_viewed`)."""
    cid = str(child_id)
    child, reviews, participation, escalations = await asyncio.gather(
        call(request, principal, "reviews", f"/v1/children/{cid}"),
        call(request, principal, "reviews", f"/v1/children/{cid}/reviews", limit=500),
        call(request, principal, "participation", "/v1/participation", child_id=cid, limit=500),
        call(request, principal, "escalations", "/v1/escalations", child_id=cid, status="open", limit=500),
    )
    if child.status == 404:
        raise NotFound(f"No child {cid}.")
    child_body = child.body if child.answered and child.status == 200 else None
    iro_part = None
    if child_body and child_body.get("iro_id"):
        iro_part = await call(request, principal, "reviews", f"/v1/iros/{child_body['iro_id']}")
    missing = sorted(
        {p.service for p in (child, reviews, participation, escalations, iro_part) if p and not p.answered}
    )
    review_items = items(reviews)
    upcoming = sorted((r for r in review_items if r["status"] in ("scheduled", "overdue")), key=lambda r: r["due_on"])
    held = sorted((r for r in review_items if r["status"] == "held"), key=lambda r: r["held_on"])
    recent = await recent_footprint(request, child_id)
    await footprint.append(
        session,
        type="child.record_viewed",
        actor=footprint.actor_for(principal),
        subject=footprint.Subject("child", child_id),
        payload={"view": "overview", "missing": missing},
        service="gateway",
        child_id=child_id,
        iro_id=uuid.UUID(child_body["iro_id"]) if child_body and child_body.get("iro_id") else None,
    )
    await session.commit()
    return Overview(
        child=child_body,
        current_care_period=child_body.get("current_care_period") if child_body else None,
        iro=iro_part.body if iro_part and iro_part.status == 200 else None,
        next_review=upcoming[0] if upcoming else None,
        last_review=held[-1] if held else None,
        participation=items(participation),
        open_escalations=items(escalations),
        recent_footprint=recent,
        missing=missing,
    )


async def recent_footprint(request: Request, child_id: uuid.UUID) -> list[dict[str, Any]]:
    limit = request.app.state.settings.recent_footprint
    async with request.app.state.audit_sessions() as audit:
        rows = (
            await audit.execute(
                select(read.EVENTS).where(Event.child_id == child_id).order_by(Event.seq.desc()).limit(limit)
            )
        ).all()
    return [read.as_json(row) for row in rows]


class Worklist(BaseModel):
    iro_id: uuid.UUID | None
    as_of: dt.date
    reviews_due: list[dict[str, Any]] = Field(description="Scheduled reviews due in the next 30 days.")
    overdue_reviews: list[dict[str, Any]]
    escalations_awaiting_response: list[dict[str, Any]]
    decisions_past_due: list[dict[str, Any]]
    missing: list[str]


@router.get("/worklist", response_model=Worklist)
async def worklist(
    request: Request,
    day: Annotated[dt.date, Depends(today)],
    principal: Principal = Depends(VIEWERS),
    iro_id: uuid.UUID | None = Query(None, description="Another IRO's worklist (managers); default: the caller's."),
) -> Worklist:
    """What needs the IRO's attention: reviews due in 30 days, overdue reviews, escalations
    awaiting a response, decisions past their due date."""
    me = await call(request, principal, "reviews", "/v1/iros", email=principal.iro_identity)
    my_id = items(me)[0]["id"] if items(me) else None
    if iro_id is None:
        if not me.answered:
            return Worklist(
                iro_id=None, as_of=day, reviews_due=[], overdue_reviews=[], escalations_awaiting_response=[],
                decisions_past_due=[], missing=["reviews"],
            )  # fmt: skip
        if my_id is None:
            raise NotFound(f"No IRO has the email {principal.iro_identity}; name one with `iro_id`.")
        target = my_id
    else:
        target = str(iro_id)
        if "iro" in principal.roles and not principal.has_any({"manager", "admin", "auditor"}) and target != my_id:
            raise Forbidden("An IRO sees their own worklist; managers may name another IRO's.")
    horizon = (day + dt.timedelta(days=30)).isoformat()
    due, overdue, decisions, children, escalations = await asyncio.gather(
        call(request, principal, "reviews", "/v1/reviews", iro_id=target, status="scheduled", due_to=horizon,
             limit=500),
        call(request, principal, "reviews", "/v1/reviews", iro_id=target, status="overdue", limit=500),
        call(request, principal, "reviews", "/v1/decisions", iro_id=target, status="open", due_before=day.isoformat(),
             limit=500),
        call(request, principal, "reviews", "/v1/children", iro_id=target, limit=500),
        call(request, principal, "escalations", "/v1/escalations", status="open", limit=500),
    )  # fmt: skip
    theirs = {c["id"] for c in items(children)}
    raised_by = principal.sub if target == my_id else None  # what the IRO raised, service-wide ones too
    awaiting = [
        e for e in items(escalations)
        if not e.get("responded_on") and (set(e.get("child_ids") or []) & theirs or e.get("raised_by") == raised_by)
    ]  # fmt: skip
    missing = sorted({p.service for p in (due, overdue, decisions, children, escalations) if not p.answered})
    return Worklist(
        iro_id=uuid.UUID(target),
        as_of=day,
        reviews_due=items(due),
        overdue_reviews=items(overdue),
        escalations_awaiting_response=awaiting,
        decisions_past_due=items(decisions),
        missing=missing,
    )
