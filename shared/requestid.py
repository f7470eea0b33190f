"""`X-Request-ID` in and out: the caller's when it is sane, else a new one; kept in a context var
so logs, problem bodies and footprint events can carry it."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> str | None:
    return _current.get()


@contextlib.contextmanager
def acting_as(request_id: str) -> Iterator[None]:
    """Background work (an import's worker) carrying its own id where a request's would go: on the
    footprint events it causes, in logs and in the `X-Request-ID` it sends the services."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


def accept_or_new(value: str | None) -> str:
    if value and _SANE.match(value):
        return value
    return str(uuid.uuid4())


class RequestIdMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware), so streamed responses stay streamed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = accept_or_new(incoming)
        token = _current.set(rid)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
