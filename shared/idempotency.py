"""`Idempotency-Key` on POST (the IETF httpapi idempotency-key draft), for every service.

- The same key and body replay the first response (same status and body, plus
  `Idempotent-Replayed: true`); the same key with another body is a 422; a retry while the first is
  still being processed is a 409. Keys are scoped to the token's subject, the method and the path,
  and kept `ttl_hours` (default 24).
- **The claim is a session-level advisory lock** (`pg_try_advisory_lock`) held, for as long as the
  request runs, by a connection of the claiming process. PostgreSQL releases it the moment that
  connection ends, so when the process is killed or the database restarts, a retry proceeds at
  once instead of waiting out a lease. A retry that finds the lock held by a live claimant is a 409.
- **The response is kept with the effect.** The request's unit of work (`shared.db.UnitOfWork`)
  serialises the response, then writes it to the key's row (`keep_response`) in the same
  transaction as the change and its footprint events, then commits. So a change is never committed
  without its answer: a client whose response was lost retries with its key and gets the true
  outcome (status and body) replayed.
- An answer that committed nothing (a 4xx refusal) is kept after the fact and replayed too; a 5xx
  that committed nothing releases the key, so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import errors

logger = logging.getLogger("iro.idempotency")

HEADER = b"idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_STORED_HEADERS = {"content-type", "location"}
MAX_STORED_BODY = 4 * 1024 * 1024


@dataclass
class Claim:
    """A request's hold on its key: which row, and whether its response is already kept."""

    schema: str
    subject: str
    method: str
    path: str
    key: str
    lease: uuid.UUID
    kept: bool = False

    def params(self) -> dict[str, Any]:
        return {"s": self.subject, "m": self.method, "p": self.path, "k": self.key, "lease": self.lease}

    @property
    def lock_name(self) -> str:
        """What the advisory lock's 64-bit key is hashed from (`hashtextextended`)."""
        return "\x1f".join((self.schema, self.subject, self.method, self.path, self.key))


class ClaimLost(errors.Conflict):
    """The key was taken over while this request ran (its claiming connection was lost)."""

    def __init__(self) -> None:
        super().__init__("This request's Idempotency-Key was taken over by a retry; nothing was changed.")


_claim: ContextVar[Claim | None] = ContextVar("idempotency_claim", default=None)
_PK = "subject = :s AND method = :m AND path = :p AND key = :k"
_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))")


def stored_headers(response: Response) -> list[list[str]]:
    return [[name, value] for name, value in response.headers.items() if name.lower() in _STORED_HEADERS]


async def keep_response(session: AsyncSession, response: Response) -> None:
    """Within the request's transaction, before its commit: store `response` (status, content type,
    body) on the request's idempotency key, if it has one. Raises `ClaimLost` (409) if the key is no
    longer this request's, so the caller's change rolls back rather than commit twice."""
    claim = _claim.get()
    body = getattr(response, "body", None)
    if claim is None or not isinstance(body, bytes) or len(body) > MAX_STORED_BODY:
        return
    kept = await session.scalar(
        text(
            f"UPDATE {claim.schema}.idempotency_key SET state = 'done', effect_committed = true,"
            f" response_status = :status, response_headers = CAST(:headers AS jsonb), response_body = :body,"
            f" completed_at = now() WHERE {_PK} AND lease = :lease RETURNING true"
        ),
        {**claim.params(), "status": response.status_code, "headers": json.dumps(stored_headers(response)),
         "body": body},
    )  # fmt: skip
    if not kept:
        raise ClaimLost()
    claim.kept = True


def request_hash(body: bytes) -> str:
    """The body's fingerprint: JSON compared by value (key order and spacing do not matter). A body
    that is not JSON, or nested too deeply to parse, is compared byte for byte (the route answers it
    with the same 400 as without a key)."""
    try:
        normal = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        normal = body
    return hashlib.sha256(normal).hexdigest()


