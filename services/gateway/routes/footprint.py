"""The auditors' footprint API: filtered keyset reads, verification, streamed exports, summaries.

Reads go through the read-only database role (`<prefix>_auditor`), each after chaining every event
committed before it (an event appended while another transaction held the footprint's lock waits
in `footprint.pending` for milliseconds: docs/footprint.md, "Order")."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer
from sqlalchemy.ext.asyncio import AsyncSession

from shared import roles
from shared.auth import Principal
from shared.errors import InvalidField
from shared.footprint import read, sequencer
from shared.footprint import verify as verifying
from shared.pagination import CURSOR_MAX_LENGTH, cursor_secret
from shared.types import Date, Line, PositiveSeq, Seq, Timestamp

router = APIRouter(prefix="/v1/footprint", tags=["footprint"])


@contextlib.asynccontextmanager
async def footprint_reader(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session reading the footprint as the read-only auditor role, opened once every event
    committed before it has its place in the log (shared.footprint.sequencer: chained by the
    gateway's own role, which may call `footprint.sequence`)."""
    async with app.state.audit_sessions() as session:
        await sequencer.sequence_pending(session, sessions=app.state.sessions)
        yield session


async def audit_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with footprint_reader(request.app) as session:
        yield session


AuditSession = Annotated[AsyncSession, Depends(audit_session)]


class Actor(BaseModel):
    """As stored and hashed: `source` only on a case system's events (absent, not null, otherwise),
    the same object the export and the overview carry."""

    sub: str
    role: str
    source: str | None = None

    @model_serializer(mode="wrap")
    def _as_stored(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]  # keeps the schema
        shape = handler(self)
        if shape.get("source") is None:
            shape.pop("source", None)
        return shape


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
    complete: bool = Field(
        description="False when the range was longer than one call checks (`GATEWAY_VERIFY_MAX_EVENTS`): "
        "what was checked is `ok`, and the rest is checked from `next_from_seq`."
    )
    next_from_seq: int | None = Field(description="Where to continue (`from_seq`) when not `complete`.")


class SummaryRead(BaseModel):
    group_by: list[str]
    include_access: bool
    items: list[dict[str, Any]]


def day_start(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC) if day else None


def day_end(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC) if day else None


def event_filter(
    request: Request,
    child_id: uuid.UUID | None = None,
    iro_id: uuid.UUID | None = None,
    actor: Line | None = Query(None, description="An actor's subject (`sub`)."),
    type: list[Line] = Query(
        [], max_length=100, description="Event types; repeat for several (e.g. `child.record_viewed`)."
    ),
    service: Line | None = None,
    start: Date | None = Query(None, alias="from", description="`occurred_at` on or after this day (UTC), YYYY-MM-DD."),
    end: Date | None = Query(None, alias="to", description="`occurred_at` on or before this day (UTC), YYYY-MM-DD."),
    recorded_from: Timestamp | None = Query(None, description="`recorded_at` at or after (RFC 3339, with a zone)."),
    recorded_to: Timestamp | None = Query(None, description="`recorded_at` at or before (RFC 3339, with a zone)."),
    after_seq: Seq | None = Query(None, description="Events after this seq (0 to 2**63 - 1)."),
    cursor: str | None = Query(
        None, max_length=CURSOR_MAX_LENGTH, description="The `next_cursor` of the previous page (opaque, signed)."
    ),
) -> read.EventFilter:
    """The filters of `GET /v1/footprint` and its export, every value checked before a query runs:
    422 naming the parameter for a value out of its type's range, a cursor this API did not give
    out, or `after_seq` and `cursor` together."""
    if after_seq is not None and cursor:
        raise InvalidField(("query", "cursor"), "Send `after_seq` or `cursor`, not both.")
    if start and end and end < start:
        raise InvalidField(("query", "to"), "`to` is before `from`.")
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
        after_seq=read.decode_cursor(cursor, secret=cursor_secret(request)) if cursor else (after_seq or 0),
    )


Filter = Annotated[read.EventFilter, Depends(event_filter)]


@router.get("", response_model=EventPage)
async def list_events(
    request: Request,
    session: AuditSession,
    where: Filter,
    _: Principal = Depends(roles.caller),
    limit: int = Query(50, ge=1, le=500),
) -> Response:
    """Events in `seq` order, filtered; keyset pages stable while events are appended."""
    found = await read.page(session, where, limit=limit, secret=cursor_secret(request))
    body = {"items": [read.as_json(row) for row in found.items], "next_cursor": found.next_cursor}
    # `read.as_json` already gives `EventPage`'s shape (tests/gateway hold them equal): encoded as it
    # is, not validated into the model and dumped again, which cost more CPU than the query.
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False), media_type="application/json")


@router.get("/verify", response_model=VerifyRead)
async def verify_chain(
    request: Request,
    session: AuditSession,
    _: Principal = Depends(roles.caller),
    from_seq: PositiveSeq | None = Query(None, description="First seq to check; at most the head + 1."),
    to_seq: PositiveSeq | None = Query(None, description="Last seq to check (default and at most: the head)."),
) -> VerifyRead:
    """Recompute the hash chain; `first_bad_seq` names the first event changed, removed or reordered.
    422 on `to_seq` when it is before `from_seq`, on `from_seq` when it is more than one past the
    head (`head + 1` checks nothing: an auditor polling from their last seen event gets `checked: 0`).
    One call checks at most `GATEWAY_VERIFY_MAX_EVENTS` (1,000,000): a longer chain answers
    `complete: false` and `next_from_seq`; call again from there until `complete`."""
    limit = request.app.state.settings.verify_max_events
    result = await verifying.verify(session, from_seq=from_seq, to_seq=to_seq, max_events=limit)
    return VerifyRead(**result.__dict__, complete=result.complete)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export(request: Request, where: Filter, _: Principal = Depends(roles.caller)) -> StreamingResponse:
    """Every matching event, streamed: NDJSON, or CSV with `Accept: text/csv`. Constant memory.

    The filters are checked and the first batch read before the status line goes, so a bad value is
    a 422 and a database failure a 5xx, never a 200 with nothing after it. A complete export ends
    with a trailer (`{"complete": true, "count": N, "head_seq": H}`, or the CSV row
    `#complete,count=N,head_seq=H`); a failure later aborts the response without it (and without
    the chunked encoding's last chunk), so the client can tell the export is incomplete."""
    as_csv = "text/csv" in request.headers.get("accept", "")
    # Its own session: the stream outlives the request's dependencies. Closed when the body ends.
    resources = contextlib.AsyncExitStack()
    session = await resources.enter_async_context(footprint_reader(request.app))
    try:
        chunks = await (read.csv_rows(session, where) if as_csv else read.ndjson(session, where))
    except BaseException:
        await resources.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        async with resources:
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
    _: Principal = Depends(roles.caller),
    start: Date | None = Query(None, alias="from", description="`occurred_at` on or after this day (UTC)."),
    end: Date | None = Query(None, alias="to", description="`occurred_at` on or before this day (UTC)."),
    group_by: list[Line] = Query(
        ["type"], max_length=10, description="Any of `iro`, `type`, `month`; repeat or comma-separate."
    ),
    include_access: bool = Query(False, description="Count `child.record_viewed` access events too."),
) -> SummaryRead:
    """Counts of events by IRO, type and month (combinable); access events apart unless asked for."""
    if start and end and end < start:
        raise InvalidField(("query", "to"), "`to` is before `from`.")
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
