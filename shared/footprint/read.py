"""Reading the footprint: filtered keyset pages, streamed exports (NDJSON, CSV) and summaries."""

from __future__ import annotations

import base64
import binascii
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

EVENTS = Event.__table__
MAX_LIMIT = 500
GROUPS = ("iro", "type", "month")
GroupBy = Literal["iro", "type", "month"]

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


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after_seq": seq}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["after_seq"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidField(("query", "cursor"), "The cursor is not one this API gave out.") from None
    if not isinstance(value, int) or value < 0:
        raise InvalidField(("query", "cursor"), "The cursor is not one this API gave out.")
    return value


@dataclass(frozen=True)
class Page:
    items: list[Row[Any]]
    next_cursor: str | None


async def page(session: AsyncSession, where: EventFilter, *, limit: int = 50) -> Page:
    """One keyset page in `seq` order: stable while events are appended."""
    limit = max(1, min(limit, MAX_LIMIT))
    rows = list((await session.execute(where.select().limit(limit + 1))).all())
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1].seq) if more else None)


async def stream(session: AsyncSession, where: EventFilter, *, batch: int = 1000) -> AsyncIterator[Row[Any]]:
    """Every matching event up to the head as it was when the stream began, in batches by keyset:
    memory stays constant however long the log."""
    head = await session.scalar(select(func.max(Event.seq))) or 0
    after = where.after_seq
    while True:
        query = replace(where, after_seq=after).select().where(Event.seq <= head).limit(batch)
        rows = list((await session.execute(query)).all())
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].seq


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


async def ndjson(session: AsyncSession, where: EventFilter) -> AsyncIterator[bytes]:
    async for event in stream(session, where):
        yield (json.dumps(as_json(event), ensure_ascii=False) + "\n").encode("utf-8")


async def csv_rows(session: AsyncSession, where: EventFilter) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(CSV_COLUMNS)
    yield take()
    async for event in stream(session, where):
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
