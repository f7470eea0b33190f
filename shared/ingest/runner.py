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
    async with app.state.sessions() as session:
        for command in batch.commands:
            ctx: RequestContext[Any] = RequestContext(
                session=session, principal=principal, actor=actor, today=today, calendar=app.state.calendar,
                settings=app.state.settings, service=app.state.service, request_id=requestid.current(),
                occurred_at=command.occurred_at,
            )  # fmt: skip
            result = await _apply(ctx, command, handlers, schema=schema, path=path)
            if result.status == "accepted" and not result.replayed:
                recorded.extend(ctx.recorded)
            results.append(result)
        if recorded:
            await footprint_batch.append_many(session, recorded)
        await session.commit()
    return CommandResults(results=results)


async def _apply(
    ctx: RequestContext[Any], command: Command, handlers: Mapping[str, Handler], *, schema: str, path: str
) -> CommandResult:
    session = ctx.session
    table = f"{schema}.idempotency_key"
    where = {"s": ctx.principal.sub, "m": "POST", "p": path, "k": command.key}
    kept = (
        await session.execute(
            text(f"SELECT request_hash, response_body FROM {table} WHERE subject = :s AND method = :m"
                 " AND path = :p AND key = :k"),
            where,
        )
    ).first()  # fmt: skip
    if kept is not None:
        return _replayed(command, kept.request_hash, kept.response_body)
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
        ctx.recorded.clear()
        result = CommandResult(key=command.key, status="rejected", problem=_invalid(exc))
    except errors.Problem as problem:
        if problem.status >= 500:
            raise
        await savepoint.rollback()
        ctx.recorded.clear()
        result = CommandResult(key=command.key, status="rejected", problem=_problem(problem))
    except DBAPIError as exc:
        # A value the database refuses (class 22, data; 23, integrity) is the event's fault: name it.
        if (errors.sqlstate_of(exc) or "")[:2] not in ("22", "23"):
            raise
        await savepoint.rollback()
        ctx.recorded.clear()
        refusal = errors.InvalidField(["data"], "The database refused a value of this event.")
        result = CommandResult(key=command.key, status="rejected", problem=_problem(refusal))
    else:
        await savepoint.commit()
    if result.status != "accepted":
        ctx.recorded.clear()
    await _keep(ctx, command, result, table=table, path=path)
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


async def _keep(ctx: RequestContext[Any], command: Command, result: CommandResult, *, table: str, path: str) -> None:
    """The outcome on the command's key, in the batch's transaction: kept exactly when its changes are."""
    await ctx.session.execute(
        text(
            f"INSERT INTO {table} (subject, method, path, key, request_hash, lease, state, effect_committed,"
            " response_status, response_headers, response_body, completed_at)"
            " VALUES (:s, 'POST', :p, :k, :h, :lease, 'done', true, 200, '[]'::jsonb, :body, now())"
        ),
        {"s": ctx.principal.sub, "p": path, "k": command.key, "h": _digest(command), "lease": uuid.uuid4(),
         "body": result.model_dump_json().encode()},
    )  # fmt: skip
