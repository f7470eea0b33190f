"""Escalations: load, apply the pure rules, write, record the footprint.

Plain module-level functions, the request context first (`EscalationsCtx`: its session, actor,
today, calendar and settings), keyword-only arguments after; a lookup that needs only a session
takes the session first. They `flush()`, never `commit()`: the route's unit of work commits once,
appending the events the request recorded just before. Every check runs before anything is
written, so a refused request changes nothing and records no event. Each state change records its
events last: one per child named (scope `child` or `children`), in their order, or one without a
child (scope `service`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, exists, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalations import consumers, rules
from services.escalations.models import Escalation, EscalationChild, EscalationStage, KnownChild
from services.escalations.rules import Ladder, Status
from services.escalations.schemas import (
    EscalationCreate,
    EscalationRead,
    ResponseCreate,
    StageRead,
)
from services.escalations.settings import Settings
from shared import author, logic
from shared.context import RequestContext
from shared.errors import InvalidField, NotFound
from shared.footprint import Subject, events
from shared.footprint.consumer import Consumer
from shared.pagination import PageParams, paginate

EscalationsCtx = RequestContext[Settings]
"""The request context of this service: its settings carry the ladder and the categories."""


# --- Reading ------------------------------------------------------------------------------------


def state_of(escalation: Escalation) -> rules.EscalationState:
    """The rules' view of a stored escalation."""
    current = escalation.current
    return rules.EscalationState(
        status=Status(escalation.status),
        stage=escalation.stage,
        raised_on=escalation.raised_on,
        stage_entered_on=current.entered_on,
        responded=current.responded_on is not None,
        raised_as_alert=escalation.raised_as_alert,
        closed_on=escalation.closed_on,
    )


def read(escalation: Escalation, *, today: dt.date, ladder: Ladder) -> EscalationRead:
    """The API view of an escalation, overdue as of `today`."""
    state = state_of(escalation)
    current = escalation.current
    stages = [
        StageRead(
            stage=row.stage,
            name=row.name,
            entered_on=row.entered_on,
            entry_reason=row.entry_reason,
            response_due_on=row.response_due_on,
            responded_on=row.responded_on,
            responder=row.responder,
            response_text=row.response_text,
            responded_in_time=None if row.responded_on is None else row.responded_on <= row.response_due_on,
            overdue=rules.is_stage_overdue(
                is_open=state.is_open and row.ended_on is None,
                responded=row.responded_on is not None,
                response_due_on=row.response_due_on,
                today=today,
            ),
            ended_on=row.ended_on,
            ended_how=row.ended_how,
            end_reason=row.end_reason,
        )
        for row in escalation.stages
    ]
    allowed = rules.allowed_actions(state, ladder)
    return EscalationRead(
        id=escalation.id,
        kind=state.kind,
        raised_as_alert=escalation.raised_as_alert,
        scope=rules.Scope(escalation.scope),
        child_ids=escalation.child_ids,
        category=escalation.category,
        team=escalation.team,
        summary=escalation.summary,
        raised_on=escalation.raised_on,
        raised_by=escalation.raised_by,
        status=escalation.status,
        stage=escalation.stage,
        stage_name=current.name,
        response_due_on=current.response_due_on,
        responded_on=current.responded_on,
        overdue=rules.is_overdue(state, current.response_due_on, today),
        outcome=escalation.outcome,
        closed_on=escalation.closed_on,
        allowed_actions=[action.value for action in rules.ACTIONS if action in allowed],
        stages=stages,
    )


async def get_escalation(session: AsyncSession, *, escalation_id: uuid.UUID, for_update: bool = False) -> Escalation:
    """The escalation with its children and stages; 404 when there is none with that id."""
    query = select(Escalation).where(Escalation.id == escalation_id).execution_options(populate_existing=True)
    if for_update:
        query = query.with_for_update(of=Escalation)
    escalation = await session.scalar(query)
    if escalation is None:
        raise NotFound(f"No escalation {escalation_id}.")
    return escalation


def overdue_condition(today: dt.date) -> Any:
    """SQL for `rules.is_stage_overdue` of the current stage as of `today`: the `overdue` filter and
    `overdue_now` count exactly the escalations whose read `overdue` is true."""
    stage = EscalationStage
    return exists().where(
        stage.escalation_id == Escalation.id,
        stage.stage == Escalation.stage,
        rules.is_stage_overdue(
            is_open=Escalation.status == Status.OPEN.value,
            responded=stage.responded_on.is_not(None),
            response_due_on=stage.response_due_on,
            today=today,
            logic=logic.SQL,
        ),
    )


