"""Feedback forms and advocacy referrals (brief 2.3).

Feedback is anonymous when it names neither a review nor a child: its `feedback.received` event then
carries no child id and no review id. A form's free-text comment stays in this service's table and
never goes on the append-only footprint (it could identify an anonymous respondent). Advocacy
referrals write `advocacy.referred`, and `advocacy.updated` when their outcome is recorded.

Service functions take the request's context first; they flush and record their events on it
(`ctx.record`), never commit: the request's unit of work appends what they recorded and commits once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation import errors, rules
from services.participation.models import AdvocacyReferral, Feedback, HeldReview
from services.participation.schemas import AdvocacyIn, AdvocacyOutcomeIn, FeedbackIn
from services.participation.service import ParticipationCtx, find_child, find_held_review
from shared.errors import BeforeDateOfBirth, CodeNotOnList, DateInFuture, NotFound, TextRequired, UnknownChild
from shared.footprint import Subject, events
from shared.footprint.consumer import Consumer
from shared.pagination import PageParams, paginate


def _not_after_today(day: dt.date, today: dt.date, field: str) -> dt.date:
    if day > today:
        raise DateInFuture(f"{field} {day.isoformat()} is after today ({today.isoformat()}).", field=field)
    return day


def _text(value: str | None) -> str | None:
    """Free text stripped; None for none or blank."""
    if value is None:
        return None
    return value.strip() or None


# --- Feedback ------------------------------------------------------------------------------------


async def _linked(
    session: AsyncSession, consumer: Consumer, body: FeedbackIn
) -> tuple[uuid.UUID | None, HeldReview | None]:
    """The child and held review a form is about (none for anonymous feedback); 422 naming the field
    for a review never held, an unknown child, or a child that is not the review's."""
    held: HeldReview | None = None
    child_id = body.child_id
    if body.review_id is not None:
        held = await find_held_review(session, consumer, body.review_id)
        if held is None:
            raise errors.UnknownHeldReview(f"No review {body.review_id} has been held.")
        if child_id is not None and child_id != held.child_id:
            raise errors.ChildNotOfReview(f"Review {held.review_id} is not a review of child {child_id}.")
        child_id = held.child_id
    elif child_id is not None and await find_child(session, consumer, child_id) is None:
        raise UnknownChild(f"No child {child_id} has been registered.", field="child_id")
    return child_id, held


async def create_feedback(ctx: ParticipationCtx, *, consumer: Consumer, body: FeedbackIn) -> Feedback:
    """Record a feedback form (422 naming the first bad field) and its `feedback.received` event,
    against the configured questions."""
    session, today = ctx.session, ctx.today
    respondent = rules.check_respondent(body.respondent)
    channel = rules.check_channel(body.channel)
    answers = rules.check_answers(body.answers, ctx.settings.questions)
    received_on = _not_after_today(body.received_on or today, today, "received_on")
    child_id, held = await _linked(session, consumer, body)
    comment = _text(body.comment)
    form = Feedback(
        id=uuid.uuid4(),
        respondent=respondent,
        channel=channel,
        review_id=held.review_id if held else None,
        child_id=child_id,
        answers=answers,
        comment=comment,
        received_on=received_on,
        recorded_by=ctx.actor.sub,
    )
    session.add(form)
    event = events.FeedbackReceived(
        feedback_id=form.id,
        respondent=respondent,
        channel=channel,
        received_on=received_on,
        answers=answers,
        has_comment=comment is not None,
        anonymous=child_id is None,
        review_id=held.review_id if held else None,  # left out of the payload when None
    )
    ctx.record(
        event,
        subject=Subject("feedback", form.id),
        child_id=child_id,
        iro_id=held.chaired_by_iro_id if held else None,
    )
    await session.flush()
    await session.refresh(form)
    return form


async def get_feedback(session: AsyncSession, feedback_id: uuid.UUID) -> Feedback:
    form = await session.get(Feedback, feedback_id)
    if form is None:
        raise NotFound(f"No feedback {feedback_id}.")
    return form


