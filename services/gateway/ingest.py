"""Ingest: events from case systems (Mosaic, LCS), received at `POST /v1/events`, kept in the inbox,
and applied in order through the services' batch command paths. Nothing a source sends is lost.

One request, step by step:

1. **The door.** The caller's token has the `integration` (or `admin`) role (the role table); the
   body is one CloudEvent or a batch (`shared.ingest.envelope`), at most `IRO_MAX_BATCH_EVENTS`;
   every element names the same `source` (422 `sources-mixed` otherwise) and the Standard Webhooks
   signature verifies with one of that source's secrets (401 `signature-refused`; 403
   `source-not-configured` in production for a source without one). A request refused here stores
   nothing: it is not the source speaking.
2. **Stored.** Every element is written to `gateway.inbox` and committed before anything is applied:
   its raw JSON, source, id, type. `(source, id)` is unique, so a repeat (in the same batch, a later
   one, or at the same moment on another connection) finds the first row. An element without a
   usable `id` is stored `rejected` under its inbox id.
3. **Applied, a chunk at a time, in order** (`GATEWAY_INGEST_CHUNK` events): the chunk's rows are
   locked (`FOR UPDATE`, in id order), so a copy arriving concurrently waits and then sees the
   outcome (`duplicate`). Rows already decided are `duplicate`; the rest are checked (envelope and
   data by type: `rejected` naming the field) and sent as commands to the reviews service's
   `POST /v1/ingest/reviews` (one call, one transaction, one savepoint per event); a held review's
   participation code then goes to the participation service's `POST /v1/ingest/participation`. Each
   command's key is `source:id:attempt` and the service keeps its outcome and target (which child,
   period, review) on that key with its changes, so a retry after a crash reaches the same target
   and applies nothing twice. The outcomes, targets and the footprint's `ingest.rejected` events
   commit together.
4. A service that does not answer stops the request with 503: the chunks before it are applied, the
   rest stay `received` in the inbox; the source retries (applied ones come back `duplicate`), or an
   admin replays them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.clients import ServiceClient, ServiceDown
from services.gateway.models import Inbox
from services.gateway.settings import Settings
from shared import errors, requestid
from shared.auth import Principal
from shared.footprint import Subject, events
from shared.footprint import batch as footprint_batch
from shared.footprint.batch import PendingEvent
from shared.footprint.models import Actor
from shared.ingest import envelope, signing
from shared.ingest.errors import SignatureRefused, SourceNotConfigured, SourcesMixed, TooManyEvents

logger = logging.getLogger("iro.ingest")

RECEIVED, ACCEPTED, DUPLICATE, REJECTED = "received", "accepted", "duplicate", "rejected"
DECIDED = frozenset({ACCEPTED, DUPLICATE, REJECTED})


class ServiceFailed(errors.Problem):
    """A service's batch command path did not answer, or answered with an error of its own."""

    def __init__(self, service: str) -> None:
        super().__init__(
            "The events were not all applied.", type_="ingest-interrupted", status=503,
            detail=f"The {service} service did not apply the events; the rest are kept in the inbox. "
            "Retry the request later (events already applied come back `duplicate`).",
            headers={"Retry-After": "5"},
        )  # fmt: skip


@dataclass
class Outcome:
    """What became of one element: the contract's result (`id`, `inbox_id`, `status`, `problem`)
    plus `warnings` and a `note`."""

    inbox_id: uuid.UUID
    event_id: str | None
    status: str = RECEIVED
    problem: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    target: dict[str, str] | None = None

    def result(self) -> dict[str, Any]:
        return {
            "id": self.event_id, "inbox_id": str(self.inbox_id), "status": self.status, "problem": self.problem,
            "warnings": self.warnings, "note": self.note,
        }  # fmt: skip


# --- 1. The door -------------------------------------------------------------------------------------


def source_of_request(elements: Sequence[Any]) -> str:
    """The one `source` every element names; 422 `sources-mixed` naming the first that differs."""
    first = envelope.source_of(elements[0])
    for index, element in enumerate(elements):
        source = envelope.source_of(element)
        if source is None or source != first:
            why = "names no usable source" if source is None else f"names {source!r}, not {first!r}"
            raise SourcesMixed(
                "Every event of a request names the same `source` (its signature is that source's): "
                f"event {index} {why}.",
                loc=("body", index, "source"),
            )
    assert first is not None
    return first


