"""The `/v1` routes: parse, call the service, commit once, answer with the declared model."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

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
from shared import footprint, reference, roles
from shared.auth import Principal
from shared.clock import today
from shared.db import UnitOfWork, get_session
from shared.footprint.consumer import Consumer
from shared.pagination import Page, PageParams
from shared.types import Date, Line

router = APIRouter(prefix="/v1", tags=["escalations"], route_class=UnitOfWork)

Session = Annotated[AsyncSession, Depends(get_session)]
Today = Annotated[dt.date, Depends(today)]
EscalationId = Annotated[uuid.UUID, Path(description="The escalation's id.")]
Filter = Annotated[Line | None, Query()]


def policy(request: Request) -> service.Policy:
    """The configured ladder, categories and calendar (built once in `create_app`)."""
    configured: service.Policy = request.app.state.policy
    return configured


Configured = Annotated[service.Policy, Depends(policy)]


def _consumer(request: Request) -> Consumer | None:
    return getattr(request.app.state, "children_consumer", None)


def _actor(request: Request, principal: Principal) -> footprint.Actor:
    return footprint.actor_for(principal, request.headers.get(footprint.SOURCE_HEADER))


# --- Escalations --------------------------------------------------------------------------------


@router.post("/escalations", status_code=201, response_model=EscalationRead)
async def raise_escalation(
    body: EscalationCreate,
    request: Request,
    response: Response,
    session: Session,
    principal: roles.Caller,
    config: Configured,
    on: Today,
) -> EscalationRead:
    """Raise an informal alert (stage 0) or a formal escalation (stage 1) about one child, several
    children or the whole service. 422 for an unknown category, a scope that does not fit the
    child ids, an unknown child or a date in the future."""
    escalation = await service.raise_escalation(
        session, body=body, policy=config, today=on, actor=_actor(request, principal), principal=principal,
        consumer=_consumer(request),
    )  # fmt: skip
    response.headers["Location"] = f"/v1/escalations/{escalation.id}"
    return service.read(escalation, today=on, ladder=config.ladder)


@router.get("/escalations", response_model=Page[EscalationRead])
async def list_escalations(
    session: Session,
    _: roles.Caller,
    config: Configured,
    on: Today,
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
        session,
        params=page,
        today=on,
        child_id=child_id,
        status=status,
        stage=stage,
        category=category,
        team=team,
        overdue=overdue,
    )
    return Page(items=[service.read(row, today=on, ladder=config.ladder) for row in rows], next_cursor=cursor)


@router.get("/escalations/{escalation_id}", response_model=EscalationRead)
async def get_escalation(
    escalation_id: EscalationId, session: Session, _: roles.Caller, config: Configured, on: Today
) -> EscalationRead:
    """An escalation with its `stages` history."""
    escalation = await service.get_escalation(session, escalation_id=escalation_id)
    return service.read(escalation, today=on, ladder=config.ladder)


async def _answer(session: AsyncSession, escalation: Escalation, config: service.Policy, on: dt.date) -> EscalationRead:
    return service.read(escalation, today=on, ladder=config.ladder)


@router.post("/escalations/{escalation_id}/responses", response_model=EscalationRead)
async def respond(
    escalation_id: EscalationId,
    body: ResponseCreate,
    request: Request,
    session: Session,
    principal: roles.Caller,
    config: Configured,
    on: Today,
) -> EscalationRead:
    """The current stage's response (once per stage). 409 when already answered or closed."""
    escalation = await service.respond(
        session, escalation_id=escalation_id, body=body, today=on, actor=_actor(request, principal), principal=principal
    )
    return await _answer(session, escalation, config, on)


@router.post("/escalations/{escalation_id}/escalate", response_model=EscalationRead)
async def escalate(
    escalation_id: EscalationId,
    body: EscalateRequest,
    request: Request,
    session: Session,
    principal: roles.Caller,
    config: Configured,
    on: Today,
) -> EscalationRead:
    """Up one stage, with a new response due day (an alert becomes formal at stage 1). 409 past the
    ladder's last stage or once closed."""
    escalation = await service.escalate(
        session,
        escalation_id=escalation_id,
        escalated_on=body.escalated_on,
        reason=body.reason,
        policy=config,
        today=on,
        actor=_actor(request, principal),
        principal=principal,
    )
    return await _answer(session, escalation, config, on)


async def _close(
    request: Request, session: AsyncSession, principal: Principal, config: service.Policy, today_: dt.date, *,
    escalation_id: uuid.UUID, status: Status, on: dt.date, text: str,
) -> EscalationRead:  # fmt: skip
    escalation = await service.close(
        session, escalation_id=escalation_id, status=status, on=on, outcome=text, policy=config, today=today_,
        actor=_actor(request, principal), principal=principal,
    )  # fmt: skip
    return await _answer(session, escalation, config, today_)


