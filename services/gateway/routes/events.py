"""`POST /v1/events` (case systems' events in), the inbox (`GET /v1/inbox`, `GET /v1/inbox/{id}`) and
`POST /v1/inbox/{id}/replay` (admin). The pipeline is services.gateway.ingest; docs/integration.md
is the integrator's guide."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.gateway import ingest
from services.gateway.models import Inbox
from services.gateway.settings import Settings
from shared import errors, idempotency, roles
from shared.ingest import envelope
from shared.ingest.data import DATA_MODELS
from shared.ingest.errors import BodyCleared, UnsupportedContentType
from shared.pagination import Page, PageParams, paginate
from shared.types import Line, Timestamp

router = APIRouter(prefix="/v1", tags=["ingest"])

Status = Literal["accepted", "duplicate", "rejected"]

_EVENT = {
    "specversion": "1.0",
    "id": "b7c1e2f0-5f0a-4c55-9a39-0d6f7e1b2c3d",
    "source": "mosaic",
    "type": "review.held",
    "time": "2026-02-03T10:00:00Z",
    "datacontenttype": "application/json",
    "data": {"la_reference": "LA000123", "held_on": "2026-02-03", "format": "in_person", "participation_code": "PN1"},
}
_REGISTERED = {
    "specversion": "1.0",
    "id": "8d0f5c3a-1b7e-4e0c-9a51-2f3c4d5e6f70",
    "source": "mosaic",
    "type": "child.registered",
    "time": "2026-01-05T09:00:00Z",
    "data": {"la_reference": "LA000123", "date_of_birth": "2014-05-01", "sex": "female"},
}
_CLOUDEVENT_SCHEMA = {
    "type": "object",
    "required": ["specversion", "id", "source", "type", "data"],
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {"type": "string", "minLength": 1, "maxLength": 255},
        "source": {"type": "string", "minLength": 1, "maxLength": 255},
        "type": {"type": "string", "enum": sorted(DATA_MODELS)},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"type": "string"},
        "data": {"type": "object", "description": "By type: CONTRACT.md and docs/integration.md."},
    },
}
REQUEST_BODY = {
    "required": True,
    "description": "One CloudEvent 1.0 (structured JSON) or a batch (a JSON array of them), signed with the "
    "Standard Webhooks headers `webhook-id`, `webhook-timestamp`, `webhook-signature`.",
    "content": {
        envelope.SINGLE: {"schema": _CLOUDEVENT_SCHEMA, "example": _EVENT},
        envelope.BATCH: {
            "schema": {"type": "array", "items": _CLOUDEVENT_SCHEMA, "maxItems": 10_000},
            "example": [_REGISTERED, _EVENT],
        },
    },
}
SIGNATURE_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
     "description": "Standard Webhooks: the message id (signed)."},
    {"name": "webhook-timestamp", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 20},
     "description": "Standard Webhooks: Unix seconds; more than 5 minutes from now is refused."},
    {"name": "webhook-signature", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 2000},
     "description": "Standard Webhooks: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space-separated."},
]  # fmt: skip


class EventResult(BaseModel):
    id: str | None = Field(description="The event's `id` (null when it had none).")
    inbox_id: uuid.UUID = Field(description="The inbox row keeping the event (the first copy's for a duplicate).")
    status: Status
    problem: dict[str, Any] | None = Field(description="Why it was rejected: an RFC 9457 problem naming the field.")
    warnings: list[dict[str, Any]] = Field(description="Accepted with reservations (e.g. a refused PN code).")
    note: str | None = Field(description="Why a duplicate is one.")


class EventResults(BaseModel):
    results: list[EventResult] = Field(description="One per event, in the order sent.")


class InboxItem(BaseModel):
    id: uuid.UUID
    source: str
    event_id: str | None
    type: str | None
    status: Literal["received", "accepted", "duplicate", "rejected"] = Field(
        description="`received`: stored, not yet applied (a request stopped by an outage; replay it)."
    )
    problem: dict[str, Any] | None
    warnings: list[dict[str, Any]]
    note: str | None
    target: dict[str, str] | None = Field(description="The ids it was applied to (child, care period, review).")
    attempt: int = Field(description="1, plus one per replay of a rejected event.")
    received_at: dt.datetime
    received_by: str
    applied_at: dt.datetime | None
    body_cleared_at: dt.datetime | None


class InboxEvent(InboxItem):
    body: Any = Field(description="The event as received (null once cleared after the retention period).")


class ReplayResult(BaseModel):
    inbox_id: uuid.UUID
    status: Status
    replayed: bool = Field(description="false when the event was already applied: nothing changed.")
    problem: dict[str, Any] | None
    warnings: list[dict[str, Any]]
    note: str | None


async def answer(request: Request, model: BaseModel) -> JSONResponse:
    """The answer, kept on the request's `Idempotency-Key` (if any) before it is sent, as a unit of
    work does: a retry that arrives the moment this answer does is replayed it, never told 409."""
    response = JSONResponse(model.model_dump(mode="json"))
    async with request.app.state.sessions() as session:
        await idempotency.keep_response(session, response)
        await session.commit()
    return response


def _item(row: Inbox) -> dict[str, Any]:
    return {name: getattr(row, name) for name in InboxItem.model_fields}


@router.post(
    "/events",
    response_model=EventResults,
    openapi_extra={"requestBody": REQUEST_BODY, "parameters": SIGNATURE_HEADERS},
    responses={415: {"description": "Not a CloudEvents JSON content type."}},
)
async def receive_events(request: Request, principal: roles.Caller) -> JSONResponse:
    """Events from a case system (CONTRACT.md, "Events from case systems"): stored in the inbox, then
    applied in order; each `accepted`, `duplicate` or `rejected` with a problem naming the field.
    401 for a bad or stale signature and 422 for a batch naming two sources, storing nothing; 503
    when a service is down (the events not yet applied stay in the inbox; retry)."""
    settings: Settings = request.app.state.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (envelope.SINGLE, envelope.BATCH):
        raise UnsupportedContentType(
            f"Send {envelope.SINGLE} (one event) or {envelope.BATCH} (a JSON array of events), not {content_type!r}."
        )
    body = await request.body()
    try:
        elements = envelope.elements(body, batch=content_type == envelope.BATCH)
    except envelope.BodyUnreadable as unreadable:
        raise errors.BadRequest(str(unreadable)) from None
    if not elements:
        raise errors.InvalidField(["body"], "A batch holds at least one event.")
    ingest.check_count(settings, elements)
    source = ingest.source_of_request(elements)
    ingest.check_signature(settings, source, body, dict(request.headers))
    async with request.app.state.sessions() as session:
        outcomes = await ingest.store(session, elements, source=source, principal=principal, settings=settings)
    await ingest.apply(request.app, principal, source, outcomes)
    return await answer(request, EventResults(results=[EventResult(**o.result()) for o in outcomes]))


@router.get("/inbox")
async def list_inbox(
    request: Request,
    _: roles.Caller,
    pages: Annotated[PageParams, Depends()],
    status: Literal["received", "accepted", "duplicate", "rejected"] | None = None,
    source: Line | None = None,
    type: Line | None = Query(None, description="The CloudEvent `type`, e.g. `review.held`."),
    received_from: Timestamp | None = Query(None, description="Received at or after (RFC 3339)."),
    received_to: Timestamp | None = Query(None, description="Received before (RFC 3339)."),
) -> Page[InboxItem]:
    """Events received, in the order received (a request's in the order sent), with their outcomes
    (never their bodies: `GET /v1/inbox/{id}`)."""
    query = select(Inbox)
    if status:
        query = query.where(Inbox.status == status)
    if source:
        query = query.where(Inbox.source == source)
    if type:
        query = query.where(Inbox.type == type)
    if received_from:
        query = query.where(Inbox.received_at >= received_from)
    if received_to:
        query = query.where(Inbox.received_at < received_to)
    async with request.app.state.sessions() as session:
        rows, cursor = await paginate(session, query, keys=[Inbox.seq], params=pages)
    return Page(items=[InboxItem(**_item(row)) for row in rows], next_cursor=cursor)


@router.get("/inbox/{inbox_id}")
async def read_inbox_event(inbox_id: uuid.UUID, request: Request, _: roles.Caller) -> InboxEvent:
    """One event as received (its body until the retention period clears it) and its outcome."""
    async with request.app.state.sessions() as session:
        row = await session.get(Inbox, inbox_id)
    if row is None:
        raise errors.NotFound(f"No inbox event {inbox_id}.")
    return InboxEvent(**_item(row), body=json.loads(row.body) if row.body is not None else None)


@router.post("/inbox/{inbox_id}/replay", response_model=ReplayResult)
async def replay(inbox_id: uuid.UUID, request: Request, principal: roles.Caller) -> JSONResponse:
    """Apply a rejected event again (after its cause is fixed), as a new attempt; an event left
    `received` by an outage is applied as it was. Replaying an accepted or duplicate event changes
    nothing and says so (`replayed: false`)."""
    async with request.app.state.sessions() as session:
        row = await session.scalar(select(Inbox).where(Inbox.id == inbox_id).with_for_update())
        if row is None:
            raise errors.NotFound(f"No inbox event {inbox_id}.")
        if row.status in (ingest.ACCEPTED, ingest.DUPLICATE):
            done = ReplayResult(
                inbox_id=row.id, status=row.status, replayed=False, problem=None, warnings=row.warnings,  # type: ignore[arg-type]
                note=f"The event was already {row.status}: replaying it changes nothing.",
            )  # fmt: skip
            return await answer(request, done)
        if row.body is None:
            raise BodyCleared(
                "The event's body was cleared after the retention period: ask the source to send it again under a "
                "new id (the same id is a duplicate)."
            )
        if row.status == ingest.REJECTED:
            row.attempt += 1
        outcome = ingest.Outcome(inbox_id=row.id, event_id=row.event_id)
        pending = ingest.Pending(outcome, json.loads(row.body), row)
        await ingest.decide(request.app, session, principal, row.source, [pending])
        await session.commit()
    return await answer(request, ReplayResult(
        inbox_id=outcome.inbox_id, status=outcome.status, replayed=True, problem=outcome.problem,  # type: ignore[arg-type]
        warnings=outcome.warnings, note=outcome.note,
    ))  # fmt: skip
