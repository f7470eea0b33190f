"""`Idempotency-Key` on POST (the IETF httpapi idempotency-key draft), for every service.

- The same key and body replay the first response (same status and body, plus
  `Idempotent-Replayed: true`); the same key with another body is a 422; a retry while the first is
  still being processed is a 409. Keys are scoped to the token's subject, the method and the path,
  and kept `ttl_hours` (default 24).
- A request claims its key in a short transaction of its own before the route runs, so concurrent
  requests with one key produce one effect: one claims it, the others get 409.
- The route's own transaction marks the claim `effect_committed` as part of its commit (a
  `before_commit` hook on the request's session). So if a process dies after committing but before
  storing the response, a retry is told so (409) instead of repeating the effect; if it dies before
  committing, a retry after the lease expires takes the claim over and runs once.
- A 5xx that committed nothing releases the key, so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import errors

logger = logging.getLogger("iro.idempotency")

HEADER = b"idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_STORED_HEADERS = {b"content-type", b"location"}
MAX_STORED_BODY = 4 * 1024 * 1024


@dataclass(frozen=True)
class Claim:
    schema: str
    subject: str
    method: str
    path: str
    key: str
    lease: uuid.UUID

    def params(self) -> dict[str, Any]:
        return {"s": self.subject, "m": self.method, "p": self.path, "k": self.key, "lease": self.lease}


_claim: ContextVar[Claim | None] = ContextVar("idempotency_claim", default=None)
_PK = "subject = :s AND method = :m AND path = :p AND key = :k"


def attach(session: AsyncSession) -> None:
    """Called by the request's session dependency: the route's commit also marks the claim."""
    claim = _claim.get()
    if claim is None:
        return

    def mark(sync_session: Session) -> None:
        sync_session.execute(
            text(f"UPDATE {claim.schema}.idempotency_key SET effect_committed = true WHERE {_PK} AND lease = :lease"),
            claim.params(),
        )

    event.listen(session.sync_session, "before_commit", mark)


def request_hash(body: bytes) -> str:
    """The body's fingerprint: JSON compared by value (key order and spacing do not matter)."""
    try:
        normal = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        normal = body
    return hashlib.sha256(normal).hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, schema: str, ttl_hours: int = 24, lease_seconds: int = 300) -> None:
        self.app = app
        self.schema = schema
        self.ttl_hours = ttl_hours
        self.lease_seconds = lease_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = next((value for name, value in scope["headers"] if name == HEADER), None)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY.match(key):
            await errors.send_problem(
                send, errors.BadRequest("Idempotency-Key must be 1-255 visible ASCII characters.")
            )
            return
        subject = await _subject(scope)
        if subject is None:  # no good token: the route answers 401 and no key is kept
            await self.app(scope, receive, send)
            return

        body, replay = await _read_body(receive)
        app = scope["app"]
        engine: AsyncEngine = app.state.engine
        query = scope.get("query_string", b"").decode("latin-1")
        path = f"{scope['path']}?{query}" if query else scope["path"]
        claim = Claim(self.schema, subject, "POST", path, key, uuid.uuid4())
        outcome = await self._claim(engine, claim, request_hash(body))
        if isinstance(outcome, errors.Problem):
            await errors.send_problem(send, outcome)
            return
        if isinstance(outcome, dict):
            await _replay(send, outcome)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray(), "overflow": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    [n.decode("latin-1"), v.decode("latin-1")] for n, v in message.get("headers", [])
                    if n.lower() in _STORED_HEADERS
                ]  # fmt: skip
            elif message["type"] == "http.response.body":
                if len(captured["body"]) + len(message.get("body", b"")) > MAX_STORED_BODY:
                    captured["overflow"] = True
                else:
                    captured["body"] += message.get("body", b"")
            await send(message)

        token = _claim.set(claim)
        try:
            await self.app(scope, replay, capture)
        finally:
            _claim.reset(token)
            await self._finish(engine, claim, captured)

    async def _claim(self, engine: AsyncEngine, claim: Claim, digest: str) -> errors.Problem | dict[str, Any] | None:
        table = f"{self.schema}.idempotency_key"
        async with engine.begin() as connection:
            # Keys are kept `ttl_hours`; expired ones go here (the claimed_at index makes this cheap).
            await connection.execute(
                text(f"DELETE FROM {table} WHERE claimed_at < now() - make_interval(hours => :ttl)"),
                {"ttl": self.ttl_hours},
            )
            inserted = await connection.scalar(
                text(
                    f"INSERT INTO {table} (subject, method, path, key, request_hash, lease)"
                    " VALUES (:s, :m, :p, :k, :h, :lease) ON CONFLICT DO NOTHING RETURNING lease"
                ),
                {**claim.params(), "h": digest},
            )
            if inserted is not None:
                return None
            row = (
                await connection.execute(
                    text(
                        f"SELECT request_hash, state, effect_committed, response_status, response_headers,"
                        f" response_body, claimed_at < now() - make_interval(secs => :lease_s) AS abandoned"
                        f" FROM {table} WHERE {_PK} FOR UPDATE"
                    ),
                    {**claim.params(), "lease_s": self.lease_seconds},
                )
            ).one()
            if row.request_hash != digest:
                return errors.ValidationFailed(
                    "This Idempotency-Key was already used with a different body.",
                    errors=[{"loc": ["header", "Idempotency-Key"], "msg": "used with a different body",
                             "type": "idempotency_key_reused"}],
                )  # fmt: skip
            if row.state == "done":
                return {"status": row.response_status, "headers": row.response_headers, "body": row.response_body}
            if not row.abandoned:
                return errors.Conflict("A request with this Idempotency-Key is still being processed; retry later.")
            if row.effect_committed:
                return errors.Conflict(
                    "A request with this Idempotency-Key was processed but its response was not kept; "
                    "read the resource to see the result."
                )
            await connection.execute(
                text(f"UPDATE {table} SET lease = :lease, claimed_at = now() WHERE {_PK}"), claim.params()
            )
            return None

    async def _finish(self, engine: AsyncEngine, claim: Claim, captured: dict[str, Any]) -> None:
        table = f"{self.schema}.idempotency_key"
        try:
            async with engine.begin() as connection:
                if captured["status"] >= 500 or captured["overflow"]:
                    # Nothing to replay: release the key unless the effect is already committed
                    # (then retries are told so, never given a cut-off body).
                    await connection.execute(
                        text(f"DELETE FROM {table} WHERE {_PK} AND lease = :lease AND NOT effect_committed"),
                        claim.params(),
                    )
                    return
                await connection.execute(
                    text(
                        f"UPDATE {table} SET state = 'done', response_status = :status,"
                        f" response_headers = CAST(:headers AS jsonb), response_body = :body, completed_at = now()"
                        f" WHERE {_PK} AND lease = :lease"
                    ),
                    {**claim.params(), "status": captured["status"], "headers": json.dumps(captured["headers"]),
                     "body": bytes(captured["body"])},
                )  # fmt: skip
        except Exception:
            logger.exception("could not store the response of an idempotent request")


async def _subject(scope: Scope) -> str | None:
    authorization = next((v for n, v in scope["headers"] if n == b"authorization"), b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        principal = await scope["app"].state.authenticator.authenticate(token.strip())
    except errors.Unauthorised:
        return None
    return str(principal.sub)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return b"".join(chunks), replay


async def _replay(send: Send, stored: dict[str, Any]) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in stored["headers"] or []]
    headers.append((b"idempotent-replayed", b"true"))
    body = bytes(stored["body"] or b"")
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})