def check_signature(settings: Settings, source: str, body: bytes, headers: dict[str, str]) -> None:
    """403 when production has no secret for `source`; 401 unless one of its secrets verifies."""
    secrets = settings.secrets_of(source)
    if not secrets:
        raise SourceNotConfigured(f"No signing secret is configured for source {source!r} (IRO_INGEST_SECRETS).")
    try:
        signing.verify(body, headers, secrets)
    except signing.SignatureInvalid as invalid:
        raise SignatureRefused(f"The Standard Webhooks signature does not verify: {invalid}.") from None


def check_count(settings: Settings, elements: Sequence[Any]) -> None:
    if len(elements) > settings.max_batch_events:
        raise TooManyEvents(
            f"{len(elements)} events; a batch takes at most {settings.max_batch_events} (IRO_MAX_BATCH_EVENTS).",
            limit=settings.max_batch_events,
        )


# --- 2. Stored ---------------------------------------------------------------------------------------


def _raw(element: Any) -> str:
    return json.dumps(element, separators=(",", ":"))  # ASCII: every string escaped, no NUL or lone surrogate


def _body(problem: errors.Problem) -> dict[str, Any]:
    """A problem as kept on an outcome (the request's id is on the inbox row, not in the problem)."""
    body = errors.problem_body(problem)
    body.pop("request_id", None)
    return body


def _type_of(element: Any) -> str | None:
    value = element.get("type") if isinstance(element, dict) else None
    return value[:255] if isinstance(value, str) and value else None


def _time_of(element: Any) -> dt.datetime | None:
    """The event's `time` when it is a readable RFC 3339 timestamp with its offset (kept on the inbox row)."""
    value = element.get("time") if isinstance(element, dict) else None
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _missing_id() -> dict[str, Any]:
    return _body(
        errors.ValidationFailed(
            "The event has no usable `id`: it is kept under its inbox id and is never applied.",
            errors=[{"loc": ["id"], "msg": "A non-empty string of at most 255 characters.", "type": "missing"}],
        )
    )


async def store(
    session: AsyncSession, elements: Sequence[Any], *, source: str, principal: Principal, settings: Settings
) -> list[Outcome]:
    """Write every element to the inbox and commit (step 2): one `Outcome` per element, in order,
    naming its row (the first copy's, for a repeat)."""
    rid = requestid.current()
    rows, outcomes = [], []
    for element in elements:
        event_id = envelope.id_of(element)
        outcome = Outcome(inbox_id=uuid.uuid4(), event_id=event_id)
        row = {
            "id": outcome.inbox_id, "source": source, "event_id": event_id, "type": _type_of(element),
            "time": _time_of(element),
            "body": _raw(element), "received_by": principal.sub, "request_id": rid, "status": RECEIVED,
            "problem": None, "applied_at": None,
        }  # fmt: skip
        if event_id is None:
            outcome.status, outcome.problem = REJECTED, _missing_id()
            row.update(status=REJECTED, problem=outcome.problem, applied_at=dt.datetime.now(dt.UTC))
        rows.append(row)
        outcomes.append(outcome)
    inserted = set(
        (
            await session.scalars(
                insert(Inbox).values(rows).on_conflict_do_nothing(constraint="uq_inbox_source_event_id")
                .returning(Inbox.id)
            )
        ).all()
    )  # fmt: skip
    repeats = [o for o in outcomes if o.inbox_id not in inserted]
    if repeats:
        found = await session.execute(
            select(Inbox.event_id, Inbox.id).where(
                Inbox.source == source, Inbox.event_id.in_([o.event_id for o in repeats])
            )
        )
        first_copy = {event_id: inbox_id for event_id, inbox_id in found.all()}
        for outcome in repeats:
            outcome.inbox_id = first_copy[outcome.event_id]
            outcome.status = DUPLICATE  # provisional: decided under the row's lock (step 3)
    actor = Actor(sub=principal.sub, role=principal.role, source=source)
    refused = [o for o in outcomes if o.status == REJECTED]
    if refused:
        await footprint_batch.append_many(session, [_rejected_event(o, source, None, actor) for o in refused])
    await session.execute(
        text(
            "UPDATE gateway.inbox SET body = NULL, body_cleared_at = now()"
            " WHERE body IS NOT NULL AND received_at < now() - make_interval(days => :days)"
        ),
        {"days": settings.inbox_body_retention_days},
    )
    await session.commit()
    return outcomes


