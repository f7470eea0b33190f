"""Reading the footprint: filtered keyset pages, streamed exports (NDJSON, CSV) and summaries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidField
from shared.footprint import canonical
from shared.footprint.models import ACCESS_TYPES, Event
from shared.pagination import NOT_OURS, seal, unseal
from shared.types import INT64_MAX

EVENTS = Event.__table__
MAX_LIMIT = 500
GROUPS = ("iro", "type", "month")
GroupBy = Literal["iro", "type", "month"]
CSV_TRAILER = "#complete"

CSV_COLUMNS = (
    "seq", "id", "type", "occurred_at", "recorded_at", "service", "actor_sub", "actor_role", "actor_source",
    "child_id", "iro_id", "subject_type", "subject_id", "payload", "request_id", "prev_hash", "hash",
)  # fmt: skip


@dataclass(frozen=True)
class EventFilter:
    """What an auditor asks for. Every field narrows; none set means the whole log."""

    child_id: uuid.UUID | None = None
    iro_id: uuid.UUID | None = None
    actor: str | None = None
    types: tuple[str, ...] = ()
    service: str | None = None
    occurred_from: dt.datetime | None = None
    occurred_to: dt.datetime | None = None
    recorded_from: dt.datetime | None = None
    recorded_to: dt.datetime | None = None
    after_seq: int = 0
    include_access: bool = True
    exclude_types: tuple[str, ...] = field(default=())

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.after_seq:
            conditions.append(Event.seq > self.after_seq)
        if self.child_id:
            conditions.append(Event.child_id == self.child_id)
        if self.iro_id:
            conditions.append(Event.iro_id == self.iro_id)
        if self.actor:
            conditions.append(Event.actor["sub"].astext == self.actor)
        if self.types:
            conditions.append(Event.type.in_(self.types))
        excluded = set(self.exclude_types) | (set() if self.include_access else set(ACCESS_TYPES))
        if excluded:
            conditions.append(Event.type.not_in(sorted(excluded)))
        if self.service:
            conditions.append(Event.service == self.service)
        if self.occurred_from:
            conditions.append(Event.occurred_at >= self.occurred_from)
        if self.occurred_to:
            conditions.append(Event.occurred_at <= self.occurred_to)
        if self.recorded_from:
            conditions.append(Event.recorded_at >= self.recorded_from)
        if self.recorded_to:
            conditions.append(Event.recorded_at <= self.recorded_to)
        return conditions

    def select(self) -> Select[Any]:
        """Rows (not ORM objects: nothing collects in the session's identity map) in `seq` order."""
        return select(EVENTS).where(and_(True, *self.conditions())).order_by(Event.seq)


CURSOR_SCOPE = "footprint"  # one cursor kind for the page and the export (`GET /v1/footprint*`)


def encode_cursor(seq: int, *, secret: str) -> str:
    """The signed, opaque cursor of the page after `seq` (see `shared.pagination.seal`)."""
    return seal({"after_seq": seq}, secret=secret, scope=CURSOR_SCOPE)


def decode_cursor(cursor: str, *, secret: str) -> int:
    """The `after_seq` an `encode_cursor` cursor carries.

    Raises `InvalidField` (422 on `["query", "cursor"]`) for anything this API did not give out."""
    value = unseal(cursor, secret=secret, scope=CURSOR_SCOPE)
    after = value.get("after_seq") if isinstance(value, dict) else None
    if type(after) is not int or not 0 <= after <= INT64_MAX:
        raise InvalidField(("query", "cursor"), NOT_OURS)
    return after


@dataclass(frozen=True)
class Page:
    items: list[Row[Any]]
    next_cursor: str | None


async def page(session: AsyncSession, where: EventFilter, *, secret: str, limit: int = 50) -> Page:
    """One keyset page in `seq` order (`limit` 1 to 500), stable while events are appended; its
    `next_cursor` is signed with `secret` (`IRO_CURSOR_SECRET`), or None on the last page."""
    limit = max(1, min(limit, MAX_LIMIT))
    rows = list((await session.execute(where.select().limit(limit + 1))).all())
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1].seq, secret=secret) if more else None)


async def stream(session: AsyncSession, where: EventFilter, *, batch: int = 1000) -> Rows:
    """Every matching event up to the head as it was when the stream began, in `seq` order, read in
    keyset batches of `batch`: memory stays constant however long the log.

    The head and the first batch are read before this returns, so a failure there (a bad value,
    the database down) raises to the caller while it can still answer with an error; later batches
    are read as the returned `Rows` is iterated, and a failure then raises from the iteration."""
    head = int(await session.scalar(select(func.coalesce(func.max(Event.seq), 0))) or 0)
    rows = Rows(session, where, head=head, batch=batch)
    await rows.fetch()
    return rows


