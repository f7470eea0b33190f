"""The `/v1` routes: parse, call the service with the request context, answer with the declared
model; the unit of work (`shared.db.UnitOfWork`) appends what the request recorded and commits once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.escalations import commendations, service, stats
from services.escalations.models import Escalation
from services.escalations.rules import Status
from services.escalations.schemas import (
    CafcassReferralRequest,
    CategoryRead,
    CommendationCreate,
    CommendationRead,
    EscalateRequest,
    EscalationCreate,
    EscalationRead,
    EscalationStats,
    LadderStageRead,
    ResolveRequest,
    ResponseCreate,
    WithdrawRequest,
)
from shared import reference
from shared.context import Ctx
from shared.db import UnitOfWork
from shared.footprint.consumer import Consumer
from shared.pagination import Page, PageParams
from shared.periods import From, To
from shared.types import Date, Line

router = APIRouter(prefix="/v1", tags=["escalations"], route_class=UnitOfWork)

EscalationId = Annotated[uuid.UUID, Path(description="The escalation's id.")]
Filter = Annotated[Line | None, Query()]


def _consumer(request: Request) -> Consumer | None:
    """The children consumer, to catch up inside the request (None until the app has started it)."""
    return getattr(request.app.state, "children_consumer", None)


Children = Annotated[Consumer | None, Depends(_consumer)]


def _answer(ctx: service.EscalationsCtx, escalation: Escalation) -> EscalationRead:
    """The escalation as the API shows it, overdue as of the request's today."""
    return service.read(escalation, today=ctx.today, ladder=ctx.settings.ladder)


# --- Escalations --------------------------------------------------------------------------------


@router.post("/escalations", status_code=201, response_model=EscalationRead)
async def raise_escalation(body: EscalationCreate, response: Response, ctx: Ctx, consumer: Children) -> EscalationRead:
    """Raise an informal alert (stage 0) or a formal escalation (stage 1) about one child, several
    children or the whole service. 422 for an unknown category, a scope that does not fit the
    child ids, an unknown child or a date in the future."""
    escalation = await service.raise_escalation(ctx, body=body, consumer=consumer)
    response.headers["Location"] = f"/v1/escalations/{escalation.id}"
    return _answer(ctx, escalation)


@router.get("/escalations", response_model=Page[EscalationRead])
async def list_escalations(
    ctx: Ctx,
    page: Annotated[PageParams, Depends()],
    child_id: uuid.UUID | None = None,
    status: Status | None = None,
    stage: Annotated[int | None, Query(ge=0, le=100)] = None,
    category: Filter = None,
    team: Filter = None,
    overdue: Annotated[bool | None, Query(description="true: only overdue as of today; false: only not.")] = None,
) -> Page[EscalationRead]:
    """Escalations, oldest raised first, by child, status, current stage, category, team or overdue."""
    rows, cursor = await service.list_escalations(
        ctx, params=page, child_id=child_id, status=status, stage=stage, category=category, team=team, overdue=overdue
    )
    return Page(items=[_answer(ctx, row) for row in rows], next_cursor=cursor)


@router.get("/escalations/{escalation_id}", response_model=EscalationRead)
async def get_escalation(escalation_id: EscalationId, ctx: Ctx) -> EscalationRead:
    """An escalation with its `stages` history."""
    return _answer(ctx, await service.get_escalation(ctx.session, escalation_id=escalation_id))


@router.post("/escalations/{escalation_id}/responses", response_model=EscalationRead)
async def respond(escalation_id: EscalationId, body: ResponseCreate, ctx: Ctx) -> EscalationRead:
    """The current stage's response (once per stage). 409 when already answered or closed."""
    return _answer(ctx, await service.respond(ctx, escalation_id=escalation_id, body=body))


@router.post("/escalations/{escalation_id}/escalate", response_model=EscalationRead)
async def escalate(escalation_id: EscalationId, body: EscalateRequest, ctx: Ctx) -> EscalationRead:
    """Up one stage, with a new response due day (an alert becomes formal at stage 1). 409 past the
    ladder's last stage or once closed."""
    escalation = await service.escalate(
        ctx, escalation_id=escalation_id, escalated_on=body.escalated_on, reason=body.reason
    )
    return _answer(ctx, escalation)


