"""The auditors' footprint API: filtered keyset reads, verification, streamed exports, summaries.

Reads go through the read-only database role (`<prefix>_auditor`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, require_roles
from shared.errors import InvalidField
from shared.footprint import read
from shared.footprint import verify as verifying

router = APIRouter(prefix="/v1/footprint", tags=["footprint"])

AUDITORS = require_roles("manager", "auditor", "admin")


async def audit_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.audit_sessions() as session:
        yield session


AuditSession = Annotated[AsyncSession, Depends(audit_session)]


class Actor(BaseModel):
    sub: str
    role: str
    source: str | None = None


class EventRead(BaseModel):
    seq: int
    id: uuid.UUID
    type: str
    occurred_at: str
    recorded_at: str
    service: str
    actor: Actor
    child_id: uuid.UUID | None
    iro_id: uuid.UUID | None
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    request_id: str | None
    prev_hash: str
    hash: str


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None


class VerifyRead(BaseModel):
    ok: bool
    checked: int
    head_seq: int | None
    head_hash: str | None
    first_bad_seq: int | None
    problem: str | None = None


class SummaryRead(BaseModel):
    group_by: list[str]
    include_access: bool
    items: list[dict[str, Any]]


def day_start(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC) if day else None


def day_end(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC) if day else None


def event_filter(
    child_id: uuid.UUID | None = None,
    iro_id: uuid.UUID | None = None,
    actor: str | None = Query(None, description="An actor's subject (`sub`)."),
    type: list[str] = Query([], description="Event types; repeat for several (e.g. `child.record_viewed`)."),
    service: str | None = None,
    start: dt.date | None = Query(None, alias="from", description="`occurred_at` on or after this day (UTC)."),
    end: dt.date | None = Query(None, alias="to", description="`occurred_at` on or before this day (UTC)."),
    recorded_from: dt.datetime | None = Query(None, description="`recorded_at` at or after (RFC 3339)."),
    recorded_to: dt.datetime | None = Query(None, description="`recorded_at` at or before (RFC 3339)."),
    after_seq: int | None = Query(None, ge=0, description="Events after this seq."),
    cursor: str | None = Query(None, description="The `next_cursor` of the previous page."),
) -> read.EventFilter:
    if after_seq is not None and cursor:
        raise InvalidField(("query", "cursor"), "Send `after_seq` or `cursor`, not both.")
    for name, value in (("recorded_from", recorded_from), ("recorded_to", recorded_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidField(("query", name), f"{name} needs a time zone (e.g. 2022-01-20T10:00:00Z).")
    return read.EventFilter(
        child_id=child_id,
        iro_id=iro_id,
        actor=actor,
        types=tuple(type),
        service=service,
        occurred_from=day_start(start),
        occurred_to=day_end(end),
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        after_seq=read.decode_cursor(cursor) if cursor else (after_seq or 0),
    )


Filter = Annotated[read.EventFilter, Depends(event_filter)]


@router.get("", response_model=EventPage)
async def list_events(
    session: AuditSession,
    where: Filter,
    _: Principal = Depends(AUDITORS),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Events in `seq` order, filtered; keyset pages stable while events are appended."""
    found = await read.page(session, where, limit=limit)
    return {"items": [read.as_json(row) for row in found.items], "next_cursor": found.next_cursor}


@router.get("/verify", response_model=VerifyRead)
async def verify_chain(
    session: AuditSession,
    _: Principal = Depends(AUDITORS),
    from_seq: int | None = Query(None, ge=1),
    to_seq: int | None = Query(None, ge=1),
) -> VerifyRead:
    """Recompute the hash chain; `first_bad_seq` names the first event changed, removed or reordered."""
    result = await verifying.verify(session, from_seq=from_seq, to_seq=to_seq)
    return VerifyRead(**result.__dict__)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export(request: Request, where: Filter, _: Principal = Depends(AUDITORS)) -> StreamingResponse:
    """Every matching event, streamed: NDJSON, or CSV with `Accept: text/csv`. Constant memory."""
    as_csv = "text/csv" in request.headers.get("accept", "")
    sessions = request.app.state.audit_sessions

    async def body() -> AsyncIterator[bytes]:
        # Its own session: the stream outlives the request's dependencies.
        async with sessions() as session:
            chunks = read.csv_rows(session, where) if as_csv else read.ndjson(session, where)
            async for chunk in chunks:
                yield chunk

    media = "text/csv; charset=utf-8" if as_csv else "application/x-ndjson"
    filename = "footprint.csv" if as_csv else "footprint.ndjson"
    return StreamingResponse(
        body(), media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/summary", response_model=SummaryRead)
async def summary(
    session: AuditSession,
    _: Principal = Depends(AUDITORS),
    start: dt.date | None = Query(None, alias="from"),
    end: dt.date | None = Query(None, alias="to"),
    group_by: list[str] = Query(["type"], description="Any of `iro`, `type`, `month`; repeat or comma-separate."),
    include_access: bool = Query(False, description="Count `child.record_viewed` access events too."),
) -> SummaryRead:
    """Counts of events by IRO, type and month (combinable); access events apart unless asked for."""
    groups: list[Any] = []
    for value in group_by:
        groups.extend(part.strip() for part in value.split(",") if part.strip())
    items = await read.summary(
        session,
        group_by=groups,
        occurred_from=day_start(start),
        occurred_to=day_end(end),
        include_access=include_access,
    )
    return SummaryRead(group_by=groups, include_access=include_access, items=items)