class Rows:
    """The rows of one `stream`: iterate once. `head_seq` is the head it stops at; `count` how many
    rows it has given so far."""

    def __init__(self, session: AsyncSession, where: EventFilter, *, head: int, batch: int) -> None:
        self.session, self.where, self.head_seq, self.batch = session, where, head, batch
        self.count = 0
        self._after = where.after_seq
        self._pending: list[Row[Any]] = []
        self._done = False

    async def fetch(self) -> None:
        query = replace(self.where, after_seq=self._after).select().where(Event.seq <= self.head_seq).limit(self.batch)
        self._pending = list((await self.session.execute(query)).all())
        self._done = len(self._pending) < self.batch
        if self._pending:
            self._after = self._pending[-1].seq

    def __aiter__(self) -> AsyncIterator[Row[Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Row[Any]]:
        while True:
            for row in self._pending:
                self.count += 1
                yield row
            if self._done:
                return
            await self.fetch()


def as_json(event: Row[Any] | Event) -> dict[str, Any]:
    """The API shape of an event (CONTRACT.md): timestamps RFC 3339 UTC, uuids as strings."""
    return {
        "seq": event.seq,
        "id": str(event.id),
        "type": event.type,
        "occurred_at": canonical.timestamp(event.occurred_at),
        "recorded_at": canonical.timestamp(event.recorded_at),
        "service": event.service,
        "actor": event.actor,
        "child_id": str(event.child_id) if event.child_id else None,
        "iro_id": str(event.iro_id) if event.iro_id else None,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "payload": event.payload,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def trailer(rows: Rows) -> dict[str, Any]:
    """The last record of a complete export: `{"complete": true, "count": N, "head_seq": H}`."""
    return {"complete": True, "count": rows.count, "head_seq": rows.head_seq}


async def ndjson(session: AsyncSession, where: EventFilter, *, batch: int = 1000) -> AsyncIterator[bytes]:
    """The NDJSON export: one event per line (`as_json`), then the `trailer` line. The first batch
    is read before this returns (see `stream`); a failure later raises from the iteration before
    the trailer, so an export without its trailer is incomplete (docs/footprint.md)."""
    rows = await stream(session, where, batch=batch)

    async def lines() -> AsyncIterator[bytes]:
        async for event in rows:
            yield (json.dumps(as_json(event), ensure_ascii=False) + "\n").encode("utf-8")
        yield (json.dumps(trailer(rows)) + "\n").encode("utf-8")

    return lines()


async def csv_rows(session: AsyncSession, where: EventFilter, *, batch: int = 1000) -> AsyncIterator[bytes]:
    """The CSV export: a header row (`CSV_COLUMNS`), one row per event, then the trailer row
    `#complete,count=N,head_seq=H`. Read and fails like `ndjson`."""
    rows = await stream(session, where, batch=batch)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    async def lines() -> AsyncIterator[bytes]:
        writer.writerow(CSV_COLUMNS)
        yield take()
        async for event in rows:
            row = as_json(event)
            actor = row.pop("actor")
            row.update(
                actor_sub=actor.get("sub"),
                actor_role=actor.get("role"),
                actor_source=actor.get("source"),
                payload=canonical.dumps(row["payload"]),
            )
            writer.writerow(["" if row[column] is None else row[column] for column in CSV_COLUMNS])
            yield take()
        writer.writerow([CSV_TRAILER, f"count={rows.count}", f"head_seq={rows.head_seq}"])
        yield take()

    return lines()


async def summary(
    session: AsyncSession,
    *,
    group_by: Sequence[GroupBy],
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    include_access: bool = False,
) -> list[dict[str, Any]]:
    """Counts of events grouped by any of IRO, type and month (of `occurred_at`, UTC).
    Access events are left out unless asked for."""
    unknown = [group for group in group_by if group not in GROUPS]
    if unknown:
        raise InvalidField(("query", "group_by"), f"Group by any of {', '.join(GROUPS)}; not {unknown[0]!r}.")
    groups = list(dict.fromkeys(group_by))
    columns: dict[str, Any] = {
        "iro": Event.iro_id,
        "type": Event.type,
        "month": func.to_char(func.timezone("UTC", Event.occurred_at), "YYYY-MM"),
    }
    where = EventFilter(occurred_from=occurred_from, occurred_to=occurred_to, include_access=include_access)
    selected = [columns[group].label(f"g_{group}") for group in groups]
    query = select(*selected, func.count().label("count")).where(and_(True, *where.conditions()))
    if selected:
        query = query.group_by(*selected).order_by(*selected)
    out = []
    for row in (await session.execute(query)).all():
        item: dict[str, Any] = {}
        for group in groups:
            value = getattr(row, f"g_{group}")
            key = "iro_id" if group == "iro" else group
            item[key] = str(value) if isinstance(value, uuid.UUID) else value
        item["count"] = row.count
        out.append(item)
    return out
