"""Keyset pages for every list: `{"items": [...], "next_cursor": "<opaque>" | null}`, `limit` (default 50,
at most 500) and `cursor`. The cursor carries the last row's sort values, so pages stay stable while
rows are added.

Cursors are the server's own and tamper-evident: `base64url(JSON) "." base64url(MAC)`, the MAC an
HMAC-SHA256 (truncated to 128 bits) under `IRO_CURSOR_SECRET` of the JSON and the list it was given
out for (its path). Anything else (edited, forged, truncated, with junk appended, from another
list) is a 422 naming `["query", "cursor"]`, raised while the parameters are read, before any query.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidField

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_MAX_LENGTH = 2048
NOT_OURS = "The cursor is not one this API gave out for this list."

_MAC_BYTES = 16
_TOKEN = re.compile(r"([A-Za-z0-9_-]{1,4000})\.([A-Za-z0-9_-]{22})")  # 16 bytes: 22 base64url characters


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# --- Signed cursors -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _mac(secret: str, scope: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), f"{scope}\x00{payload}".encode(), hashlib.sha256).digest()
    return _b64(digest[:_MAC_BYTES])


def seal(value: Any, *, secret: str, scope: str) -> str:
    """An opaque cursor carrying `value` (anything JSON can hold), signed for `scope` (the list it
    belongs to, e.g. its path) with `secret`. Returns `<base64url JSON>.<base64url MAC>`."""
    payload = _b64(json.dumps(value, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, scope, payload)}"


def unseal(token: str, *, secret: str, scope: str) -> Any:
    """The value `seal` put in `token` for the same `secret` and `scope`.

    Raises `InvalidField` (422 on `["query", "cursor"]`) for anything `seal` did not make: a bad
    shape, an edited or appended-to token, a forged MAC, another scope's cursor."""
    match = _TOKEN.fullmatch(token)
    if match is None or not hmac.compare_digest(match.group(2), _mac(secret, scope, match.group(1))):
        raise InvalidField(("query", "cursor"), NOT_OURS)
    payload = match.group(1)
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):  # signed by us, so only if the format changed
        raise InvalidField(("query", "cursor"), NOT_OURS) from None


def cursor_secret(request: Request) -> str:
    """The app's cursor signing key (`IRO_CURSOR_SECRET`)."""
    return str(request.app.state.settings.cursor_secret.get_secret_value())


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
        if not isinstance(raw, str):
            raise TypeError(kind)
        return _DECODERS[kind](raw)
    return value


def encode_cursor(values: Sequence[Any], *, secret: str, scope: str) -> str:
    """A signed cursor for a row whose sort keys are `values` (uuids, dates, timestamps, ints, text)."""
    return seal([_encode_value(v) for v in values], secret=secret, scope=scope)


def decode_cursor(cursor: str, *, secret: str, scope: str) -> list[Any]:
    """The sort keys `encode_cursor` put in `cursor`, typed again (uuid, date, datetime ...).

    Raises `InvalidField` (422 on `["query", "cursor"]`) for a cursor not given out for `scope`."""
    raw = unseal(cursor, secret=secret, scope=scope)
    try:
        if not isinstance(raw, list):
            raise TypeError("not a list")
        return [_decode_value(v) for v in raw]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidField(("query", "cursor"), NOT_OURS) from None


# --- The page parameters ------------------------------------------------------------------------


class PageParams:
    """The `limit` and `cursor` query parameters, as a dependency. The cursor is checked here (its
    signature, and that it was given out for this path), so a bad one is a 422 before any query;
    `after` holds its sort keys (None on the first page)."""

    def __init__(
        self,
        request: Request,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (at most 500)."),
        cursor: str | None = Query(
            None, max_length=CURSOR_MAX_LENGTH, description="The `next_cursor` of the previous page (opaque, signed)."
        ),
    ) -> None:
        self.limit = limit
        self.cursor = cursor or None
        self.scope = request.url.path
        self.secret = cursor_secret(request)
        self.after: list[Any] | None = (
            decode_cursor(self.cursor, secret=self.secret, scope=self.scope) if self.cursor else None
        )

    def next_cursor(self, values: Sequence[Any]) -> str:
        """The signed cursor of the page after the row whose sort keys are `values`."""
        return encode_cursor(values, secret=self.secret, scope=self.scope)


async def paginate(
    session: AsyncSession,
    query: Select[Any] | Any,
    *,
    keys: Sequence[ColumnElement[Any] | Any],
    params: PageParams,
) -> tuple[list[Any], str | None]:
    """Rows of `query` ordered by `keys` (ascending; the last must be unique, e.g. the id), one page.

    Returns the rows (scalars when the query selects one thing, else rows whose first element
    holds the keys) and the next cursor. Raises `InvalidField` (422 on `["query", "cursor"]`) when
    the cursor's keys are not of the key columns' types, before the query runs."""
    if params.after is not None:
        values = params.after
        if len(values) != len(keys) or any(
            type(value) is not key.type.python_type for value, key in zip(values, keys, strict=False)
        ):
            raise InvalidField(("query", "cursor"), NOT_OURS)
        query = query.where(tuple_(*keys) > tuple_(*values))
    result = await session.execute(query.order_by(*keys).limit(params.limit + 1))
    single = len(query.column_descriptions) == 1
    rows = list(result.scalars().all()) if single else list(result.all())
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    if not more or not rows:
        return rows, None
    last = rows[-1] if single else rows[-1][0]  # keys belong to the first entity selected
    return rows, params.next_cursor([getattr(last, str(key.key)) for key in keys])
