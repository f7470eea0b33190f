"""Each held review's participation record (brief 2.3): put, read, list a child's.

Service functions take the request's context (`ParticipationCtx`) first; they flush and record their
footprint events on it (`ctx.record`), never commit: the request's unit of work appends what they
recorded and commits once. A first record writes `participation.recorded`; a different later one
`participation.replaced`, whose payload keeps the previous values, so the footprint holds every
earlier record. Putting the same values again changes nothing and writes no event.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation import rules
from services.participation.models import Child, HeldReview, Participation
from services.participation.schemas import ParentOut, ParticipationIn, ParticipationOut, Problem
from services.participation.settings import Settings
from shared import author
from shared.auth import Principal
from shared.context import RequestContext
from shared.errors import NotFound
from shared.footprint import Subject, events
from shared.footprint.consumer import Consumer
from shared.pagination import PageParams, paginate

ParticipationCtx = RequestContext[Settings]
"""The request's context in this service (shared.context): its settings are the participation ones."""


async def _held(session: AsyncSession, review_id: uuid.UUID) -> HeldReview | None:
    query = select(HeldReview).where(HeldReview.review_id == review_id).execution_options(populate_existing=True)
    held: HeldReview | None = await session.scalar(query)
    return held


async def find_held_review(session: AsyncSession, consumer: Consumer, review_id: uuid.UUID) -> HeldReview | None:
    """The held review, catching up with the footprint first if it is not known yet (a review held a
    moment ago); None if it has never been held."""
    held = await _held(session, review_id)
    if held is None:
        await consumer.catch_up(session)
        held = await _held(session, review_id)
    return held


async def find_child(session: AsyncSession, consumer: Consumer, child_id: uuid.UUID) -> Child | None:
    """The child as registered, catching up with the footprint first if it is not known yet."""
    query = select(Child).where(Child.id == child_id).execution_options(populate_existing=True)
    child: Child | None = await session.scalar(query)
    if child is None:
        await consumer.catch_up(session)
        child = await session.scalar(query)
    return child


def record_out(record: Participation, held: HeldReview) -> ParticipationOut:
    return ParticipationOut(
        review_id=record.review_id,
        child_id=held.child_id,
        review_date=held.review_date,
        code=record.code,
        methods=list(record.methods),
        met_iro_before=record.met_iro_before,
        interpreter_used=record.interpreter_used,
        parents=[ParentOut(**parent) for parent in record.parents],
        recorded_at=record.recorded_at,
        recorded_by=record.recorded_by,
        problems=cast("list[Problem]", list(held.problems)),
    )


def _values(record: Participation) -> dict[str, Any]:
    """What a PUT sets, as stored: compared to tell a replacement from a repeat, kept on events."""
    return {
        "code": record.code,
        "methods": list(record.methods),
        "met_iro_before": record.met_iro_before,
        "interpreter_used": record.interpreter_used,
        "parents": [dict(parent) for parent in record.parents],
    }


def checked_values(body: ParticipationIn, held: HeldReview) -> dict[str, Any]:
    """The body checked by the rules (422 naming the first bad field), as it will be stored."""
    code = rules.check_code(body.code, date_of_birth=held.date_of_birth, review_date=held.review_date)
    methods = rules.check_methods(body.methods)
    parents = rules.check_parents([parent.model_dump() for parent in body.parents])
    return {
        "code": code,
        "methods": list(methods),
        "met_iro_before": body.met_iro_before,
        "interpreter_used": body.interpreter_used,
        "parents": [dataclasses.asdict(parent) for parent in parents],
    }