def check_cursor(params: PageParams, *types: type) -> None:
    """422 for a cursor whose values are not of the key columns' types (it was not one we gave out)."""
    values = params.after  # signature and list already checked by PageParams
    if values is None:
        return
    if len(values) != len(types) or not all(type(value) is kind for value, kind in zip(values, types, strict=True)):
        raise InvalidField(("query", "cursor"), "The cursor is not one this API gave out.")


async def list_escalations(
    ctx: EscalationsCtx,
    *,
    params: PageParams,
    child_id: uuid.UUID | None = None,
    status: Status | None = None,
    stage: int | None = None,
    category: str | None = None,
    team: str | None = None,
    overdue: bool | None = None,
) -> tuple[list[Escalation], str | None]:
    """One keyset page of escalations, oldest raised first, filtered (`overdue` as of `ctx.today`)."""
    check_cursor(params, dt.date, uuid.UUID)
    query: Select[Any] = select(Escalation)
    if child_id is not None:
        named = select(EscalationChild.escalation_id).where(EscalationChild.child_id == child_id)
        query = query.where(Escalation.id.in_(named))
    if status is not None:
        query = query.where(Escalation.status == status.value)
    if stage is not None:
        query = query.where(Escalation.stage == stage)
    if category is not None:
        query = query.where(Escalation.category == category)
    if team is not None:
        query = query.where(Escalation.team == team)
    if overdue is not None:
        condition = overdue_condition(ctx.today)
        query = query.where(condition if overdue else not_(condition))
    return await paginate(ctx.session, query, keys=[Escalation.raised_on, Escalation.id], params=params)


# --- The footprint ------------------------------------------------------------------------------


def _facts(escalation: Escalation) -> dict[str, Any]:
    """The fields every escalation event carries (`events._EscalationFacts`); never the summary,
    response or reasons (free text)."""
    current = escalation.current
    return {
        "escalation_id": escalation.id,
        "kind": state_of(escalation).kind.value,
        "raised_as_alert": escalation.raised_as_alert,
        "scope": escalation.scope,
        "children": len(escalation.children),
        "category": escalation.category,
        "team": escalation.team,
        "raised_on": escalation.raised_on,
        "status": escalation.status,
        "stage": escalation.stage,
        "stage_name": current.name,
        "response_due_on": current.response_due_on,
    }


async def footprint_iro(ctx: EscalationsCtx, *, child_id: uuid.UUID | None) -> uuid.UUID | None:
    """Whose footprint an event is (DESIGN 3; `shared.author.author_iro`): the IRO the token
    identifies when an IRO acts, else the IRO allocated to the child (as this service learnt it)."""
    session = ctx.session

    async def acting() -> uuid.UUID | None:
        return await author.registered_iro(session, ctx.principal.iro_identity)

    async def allocated() -> uuid.UUID | None:
        if child_id is None:
            return None
        return await session.scalar(select(KnownChild.iro_id).where(KnownChild.id == child_id))

    return await author.author_iro(ctx.principal, acting=acting, allocated=allocated)


async def _record(ctx: EscalationsCtx, escalation: Escalation, event: events.FootprintEvent) -> None:
    """One event per child named, in their order, or one without a child for a service-wide
    escalation: recorded on the context, appended at the request's commit."""
    await ctx.session.flush()
    subject = Subject("escalation", escalation.id)
    children: list[uuid.UUID | None] = [*escalation.child_ids] or [None]
    for child_id in children:
        iro_id = await footprint_iro(ctx, child_id=child_id)
        ctx.record(event, subject=subject, child_id=child_id, iro_id=iro_id)


# --- Changes ------------------------------------------------------------------------------------


