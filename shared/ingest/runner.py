"""A service's batch command path: many ingested events in one request, each applied by the
service's own functions with the same validation, idempotency and footprint guarantees as its API.

- One transaction per batch (the gateway sends chunks of at most `MAX_COMMANDS`); each command in a
  SAVEPOINT of its own, so a refused command undoes exactly its own changes and the others stand.
- Each command's outcome is kept on its key (`source:id:attempt`) in the service's
  `idempotency_key` table in the same transaction as its changes: a retry after a crash (the same
  key) replays that outcome, target included, and applies nothing twice.
- The footprint events of the accepted commands are appended in one batch (shared.footprint.batch)
  just before the commit, as every request's unit of work does. The actor is the caller's token
  (the integrator's, or the admin replaying) with the case system as its `source`.
- A command a rule refuses is `rejected` with its problem (RFC 9457 body, `loc`s under `data`); a
  fault of the platform's own (the database went away) aborts the whole batch, so the gateway leaves
  its events pending and the source retries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import errors, requestid
from shared.auth import Principal
from shared.context import RequestContext
from shared.footprint import batch as footprint_batch
from shared.footprint.batch import PendingEvent
from shared.footprint.models import Actor
from shared.ingest.commands import Command, CommandBatch, CommandResult, CommandResults
from shared.ingest.data import DATA_MODELS, EventData

logger = logging.getLogger("iro.ingest")

__all__ = ["Applied", "Handler", "run"]


@dataclass
class Applied:
    """What a handler did: the ids it applied the event to, or that it was already there (`duplicate`,
    with a `note` saying why), and any `warnings`."""

    target: dict[str, str] = field(default_factory=dict)
    duplicate: bool = False
    note: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[RequestContext[Any], EventData, Command], Awaitable[Applied]]
"""`handler(ctx, data, command)`: apply one event through the service's own functions."""


def _problem(problem: errors.Problem) -> dict[str, Any]:
    """The problem's body, its `loc`s moved from the service API's `body` to the event's `data`."""
    body = errors.problem_body(problem)
    for error in body.get("errors") or []:
        loc = list(error.get("loc") or [])
        if loc and loc[0] == "body":
            loc[0] = "data"
        elif not loc or loc[0] != "data":
            loc = ["data", *loc]
        error["loc"] = loc
    body.pop("request_id", None)
    return body