def _rejected_event(outcome: Outcome, source: str, event_type: str | None, actor: Actor) -> PendingEvent:
    return PendingEvent.of(
        events.IngestRejected(
            inbox_id=outcome.inbox_id, source=source, event_type=event_type,
            problem_type=str((outcome.problem or {}).get("type", "about:blank")),
        ),
        actor=actor, subject=Subject("inbox", outcome.inbox_id), service="gateway", child_id=None, iro_id=None,
        occurred_at=dt.datetime.now(dt.UTC), request_id=requestid.current(),
    )  # fmt: skip


# --- 3. Applied ----------------------------------------------------------------------------------------


@dataclass
class Pending:
    """A row to apply: its outcome, its element (parsed from the stored body) and attempt."""

    outcome: Outcome
    element: Any
    row: Inbox


Decided = Callable[[AsyncSession, Sequence[Outcome]], Awaitable[None]]
"""`on_decided(session, outcomes)`: more to write in a chunk's transaction, with its outcomes."""


async def apply(
    app: FastAPI, principal: Principal, source: str, outcomes: Sequence[Outcome], *, chunk_size: int | None = None,
    on_decided: Decided | None = None,
) -> None:  # fmt: skip
    """Step 3 for a request's outcomes, a chunk (`GATEWAY_INGEST_CHUNK`, or `chunk_size`) at a time;
    raises `ServiceFailed` (503) when a service does not apply a chunk (that chunk rolls back; its
    events stay `received`). `on_decided` writes alongside each chunk's outcomes (an import's rows)."""
    settings: Settings = app.state.settings
    size = chunk_size or settings.ingest_chunk
    todo = [o for o in outcomes if o.status != REJECTED or o.event_id is not None]
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        async with app.state.sessions() as session:
            ids = sorted({o.inbox_id for o in chunk})
            rows = {
                row.id: row
                for row in (
                    await session.scalars(select(Inbox).where(Inbox.id.in_(ids)).order_by(Inbox.id).with_for_update())
                ).all()
            }
            pending: list[Pending] = []
            seen: set[uuid.UUID] = set()
            for outcome in chunk:
                row = rows[outcome.inbox_id]
                if row.status in DECIDED or outcome.inbox_id in seen:
                    outcome.status, outcome.problem = DUPLICATE, None
                    outcome.note = outcome.note or _received_before(row, seen=outcome.inbox_id in seen)
                    continue
                seen.add(outcome.inbox_id)
                pending.append(Pending(outcome, json.loads(row.body or "null"), row))
            await decide(app, session, principal, source, pending)
            if on_decided is not None:
                await on_decided(session, chunk)
            await session.commit()


def _received_before(row: Inbox, *, seen: bool) -> str:
    """Why a copy is a duplicate, saying what became of the first: a rejected event is not applied by
    sending it again under its id; it is fixed and replayed (or sent under a new id)."""
    first = f"Event {row.event_id!r} of {row.source} was received before"
    if seen:
        return f"{first}, earlier in this request."
    if row.status == REJECTED:
        return (
            f"{first} and rejected (inbox {row.id}): sending it again changes nothing; fix the cause and have an "
            "admin replay it (POST /v1/inbox/{id}/replay), or send the corrected event under a new id."
        )
    return f"{first} and {row.status}."


