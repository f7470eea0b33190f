"""The participation API (CONTRACT.md, "Participation service"). Routes are thin: they check the
role, call a service function (which flushes and appends to the footprint) and commit once.

Roles (each route's row in shared/roles.py): records and stats are read by iro, manager, auditor
and admin; participation, feedback and advocacy are written by iro, manager and admin, and
participation also by integration behind the gateway (a case system's `review.held` can carry a
participation code).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation import forms, rules, service, stats
from services.participation.consumers import consumer_of
from services.participation.schemas import (
    AdvocacyIn,
    AdvocacyOut,
    AdvocacyOutcomeIn,
    AdvocacyStats,
    FeedbackIn,
    FeedbackOut,
    FeedbackStats,
    ParticipationIn,
    ParticipationOut,
    ParticipationStats,
    QuestionOut,
    QuestionSetOut,
)
from services.participation.settings import Settings
from shared import roles
from shared.auth import Principal
from shared.clock import today
from shared.db import UnitOfWork, get_session
from shared.footprint import SOURCE_HEADER, Actor, actor_for
from shared.pagination import Page, PageParams
from shared.types import Code, Date

router = APIRouter(prefix="/v1", route_class=UnitOfWork)
# `Annotated[...]`, not `x: Date = Query(...)`: FastAPI drops a type's validators in that form.
From = Annotated[Date, Query(alias="from", description="First day of the period (inclusive), YYYY-MM-DD.")]
To = Annotated[Date, Query(alias="to", description="Last day of the period (inclusive), YYYY-MM-DD.")]


def _actor(request: Request, principal: Principal) -> Actor:
    return actor_for(principal, request.headers.get(SOURCE_HEADER))


def _questions(request: Request) -> tuple[rules.Question, ...]:
    settings: Settings = request.app.state.settings
    return settings.questions


# --- Participation records -----------------------------------------------------------------------


@router.put("/participation/{review_id}", response_model=ParticipationOut, tags=["participation"])
async def put_participation(
    review_id: uuid.UUID,
    body: ParticipationIn,
    request: Request,
    principal: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
) -> ParticipationOut:
    """Record (or replace) the review's participation code and how the child and parents took part.
    422 when the code contradicts the child's age on the review date; 404 for a review never held."""
    record = await service.put_record(
        session, consumer_of(request.app), review_id, body, _actor(request, principal), principal=principal
    )
    return record


@router.get("/participation/{review_id}", response_model=ParticipationOut, tags=["participation"])
async def get_participation(
    review_id: uuid.UUID, _: Principal = Depends(roles.caller), session: AsyncSession = Depends(get_session)
) -> ParticipationOut:
    """The review's participation record."""
    return await service.get_record(session, review_id)


@router.get("/participation", response_model=Page[ParticipationOut], tags=["participation"])
async def list_participation(
    child_id: uuid.UUID = Query(description="The child whose records to list."),
    params: PageParams = Depends(),
    _: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
) -> Page[ParticipationOut]:
    """The child's participation records, oldest review first."""
    items, cursor = await service.list_records(session, child_id, params)
    return Page(items=items, next_cursor=cursor)


# --- Feedback ------------------------------------------------------------------------------------


@router.get("/feedback-questions", response_model=QuestionSetOut, tags=["feedback"])
async def feedback_questions(request: Request, _: Principal = Depends(roles.caller)) -> QuestionSetOut:
    """The configured feedback questions, and the answers, respondents and channels a form may use."""
    return QuestionSetOut(
        questions=[QuestionOut(key=q.key, text=q.text) for q in _questions(request)],
        answers=list(rules.ANSWERS),
        respondents=dict(rules.RESPONDENTS),
        channels=dict(rules.CHANNELS),
    )


@router.post("/feedback", status_code=201, response_model=FeedbackOut, tags=["feedback"])
async def post_feedback(
    body: FeedbackIn,
    request: Request,
    response: Response,
    principal: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
    day: dt.date = Depends(today),
) -> FeedbackOut:
    """Record a feedback form; anonymous when it names neither `review_id` nor `child_id`."""
    form = await forms.create_feedback(
        session,
        consumer_of(request.app),
        body,
        questions=_questions(request),
        actor=_actor(request, principal),
        today=day,
    )
    response.headers["Location"] = f"/v1/feedback/{form.id}"
    return FeedbackOut.model_validate(form)