def _invalid(exc: ValidationError) -> dict[str, Any]:
    found = [
        {"loc": ["data", *e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return _problem(errors.ValidationFailed("The event's data is not valid.", errors=found))


def _digest(command: Command) -> str:
    body = command.model_dump(mode="json", exclude={"key"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def rebuild(model: type[BaseModel], values: Mapping[str, Any]) -> Any:
    """A service schema from the event's fields (a ValidationError names them under `data`)."""
    return model.model_validate(dict(values))


async def run(
    request: Request, principal: Principal, batch: CommandBatch, handlers: Mapping[str, Handler], *, schema: str
) -> CommandResults:
    """Apply `batch` in order (module docstring). `handlers` by event type; `schema` is the
    service's, whose `idempotency_key` table keeps each command's outcome."""
    app = request.app
    path = request.url.path
    actor = Actor(sub=principal.sub, role=principal.role, source=batch.source)
    today: dt.date = app.state.clock.today()
    results: list[CommandResult] = []
    recorded: list[PendingEvent] = []
    table = f"{schema}.idempotency_key"
    async with app.state.sessions() as session:
        kept = await _kept(session, table, principal.sub, path, [command.key for command in batch.commands])
        new: list[tuple[Command, CommandResult]] = []
        for command in batch.commands:
            if command.key in kept:
                result = _replayed(command, *kept[command.key])
            else:
                ctx: RequestContext[Any] = RequestContext(
                    session=session, principal=principal, actor=actor, today=today, calendar=app.state.calendar,
                    settings=app.state.settings, service=app.state.service, request_id=requestid.current(),
                    occurred_at=command.occurred_at,
                )  # fmt: skip
                result = await _apply(ctx, command, handlers)
                if result.status == "accepted":
                    recorded.extend(ctx.recorded)
                new.append((command, result))
                kept[command.key] = (_digest(command), result.model_dump_json().encode())
            results.append(result)
        await _keep(session, table, principal.sub, path, new)
        if recorded:
            await footprint_batch.append_many(session, recorded)
        await session.commit()
    return CommandResults(results=results)


async def _kept(
    session: AsyncSession, table: str, subject: str, path: str, keys: list[str]
) -> dict[str, tuple[str, bytes | None]]:
    """The outcomes already kept on any of `keys` (one query for the batch): key to (hash, body)."""
    found = await session.execute(
        text(f"SELECT key, request_hash, response_body FROM {table} WHERE subject = :s AND method = 'POST'"
             " AND path = :p AND key = ANY(:keys)"),
        {"s": subject, "p": path, "keys": keys},
    )  # fmt: skip
    return {key: (request_hash, body) for key, request_hash, body in found.all()}


async def _apply(ctx: RequestContext[Any], command: Command, handlers: Mapping[str, Handler]) -> CommandResult:
    """One command in a savepoint of its own: its result; its changes and recorded events kept only
    when it is accepted or a duplicate."""
    session = ctx.session
    handler = handlers.get(command.type)
    model = DATA_MODELS.get(command.type)
    savepoint = await session.begin_nested()
    try:
        if handler is None or model is None:
            raise errors.InvalidField(["type"], f"This service applies no {command.type!r} events.")
        applied = await handler(ctx, model.model_validate(command.data), command)
        result = CommandResult(
            key=command.key, status="duplicate" if applied.duplicate else "accepted", target=applied.target,
            note=applied.note, warnings=applied.warnings,
        )  # fmt: skip
        await session.flush()
    except ValidationError as exc:
        await savepoint.rollback()
        result = CommandResult(key=command.key, status="rejected", problem=_invalid(exc))
    except errors.Problem as problem:
        if problem.status >= 500:
            raise
        await savepoint.rollback()
        result = CommandResult(key=command.key, status="rejected", problem=_problem(problem))
    except DBAPIError as exc:
        # A value the database refuses (class 22, data; 23, integrity) is the event's fault: name it.
        if (errors.sqlstate_of(exc) or "")[:2] not in ("22", "23"):
            raise
        await savepoint.rollback()
        refusal = errors.InvalidField(["data"], "The database refused a value of this event.")
        result = CommandResult(key=command.key, status="rejected", problem=_problem(refusal))
    else:
        await savepoint.commit()
    if result.status != "accepted":
        ctx.recorded.clear()
    return result


def _replayed(command: Command, request_hash: str, body: bytes | None) -> CommandResult:
    if request_hash != _digest(command):
        refusal = errors.ValidationFailed(
            "This key was already used with another command.",
            errors=[{"loc": ["key"], "msg": "used with another command", "type": "idempotency_key_reused"}],
        )
        return CommandResult(key=command.key, status="rejected", problem=_problem(refusal))
    first = CommandResult.model_validate_json(body or b"{}")
    return first.model_copy(update={"replayed": True})


async def _keep(
    session: AsyncSession, table: str, subject: str, path: str, new: list[tuple[Command, CommandResult]]
) -> None:
    """The batch's new outcomes on their keys, in its transaction: kept exactly when their changes are."""
    if not new:
        return
    await session.execute(
        text(
            f"INSERT INTO {table} (subject, method, path, key, request_hash, lease, state, effect_committed,"
            " response_status, response_headers, response_body, completed_at)"
            " VALUES (:s, 'POST', :p, :k, :h, :lease, 'done', true, 200, '[]'::jsonb, :body, now())"
        ),
        [{"s": subject, "p": path, "k": command.key, "h": _digest(command), "lease": uuid.uuid4(),
          "body": result.model_dump_json().encode()} for command, result in new],
    )  # fmt: skip
