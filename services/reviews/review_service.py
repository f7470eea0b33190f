"""Reviews and what surrounds them: early reviews, rearrangements, holding a review (which schedules
the next), record-keeping dates, decisions, midway reviews and case notes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.reviews import errors, rules, schemas
from services.reviews.models import CarePeriod, CaseNote, Child, Decision, Iro, MidwayReview, Rearrangement, Review
from services.reviews.service import (
    ReviewsCtx,
    author_iro,
    eighteenth_birthday,
    footprint_iro,
    get_child,
    not_in_future,
    record_keeping,
    schedule_review,
)
from shared import logic
from shared.errors import CodeNotOnList, NotFound
from shared.footprint import events
from shared.footprint.models import Subject


async def get_review(session: AsyncSession, review_id: uuid.UUID, *, lock: bool = False) -> Review:
    query = select(Review).where(Review.id == review_id)
    review = await session.scalar(query.with_for_update() if lock else query)
    if review is None:
        raise NotFound(f"No review {review_id}.")
    return review


def timeliness_judged(review: Review, *, started_before_data: bool) -> bool:
    """`rules.timeliness_judged` for a review of a care period with that `started_before_data`."""
    judged: bool = rules.timeliness_judged(started_before_data, review.sequence)
    return judged


def status_of(review: Review, date_of_birth: dt.date, today: dt.date, *, started_before_data: bool) -> str:
    """The status a reader sees (`rules.review_status` as of today); `started_before_data` is its care
    period's."""
    facts = rules.ReviewFacts(
        stored=review.status,
        due_on=review.due_on,
        statutory_due_on=review.statutory_due_on,
        held_on=review.held_on,
        closed_on=review.closed_on,
        eighteenth_birthday=rules.statutory_cutoff(date_of_birth),
        judged=timeliness_judged(review, started_before_data=started_before_data),
    )
    status: str = rules.review_status(facts, today)
    return status


def started_before_data_sql() -> ColumnElement[bool]:
    """The review's care period's `started_before_data`, looked up per review (a correlated subquery)."""
    return (
        select(CarePeriod.started_before_data)
        .where(CarePeriod.id == Review.care_period_id)
        .correlate(Review)
        .scalar_subquery()
    )


def judged_sql(started_before_data: ColumnElement[bool] | InstrumentedAttribute[bool] | None = None) -> Any:
    """SQL for `rules.timeliness_judged` over `Review`'s columns. `started_before_data` is the care
    period's column when the query already joins `CarePeriod` (default: looked up per review)."""
    if started_before_data is None:
        started_before_data = started_before_data_sql()
    return rules.timeliness_judged(started_before_data, Review.sequence, logic.SQL)


def status_sql(
    day: dt.date | ColumnElement[dt.date],
    eighteenth: ColumnElement[dt.date] | None = None,
    started_before_data: ColumnElement[bool] | InstrumentedAttribute[bool] | None = None,
) -> Any:
    """SQL for `rules.review_status` as of `day` over `Review`'s columns: what the `status` filter
    matches and the statistics count, so they agree with `status_of` by construction. `eighteenth` is
    the child's 18th birthday when the query already joins `Child`, `started_before_data` the care
    period's when it joins `CarePeriod` (default: each looked up per review)."""
    if eighteenth is None:
        eighteenth = (
            select(eighteenth_birthday(Child.date_of_birth))
            .where(Child.id == Review.child_id)
            .correlate(Review)
            .scalar_subquery()
        )
    facts = rules.ReviewFacts(
        stored=Review.status,
        due_on=Review.due_on,
        statutory_due_on=Review.statutory_due_on,
        held_on=Review.held_on,
        closed_on=Review.closed_on,
        eighteenth_birthday=eighteenth,
        judged=judged_sql(started_before_data),
    )
    return rules.review_status(facts, day, logic.SQL)


def decision_past_due(decision: Decision, today: dt.date) -> bool:
    """`rules.decision_past_due` as of today, for the read model."""
    past_due: bool = rules.decision_past_due(decision.status, decision.due_on, today)
    return past_due


def decision_read(decision: Decision, today: dt.date) -> schemas.DecisionRead:
    return schemas.DecisionRead(
        id=decision.id,
        review_id=decision.review_id,
        child_id=decision.child_id,
        text=decision.text,
        owner=decision.owner,
        due_on=decision.due_on,
        status=decision.status,
        completed_on=decision.completed_on,
        past_due=decision_past_due(decision, today),
    )


