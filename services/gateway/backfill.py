"""SSDA903 imports after the upload: a worker claims queued imports, derives each child's events
from the staged rows (services.gateway.ssda903_map), applies them through the same path as ingest
(services.gateway.ingest: the inbox, the services' batch command paths), and writes each row's
outcome in the same transaction as its events' outcomes.

- **Claimed by a lock, not a lease.** A worker takes an import by a session-level advisory lock on
  a connection it holds while it works; PostgreSQL releases it the moment that connection ends, so
  an import whose worker was killed is taken up again at once by the next worker that looks.
- **Resumable.** A batch of children is one transaction (its events' inbox outcomes and its rows'
  outcomes together), so after an interruption the rows without an outcome are exactly the work
  left; the children are derived again from all their rows and only those rows' events are applied.
  The end state is that of one uninterrupted run.
- **As the uploader.** Events are applied with a short-lived internal token of the uploader's
  subject and role (shared.auth.mint_internal_token), so the footprint's actor is the uploader with
  `source: ssda903`, and the import's id is the `request_id` of every event it causes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.gateway import ingest, ssda903_map
from services.gateway.models import ImportJob, ImportRow, Inbox
from services.gateway.settings import Settings
from shared import errors, requestid
from shared.auth import Principal, mint_internal_token
from shared.clock import Clock

logger = logging.getLogger("iro.imports")

_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))")
APPLIED, DUPLICATE, REFUSED = "applied", "duplicate", "refused"


def request_id_of(import_id: uuid.UUID) -> str:
    """The id every footprint event of an import carries as its `request_id`."""
    return f"import:{import_id}"


def uploader(settings: Settings, job: ImportJob) -> Principal:
    """The uploader, as the services will see them: their subject and role, on an internal token."""
    token = mint_internal_token(settings, sub=job.uploaded_by, roles=[job.uploaded_role],
                                extra={"import_id": str(job.id)})  # fmt: skip
    return Principal(sub=job.uploaded_by, roles=frozenset({job.uploaded_role}), iro_identity=job.uploaded_by,
                     token=token)  # fmt: skip


# --- Claiming ------------------------------------------------------------------------------------------


async def run_next(app: FastAPI) -> bool:
    """Claim one queued (or abandoned running) import and run it to the end; False when none."""
    async with app.state.engine.connect() as holder:
        candidates = (
            await holder.execute(
                select(ImportJob.id).where(ImportJob.status.in_(("queued", "running"))).order_by(ImportJob.created_at)
            )
        ).scalars().all()  # fmt: skip
        await holder.commit()
        for import_id in candidates:
            name = f"import:{import_id}"
            if await holder.scalar(_LOCK, {"name": name}):
                await holder.commit()
                try:
                    await run(app, import_id, holder)
                finally:
                    with contextlib.suppress(Exception):
                        await holder.execute(_UNLOCK, {"name": name})
                        await holder.commit()
                return True
            await holder.commit()
    return False


async def run(app: FastAPI, import_id: uuid.UUID, holder: AsyncConnection) -> None:
    """Run (or resume) one import while `holder` holds its lock: `done` with its report, `failed` with
    the problem; a service that does not answer leaves it `running`, to be taken up again."""
    async with app.state.sessions() as session:
        job = await session.get(ImportJob, import_id)
        if job is None or job.status not in ("queued", "running"):
            return
        job.status, job.runs = "running", job.runs + 1
        job.started_at = job.started_at or dt.datetime.now(dt.UTC)
        await session.commit()
    try:
        with requestid.acting_as(request_id_of(import_id)):
            await apply_rows(app, job)
    except ingest.ServiceFailed:
        logger.warning("import %s: a service did not answer; it will be resumed", import_id)
        return
    except Exception:
        logger.exception("import %s failed", import_id)
        stopped = errors.problem_body(errors.InternalError("The import stopped on an error of the platform's own."))
        async with app.state.sessions() as session:
            await session.execute(
                update(ImportJob)
                .where(ImportJob.id == import_id)
                .values(status="failed", finished_at=func.now(), problem=stopped)
            )
            await session.commit()
        return
    async with app.state.sessions() as session:
        report = await counts(session, import_id)
        await session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(status="done", finished_at=func.now(),
                                                                        report=report)
        )  # fmt: skip
        await session.commit()
    logger.info("import %s done: %s", import_id, json.dumps(report))


# --- Applying ------------------------------------------------------------------------------------------


async def _undecided_children(session: AsyncSession, import_id: uuid.UUID, after: str, limit: int) -> list[str]:
    rows = await session.execute(
        select(ImportRow.child)
        .where(ImportRow.import_id == import_id, ImportRow.outcome.is_(None), ImportRow.child > after)
        .group_by(ImportRow.child)
        .order_by(ImportRow.child)
        .limit(limit)
    )
    return [str(child) for (child,) in rows.all()]


async def apply_rows(app: FastAPI, job: ImportJob) -> None:
    """Every staged row of `job` to an outcome, a batch of children at a time (module docstring)."""
    settings: Settings = app.state.settings
    clock: Clock = app.state.clock
    async with app.state.sessions() as session:
        # A row without a CHILD belongs to no child: refused as it is.
        await session.execute(
            update(ImportRow)
            .where(ImportRow.import_id == job.id, ImportRow.child.is_(None), ImportRow.outcome.is_(None))
            .values(outcome=REFUSED, field="CHILD", reason=func.coalesce(ImportRow.problem, "CHILD is empty."))
        )
        await session.commit()
    after = ""
    while True:
        async with app.state.sessions() as session:
            children = await _undecided_children(session, job.id, after, settings.import_children_per_batch)
            if not children:
                return
            after = children[-1]
            staged = (
                await session.execute(
                    select(ImportRow).where(ImportRow.import_id == job.id, ImportRow.child.in_(children))
                    .order_by(ImportRow.child, ImportRow.table, ImportRow.row)
                )
            ).scalars().all()  # fmt: skip
        by_child: dict[str, list[ImportRow]] = defaultdict(list)
        for row in staged:
            by_child[str(row.child)].append(row)
        await _apply_batch(app, settings, job, by_child, today=clock.today())


async def _apply_batch(
    app: FastAPI, settings: Settings, job: ImportJob, by_child: dict[str, list[ImportRow]], *, today: dt.date
) -> None:
    events: list[ssda903_map.Derived] = []
    refused: list[ssda903_map.Refusal] = []
    notes: dict[ssda903_map.Row, tuple[str, str]] = {}
    for child, rows in by_child.items():
        decided = {(r.table, r.row) for r in rows if r.outcome is not None}
        derivation = ssda903_map.derive_child(
            child, [ssda903_map.Staged(r.table, r.row, dict(r.values), r.problem) for r in rows],
            year=int(job.collection_year or 0), today=today,
        )  # fmt: skip
        refused.extend(r for r in derivation.refusals if (r.table, r.row) not in decided)
        events.extend(e for e in derivation.events if not set(e.rows) <= decided)
        notes.update(derivation.notes)
    principal = uploader(settings, job)
    async with app.state.sessions() as session:
        for refusal in refused:
            await _set_row(session, job.id, (refusal.table, refusal.row), REFUSED, refusal.field, refusal.reason)
        elements = await _versioned(session, job.id, [event.cloudevent() for event in events])
        outcomes = await ingest.store(session, elements, source=ssda903_map.SOURCE, principal=principal,
                                      settings=settings)  # fmt: skip
    by_id = {element["id"]: event for element, event in zip(elements, events, strict=True)}

    async def record(session: AsyncSession, decided: Sequence[ingest.Outcome]) -> None:
        per_row: dict[ssda903_map.Row, list[ingest.Outcome]] = defaultdict(list)
        for outcome in decided:
            for row in by_id[str(outcome.event_id)].rows:
                per_row[row].append(outcome)
        for row, found in per_row.items():
            await _set_row(session, job.id, row, *_row_outcome(found, notes.get(row)))

    await ingest.apply(app, principal, ssda903_map.SOURCE, outcomes, chunk_size=max(len(outcomes), 1),
                       on_decided=record)  # fmt: skip


def _row_outcome(found: list[ingest.Outcome], note: tuple[str, str] | None) -> tuple[str, str | None, str | None]:
    """A row's outcome from its events': refused if one was and none applied (the first refusal's
    column and reason); applied if any was, listed with the column refused alone (a REVIEW_CODE) or
    the part refused ("In part: ...") when there is one; else duplicate."""
    applied = any(outcome.status == ingest.ACCEPTED for outcome in found)
    for outcome in found:
        if outcome.status == ingest.REJECTED:
            column, reason = ssda903_map.column_of(outcome.problem), ssda903_map.reason_of(outcome.problem)
            if applied:
                return (
                    APPLIED,
                    column,
                    f"In part: the rest of the row was applied, but {outcome_type(outcome)}: {reason}",
                )
            return REFUSED, column, reason
    if applied:
        for outcome in found:
            for warning in outcome.warnings:
                return APPLIED, "REVIEW_CODE", str(warning.get("detail"))
        return APPLIED, *(note or (None, None))
    return DUPLICATE, *(note or (None, None))


def outcome_type(outcome: ingest.Outcome) -> str:
    """What part of a row an event was, in words (`...:end` is the period's end)."""
    part = str(outcome.event_id).split("~")[0].rsplit(":", 1)[-1]
    return {"start": "the start of the care period", "end": "the end of the care period",
            "legal_status": "the legal status", "placement": "the placement"}.get(part, "one event")  # fmt: skip


async def _set_row(
    session: AsyncSession, import_id: uuid.UUID, row: ssda903_map.Row, outcome: str, field: str | None,
    reason: str | None,
) -> None:  # fmt: skip
    await session.execute(
        update(ImportRow)
        .where(ImportRow.import_id == import_id, ImportRow.table == row[0], ImportRow.row == row[1])
        .values(outcome=outcome, field=field, reason=reason)
    )


def _canonical(element: dict[str, Any]) -> str:
    return json.dumps(element, sort_keys=True, separators=(",", ":"))


async def _versioned(
    session: AsyncSession, import_id: uuid.UUID, elements: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each derived event under its id, unless an earlier import sent that id with other content (a
    corrected DOB, a review's other code): then under `<id>~<content hash>`, so it is applied (as a
    correction where one can be) rather than taken for a duplicate."""
    ids = [element["id"] for element in elements]
    earlier = {
        event_id: (body, request_id)
        for event_id, body, request_id in (
            await session.execute(
                select(Inbox.event_id, Inbox.body, Inbox.request_id).where(
                    Inbox.source == ssda903_map.SOURCE, Inbox.event_id.in_(ids)
                )
            )
        ).all()
    }
    out = []
    for element in elements:
        found = earlier.get(element["id"])
        if found is None or found[1] == request_id_of(import_id) or found[0] is None:
            out.append(element)
            continue
        if _canonical(json.loads(found[0])) == _canonical(element):
            out.append(element)
            continue
        digest = hashlib.sha256(_canonical(element).encode()).hexdigest()[:12]
        out.append({**element, "id": f"{element['id']}~{digest}"})
    return out


# --- The report ---------------------------------------------------------------------------------------


async def counts(session: AsyncSession, import_id: uuid.UUID) -> dict[str, Any]:
    """Per table: rows read, applied, duplicate, refused and (while it runs) pending."""
    rows = await session.execute(
        select(ImportRow.table, ImportRow.outcome, func.count())
        .where(ImportRow.import_id == import_id)
        .group_by(ImportRow.table, ImportRow.outcome)
    )
    tables = {name: {"read": 0, APPLIED: 0, DUPLICATE: 0, REFUSED: 0, "pending": 0} for name in ssda903_map.FILES}
    for table, outcome, count in rows.all():
        entry = tables.setdefault(table, {"read": 0, APPLIED: 0, DUPLICATE: 0, REFUSED: 0, "pending": 0})
        entry["read"] += count
        entry[outcome or "pending"] += count
    return {"tables": tables}


async def refusals(session: AsyncSession, import_id: uuid.UUID) -> AsyncIterator[dict[str, Any]]:
    """Each refused row (and each applied row with one column refused alone), in file and row order:
    file, row, CHILD, field, reason, outcome."""
    result = await session.stream(
        select(ImportRow.table, ImportRow.row, ImportRow.child, ImportRow.field, ImportRow.reason, ImportRow.outcome)
        .where(ImportRow.import_id == import_id, ImportRow.reason.is_not(None))
        .order_by(ImportRow.table, ImportRow.row)
    )
    async for table, row, child, field, reason, outcome in result:
        yield {"file": ssda903_map.FILES.get(table, table), "row": row, "CHILD": child, "field": field,
               "reason": reason, "outcome": outcome}  # fmt: skip


# --- The worker -----------------------------------------------------------------------------------------


async def work(app: FastAPI) -> None:
    """The worker's loop: run imports while there are any, then look again every
    `GATEWAY_IMPORT_POLL_SECONDS`; an error of its own is logged and the loop goes on."""
    settings: Settings = app.state.settings
    while True:
        try:
            while await run_next(app):
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not errors.database_unavailable(exc):
                logger.exception("import worker: unexpected error")
        await asyncio.sleep(settings.import_poll_seconds)


@contextlib.asynccontextmanager
async def worker(app: FastAPI) -> AsyncIterator[None]:
    """A lifespan hook: the import worker runs in the gateway while it is up (`GATEWAY_IMPORT_WORKER`)."""
    settings: Settings = app.state.settings
    if not settings.import_worker:
        yield
        return
    task = asyncio.create_task(work(app), name="import-worker")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