@router.post("/escalations/{escalation_id}/resolve", response_model=EscalationRead)
async def resolve(
    escalation_id: EscalationId, body: ResolveRequest, request: Request, session: Session, principal: roles.Caller,
    config: Configured, on: Today,
) -> EscalationRead:  # fmt: skip
    """The IRO is satisfied: `status: resolved`, from any open stage. 409 once closed."""
    return await _close(request, session, principal, config, on, escalation_id=escalation_id,
                        status=Status.RESOLVED, on=body.resolved_on, text=body.outcome)  # fmt: skip


@router.post("/escalations/{escalation_id}/withdraw", response_model=EscalationRead)
async def withdraw(
    escalation_id: EscalationId, body: WithdrawRequest, request: Request, session: Session, principal: roles.Caller,
    config: Configured, on: Today,
) -> EscalationRead:  # fmt: skip
    """The IRO withdraws it: `status: withdrawn`. 409 once closed."""
    return await _close(request, session, principal, config, on, escalation_id=escalation_id,
                        status=Status.WITHDRAWN, on=body.withdrawn_on, text=body.reason)  # fmt: skip


@router.post("/escalations/{escalation_id}/cafcass-referral", response_model=EscalationRead)
async def refer_to_cafcass(
    escalation_id: EscalationId, body: CafcassReferralRequest, request: Request, session: Session,
    principal: roles.Caller, config: Configured, on: Today,
) -> EscalationRead:  # fmt: skip
    """Refer to Cafcass (Children Act 1989 s25B(3)) from any open state: `status: referred_to_cafcass`."""
    return await _close(request, session, principal, config, on, escalation_id=escalation_id,
                        status=Status.REFERRED_TO_CAFCASS, on=body.referred_on, text=body.reason)  # fmt: skip


# --- The configuration --------------------------------------------------------------------------


@router.get("/escalation-stages", response_model=Page[LadderStageRead])
async def escalation_stages(_: roles.Caller, config: Configured) -> Page[LadderStageRead]:
    """The configured ladder: stage 0 (informal alert) to the last formal stage."""
    items = [
        LadderStageRead(stage=s.stage, name=s.name, response_working_days=s.response_working_days)
        for s in config.ladder.stages
    ]
    return Page(items=items, next_cursor=None)


@router.get("/escalation-categories", response_model=Page[CategoryRead])
async def escalation_categories(_: roles.Caller, config: Configured) -> Page[CategoryRead]:
    """The configured categories, with the reference list's label where it has one."""
    labels = reference.labels("escalation_categories")
    return Page(items=[CategoryRead(key=key, label=labels.get(key)) for key in config.categories], next_cursor=None)


# --- Commendations ------------------------------------------------------------------------------


@router.post("/commendations", status_code=201, response_model=CommendationRead)
async def record_commendation(
    body: CommendationCreate,
    request: Request,
    response: Response,
    session: Session,
    principal: roles.Caller,
    on: Today,
) -> CommendationRead:
    """Good practice, for a child (optional) or a team. 422 for an unknown child or a future date."""
    commendation = await commendations.record_commendation(
        session, body=body, today=on, actor=_actor(request, principal), principal=principal, consumer=_consumer(request)
    )
    response.headers["Location"] = f"/v1/commendations/{commendation.id}"
    return CommendationRead.model_validate(commendation)


@router.get("/commendations", response_model=Page[CommendationRead])
async def list_commendations(
    session: Session,
    _: roles.Caller,
    page: Annotated[PageParams, Depends()],
    child_id: uuid.UUID | None = None,
    team: Filter = None,
    raised_from: Annotated[Date | None, Query(alias="from")] = None,
    raised_to: Annotated[Date | None, Query(alias="to")] = None,
) -> Page[CommendationRead]:
    """Commendations, oldest raised first, by child, team or raised date."""
    rows, cursor = await commendations.list_commendations(
        session, params=page, child_id=child_id, team=team, raised_from=raised_from, raised_to=raised_to
    )
    return Page(items=[CommendationRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/commendations/{commendation_id}", response_model=CommendationRead)
async def get_commendation(
    commendation_id: Annotated[uuid.UUID, Path(description="The commendation's id.")], session: Session, _: roles.Caller
) -> CommendationRead:
    """A commendation."""
    return CommendationRead.model_validate(
        await commendations.get_commendation(session, commendation_id=commendation_id)
    )


# --- Statistics ---------------------------------------------------------------------------------


@router.get("/stats/escalations", response_model=EscalationStats, tags=["stats"])
async def escalation_statistics(
    session: Session,
    _: roles.Caller,
    config: Configured,
    on: Today,
    period_from: Annotated[Date, Query(alias="from", description="First raised date of the period.")],
    period_to: Annotated[Date, Query(alias="to", description="Last raised date of the period (inclusive).")],
) -> EscalationStats:
    """The period's escalations (definitions: docs/escalations.md)."""
    return await stats.escalation_stats(session, period_from=period_from, period_to=period_to, today=on, policy=config)