async def raise_escalation(ctx: EscalationsCtx, *, body: EscalationCreate, consumer: Consumer | None) -> Escalation:
    """Raise an alert (stage 0) or a formal escalation (stage 1), with its first response due day.
    `consumer` catches this service up with the children registered (None: it is not running)."""
    ladder = ctx.settings.ladder
    category = rules.check_category(body.category, ctx.settings.categories)
    child_ids = rules.check_scope(body.scope.value, body.child_ids)
    state, due = rules.raise_escalation(body.kind.value, body.raised_on, ctx.today, ladder, ctx.calendar)
    await consumers.ensure_known(ctx.session, child_ids, consumer=consumer, field="child_ids")

    escalation = Escalation(
        id=uuid.uuid4(),
        raised_as_alert=state.raised_as_alert,
        scope=body.scope.value,
        category=category,
        team=body.team,
        summary=body.summary,
        raised_on=state.raised_on,
        raised_by=ctx.actor.sub,
        status=state.status.value,
        stage=state.stage,
        children=[EscalationChild(child_id=child_id, position=i) for i, child_id in enumerate(child_ids)],
        stages=[
            EscalationStage(
                stage=state.stage,
                name=ladder.get(state.stage).name,
                entered_on=state.stage_entered_on,
                response_due_on=due,
            )
        ],
    )
    ctx.session.add(escalation)
    await _record(ctx, escalation, events.EscalationRaised(**_facts(escalation)))
    return escalation


async def respond(ctx: EscalationsCtx, *, escalation_id: uuid.UUID, body: ResponseCreate) -> Escalation:
    """Record the addressee's response to the current stage (once per stage)."""
    escalation = await get_escalation(ctx.session, escalation_id=escalation_id, for_update=True)
    rules.respond(state_of(escalation), body.responded_on, ctx.today)
    current = escalation.current
    current.responded_on = body.responded_on
    current.responder = body.responder
    current.response_text = body.text
    event = events.EscalationResponded(
        **_facts(escalation),
        responded_on=body.responded_on,
        responded_in_time=body.responded_on <= current.response_due_on,
    )
    await _record(ctx, escalation, event)
    return escalation


async def escalate(ctx: EscalationsCtx, *, escalation_id: uuid.UUID, escalated_on: dt.date, reason: str) -> Escalation:
    """Move to the next stage of the ladder; an alert becomes a formal escalation at stage 1."""
    escalation = await get_escalation(ctx.session, escalation_id=escalation_id, for_update=True)
    before = escalation.stage
    ladder = ctx.settings.ladder
    state = rules.escalate(state_of(escalation), escalated_on, ctx.today, ladder)
    stage = ladder.get(state.stage)
    previous = escalation.current
    previous.ended_on, previous.ended_how, previous.end_reason = escalated_on, "escalated", reason
    escalation.stages.append(
        EscalationStage(
            stage=stage.stage,
            name=stage.name,
            entered_on=escalated_on,
            response_due_on=rules.response_due_on(ctx.calendar, escalated_on, stage),
            entry_reason=reason,
        )
    )
    escalation.stage = state.stage
    event = events.EscalationEscalated(**_facts(escalation), from_stage=before, escalated_on=escalated_on)
    await _record(ctx, escalation, event)
    return escalation


_CLOSERS: dict[Status, tuple[Any, Callable[..., events.FootprintEvent], str]] = {
    Status.RESOLVED: (rules.resolve, events.EscalationResolved, "resolved_on"),
    Status.WITHDRAWN: (rules.withdraw, events.EscalationWithdrawn, "withdrawn_on"),
    Status.REFERRED_TO_CAFCASS: (rules.refer_to_cafcass, events.EscalationReferredToCafcass, "referred_on"),
}


async def close(
    ctx: EscalationsCtx, *, escalation_id: uuid.UUID, status: Status, on: dt.date, outcome: str
) -> Escalation:
    """Resolve, withdraw or refer to Cafcass, from any open stage; `outcome` is the outcome or reason."""
    rule, event_class, date_field = _CLOSERS[status]
    escalation = await get_escalation(ctx.session, escalation_id=escalation_id, for_update=True)
    state = rule(state_of(escalation), on, ctx.today)
    current = escalation.current
    current.ended_on, current.ended_how, current.end_reason = on, status.value, outcome
    escalation.status = state.status.value
    escalation.closed_on = state.closed_on
    escalation.outcome = outcome
    working_days = rules.working_days_to_resolution(ctx.calendar, escalation.raised_on, on)
    event = event_class(**_facts(escalation), **{date_field: on}, working_days_open=working_days)
    await _record(ctx, escalation, event)
    return escalation