def decision_past_due_sql(day: dt.date) -> Any:
    """SQL for `rules.decision_past_due` as of `day`: what the `past_due` filter matches."""
    return rules.decision_past_due(Decision.status, Decision.due_on, day, logic.SQL)


def review_read(
    ctx: ReviewsCtx, *, review: Review, date_of_birth: dt.date, started_before_data: bool
) -> schemas.ReviewRead:
    """The review as read: its status as of today (`status_of`); `started_before_data` is its care
    period's."""
    # The deadlines around the review's date: held, else planned, else due; only the social
    # worker's report precedes it, so the others apply once it is held.
    review_on = review.held_on or review.planned_on or review.due_on
    deadlines = rules.record_deadlines(ctx.calendar, review_on, record_keeping(ctx.settings))
    sw_due = deadlines.sw_report_due
    held = review.held_on is not None
    decisions_due = deadlines.decisions_due if held else None
    record_due = deadlines.record_due if held else None
    letter_due = deadlines.letter_due if held else None
    return schemas.ReviewRead(
        id=review.id,
        child_id=review.child_id,
        care_period_id=review.care_period_id,
        sequence=review.sequence,
        kind=rules.review_kind(review.sequence),
        due_on=review.due_on,
        statutory_due_on=review.statutory_due_on,
        early_reason=review.early_reason,
        planned_on=review.planned_on,
        status=status_of(review, date_of_birth, ctx.today, started_before_data=started_before_data),
        held_on=review.held_on,
        meeting_dates=review.meeting_dates,
        format=review.format,
        venue=review.venue,
        chaired_by_child=review.chaired_by_child,
        chaired_by_iro_id=review.chaired_by_iro_id,
        in_time=review.in_time,
        late_reason=review.late_reason,
        late_reason_detail=review.late_reason_detail,
        closed_on=review.closed_on,
        sw_report_received_on=review.sw_report_received_on,
        decisions_issued_on=review.decisions_issued_on,
        record_issued_on=review.record_issued_on,
        letter_to_child_sent_on=review.letter_to_child_sent_on,
        record_keeping=schemas.RecordKeepingRead(
            sw_report_due_on=sw_due,
            sw_report_on_time=rules.on_time(review.sw_report_received_on, sw_due),
            decisions_due_on=decisions_due,
            decisions_on_time=rules.on_time(review.decisions_issued_on, decisions_due) if decisions_due else None,
            record_due_on=record_due,
            record_on_time=rules.on_time(review.record_issued_on, record_due) if record_due else None,
            letter_to_child_due_on=letter_due,
            letter_to_child_on_time=rules.on_time(review.letter_to_child_sent_on, letter_due) if letter_due else None,
        ),
        problems=rules.review_problems(review.held_on, date_of_birth),
    )


def require_scheduled(review: Review, doing: str) -> None:
    if review.status != rules.STATUS_SCHEDULED:
        raise errors.ReviewNotScheduled(f"Cannot {doing}: the review is {review.status}.", current_state=review.status)


async def bring_forward(ctx: ReviewsCtx, *, review_id: uuid.UUID, body: schemas.EarlyReview) -> Review:
    """An early review (reg 33(3)): `due_on` moves earlier; `statutory_due_on` never moves."""
    review = await get_review(ctx.session, review_id, lock=True)
    require_scheduled(review, "bring the review forward")
    if not rules.valid_early_reason(body.reason):
        valid = rules.listed("early_review_reasons")
        raise CodeNotOnList(
            f"{body.reason!r} is not an early-review reason; valid reasons are: {', '.join(valid)}.",
            field="reason",
            valid=valid,
        )
    if rules.reason_needs_detail(body.reason) and not body.detail:
        raise errors.ReasonDetailMissing("Give the detail of an `other` reason.", field="detail")
    if body.due_on >= review.due_on:
        raise errors.EarlyReviewNotEarlier(f"An early review must be due before {review.due_on}.")
    period = await ctx.session.get(CarePeriod, review.care_period_id)
    assert period is not None
    if body.due_on < period.started_on:
        raise errors.BeforeCarePeriod(
            f"due_on is before the care period started ({period.started_on}).", field="due_on"
        )
    review.due_on, review.early_reason = rules.bring_forward(review.due_on, body.due_on), body.reason
    await ctx.session.flush()  # the change is written before its event is recorded
    ctx.record(
        events.ReviewBroughtForward(review_id=review.id, due_on=body.due_on, statutory_due_on=review.statutory_due_on,
                                    reason=body.reason),
        subject=Subject("review", review.id), child_id=review.child_id,
        iro_id=await footprint_iro(ctx, child_id=review.child_id),
    )  # fmt: skip
    return review


