"""Composed views: a child's overview and an IRO's worklist, each calling the services at once.

A view degrades clearly when a service is down: the parts that answered, and `missing` naming
the ones that did not, with a 200; never a partial answer that looks whole."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.gateway.clients import ServiceClient, ServiceDown
from services.gateway.routes.footprint import EventRead, footprint_reader
from shared import footprint, requestid, roles
from shared.auth import Principal
from shared.clock import today
from shared.context import Ctx
from shared.db import UnitOfWork
from shared.errors import Forbidden, NotFound
from shared.footprint import read
from shared.footprint.models import Event

logger = logging.getLogger("iro.gateway.views")

router = APIRouter(prefix="/v1", tags=["views"], route_class=UnitOfWork)


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


async def known() -> Part:
    """A part already known to have answered (the caller's own IRO record)."""
    return Part("reviews", 200)


def items(part: Part) -> list[dict[str, Any]]:
    return list(part.body.get("items", [])) if part.answered and isinstance(part.body, dict) else []


# --- What the views relay: each service's records, typed as CONTRACT.md names them -------------


class Relayed(BaseModel):
    """A service's record as a view relays it: the contract's fields typed (the gateway imports no
    service, so they are restated here; tests/gateway/test_openapi.py checks them against the
    services' own schemas); a field a service adds passes through."""

    model_config = ConfigDict(extra="allow")


class CarePeriodView(Relayed):
    id: uuid.UUID
    child_id: uuid.UUID
    started_on: dt.date
    legal_status: str = Field(description="An SSDA903 legal status (GET /v1/reference/legal-statuses).")
    placement_type: str | None = Field(description="An SSDA903 placement code (GET /v1/reference/placement-types).")
    ended_on: dt.date | None
    end_reason: str | None
    short_break: bool


class ChildView(Relayed):
    id: uuid.UUID
    la_reference: str
    date_of_birth: dt.date
    display_name: str | None
    sex: str | None
    uasc: bool | None
    eighteenth_birthday: dt.date
    current_care_period: CarePeriodView | None
    iro_id: uuid.UUID | None = Field(description="The IRO allocated today.")


class IroView(Relayed):
    id: uuid.UUID
    name: str
    email: str
    fte: float
    active: bool
    caseload: int
    caseload_per_fte: float
    within_guidance: bool
    band: Literal["below", "within", "above"]


class ReviewView(Relayed):
    id: uuid.UUID
    child_id: uuid.UUID
    care_period_id: uuid.UUID
    sequence: int
    kind: Literal["first", "second", "subsequent"]
    due_on: dt.date
    statutory_due_on: dt.date
    early_reason: str | None
    planned_on: dt.date | None
    status: Literal["scheduled", "overdue", "held", "missed", "cancelled"]
    held_on: dt.date | None
    in_time: bool | None
    late_reason: str | None
    format: str | None = None
    meeting_dates: list[dt.date] | None = None
    venue: str | None = None
    chaired_by_child: str | None = None
    sw_report_received_on: dt.date | None = None
    decisions_issued_on: dt.date | None = None
    record_issued_on: dt.date | None = None
    letter_to_child_sent_on: dt.date | None = None


class DecisionView(Relayed):
    id: uuid.UUID
    review_id: uuid.UUID
    child_id: uuid.UUID
    text: str
    owner: str
    due_on: dt.date
    status: str = Field(description="`open`, `done`, `not_done` or `superseded`.")
    completed_on: dt.date | None


class ParentView(Relayed):
    relationship: str
    participation: str


class ParticipationView(Relayed):
    review_id: uuid.UUID
    child_id: uuid.UUID
    review_date: dt.date
    code: str = Field(description="PN0-PN7 (GET /v1/reference/participation-codes).")
    methods: list[str]
    met_iro_before: bool | None
    interpreter_used: bool | None
    parents: list[ParentView]
    recorded_at: dt.datetime
    recorded_by: str


class EscalationStageView(Relayed):
    stage: int
    name: str
    entered_on: dt.date
    response_due_on: dt.date
    responded_on: dt.date | None


class EscalationView(Relayed):
    id: uuid.UUID
    kind: Literal["alert", "formal"]
    scope: Literal["child", "children", "service"]
    child_ids: list[uuid.UUID]
    category: str
    team: str
    summary: str
    raised_on: dt.date
    raised_by: str | None = None
    status: str = Field(description="`open`, `resolved`, `withdrawn` or `referred_to_cafcass`.")
    stage: int
    stage_name: str
    response_due_on: dt.date
    responded_on: dt.date | None = None
    overdue: bool
    stages: list[EscalationStageView]


class Overview(BaseModel):
    child: ChildView | None
    current_care_period: CarePeriodView | None
    iro: IroView | None
    next_review: ReviewView | None
    last_review: ReviewView | None
    participation: list[ParticipationView]
    open_escalations: list[EscalationView]
    recent_footprint: list[EventRead]
    missing: list[str] = Field(description="Services that did not answer: their parts are empty, not absent.")


@router.get("/children/{child_id}/overview", response_model=Overview)
async def overview(
    child_id: uuid.UUID,
    request: Request,
    ctx: Ctx,
) -> Overview:
    """The child, current care period, IRO, next and last review, participation history, open
    escalations and recent footprint. Opening it is itself recorded (`child.record_viewed`)."""
    principal = ctx.principal
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
    ctx.record(
        footprint.events.ChildRecordViewed(view="overview", missing=missing),
        subject=footprint.Subject("child", child_id),
        child_id=child_id,
        iro_id=uuid.UUID(child_body["iro_id"]) if child_body and child_body.get("iro_id") else None,
    )
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
    async with footprint_reader(request.app) as audit:
        rows = (
            await audit.execute(
                select(read.EVENTS).where(Event.child_id == child_id).order_by(Event.seq.desc()).limit(limit)
            )
        ).all()
    return [read.as_json(row) for row in rows]


class Worklist(BaseModel):
    iro_id: uuid.UUID | None
    as_of: dt.date
    reviews_due: list[ReviewView] = Field(description="Scheduled reviews due in the next 30 days.")
    overdue_reviews: list[ReviewView]
    escalations_awaiting_response: list[EscalationView]
    decisions_past_due: list[DecisionView]
    missing: list[str] = Field(description="Services that did not answer: their parts are empty, not absent.")


@router.get(
    "/worklist",
    response_model=Worklist,
    responses={404: {"description": "No IRO has the caller's email, or none has the `iro_id` named."}},
)
async def worklist(
    request: Request,
    day: Annotated[dt.date, Depends(today)],
    principal: Principal = Depends(roles.caller),
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
    # A named IRO must exist: an unknown id is a 404, never a worklist that looks empty.
    named = call(request, principal, "reviews", f"/v1/iros/{target}") if target != my_id else None
    due, overdue, decisions, children, escalations, found = await asyncio.gather(
        call(request, principal, "reviews", "/v1/reviews", iro_id=target, status="scheduled", due_to=horizon,
             limit=500),
        call(request, principal, "reviews", "/v1/reviews", iro_id=target, status="overdue", limit=500),
        # Past due as the reviews service judges it (rules.decision_past_due), never a second copy here.
        call(request, principal, "reviews", "/v1/decisions", iro_id=target, past_due="true", limit=500),
        call(request, principal, "reviews", "/v1/children", iro_id=target, limit=500),
        call(request, principal, "escalations", "/v1/escalations", status="open", limit=500),
        named if named is not None else known(),
    )  # fmt: skip
    if found.status == 404:
        raise NotFound(f"No IRO {target}.")
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