async def list_feedback(
    session: AsyncSession,
    params: PageParams,
    *,
    child_id: uuid.UUID | None = None,
    review_id: uuid.UUID | None = None,
    respondent: str | None = None,
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
) -> tuple[list[Feedback], str | None]:
    """Feedback forms, oldest received first, filtered."""
    query: Select[Feedback] = select(Feedback)
    if child_id is not None:
        query = query.where(Feedback.child_id == child_id)
    if review_id is not None:
        query = query.where(Feedback.review_id == review_id)
    if respondent is not None:
        if respondent not in rules.RESPONDENTS:
            raise CodeNotOnList(
                f"Unknown respondent role {respondent!r}; valid values are: {', '.join(rules.RESPONDENTS)}.",
                loc=("query", "respondent"),
                valid=list(rules.RESPONDENTS),
            )
        query = query.where(Feedback.respondent == respondent)
    if received_from is not None:
        query = query.where(Feedback.received_on >= received_from)
    if received_to is not None:
        query = query.where(Feedback.received_on <= received_to)
    return await paginate(session, query, keys=[Feedback.received_on.expression, Feedback.id.expression], params=params)


# --- Advocacy referrals --------------------------------------------------------------------------


def _referral_values(referral: AdvocacyReferral) -> dict[str, Any]:
    return {"outcome": referral.outcome, "outcome_on": referral.outcome_on}


async def create_referral(ctx: ParticipationCtx, *, consumer: Consumer, body: AdvocacyIn) -> AdvocacyReferral:
    """Record a referral of a registered child to an advocacy provider, and `advocacy.referred`."""
    session = ctx.session
    referred_on = _not_after_today(body.referred_on, ctx.today, "referred_on")
    provider = _text(body.provider)
    if provider is None:
        raise TextRequired("The provider is required.", field="provider")
    child = await find_child(session, consumer, body.child_id)
    if child is None:
        raise UnknownChild(f"No child {body.child_id} has been registered.", field="child_id")
    if referred_on < child.date_of_birth:
        raise BeforeDateOfBirth("The referral date is before the child's date of birth.", field="referred_on")
    referral = AdvocacyReferral(
        id=uuid.uuid4(),
        child_id=child.id,
        referred_on=referred_on,
        provider=provider,
        reason=_text(body.reason),
        recorded_by=ctx.actor.sub,
    )
    session.add(referral)
    ctx.record(
        events.AdvocacyReferred(
            referral_id=referral.id, referred_on=referred_on, provider=provider, reason=referral.reason
        ),
        subject=Subject("advocacy_referral", referral.id),
        child_id=child.id,
    )
    await session.flush()
    await session.refresh(referral)
    return referral


async def get_referral(session: AsyncSession, referral_id: uuid.UUID, *, lock: bool = False) -> AdvocacyReferral:
    query = select(AdvocacyReferral).where(AdvocacyReferral.id == referral_id)
    if lock:
        query = query.with_for_update()
    referral: AdvocacyReferral | None = await session.scalar(query.execution_options(populate_existing=True))
    if referral is None:
        raise NotFound(f"No advocacy referral {referral_id}.")
    return referral


async def record_outcome(ctx: ParticipationCtx, *, referral_id: uuid.UUID, body: AdvocacyOutcomeIn) -> AdvocacyReferral:
    """Set a referral's outcome (`advocacy.updated`, keeping the previous one); the same outcome again
    changes nothing and writes no event."""
    session, today = ctx.session, ctx.today
    referral = await get_referral(session, referral_id, lock=True)
    outcome = _text(body.outcome)
    if outcome is None:
        raise TextRequired("The outcome is required.", field="outcome")
    outcome_on = _not_after_today(body.outcome_on or today, today, "outcome_on")
    if outcome_on < referral.referred_on:
        raise errors.OutcomeBeforeReferral(
            f"The outcome date is before the referral ({referral.referred_on.isoformat()})."
        )
    previous = _referral_values(referral)
    new = {"outcome": outcome, "outcome_on": outcome_on}
    if previous == new:
        return referral
    referral.outcome, referral.outcome_on = outcome, outcome_on
    referral.updated_at = func.now()  # type: ignore[assignment]
    ctx.record(
        events.AdvocacyUpdated(referral_id=referral.id, previous=previous, new=new),
        subject=Subject("advocacy_referral", referral.id),
        child_id=referral.child_id,
    )
    await session.flush()
    await session.refresh(referral)
    return referral


async def list_referrals(
    session: AsyncSession, params: PageParams, *, child_id: uuid.UUID | None = None
) -> tuple[list[AdvocacyReferral], str | None]:
    """Referrals, oldest first, optionally one child's."""
    query: Select[AdvocacyReferral] = select(AdvocacyReferral)
    if child_id is not None:
        query = query.where(AdvocacyReferral.child_id == child_id)
    return await paginate(
        session, query, keys=[AdvocacyReferral.referred_on.expression, AdvocacyReferral.id.expression], params=params
    )