async def rearrange(ctx: ReviewsCtx, *, review_id: uuid.UUID, body: schemas.Rearrangement) -> Review:
    """A review stood down and rearranged: the new planned date, with the history and the reason."""
    review = await get_review(ctx.session, review_id, lock=True)
    require_scheduled(review, "rearrange the review")
    child = await get_child(ctx.session, review.child_id)
    if not rules.within_care_age(body.planned_on, child.date_of_birth):
        raise errors.PastEighteenthBirthday(
            "No review can be held on or after the child's 18th birthday.", field="planned_on"
        )
    ctx.session.add(
        Rearrangement(
            id=uuid.uuid4(), review_id=review.id, previous_planned_on=review.planned_on,
            planned_on=body.planned_on, reason=body.reason, recorded_by=ctx.principal.sub,
        )
    )  # fmt: skip
    previous, review.planned_on = review.planned_on, body.planned_on
    await ctx.session.flush()  # the change is written before its event is recorded
    ctx.record(
        events.ReviewRearranged(review_id=review.id, planned_on=body.planned_on, previous_planned_on=previous),
        subject=Subject("review", review.id), child_id=review.child_id,
        iro_id=await footprint_iro(ctx, child_id=review.child_id),
    )  # fmt: skip
    return review


async def hold(ctx: ReviewsCtx, *, review_id: uuid.UUID, body: schemas.ReviewHeld) -> Review:
    """Hold a review: timeliness against the statutory date, the late reason, who chaired; then
    schedule the next one from the date actually held (reg 33). The first review of a care period that
    began before the data is held and schedules the next as usual, but its timeliness is not judged
    (`rules.timeliness_judged`): `in_time` null, and a late reason is neither needed nor accepted (422
    `review-not-judged`). The late reason `not_recorded` is accepted only from a case system or an
    import (`ctx.actor.source` set). Events are filed under the chair, else the IRO allocated on
    `held_on`."""
    review = await get_review(ctx.session, review_id, lock=True)
    require_scheduled(review, "hold the review")
    child = await get_child(ctx.session, review.child_id)
    period = await ctx.session.get(CarePeriod, review.care_period_id)
    assert period is not None
    held_on = body.held_on
    if body.meeting_dates:
        first = rules.review_date_of_meetings(body.meeting_dates)
        if first != held_on:
            raise errors.HeldOnNotFirstMeeting(f"held_on must be the first meeting's date ({first}).")
    not_in_future(ctx, day=held_on, field="held_on")
    if held_on < period.started_on:
        raise errors.BeforeCarePeriod(
            f"held_on is before the child entered care ({period.started_on}).", field="held_on"
        )
    if not rules.within_care_age(held_on, child.date_of_birth):
        raise errors.PastEighteenthBirthday("No review is held on or after the child's 18th birthday.", field="held_on")
    previous = await ctx.session.scalar(
        select(func.max(Review.held_on)).where(Review.care_period_id == period.id, Review.status == "held")
    )
    if previous is not None and held_on < previous:
        raise errors.ReviewBeforePrevious(f"The previous review was held on {previous}; this one cannot be earlier.")
    judged = timeliness_judged(review, started_before_data=period.started_before_data)
    in_time = rules.in_time_if_judged(held_on, review.statutory_due_on, judged=judged)
    if rules.needs_late_reason(held_on, review.statutory_due_on, judged=judged):
        if not body.late_reason:
            raise errors.ReviewLateWithoutReason(
                f"The review is late (statutory due {review.statutory_due_on}): give a reason."
            )
        # `not_recorded` is for imported records only: writes from a case system or an import, whose
        # actor has a `source` (set only by the ingest and import command paths), never a person's.
        imported = ctx.actor.source is not None
        if not rules.valid_late_reason(body.late_reason, imported=imported):
            valid = rules.listed("late_review_reasons")
            raise CodeNotOnList(
                f"{body.late_reason!r} is not a late-review reason; valid reasons are: {', '.join(valid)}.",
                field="late_reason",
                valid=valid,
            )
        if rules.reason_needs_detail(body.late_reason) and not body.late_reason_detail:
            raise errors.ReasonDetailMissing("Give the detail of an `other` reason.", field="late_reason_detail")
    elif body.late_reason and not judged:
        raise errors.ReviewNotJudged(
            "This is the first review of a care period that began before the data: its timeliness is not "
            "judged, so a late reason does not apply."
        )
    elif body.late_reason:
        raise errors.ReviewNotLate("The review is in time: a late reason does not apply.")
    chair = await author_iro(ctx, child_id=child.id, on=held_on)
    review.status, review.held_on, review.in_time = rules.STATUS_HELD, held_on, in_time
    review.meeting_dates = sorted(body.meeting_dates) if body.meeting_dates else None
    review.format, review.venue, review.chaired_by_child = body.format, body.venue, body.chaired_by_child
    review.late_reason, review.late_reason_detail = body.late_reason, body.late_reason_detail
    review.chaired_by_iro_id = chair
    await ctx.session.flush()
    ctx.record(
        events.ReviewHeld(review_id=review.id, care_period_id=period.id, child_id=child.id,
                          date_of_birth=child.date_of_birth, held_on=held_on, sequence=review.sequence,
                          kind=rules.review_kind(review.sequence), format=body.format, chaired_by_iro_id=chair,
                          chaired_by_child=body.chaired_by_child, in_time=in_time,
                          statutory_due_on=review.statutory_due_on, late_reason=body.late_reason),
        subject=Subject("review", review.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, author=chair, on=held_on),
    )  # fmt: skip
    if period.ended_on is None:
        short_break = rules.is_short_break(period.legal_status)
        due = rules.review_due(
            ctx.calendar, sequence=review.sequence + 1, started_on=period.started_on, previous_held_on=held_on,
            short_break=short_break, previous_judged=judged,
        )  # fmt: skip
        await schedule_review(ctx, child=child, period=period, sequence=review.sequence + 1, due=due, on=held_on)
    return review