async def decide(
    app: FastAPI, session: AsyncSession, principal: Principal, source: str, pending: Sequence[Pending]
) -> None:
    """Check, apply and record the outcome of locked rows (the caller commits)."""
    if not pending:
        return
    actor = Actor(sub=principal.sub, role=principal.role, source=source)
    to_apply: list[tuple[Pending, envelope.Checked]] = []
    for item in pending:
        checked = envelope.check(item.element)
        if isinstance(checked, envelope.Refused):
            item.outcome.status = REJECTED
            in_data = all(error["loc"][:1] == ["data"] for error in checked.errors)
            what = (
                "The event's data is not valid for its type." if in_data else "The event is not a valid CloudEvent 1.0."
            )
            item.outcome.problem = _body(errors.ValidationFailed(f"{what} See `errors`.", errors=checked.errors))
        else:
            to_apply.append((item, checked))
    if to_apply:
        await _send(app, principal, source, to_apply)
    now = dt.datetime.now(dt.UTC)
    await session.execute(
        update(Inbox),
        [
            {
                "id": item.outcome.inbox_id,
                "status": item.outcome.status,
                "problem": item.outcome.problem,
                "warnings": item.outcome.warnings,
                "note": item.outcome.note,
                "target": item.outcome.target,
                "applied_at": now,
                "attempt": item.row.attempt,
            }
            for item in pending
        ],
    )  # fmt: skip  (one executemany by primary key)
    refused = [
        _rejected_event(item.outcome, source, item.row.type, actor)
        for item in pending
        if item.outcome.status == REJECTED
    ]
    if refused:
        await footprint_batch.append_many(session, refused)


def _headers(principal: Principal) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {principal.token}"}
    rid = requestid.current()
    if rid:
        headers["X-Request-ID"] = rid
    return headers


def _command(item: Pending, checked: envelope.Checked, target: dict[str, str] | None = None) -> dict[str, Any]:
    command: dict[str, Any] = {
        "key": f"{checked.source}:{checked.id}:{item.row.attempt}",
        "type": checked.type,
        "data": item.element["data"],
        "occurred_at": checked.time.astimezone(dt.UTC).isoformat() if checked.time else None,
    }
    if target is not None:
        command["target"] = target
    return command


async def _call(
    app: FastAPI, service: str, principal: Principal, source: str, commands: list[dict[str, Any]]
) -> list[Any]:
    client: ServiceClient = app.state.clients[service]
    try:
        reply = await client.post(
            f"/v1/ingest/{service}", json_body={"source": source, "commands": commands}, headers=_headers(principal)
        )
    except ServiceDown:
        logger.warning("ingest: the %s service did not answer", service)
        raise ServiceFailed(service) from None
    body = reply.body if isinstance(reply.body, dict) else {}
    results = body.get("results")
    if reply.status != 200 or not isinstance(results, list) or len(results) != len(commands):
        logger.error("ingest: the %s service answered %s to a command batch", service, reply.status)
        raise ServiceFailed(service)
    return results


async def _send(app: FastAPI, principal: Principal, source: str, items: list[tuple[Pending, envelope.Checked]]) -> None:
    """The reviews service applies the chunk; then the participation service records the codes of
    the reviews it held (a code it refuses leaves the review uncoded, with a warning)."""
    results = await _call(app, "reviews", principal, source, [_command(item, checked) for item, checked in items])
    coded: list[tuple[Pending, envelope.Checked, dict[str, str]]] = []
    for (item, checked), result in zip(items, results, strict=True):
        o = item.outcome
        o.status, o.problem, o.note = result["status"], result.get("problem"), result.get("note")
        o.warnings, o.target = list(result.get("warnings") or []), result.get("target") or None
        code = getattr(checked.data, "participation_code", None)
        if o.status == ACCEPTED and checked.type == "review.held" and code and o.target:
            coded.append((item, checked, {"review_id": o.target["review_id"]}))
    if not coded:
        return
    commands = [_command(item, checked, target) for item, checked, target in coded]
    for (item, _, _), result in zip(coded, await _call(app, "participation", principal, source, commands), strict=True):
        if result["status"] == REJECTED:
            problem = result.get("problem") or {}
            detail = str(problem.get("detail", "its participation code was refused."))
            item.outcome.warnings.append(
                {"type": problem.get("type"), "detail": f"The review was held but left uncoded: {detail}",
                 "loc": ["data", "participation_code"]}
            )  # fmt: skip
