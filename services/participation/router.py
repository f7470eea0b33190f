"""The participation API (CONTRACT.md, "Participation service"). Routes are thin: each takes the
request's context (`shared.context.Ctx`: the caller checked against the route's row of the role
table, the session, actor, today and settings) and calls a service function, which flushes and
records its footprint events on the context; the request's unit of work appends them and commits once.

Roles (each route's row in shared/roles.py): records and stats are read by iro, manager, auditor
and admin; participation, feedback and advocacy are written by iro, manager and admin, and
participation also by integration behind the gateway (a case system's `review.held` can carry a
participation code). `GET /v1/ssda903/participation` is internal: the gateway's DfE export calls it
with the caller's token (manager, auditor, admin).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response

from services.participation import forms, rules, service, ssda903, stats
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
    Ssda903Participation,
)
from services.participation.settings import Settings
from shared.context import Ctx
from shared.db import UnitOfWork
from shared.errors import InvalidField
from shared.pagination import Page, PageParams
from shared.periods import CollectionYear, From, To
from shared.types import Code, Date

router = APIRouter(prefix="/v1", route_class=UnitOfWork)


# --- Participation records -----------------------------------------------------------------------


@router.put("/participation/{review_id}", response_model=ParticipationOut, tags=["participation"])
async def put_participation(
    review_id: uuid.UUID,
    body: ParticipationIn,
    request: Request,
    ctx: Ctx,
) -> ParticipationOut:
    """Record (or replace) the review's participation code and how the child and parents took part.
    422 when the code contradicts the child's age on the review date; 404 for a review never held."""
    return await service.put_record(ctx, consumer=consumer_of(request.app), review_id=review_id, body=body)


@router.get("/participation/{review_id}", response_model=ParticipationOut, tags=["participation"])
async def get_participation(review_id: uuid.UUID, ctx: Ctx) -> ParticipationOut:
    """The review's participation record."""
    return await service.get_record(ctx.session, review_id)


@router.get("/participation", response_model=Page[ParticipationOut], tags=["participation"])
async def list_participation(
    child_id: uuid.UUID | None = Query(None, description="The child whose records to list."),
    problem: bool | None = Query(
        None,
        description="true: only records with problems (a stored code a corrected date of birth made wrong for "
        "the child's age, a review on or after the 18th birthday); false: only those without.",
    ),
    params: PageParams = Depends(),
    *,
    ctx: Ctx,
) -> Page[ParticipationOut]:
    """Participation records, oldest review first: a child's (`child_id`), and/or those with or without
    problems (`problem`), of every child when no `child_id` is given. At least one of the two."""
    if child_id is None and problem is None:
        raise InvalidField(("query", "child_id"), "Give a child_id, or problem=true|false to list every child's.")
    items, cursor = await service.list_records(ctx.session, params, child_id=child_id, problem=problem)
    return Page(items=items, next_cursor=cursor)


# --- Feedback ------------------------------------------------------------------------------------


@router.get("/feedback-questions", response_model=QuestionSetOut, tags=["feedback"])
async def feedback_questions(ctx: Ctx) -> QuestionSetOut:
    """The configured feedback questions, and the answers, respondents and channels a form may use."""
    settings: Settings = ctx.settings
    return QuestionSetOut(
        questions=[QuestionOut(key=q.key, text=q.text) for q in settings.questions],
        answers=list(rules.ANSWERS),
        respondents=dict(rules.RESPONDENTS),
        channels=dict(rules.CHANNELS),
    )


@router.post("/feedback", status_code=201, response_model=FeedbackOut, tags=["feedback"])
async def post_feedback(
    body: FeedbackIn,
    request: Request,
    response: Response,
    ctx: Ctx,
) -> FeedbackOut:
    """Record a feedback form; anonymous when it names neither `review_id` nor `child_id`."""
    form = await forms.create_feedback(ctx, consumer=consumer_of(request.app), body=body)
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
    *,
    ctx: Ctx,
) -> Page[FeedbackOut]:
    """Feedback forms, oldest received first."""
    items, cursor = await forms.list_feedback(
        ctx.session,
        params,
        child_id=child_id,
        review_id=review_id,
        respondent=respondent,
        received_from=received_from,
        received_to=received_to,
    )
    return Page(items=[FeedbackOut.model_validate(item) for item in items], next_cursor=cursor)