async def update_record_keeping(ctx: ReviewsCtx, *, review_id: uuid.UUID, body: schemas.ReviewRecordKeeping) -> Review:
    review = await get_review(ctx.session, review_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise errors.NothingToUpdate("Send at least one of the record-keeping dates.")
    for field, value in changes.items():
        if value is None:
            continue
        not_in_future(ctx, day=value, field=field)
        if field != "sw_report_received_on":
            if review.held_on is None:
                raise errors.ReviewNotHeld(
                    f"The review is {review.status}: {field} follows a held review.", current_state=review.status
                )
            if value < review.held_on:
                raise errors.BeforeReviewHeld(f"{field} is before the review was held ({review.held_on}).", field=field)
    for field, value in changes.items():
        setattr(review, field, value)
    await ctx.session.flush()  # the change is written before its event is recorded
    # Filed under the IRO allocated on the latest date recorded (the step that happened last); today
    # when the change only clears dates.
    on = max((value for value in changes.values() if value is not None), default=ctx.today)
    ctx.record(
        events.ReviewRecordKeepingUpdated(review_id=review.id, **changes),
        subject=Subject("review", review.id), child_id=review.child_id,
        iro_id=await footprint_iro(ctx, child_id=review.child_id, on=on),
    )  # fmt: skip
    return review


# --- Decisions -----------------------------------------------------------------------------------


async def add_decision(ctx: ReviewsCtx, *, review_id: uuid.UUID, body: schemas.DecisionCreate) -> Decision:
    review = await get_review(ctx.session, review_id)
    if review.held_on is None:
        raise errors.ReviewNotHeld(
            f"The review is {review.status}: decisions are made at a held review.", current_state=review.status
        )
    if body.due_on < review.held_on:
        raise errors.BeforeReviewHeld(f"due_on is before the review was held ({review.held_on}).", field="due_on")
    decision = Decision(
        id=uuid.uuid4(), review_id=review.id, child_id=review.child_id, status="open", **body.model_dump()
    )
    ctx.session.add(decision)
    await ctx.session.flush()
    ctx.record(
        events.DecisionRecorded(decision_id=decision.id, review_id=review.id, owner=body.owner, due_on=body.due_on),
        subject=Subject("decision", decision.id), child_id=review.child_id,
        iro_id=await footprint_iro(ctx, child_id=review.child_id),
    )  # fmt: skip
    return decision


async def update_decision(ctx: ReviewsCtx, *, decision_id: uuid.UUID, body: schemas.DecisionUpdate) -> Decision:
    decision = await ctx.session.scalar(select(Decision).where(Decision.id == decision_id).with_for_update())
    if decision is None:
        raise NotFound(f"No decision {decision_id}.")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise errors.NothingToUpdate("Send a status or a completed_on date.")
    if changes.get("status") is None and "status" in changes:
        raise errors.NullNotAllowed("status cannot be null.", field="status")
    completed = changes.get("completed_on")
    if completed is not None:
        not_in_future(ctx, day=completed, field="completed_on")
    status = changes.get("status", decision.status)
    if status == "open" and completed is not None:
        raise errors.OpenDecisionCompleted("An open decision has no completed_on date.")
    for field, value in changes.items():
        setattr(decision, field, value)
    if status == "open":
        decision.completed_on = None
    await ctx.session.flush()  # the change is written before its event is recorded
    ctx.record(
        events.DecisionUpdated(decision_id=decision.id, **changes),
        subject=Subject("decision", decision.id), child_id=decision.child_id,
        iro_id=await footprint_iro(ctx, child_id=decision.child_id, on=completed),
    )  # fmt: skip
    return decision


# --- Midway reviews and case notes ----------------------------------------------------------------


async def hold_midway_review(ctx: ReviewsCtx, *, child_id: uuid.UUID, body: schemas.MidwayReviewCreate) -> MidwayReview:
    child = await get_child(ctx.session, child_id)
    not_in_future(ctx, day=body.held_on, field="held_on")
    if not rules.within_care_age(body.held_on, child.date_of_birth):
        raise errors.PastEighteenthBirthday("held_on is on or after the child's 18th birthday.", field="held_on")
    iro_id = await author_iro(ctx, child_id=child.id, on=body.held_on)
    midway = MidwayReview(
        id=uuid.uuid4(), child_id=child.id, iro_id=iro_id, recorded_by=ctx.principal.sub, **body.model_dump()
    )
    ctx.session.add(midway)
    await ctx.session.flush()
    ctx.record(
        events.MidwayReviewHeld(midway_review_id=midway.id, held_on=body.held_on, outcome=body.outcome),
        subject=Subject("midway_review", midway.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, author=iro_id, on=body.held_on),
    )  # fmt: skip
    return midway


async def record_case_note(ctx: ReviewsCtx, *, child_id: uuid.UUID, body: schemas.CaseNoteCreate) -> CaseNote:
    child = await get_child(ctx.session, child_id)
    not_in_future(ctx, day=body.recorded_on, field="recorded_on")
    # The author: the caller when an IRO; another IRO only when a manager, admin or case system names one.
    author = await author_iro(ctx, named=body.iro_id, field="iro_id")
    if body.iro_id is not None and await ctx.session.get(Iro, body.iro_id) is None:
        raise errors.UnknownIro(f"No IRO {body.iro_id}.")
    note = CaseNote(
        id=uuid.uuid4(), child_id=child.id, recorded_on=body.recorded_on, text=body.text, kind=body.kind,
        iro_id=author, recorded_by=ctx.principal.sub,
    )  # fmt: skip
    ctx.session.add(note)
    await ctx.session.flush()
    ctx.record(
        events.CaseNoteRecorded(case_note_id=note.id, recorded_on=body.recorded_on, kind=body.kind,
                                author_iro_id=author),
        subject=Subject("case_note", note.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, author=author, on=body.recorded_on),
    )  # fmt: skip
    return note


async def period_started_before_data(session: AsyncSession, care_period_id: uuid.UUID) -> bool:
    """The care period's `started_before_data` (a review's status and timeliness depend on it)."""
    before_data = await session.scalar(select(CarePeriod.started_before_data).where(CarePeriod.id == care_period_id))
    if before_data is None:
        raise NotFound(f"No care period {care_period_id}.")
    return before_data


async def child_date_of_birth(session: AsyncSession, child_id: uuid.UUID) -> dt.date:
    dob = await session.scalar(select(Child.date_of_birth).where(Child.id == child_id))
    if dob is None:
        raise NotFound(f"No child {child_id}.")
    return dob
