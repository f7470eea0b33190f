"""Keyset pages for every list: `{"items": [...], "next_cursor": "<opaque>" | null}`, `limit` (default 50,
at most 500) and `cursor`. The cursor carries the last row's sort values, so pages stay stable while
rows are added."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidField

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams:
    """The `limit` and `cursor` query parameters, as a dependency."""

    def __init__(
        self,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (at most 500)."),
        cursor: str | None = Query(None, description="The `next_cursor` of the previous page."),
    ) -> None:
        self.limit = limit
        self.cursor = cursor


def _encode_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    return value


_DECODERS: dict[str, Any] = {"u": uuid.UUID, "t": dt.datetime.fromisoformat, "d": dt.date.fromisoformat}


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        ((kind, raw),) = value.items()
        return _DECODERS[kind](raw)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        values = [_decode_value(v) for v in json.loads(raw)]
    except (ValueError, KeyError, TypeError, binascii.Error):
        values = []
    if len(values) != width:
        raise InvalidField(("query", "cursor"), "The cursor is not one this API gave out.")
    return values


async def paginate(
    session: AsyncSession,
    query: Select[Any] | Any,
    *,
    keys: Sequence[ColumnElement[Any] | Any],
    params: PageParams,
) -> tuple[list[Any], str | None]:
    """Rows of `query` ordered by `keys` (ascending; the last must be unique, e.g. the id), one page.

    Returns the rows (scalars when the query selects one thing, else rows whose first element
    holds the keys) and the next cursor."""
    if params.cursor:
        values = decode_cursor(params.cursor, len(keys))
        for value, key in zip(values, keys, strict=True):
            if not isinstance(value, key.type.python_type):
                raise InvalidField(("query", "cursor"), "The cursor is not one this API gave out.")
        query = query.where(tuple_(*keys) > tuple_(*values))
    result = await session.execute(query.order_by(*keys).limit(params.limit + 1))
    single = len(query.column_descriptions) == 1
    rows = list(result.scalars().all()) if single else list(result.all())
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    if not more or not rows:
        return rows, None
    last = rows[-1] if single else rows[-1][0]  # keys belong to the first entity selected
    cursor = encode_cursor([getattr(last, str(key.key)) for key in keys])
    return rows, cursor