def _locked(review_id: uuid.UUID) -> Select[Participation]:
    return (
        select(Participation)
        .where(Participation.review_id == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def put_record(
    ctx: ParticipationCtx, *, consumer: Consumer, review_id: uuid.UUID, body: ParticipationIn
) -> ParticipationOut:
    """Record or replace a held review's participation; 404 for a review never held, 422 for a code
    that contradicts the child's age on the review date (or any other bad field). The review's problems
    are recomputed with the new code (`rules.problems_of`): a valid code clears `code_invalid_for_age`,
    with `participation.flagged` when they change."""
    session, actor = ctx.session, ctx.actor
    held = await find_held_review(session, consumer, review_id)
    if held is None:
        raise NotFound(f"No review {review_id} has been held (or its review.held event has not arrived).")
    values = checked_values(body, held)
    iro_id = await footprint_iro(session, ctx.principal, held)
    await update_problems(ctx, held=held, code=values["code"], iro_id=iro_id)

    current: Participation | None = await session.scalar(_locked(review_id))
    if current is None:
        # Two first PUTs at once: one inserts; the other's insert does nothing, and it replaces.
        inserted: Participation | None = await session.scalar(
            insert(Participation)
            .values(review_id=review_id, recorded_by=actor.sub, version=1, **values)
            .on_conflict_do_nothing(index_elements=[Participation.review_id])
            .returning(Participation),
            execution_options={"populate_existing": True},
        )
        if inserted is not None:
            recorded = events.ParticipationRecorded(
                review_id=held.review_id, review_date=held.review_date, version=1, **values
            )
            _record(ctx, recorded, held, iro_id)
            return record_out(inserted, held)
        current = (await session.scalars(_locked(review_id))).one()

    previous = _values(current)
    if previous == values:
        return record_out(current, held)
    replaced = (
        await session.scalars(
            update(Participation)
            .where(Participation.review_id == review_id)
            .values(
                recorded_by=actor.sub,
                recorded_at=func.now(),
                version=Participation.version + 1,
                **values,
            )
            .returning(Participation),
            execution_options={"populate_existing": True},
        )
    ).one()
    event = events.ParticipationReplaced(
        review_id=held.review_id, review_date=held.review_date, version=replaced.version, previous=previous, new=values
    )
    _record(ctx, event, held, iro_id)
    return record_out(replaced, held)


async def update_problems(ctx: ParticipationCtx, *, held: HeldReview, code: str, iro_id: uuid.UUID | None) -> None:
    """The review's problems with `code` about to be stored (`rules.problems_of`); when they change,
    stored and recorded as `participation.flagged` (before the record's own event)."""
    problems = rules.problems_of(code=code, date_of_birth=held.date_of_birth, review_date=held.review_date)
    previous = list(held.problems)
    if problems == previous:
        return
    held.problems = problems
    await ctx.session.flush()  # the change is written before its event is recorded
    event = events.ParticipationFlagged(
        review_id=held.review_id,
        problems=cast("list[events.ParticipationProblem]", problems),
        previous_problems=cast("list[events.ParticipationProblem]", previous),
    )
    ctx.record(event, subject=Subject("review", held.review_id), child_id=held.child_id, iro_id=iro_id)


async def footprint_iro(session: AsyncSession, principal: Principal, held: HeldReview) -> uuid.UUID | None:
    """Whose footprint a record's event is (DESIGN 3; `shared.author.author_iro`): the IRO the token
    identifies when an IRO records it, else the IRO who chaired the review (a manager's or a case
    system's entry is still that IRO's work)."""

    async def acting() -> uuid.UUID | None:
        return await author.registered_iro(session, principal.iro_identity)

    async def chair() -> uuid.UUID | None:
        return held.chaired_by_iro_id

    return await author.author_iro(principal, acting=acting, allocated=chair)


def _record(
    ctx: ParticipationCtx,
    event: events.ParticipationRecorded | events.ParticipationReplaced,
    held: HeldReview,
    iro_id: uuid.UUID | None,
) -> None:
    ctx.record(event, subject=Subject("review", held.review_id), child_id=held.child_id, iro_id=iro_id)


async def get_record(session: AsyncSession, review_id: uuid.UUID) -> ParticipationOut:
    """The review's record; 404 when none has been put (held or not)."""
    row = (
        await session.execute(
            select(Participation, HeldReview)
            .join(HeldReview, HeldReview.review_id == Participation.review_id)
            .where(Participation.review_id == review_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"No participation has been recorded for review {review_id}.")
    return record_out(row.Participation, row.HeldReview)


async def list_records(
    session: AsyncSession, params: PageParams, *, child_id: uuid.UUID | None = None, problem: bool | None = None
) -> tuple[list[ParticipationOut], str | None]:
    """Records, oldest review first (then by review id), a keyset page: a child's with `child_id`; with
    `problem`, only those with problems (true) or without (false), of every child unless `child_id`."""
    # The page's keys are read from the first entity selected: the held review.
    query = select(HeldReview, Participation).join(Participation, Participation.review_id == HeldReview.review_id)
    if child_id is not None:
        query = query.where(HeldReview.child_id == child_id)
    if problem is not None:
        flagged_ = func.cardinality(HeldReview.problems) > 0
        query = query.where(flagged_ if problem else ~flagged_)
    keys: list[ColumnElement[Any]] = [HeldReview.review_date.expression, HeldReview.review_id.expression]
    rows, cursor = await paginate(session, cast("Select[Any]", query), keys=keys, params=params)
    return [record_out(row.Participation, row.HeldReview) for row in rows], cursor