@router.get("/feedback", response_model=Page[FeedbackOut], tags=["feedback"])
async def list_feedback(
    child_id: uuid.UUID | None = None,
    review_id: uuid.UUID | None = None,
    respondent: Code | None = None,
    received_from: Date | None = Query(None, alias="from", description="Received on or after."),
    received_to: Date | None = Query(None, alias="to", description="Received on or before."),
    params: PageParams = Depends(),
    _: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
) -> Page[FeedbackOut]:
    """Feedback forms, oldest received first."""
    items, cursor = await forms.list_feedback(
        session,
        params,
        child_id=child_id,
        review_id=review_id,
        respondent=respondent,
        received_from=received_from,
        received_to=received_to,
    )
    return Page(items=[FeedbackOut.model_validate(item) for item in items], next_cursor=cursor)


@router.get("/feedback/{feedback_id}", response_model=FeedbackOut, tags=["feedback"])
async def get_feedback(
    feedback_id: uuid.UUID, _: Principal = Depends(roles.caller), session: AsyncSession = Depends(get_session)
) -> FeedbackOut:
    """One feedback form."""
    return FeedbackOut.model_validate(await forms.get_feedback(session, feedback_id))


# --- Advocacy referrals --------------------------------------------------------------------------


@router.post("/advocacy-referrals", status_code=201, response_model=AdvocacyOut, tags=["advocacy"])
async def post_advocacy_referral(
    body: AdvocacyIn,
    request: Request,
    response: Response,
    principal: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
    day: dt.date = Depends(today),
) -> AdvocacyOut:
    """Record a child's referral to an advocacy provider."""
    referral = await forms.create_referral(
        session, consumer_of(request.app), body, actor=_actor(request, principal), today=day
    )
    response.headers["Location"] = f"/v1/advocacy-referrals/{referral.id}"
    return AdvocacyOut.model_validate(referral)


@router.get("/advocacy-referrals", response_model=Page[AdvocacyOut], tags=["advocacy"])
async def list_advocacy_referrals(
    child_id: uuid.UUID | None = None,
    params: PageParams = Depends(),
    _: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
) -> Page[AdvocacyOut]:
    """Advocacy referrals, oldest first; one child's with `child_id`."""
    items, cursor = await forms.list_referrals(session, params, child_id=child_id)
    return Page(items=[AdvocacyOut.model_validate(item) for item in items], next_cursor=cursor)


@router.get("/advocacy-referrals/{referral_id}", response_model=AdvocacyOut, tags=["advocacy"])
async def get_advocacy_referral(
    referral_id: uuid.UUID, _: Principal = Depends(roles.caller), session: AsyncSession = Depends(get_session)
) -> AdvocacyOut:
    """One advocacy referral."""
    return AdvocacyOut.model_validate(await forms.get_referral(session, referral_id))


@router.patch("/advocacy-referrals/{referral_id}", response_model=AdvocacyOut, tags=["advocacy"])
async def patch_advocacy_referral(
    referral_id: uuid.UUID,
    body: AdvocacyOutcomeIn,
    request: Request,
    principal: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
    day: dt.date = Depends(today),
) -> AdvocacyOut:
    """Record the referral's outcome."""
    referral = await forms.record_outcome(session, referral_id, body, actor=_actor(request, principal), today=day)
    return AdvocacyOut.model_validate(referral)


# --- Stats ---------------------------------------------------------------------------------------


@router.get("/stats/participation", response_model=ParticipationStats, tags=["stats"])
async def participation_stats(
    start: From,
    end: To,
    age_on: Date | None = Query(None, description="Ages on this day instead of on each review date."),
    _: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
    day: dt.date = Depends(today),
) -> ParticipationStats:
    """Held reviews in the period (by review date): counts by code and the participation rate of
    children aged 4+, overall and by age (ages on `age_on`, at the latest today)."""
    return await stats.participation_stats(session, start, end, age_on, today=day)


@router.get("/stats/feedback", response_model=FeedbackStats, tags=["stats"])
async def feedback_stats(
    request: Request,
    start: From,
    end: To,
    _: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
) -> FeedbackStats:
    """Feedback forms received in the period: answer counts per question and respondent."""
    return await stats.feedback_stats(session, start, end, _questions(request))


@router.get("/stats/advocacy", response_model=AdvocacyStats, tags=["stats"])
async def advocacy_stats(
    start: From,
    end: To,
    _: Principal = Depends(roles.caller),
    session: AsyncSession = Depends(get_session),
) -> AdvocacyStats:
    """Advocacy referrals made in the period, per calendar quarter."""
    return await stats.advocacy_stats(session, start, end)