@router.get("/feedback/{feedback_id}", response_model=FeedbackOut, tags=["feedback"])
async def get_feedback(feedback_id: uuid.UUID, ctx: Ctx) -> FeedbackOut:
    """One feedback form."""
    return FeedbackOut.model_validate(await forms.get_feedback(ctx.session, feedback_id))


# --- Advocacy referrals --------------------------------------------------------------------------


@router.post("/advocacy-referrals", status_code=201, response_model=AdvocacyOut, tags=["advocacy"])
async def post_advocacy_referral(
    body: AdvocacyIn,
    request: Request,
    response: Response,
    ctx: Ctx,
) -> AdvocacyOut:
    """Record a child's referral to an advocacy provider."""
    referral = await forms.create_referral(ctx, consumer=consumer_of(request.app), body=body)
    response.headers["Location"] = f"/v1/advocacy-referrals/{referral.id}"
    return AdvocacyOut.model_validate(referral)


@router.get("/advocacy-referrals", response_model=Page[AdvocacyOut], tags=["advocacy"])
async def list_advocacy_referrals(
    child_id: uuid.UUID | None = None,
    params: PageParams = Depends(),
    *,
    ctx: Ctx,
) -> Page[AdvocacyOut]:
    """Advocacy referrals, oldest first; one child's with `child_id`."""
    items, cursor = await forms.list_referrals(ctx.session, params, child_id=child_id)
    return Page(items=[AdvocacyOut.model_validate(item) for item in items], next_cursor=cursor)


@router.get("/advocacy-referrals/{referral_id}", response_model=AdvocacyOut, tags=["advocacy"])
async def get_advocacy_referral(referral_id: uuid.UUID, ctx: Ctx) -> AdvocacyOut:
    """One advocacy referral."""
    return AdvocacyOut.model_validate(await forms.get_referral(ctx.session, referral_id))


@router.patch("/advocacy-referrals/{referral_id}", response_model=AdvocacyOut, tags=["advocacy"])
async def patch_advocacy_referral(
    referral_id: uuid.UUID,
    body: AdvocacyOutcomeIn,
    ctx: Ctx,
) -> AdvocacyOut:
    """Record the referral's outcome."""
    referral = await forms.record_outcome(ctx, referral_id=referral_id, body=body)
    return AdvocacyOut.model_validate(referral)


# --- Stats ---------------------------------------------------------------------------------------


@router.get("/stats/participation", response_model=ParticipationStats, tags=["stats"])
async def participation_stats(
    start: From,
    end: To,
    age_on: Date | None = Query(None, description="Ages on this day instead of on each review date."),
    *,
    ctx: Ctx,
) -> ParticipationStats:
    """Held reviews in the period (by review date): counts by code and the participation rate of
    children aged 4+, overall and by age (ages on `age_on`, at the latest today); and over their
    participation records, how the child took part (`methods`, `met_iro_before`, `interpreter_used`)
    and the parents' participation (`parents`)."""
    return await stats.participation_stats(ctx, start=start, end=end, age_on=age_on)


@router.get("/stats/feedback", response_model=FeedbackStats, tags=["stats"])
async def feedback_stats(start: From, end: To, ctx: Ctx) -> FeedbackStats:
    """Feedback forms received in the period: answer counts per question and respondent."""
    return await stats.feedback_stats(ctx, start=start, end=end)


@router.get("/stats/advocacy", response_model=AdvocacyStats, tags=["stats"])
async def advocacy_stats(start: From, end: To, ctx: Ctx) -> AdvocacyStats:
    """Advocacy referrals made in the period, per calendar quarter."""
    return await stats.advocacy_stats(ctx.session, start, end)


# --- The DfE SSDA903 return (internal) -----------------------------------------------------------


@router.get("/ssda903/participation", response_model=Ssda903Participation, tags=["ssda903"])
async def ssda903_participation(
    collection_year: CollectionYear,
    request: Request,
    ctx: Ctx,
) -> Response:
    """Internal (the gateway's DfE export): every review held in the collection year, by review date,
    with the child's reference and date of birth, the participation code (null when none is recorded)
    and the review's problems. PostgreSQL writes the JSON (`ssda903.py`: several times faster for a
    large year); the response model documents it."""
    answer = await ssda903.participation_rows(
        ctx.session, consumer=consumer_of(request.app), collection_year=collection_year
    )
    return Response(answer, media_type="application/json")