class IdempotencyMiddleware:
    """`only(path)`, when given, picks the POSTs it keeps keys for (the gateway: its own routes; a
    POST it proxies is kept by the service that answers it)."""

    def __init__(
        self, app: ASGIApp, *, schema: str, ttl_hours: int = 24, only: Callable[[str], bool] | None = None
    ) -> None:
        self.app = app
        self.schema = schema
        self.ttl_hours = ttl_hours
        self.only = only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or (self.only and not self.only(scope["path"])):
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
        engine: AsyncEngine = scope["app"].state.lock_engine
        query = scope.get("query_string", b"").decode("latin-1")
        path = f"{scope['path']}?{query}" if query else scope["path"]
        claim = Claim(self.schema, subject, "POST", path, key, uuid.uuid4())
        try:
            holder = await engine.connect()
        except Exception as exc:  # the database is unavailable: the same 503 as any route's
            if errors.database_unavailable(exc):
                await errors.send_problem(send, errors.DatabaseUnavailable("The database cannot be reached just now."))
                return
            raise
        try:
            outcome = await self._claim(holder, claim, request_hash(body))
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
                        if n.decode("latin-1").lower() in _STORED_HEADERS
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
                if not claim.kept:
                    await self._finish(holder, claim, captured)
        finally:
            await _release(holder, claim)

    async def _claim(
        self, holder: AsyncConnection, claim: Claim, digest: str
    ) -> errors.Problem | dict[str, Any] | None:
        """Take the key's lock, then decide: run (None), replay (the stored response) or refuse."""
        locked = await holder.scalar(_LOCK, {"name": claim.lock_name})
        await holder.commit()
        if not locked:
            return errors.Conflict("A request with this Idempotency-Key is still being processed; retry later.")
        table = f"{self.schema}.idempotency_key"
        async with holder.begin():
            # Keys are kept `ttl_hours`; expired ones go here (the claimed_at index makes this cheap).
            await holder.execute(
                text(f"DELETE FROM {table} WHERE claimed_at < now() - make_interval(hours => :ttl)"),
                {"ttl": self.ttl_hours},
            )
            inserted = await holder.scalar(
                text(
                    f"INSERT INTO {table} (subject, method, path, key, request_hash, lease)"
                    " VALUES (:s, :m, :p, :k, :h, :lease) ON CONFLICT DO NOTHING RETURNING lease"
                ),
                {**claim.params(), "h": digest},
            )
            if inserted is not None:
                return None
            row = (
                await holder.execute(
                    text(
                        f"SELECT request_hash, state, effect_committed, response_status, response_headers,"
                        f" response_body FROM {table} WHERE {_PK}"
                    ),
                    claim.params(),
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
            if row.effect_committed:  # only a route outside the unit of work can leave this
                return errors.Conflict(
                    "A request with this Idempotency-Key was processed but its response was not kept; "
                    "read the resource to see the result."
                )
            # We hold the lock, so whoever claimed it before is gone, having committed nothing: take over.
            await holder.execute(
                text(f"UPDATE {table} SET lease = :lease, claimed_at = now() WHERE {_PK}"), claim.params()
            )
            return None

    async def _finish(self, holder: AsyncConnection, claim: Claim, captured: dict[str, Any]) -> None:
        """After a request whose unit of work kept no response: keep a final 4xx (or a 2xx that
        changed nothing) for replay; release the key after a 5xx."""
        table = f"{self.schema}.idempotency_key"
        try:
            async with holder.begin():
                if captured["status"] >= 500 or captured["overflow"]:
                    await holder.execute(
                        text(f"DELETE FROM {table} WHERE {_PK} AND lease = :lease AND NOT effect_committed"),
                        claim.params(),
                    )
                    return
                await holder.execute(
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


async def _release(holder: AsyncConnection, claim: Claim) -> None:
    """Unlock the key and give the connection back; a connection that cannot unlock is discarded
    (its lock ends with it)."""
    try:
        if holder.in_transaction():
            await holder.rollback()
        await holder.execute(_UNLOCK, {"name": claim.lock_name})
        await holder.commit()
    except Exception:
        logger.warning("idempotency: could not unlock a key; discarding its connection")
        await holder.invalidate()
    finally:
        await holder.close()


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