@router.post("/escalations/{escalation_id}/resolve", response_model=EscalationRead)
async def resolve(escalation_id: EscalationId, body: ResolveRequest, ctx: Ctx) -> EscalationRead:
    """The IRO is satisfied: `status: resolved`, from any open stage. 409 once closed."""
    escalation = await service.close(
        ctx, escalation_id=escalation_id, status=Status.RESOLVED, on=body.resolved_on, outcome=body.outcome
    )
    return _answer(ctx, escalation)


@router.post("/escalations/{escalation_id}/withdraw", response_model=EscalationRead)
async def withdraw(escalation_id: EscalationId, body: WithdrawRequest, ctx: Ctx) -> EscalationRead:
    """The IRO withdraws it: `status: withdrawn`. 409 once closed."""
    escalation = await service.close(
        ctx, escalation_id=escalation_id, status=Status.WITHDRAWN, on=body.withdrawn_on, outcome=body.reason
    )
    return _answer(ctx, escalation)


@router.post("/escalations/{escalation_id}/cafcass-referral", response_model=EscalationRead)
async def refer_to_cafcass(escalation_id: EscalationId, body: CafcassReferralRequest, ctx: Ctx) -> EscalationRead:
    """Refer to Cafcass (Children Act 1989 s25B(3)) from any open state: `status: referred_to_cafcass`."""
    escalation = await service.close(
        ctx, escalation_id=escalation_id, status=Status.REFERRED_TO_CAFCASS, on=body.referred_on, outcome=body.reason
    )
    return _answer(ctx, escalation)


# --- The configuration --------------------------------------------------------------------------


@router.get("/escalation-stages", response_model=Page[LadderStageRead])
async def escalation_stages(ctx: Ctx) -> Page[LadderStageRead]:
    """The configured ladder: stage 0 (informal alert) to the last formal stage."""
    items = [
        LadderStageRead(stage=s.stage, name=s.name, response_working_days=s.response_working_days)
        for s in ctx.settings.ladder.stages
    ]
    return Page(items=items, next_cursor=None)


@router.get("/escalation-categories", response_model=Page[CategoryRead])
async def escalation_categories(ctx: Ctx) -> Page[CategoryRead]:
    """The configured categories, with the reference list's label where it has one."""
    labels = reference.labels("escalation_categories")
    items = [CategoryRead(key=key, label=labels.get(key)) for key in ctx.settings.categories]
    return Page(items=items, next_cursor=None)


# --- Commendations ------------------------------------------------------------------------------


@router.post("/commendations", status_code=201, response_model=CommendationRead)
async def record_commendation(
    body: CommendationCreate, response: Response, ctx: Ctx, consumer: Children
) -> CommendationRead:
    """Good practice, for a child (optional) or a team. 422 for an unknown child or a future date."""
    commendation = await commendations.record_commendation(ctx, body=body, consumer=consumer)
    response.headers["Location"] = f"/v1/commendations/{commendation.id}"
    return CommendationRead.model_validate(commendation)


@router.get("/commendations", response_model=Page[CommendationRead])
async def list_commendations(
    ctx: Ctx,
    page: Annotated[PageParams, Depends()],
    child_id: uuid.UUID | None = None,
    team: Filter = None,
    raised_from: Annotated[Date | None, Query(alias="from")] = None,
    raised_to: Annotated[Date | None, Query(alias="to")] = None,
) -> Page[CommendationRead]:
    """Commendations, oldest raised first, by child, team or raised date."""
    rows, cursor = await commendations.list_commendations(
        ctx.session, params=page, child_id=child_id, team=team, raised_from=raised_from, raised_to=raised_to
    )
    return Page(items=[CommendationRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/commendations/{commendation_id}", response_model=CommendationRead)
async def get_commendation(
    commendation_id: Annotated[uuid.UUID, Path(description="The commendation's id.")], ctx: Ctx
) -> CommendationRead:
    """A commendation."""
    commendation = await commendations.get_commendation(ctx.session, commendation_id=commendation_id)
    return CommendationRead.model_validate(commendation)


# --- Statistics ---------------------------------------------------------------------------------


@router.get("/stats/escalations", response_model=EscalationStats, tags=["stats"])
async def escalation_statistics(
    ctx: Ctx,
    period_from: From,
    period_to: To,
) -> EscalationStats:
    """The period's escalations (definitions: docs/escalations.md): counted by raised date, or by the
    date of the resolution or referral, and `overdue_now` as of today."""
    return await stats.escalation_stats(ctx, period_from=period_from, period_to=period_to)
