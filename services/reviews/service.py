"""IROs, children, care periods, placement and legal status changes, allocation.

Plain async functions: the request's context (shared.context) first, keyword-only arguments after;
pure lookups take only a session. They validate, write through `ctx.session`, `flush()` and record
the footprint event on the context; the route's unit of work appends what was recorded and commits once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Date, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import errors, rules, schemas
from services.reviews.models import (
    Allocation,
    CarePeriod,
    Child,
    Iro,
    IroFte,
    LegalStatusChange,
    PlacementChange,
    Review,
)
from services.reviews.settings import Settings
from shared import author, types
from shared.auth import Principal
from shared.context import RequestContext
from shared.errors import BeforeDateOfBirth, CodeNotOnList, DateInFuture, InvalidField, NotFound
from shared.footprint import events
from shared.footprint.models import Subject

ReviewsCtx = RequestContext[Settings]
"""The request's context (shared.context) under this service's settings."""


def record_keeping(settings: Settings) -> rules.RecordKeeping:
    """The record-keeping deadlines of `settings` (`REVIEWS_*_DAYS`)."""
    s = settings
    return rules.RecordKeeping(s.sw_report_days_before, s.decisions_days, s.record_days, s.letter_days)


def not_in_future(ctx: ReviewsCtx, *, day: dt.date, field: str) -> None:
    if day > ctx.today:
        raise DateInFuture(f"{field} {day} is still to come (today is {ctx.today}).", field=field)


# --- Lookups -------------------------------------------------------------------------------------


async def get_child(session: AsyncSession, child_id: uuid.UUID) -> Child:
    child = await session.get(Child, child_id)
    if child is None:
        raise NotFound(f"No child {child_id}.")
    return child


async def get_iro(session: AsyncSession, iro_id: uuid.UUID) -> Iro:
    iro = await session.get(Iro, iro_id)
    if iro is None:
        raise NotFound(f"No IRO {iro_id}.")
    return iro


async def open_period(session: AsyncSession, child_id: uuid.UUID) -> CarePeriod | None:
    return await session.scalar(
        select(CarePeriod).where(CarePeriod.child_id == child_id, CarePeriod.ended_on.is_(None))
    )


async def period_on(ctx: ReviewsCtx, *, child: Child, day: dt.date, field: str) -> CarePeriod:
    """The care period the child was looked after in on `day`, a change's own date (today or in the past,
    however long ago: a case system's history or an SSDA903 backfill), never judged by today:
    `started_on <= day < ended_on` (or still open), and `day` before the 18th birthday (s105).

    Raises `DateInFuture` for a day still to come, `PastEighteenthBirthday` for a day on or after the
    18th birthday, `BeforeCarePeriod` for a day before the child's first care period started (each 422
    on `field`), and `NotLookedAfter` (409) when no care period covers the day (between periods, on or
    after the last one's end, or no care period at all)."""
    not_in_future(ctx, day=day, field=field)
    if not rules.within_care_age(day, child.date_of_birth):
        raise errors.PastEighteenthBirthday(
            f"The child is 18 on {day}: nobody is looked after from their 18th birthday (s105).", field=field
        )
    period = await ctx.session.scalar(
        select(CarePeriod)
        .where(
            CarePeriod.child_id == child.id,
            CarePeriod.started_on <= day,
            or_(CarePeriod.ended_on.is_(None), CarePeriod.ended_on > day),
        )
        .order_by(CarePeriod.started_on.desc())
        .limit(1)
    )
    if period is not None:
        return period
    first_start = await ctx.session.scalar(
        select(func.min(CarePeriod.started_on)).where(CarePeriod.child_id == child.id)
    )
    if first_start is not None and day < first_start:
        raise errors.BeforeCarePeriod(f"{field} is before the care period started ({first_start}).", field=field)
    raise errors.NotLookedAfter(f"The child was not looked after on {day}.", current_state="not_looked_after")


async def allocated_iro(session: AsyncSession, child_id: uuid.UUID, on: dt.date) -> uuid.UUID | None:
    """The IRO allocated to the child on a day (allocation history), if any."""
    return await session.scalar(
        select(Allocation.iro_id)
        .where(
            Allocation.child_id == child_id,
            Allocation.allocated_on <= on,
            or_(Allocation.ended_on.is_(None), Allocation.ended_on > on),
        )
        .order_by(Allocation.allocated_on.desc())
        .limit(1)
    )


async def acting_iro(session: AsyncSession, principal: Principal) -> uuid.UUID | None:
    """The IRO behind the token (matched by email), when the caller acts as an IRO."""
    if "iro" not in principal.roles:
        return None
    return await session.scalar(select(Iro.id).where(func.lower(Iro.email) == principal.iro_identity.lower()))


async def author_iro(
    ctx: ReviewsCtx,
    *,
    named: uuid.UUID | None = None,
    field: str = "iro_id",
    child_id: uuid.UUID | None = None,
    on: dt.date | None = None,
) -> uuid.UUID | None:
    """The IRO a write is filed under (`shared.author.author_iro`, the one rule): `named` when the
    caller may name it (403 otherwise), else the acting IRO, else (for a write no IRO made) the IRO
    allocated to `child_id` on `on` (default today)."""

    async def acting() -> uuid.UUID | None:
        return await acting_iro(ctx.session, ctx.principal)

    async def allocated() -> uuid.UUID | None:
        return None if child_id is None else await allocated_iro(ctx.session, child_id, on or ctx.today)

    return await author.author_iro(ctx.principal, acting=acting, named=named, field=field, allocated=allocated)


async def footprint_iro(
    ctx: ReviewsCtx, *, child_id: uuid.UUID, author: uuid.UUID | None = None, on: dt.date | None = None
) -> uuid.UUID | None:
    """Whose footprint an event about the child is (DESIGN 3): its `author` IRO when it has one, else
    the acting IRO, else the IRO allocated to the child on `on`, the day the event happened (a dated
    write's own date: a 2019 review from a backfill is the 2019 IRO's work, not today's), default today.
    Never another IRO's for an IRO's write."""
    if author is not None:
        return author
    return await author_iro(ctx, child_id=child_id, on=on)


# --- IROs ----------------------------------------------------------------------------------------


def looked_after_on(day: Any) -> ColumnElement[bool]:
    """A condition over `CarePeriod` and its `Child`: the child was looked after in that care period on
    `day` (a date or a date expression): it had started (`started_on <= day`), had not ended (`ended_on`
    is the first day no longer looked after) and the child was under 18 (Children Act 1989 s105). The
    one definition caseloads and the children figures count with (DESIGN 2.5, 2.6)."""
    return and_(
        CarePeriod.started_on <= day,
        or_(CarePeriod.ended_on.is_(None), CarePeriod.ended_on > day),
        eighteenth_birthday(Child.date_of_birth) > day,
    )


async def caseloads(session: AsyncSession, on: dt.date, iro_ids: list[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """Children looked after on a day (`looked_after_on`) and allocated to each IRO that day (DESIGN 2.5)."""
    query = (
        select(Allocation.iro_id, func.count(func.distinct(Allocation.child_id)))
        .join(CarePeriod, CarePeriod.child_id == Allocation.child_id)
        .join(Child, Child.id == Allocation.child_id)
        .where(active_on(on), looked_after_on(on))
        .group_by(Allocation.iro_id)
    )
    if iro_ids is not None:
        query = query.where(Allocation.iro_id.in_(iro_ids))
    counts = {iro_id: int(count) for iro_id, count in (await session.execute(query)).all()}
    return counts


async def fte_history(
    session: AsyncSession, iro_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[IroFte]]:
    """Each IRO's staffing history rows, oldest first (every IRO's when `iro_ids` is None)."""
    query = select(IroFte).order_by(IroFte.iro_id, IroFte.valid_from)
    if iro_ids is not None:
        query = query.where(IroFte.iro_id.in_(iro_ids))
    history: dict[uuid.UUID, list[IroFte]] = {}
    for row in (await session.scalars(query)).all():
        history.setdefault(row.iro_id, []).append(row)
    return history


def staffing_on(iro: Iro, history: Sequence[IroFte], day: dt.date) -> tuple[Decimal, bool]:
    """The IRO's FTE and whether active on `day`: the history row in force then (`rules.in_force`).
    Before the first row the IRO was not yet registered (not active), at the first row's FTE (an
    allocation may be dated before the registration); with no history at all, the IRO's own values."""
    row = rules.in_force([(r.valid_from, r) for r in history], day)
    if row is not None:
        return row.fte, row.active
    if history:
        return history[0].fte, False
    return iro.fte, iro.active


def iro_read(iro: Iro, caseload: int, settings: Settings, history: Sequence[IroFte]) -> schemas.IroRead:
    per_fte = rules.caseload_per_fte(caseload, float(iro.fte))
    return schemas.IroRead(
        id=iro.id,
        name=iro.name,
        email=iro.email,
        fte=float(iro.fte),
        active=iro.active,
        caseload=caseload,
        caseload_per_fte=per_fte,
        within_guidance=rules.within_guidance(per_fte, settings.caseload_upper),
        band=rules.caseload_band(per_fte, settings.caseload_lower, settings.caseload_upper),
        fte_history=[schemas.IroFteRead(valid_from=r.valid_from, fte=float(r.fte), active=r.active) for r in history],
    )


async def iro_reads(ctx: ReviewsCtx, iros: Sequence[Iro]) -> list[schemas.IroRead]:
    """The IROs as read: today's caseload and the staffing history, in two queries for them all."""
    ids = [iro.id for iro in iros]
    counts = await caseloads(ctx.session, ctx.today, ids)
    history = await fte_history(ctx.session, ids)
    return [iro_read(iro, counts.get(iro.id, 0), ctx.settings, history.get(iro.id, [])) for iro in iros]


async def create_iro(ctx: ReviewsCtx, *, body: schemas.IroCreate) -> Iro:
    """Register an IRO, active at `fte` from today: the first row of its staffing history."""
    taken = await ctx.session.scalar(select(Iro.id).where(func.lower(Iro.email) == body.email.lower()))
    if taken:
        raise errors.IroEmailTaken(f"An IRO with email {body.email} already exists.", existing_id=str(taken))
    iro = Iro(id=uuid.uuid4(), name=body.name, email=body.email.lower(), fte=body.fte, active=True)
    ctx.session.add(iro)
    await ctx.session.flush()
    ctx.session.add(IroFte(iro_id=iro.id, valid_from=ctx.today, fte=body.fte, active=True))
    await ctx.session.flush()  # the change is written before its event is recorded
    ctx.record(
        events.IroRegistered(iro_id=iro.id, email=iro.email, fte=str(iro.fte)),
        subject=Subject("iro", iro.id), iro_id=iro.id,
    )  # fmt: skip
    return iro


STAFFING_FIELDS = ("fte", "active")
"""The fields of an IRO with a history (`IroFte`): a change applies from `changes_from`."""


async def update_iro(ctx: ReviewsCtx, *, iro_id: uuid.UUID, body: schemas.IroUpdate) -> Iro:
    """Change an IRO's `name`, `fte` or `active`. A new `fte` or `active` applies from `changes_from`
    (default today) on: it writes the staffing history row of that day (replacing one already on it, the
    other field taken from the row in force then), and later rows take the value sent too (their other
    field stays), so the IRO has what was sent today; `Iro.fte` and `Iro.active` are the row in force
    today. One `iro.updated` lists what was sent, with
    `changes_from` when `fte` or `active` was.

    Raises `NotFound` (404); `NullNotAllowed` for a null `name`, `fte` or `active`, `DateInFuture` for a
    `changes_from` still to come, `InvalidField` for a `changes_from` sent without `fte` or `active`
    (each 422)."""
    iro = await ctx.session.scalar(
        select(Iro).where(Iro.id == iro_id).with_for_update().execution_options(populate_existing=True)
    )
    if iro is None:
        raise NotFound(f"No IRO {iro_id}.")
    changes = body.model_dump(exclude_unset=True)
    changes_from = changes.pop("changes_from", None) or ctx.today
    for field, value in changes.items():
        if value is None:
            raise errors.NullNotAllowed(f"{field} cannot be null.", field=field)
    staffing = {field: changes[field] for field in STAFFING_FIELDS if field in changes}
    if "changes_from" in body.model_fields_set and not staffing:
        raise InvalidField(("body", "changes_from"), "changes_from dates a change of fte or active: send one.")
    not_in_future(ctx, day=changes_from, field="changes_from")
    if "name" in changes:
        iro.name = changes["name"]
    if staffing:
        await change_staffing(ctx, iro=iro, day=changes_from, **staffing)
    await ctx.session.flush()  # the change is written before its event is recorded
    dated: dict[str, Any] = {"changes_from": changes_from} if staffing else {}
    ctx.record(
        events.IroUpdated(iro_id=iro.id, **{k: str(v) if isinstance(v, Decimal) else v for k, v in changes.items()},
                          **dated),
        subject=Subject("iro", iro.id), iro_id=iro.id,
    )  # fmt: skip
    return iro


async def change_staffing(
    ctx: ReviewsCtx, *, iro: Iro, day: dt.date, fte: Decimal | None = None, active: bool | None = None
) -> None:
    """Write the IRO's staffing history from `day` on (`update_iro`), then set `Iro.fte` and `Iro.active`
    to the row in force today."""
    history = (await fte_history(ctx.session, [iro.id])).get(iro.id, [])
    # The field not sent keeps its value then: the row in force, or for a day before the first row (the
    # IRO worked before it was registered) the first row's.
    then = rules.in_force([(r.valid_from, r) for r in history], day) or (history[0] if history else None)
    row = next((r for r in history if r.valid_from == day), None)
    if row is None:
        row = IroFte(iro_id=iro.id, valid_from=day)
        ctx.session.add(row)
    row.fte = fte if fte is not None else then.fte if then else iro.fte
    row.active = active if active is not None else then.active if then else iro.active
    for later in (r for r in history if r.valid_from > day):  # the value sent holds from `day` on
        if fte is not None:
            later.fte = fte
        if active is not None:
            later.active = active
    await ctx.session.flush()
    history = (await fte_history(ctx.session, [iro.id]))[iro.id]
    iro.fte, iro.active = staffing_on(iro, history, ctx.today)


# --- Children ------------------------------------------------------------------------------------


async def register_child(ctx: ReviewsCtx, *, body: schemas.ChildCreate) -> Child:
    types.check_date_of_birth(body.date_of_birth, today=ctx.today)  # never echoes the date
    taken = await ctx.session.scalar(select(Child.id).where(Child.la_reference == body.la_reference))
    if taken:
        raise errors.LaReferenceTaken(
            f"A child with la_reference {body.la_reference} already exists.", existing_id=str(taken)
        )
    child = Child(id=uuid.uuid4(), **body.model_dump())
    ctx.session.add(child)
    await ctx.session.flush()  # the change is written before its event is recorded
    ctx.record(
        events.ChildRegistered(child_id=child.id, la_reference=child.la_reference, date_of_birth=child.date_of_birth,
                               uasc=child.uasc),
        subject=Subject("child", child.id), child_id=child.id,
        # Whose footprint (`footprint_iro`): the acting IRO's, else the IRO allocated to the child, and a
        # child registered in this transaction has no allocation yet, so that is not read.
        iro_id=await author_iro(ctx),
    )  # fmt: skip
    return child


def new_child_read(child: Child, today: dt.date) -> schemas.ChildRead:
    """A child registered in this transaction as read (`child_read`): no care period and no allocation
    can exist yet (both reference the child, which no other transaction can see), so none is read."""
    return child_view(child, None, None, today)


CHILD_FIELDS = tuple(schemas.ChildUpdate.model_fields)
"""The fields a correction may change, in the order `child.updated` lists them."""


async def update_child(ctx: ReviewsCtx, *, child_id: uuid.UUID, body: schemas.ChildUpdate) -> Child:
    """Correct a child's details: any of `date_of_birth`, `display_name`, `sex`, `uasc` (`PATCH
    /v1/children/{id}`; a case system's `child.updated`). Values equal to those stored change nothing and
    write nothing; otherwise one `child.updated` lists the fields that changed (the new date of birth with
    the previous one, sex, UASC; never the name).

    A changed date of birth moves the 18th birthday, from which nobody is looked after (Children Act 1989
    s105), so the timetable of unheld reviews is recomputed (`recompute_timetable`: one
    `review.timetable_recomputed`, with `review.cancelled` / `review.scheduled` for each review it
    changes). The timetable itself does not depend on age (reg 33). Held reviews stay as they were; one
    now on or after the 18th birthday reads with the problem `held_on_or_after_18th_birthday`.

    Raises `NotFound` (404); `NothingToUpdate` for a body with no field, `NullNotAllowed` for a null
    `date_of_birth`, `DateInFuture` for one still to come, `DateOfBirthAfterCare` for one after the start
    of a care period or a review held (each 422; messages never repeat the date of birth)."""
    child = await ctx.session.scalar(
        select(Child).where(Child.id == child_id).with_for_update().execution_options(populate_existing=True)
    )
    if child is None:
        raise NotFound(f"No child {child_id}.")
    sent = body.model_dump(exclude_unset=True)
    if not sent:
        raise errors.NothingToUpdate(f"Send at least one of {', '.join(CHILD_FIELDS)}.")
    if "date_of_birth" in sent:
        date_of_birth = sent["date_of_birth"]
        if date_of_birth is None:
            raise errors.NullNotAllowed("date_of_birth cannot be null.", field="date_of_birth")
        types.check_date_of_birth(date_of_birth, today=ctx.today)  # never echoes the date
        await check_date_of_birth_fits(ctx, child=child, date_of_birth=date_of_birth)
    changed = [field for field in CHILD_FIELDS if field in sent and sent[field] != getattr(child, field)]
    if not changed:
        return child  # nothing changes, no event
    previous_date_of_birth = child.date_of_birth
    for field in changed:
        setattr(child, field, sent[field])
    await ctx.session.flush()  # the change is written before its event is recorded
    values: dict[str, Any] = {field: sent[field] for field in changed if field != "display_name"}
    if "date_of_birth" in changed:
        values["previous_date_of_birth"] = previous_date_of_birth
    ctx.record(
        events.ChildUpdated(child_id=child.id, changed=cast("list[events.ChildField]", changed), **values),
        subject=Subject("child", child.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id),
    )  # fmt: skip
    if "date_of_birth" in changed:
        await recompute_timetable(ctx, child=child)
    return child


async def check_date_of_birth_fits(ctx: ReviewsCtx, *, child: Child, date_of_birth: dt.date) -> None:
    """Refuse a corrected date of birth after the start of any of the child's care periods or a review
    held (422 `date-of-birth-after-care` on `date_of_birth`, naming that date, never the date of birth)."""
    first_start = await ctx.session.scalar(
        select(func.min(CarePeriod.started_on)).where(CarePeriod.child_id == child.id)
    )
    if first_start is not None and date_of_birth > first_start:
        raise errors.DateOfBirthAfterCare(
            f"The date of birth sent is after the child's care period that started on {first_start}."
        )
    first_held = await ctx.session.scalar(
        select(func.min(Review.held_on)).where(Review.child_id == child.id, Review.status == rules.STATUS_HELD)
    )
    if first_held is not None and date_of_birth > first_held:
        raise errors.DateOfBirthAfterCare(f"The date of birth sent is after the review held on {first_held}.")


async def recompute_timetable(ctx: ReviewsCtx, *, child: Child) -> list[events.RetimedReview]:
    """Recompute the child's unheld reviews against the date of birth now stored (after a correction):
    the review timetable does not depend on age (reg 33: 20 working days, then 3 and 6 months from the
    review held), only the 18th birthday does (Children Act 1989 s105: no review scheduled for or held on
    or after it).

    - A scheduled review whose working due date `due_on` is now on or after the 18th birthday is no longer
      due: `cancelled`, closed on the 18th birthday if it has passed, else today
      (`rules.closed_on_correction`), with `review.cancelled`.
    - An open care period with no scheduled review gets its next review when it now falls before the
      18th birthday, computed as holding a review or starting the period computes it (from the last
      review held, else from the start; `rules.review_due`), with `review.scheduled`. A review of that
      number cancelled by an earlier correction is scheduled again (same id, the due date recomputed).

    Records one `review.timetable_recomputed` (reason `date_of_birth_corrected`, the new 18th birthday,
    each review changed with its status and due date before and after) when the child has a care period.
    Returns the reviews changed."""
    date_of_birth = child.date_of_birth
    periods = (
        await ctx.session.scalars(
            select(CarePeriod).where(CarePeriod.child_id == child.id).order_by(CarePeriod.started_on)
        )
    ).all()
    if not periods:
        return []
    iro_id = await footprint_iro(ctx, child_id=child.id)
    retimed: list[events.RetimedReview] = []
    for period in periods:
        scheduled = (
            await ctx.session.scalars(
                select(Review)
                .where(Review.care_period_id == period.id, Review.status == rules.STATUS_SCHEDULED)
                .order_by(Review.sequence)
                .with_for_update()
            )
        ).all()
        still_scheduled = False
        for review in scheduled:
            if rules.within_care_age(review.due_on, date_of_birth):
                still_scheduled = True
                continue
            closed_on = rules.closed_on_correction(date_of_birth, ctx.today)
            review.status, review.closed_on = rules.STATUS_CANCELLED, closed_on
            await ctx.session.flush()  # the change is written before its event is recorded
            ctx.record(
                events.ReviewCancelled(review_id=review.id, care_period_id=period.id, sequence=review.sequence,
                                       statutory_due_on=review.statutory_due_on, closed_on=closed_on),
                subject=Subject("review", review.id), child_id=child.id, iro_id=iro_id,
            )  # fmt: skip
            retimed.append(
                retimed_review(review, previous_status=rules.STATUS_SCHEDULED, previous_due_on=review.due_on)
            )
        if period.ended_on is None and not still_scheduled:
            scheduled_again = await schedule_next(ctx, child=child, period=period)
            if scheduled_again is not None:
                retimed.append(scheduled_again)
    ctx.record(
        events.ReviewTimetableRecomputed(child_id=child.id, reason="date_of_birth_corrected",
                                         eighteenth_birthday=rules.statutory_cutoff(date_of_birth), reviews=retimed),
        subject=Subject("child", child.id), child_id=child.id, iro_id=iro_id,
    )  # fmt: skip
    return retimed


def retimed_review(
    review: Review, *, previous_status: str | None, previous_due_on: dt.date | None
) -> events.RetimedReview:
    return events.RetimedReview(
        review_id=review.id, care_period_id=review.care_period_id, sequence=review.sequence,
        previous_status=previous_status, status=review.status, previous_due_on=previous_due_on, due_on=review.due_on,
    )  # fmt: skip


async def schedule_next(ctx: ReviewsCtx, *, child: Child, period: CarePeriod) -> events.RetimedReview | None:
    """Schedule an open care period's next review, from its last review held (else from its start),
    unless it falls on or after the 18th birthday (`schedule_review`); a review of that number already
    closed (cancelled by an earlier correction) is scheduled again. None when nothing is scheduled."""
    last_held = await ctx.session.scalar(
        select(Review)
        .where(Review.care_period_id == period.id, Review.status == rules.STATUS_HELD)
        .order_by(Review.sequence.desc())
        .limit(1)
    )
    sequence = last_held.sequence + 1 if last_held is not None else 1
    due = rules.review_due(
        ctx.calendar, sequence=sequence, started_on=period.started_on,
        previous_held_on=last_held.held_on if last_held is not None else None,
        short_break=rules.is_short_break(period.legal_status),
        previous_judged=last_held is None or rules.timeliness_judged(period.started_before_data, last_held.sequence),
    )  # fmt: skip
    if not rules.within_care_age(due, child.date_of_birth):
        return None
    closed = await ctx.session.scalar(
        select(Review).where(Review.care_period_id == period.id, Review.sequence == sequence).with_for_update()
    )
    if closed is not None and closed.status != rules.STATUS_CANCELLED:
        return None  # not a review a correction took off the timetable: left as it is
    if closed is None:
        review = await schedule_review(ctx, child=child, period=period, sequence=sequence, due=due, on=ctx.today)
        assert review is not None  # within care age, checked above
        return retimed_review(review, previous_status=None, previous_due_on=None)
    previous_status, previous_due_on = closed.status, closed.due_on
    closed.status, closed.closed_on = rules.STATUS_SCHEDULED, None
    closed.due_on, closed.statutory_due_on, closed.early_reason = due, due, None
    await ctx.session.flush()  # the change is written before its event is recorded
    ctx.record(
        events.ReviewScheduled(review_id=closed.id, care_period_id=period.id, child_id=child.id, sequence=sequence,
                               kind=rules.review_kind(sequence), due_on=due, statutory_due_on=due),
        subject=Subject("review", closed.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id),
    )  # fmt: skip
    return retimed_review(closed, previous_status=previous_status, previous_due_on=previous_due_on)


async def child_read(ctx: ReviewsCtx, *, child: Child) -> schemas.ChildRead:
    period = await open_period(ctx.session, child.id)
    return child_view(child, period, await allocated_iro(ctx.session, child.id, ctx.today), ctx.today)


def child_view(child: Child, period: CarePeriod | None, iro_id: uuid.UUID | None, today: dt.date) -> schemas.ChildRead:
    """The child as read: its open care period (unless the 18th birthday has passed) and the IRO allocated today."""
    cutoff = rules.statutory_cutoff(child.date_of_birth)
    current = period if period is not None and today < cutoff else None
    return schemas.ChildRead(
        id=child.id,
        la_reference=child.la_reference,
        date_of_birth=child.date_of_birth,
        display_name=child.display_name,
        sex=child.sex,
        uasc=child.uasc,
        eighteenth_birthday=cutoff,
        current_care_period=period_read(current, child, today) if current else None,
        iro_id=iro_id,
    )


async def read_child(ctx: ReviewsCtx, *, child_id: uuid.UUID) -> schemas.ChildRead:
    """`GET /v1/children/{id}`: what `child_read(get_child(...))` answers (404 for no child), in one
    statement: the child, its open care period (at most one: `uq_care_period_one_open`) and, as a
    correlated subquery, the IRO allocated today (`allocated_iro`). One round trip and one ORM
    execution instead of three: the service's most frequent read (bench/service_read.py)."""
    allocated = (
        select(Allocation.iro_id)
        .where(
            Allocation.child_id == Child.id,
            Allocation.allocated_on <= ctx.today,
            or_(Allocation.ended_on.is_(None), Allocation.ended_on > ctx.today),
        )
        .order_by(Allocation.allocated_on.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = (
        await ctx.session.execute(
            select(Child, CarePeriod, allocated)
            .outerjoin(CarePeriod, and_(CarePeriod.child_id == Child.id, CarePeriod.ended_on.is_(None)))
            .where(Child.id == child_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"No child {child_id}.")
    child, period, iro_id = row
    return child_view(child, period, iro_id, ctx.today)


def period_read(period: CarePeriod, child: Child, today: dt.date) -> schemas.CarePeriodRead:
    return schemas.CarePeriodRead(
        id=period.id,
        child_id=period.child_id,
        started_on=period.started_on,
        legal_status=period.legal_status,
        placement_type=period.placement_type,
        # A period still open on the 18th birthday is treated as ending that day (s105).
        ended_on=rules.effective_end(period.ended_on, child.date_of_birth, today=today),
        end_reason=period.end_reason,
        short_break=rules.is_short_break(period.legal_status),
        started_before_data=period.started_before_data,
    )


def check_code(code: str, *, ok: bool, valid: Sequence[str], field: str, what: str) -> None:
    """422 on `field` for a code the rule finds not `ok`, naming the valid ones (as `valid` too)."""
    if not ok:
        raise CodeNotOnList(f"{code!r} is not {what}; valid codes are: {', '.join(valid)}.", field=field, valid=valid)


async def start_care_period(ctx: ReviewsCtx, *, child_id: uuid.UUID, body: schemas.CarePeriodStart) -> CarePeriod:
    """The child becomes looked after on `started_on`: the first review is scheduled (20 working days;
    3 months for short breaks; reg 33, reg 48). With `started_before_data` (a backfill) the period began
    before the data shows, and its first review held is not judged for timeliness
    (`rules.timeliness_judged`). Events are filed under the IRO allocated on `started_on`."""
    child = await get_child(ctx.session, child_id)
    check_code(
        body.legal_status, ok=rules.valid_legal_status(body.legal_status), valid=rules.listed("legal_status_codes"),
        field="legal_status", what="an SSDA903 legal status",
    )  # fmt: skip
    if body.placement_type is not None:
        check_code(
            body.placement_type, ok=body.placement_type in rules.placement_types_on(body.started_on),
            valid=rules.placement_types_on(body.started_on), field="placement_type",
            what=f"an SSDA903 placement code in use on {body.started_on}",
        )  # fmt: skip
    not_in_future(ctx, day=body.started_on, field="started_on")
    if body.started_on < child.date_of_birth:
        raise BeforeDateOfBirth("started_on is before the child's date of birth.", field="started_on")
    cutoff = rules.statutory_cutoff(child.date_of_birth)
    if body.started_on >= cutoff:
        raise errors.PastEighteenthBirthday(
            f"The child is 18 on {body.started_on}: nobody is looked after from their 18th birthday (s105).",
            field="started_on",
        )
    if await open_period(ctx.session, child.id) is not None:
        raise errors.CarePeriodOpen(
            "The child already has an open care period: end it first.", current_state="looked_after"
        )
    last_end = await ctx.session.scalar(select(func.max(CarePeriod.ended_on)).where(CarePeriod.child_id == child.id))
    if last_end is not None and body.started_on < last_end:
        raise errors.CarePeriodsOverlap(f"A new care period cannot start before the last one ended ({last_end}).")
    period = CarePeriod(id=uuid.uuid4(), child_id=child.id, initial_legal_status=body.legal_status, **body.model_dump())
    ctx.session.add(period)
    await ctx.session.flush()
    before_data: dict[str, Any] = {"started_before_data": True} if period.started_before_data else {}
    ctx.record(
        events.CarePeriodStarted(care_period_id=period.id, child_id=child.id, started_on=period.started_on,
                                 legal_status=period.legal_status, placement_type=period.placement_type,
                                 **before_data),
        subject=Subject("care_period", period.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, on=period.started_on),
    )  # fmt: skip
    short_break = rules.is_short_break(period.legal_status)
    due = rules.review_due(
        ctx.calendar, sequence=1, started_on=period.started_on, previous_held_on=None, short_break=short_break
    )
    await schedule_review(ctx, child=child, period=period, sequence=1, due=due, on=period.started_on)
    return period


async def schedule_review(
    ctx: ReviewsCtx, *, child: Child, period: CarePeriod, sequence: int, due: dt.date, on: dt.date
) -> Review | None:
    """Schedule the `sequence`-th review, unless it would fall on or after the 18th birthday. `on` is the
    day it was scheduled, the date of what scheduled it (the period's start, the review held before it,
    a correction today): `review.scheduled` is filed under the IRO allocated that day."""
    if not rules.within_care_age(due, child.date_of_birth):
        return None
    review = Review(
        id=uuid.uuid4(), child_id=child.id, care_period_id=period.id, sequence=sequence,
        due_on=due, statutory_due_on=due, status=rules.STATUS_SCHEDULED,
    )  # fmt: skip
    ctx.session.add(review)
    await ctx.session.flush()
    ctx.record(
        events.ReviewScheduled(review_id=review.id, care_period_id=period.id, child_id=child.id, sequence=sequence,
                               kind=rules.review_kind(sequence), due_on=due, statutory_due_on=due),
        subject=Subject("review", review.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, on=on),
    )  # fmt: skip
    return review


async def end_care_period(
    ctx: ReviewsCtx, *, child_id: uuid.UUID, period_id: uuid.UUID, body: schemas.CarePeriodEnd
) -> CarePeriod:
    child = await get_child(ctx.session, child_id)
    period = await ctx.session.get(CarePeriod, period_id)
    if period is None or period.child_id != child.id:
        raise NotFound(f"No care period {period_id} for child {child_id}.")
    if period.ended_on is not None:
        raise errors.CarePeriodEnded(f"The care period already ended on {period.ended_on}.", current_state="ended")
    check_code(
        body.reason, ok=rules.valid_reason_ceased(body.reason), valid=rules.listed("reason_ceased_codes"),
        field="reason", what="an SSDA903 reason-episode-ceased code",
    )  # fmt: skip
    not_in_future(ctx, day=body.ended_on, field="ended_on")
    if body.ended_on < period.started_on:
        raise errors.BeforeCarePeriod(f"ended_on is before the period started ({period.started_on}).", field="ended_on")
    cutoff = rules.statutory_cutoff(child.date_of_birth)
    if body.ended_on > cutoff:
        raise errors.PastEighteenthBirthday(
            f"The child is 18 on {body.ended_on}: the period ended on their 18th birthday at the latest (s105).",
            field="ended_on",
        )
    held_after = await ctx.session.scalar(
        select(func.max(Review.held_on)).where(Review.care_period_id == period.id, Review.status == "held")
    )
    if held_after is not None and held_after > body.ended_on:
        raise errors.ReviewHeldAfterEnd(f"A review of this period was held on {held_after}, after ended_on.")
    period.ended_on, period.end_reason = body.ended_on, body.reason
    await ctx.session.flush()  # the change is written before its event is recorded
    iro_id = await footprint_iro(ctx, child_id=child.id, on=body.ended_on)
    ctx.record(
        events.CarePeriodEnded(care_period_id=period.id, child_id=child.id, ended_on=body.ended_on, reason=body.reason),
        subject=Subject("care_period", period.id), child_id=child.id, iro_id=iro_id,
    )  # fmt: skip
    unheld = await ctx.session.scalars(
        select(Review).where(Review.care_period_id == period.id, Review.status == rules.STATUS_SCHEDULED)
    )
    for review in unheld.all():
        judged = rules.timeliness_judged(period.started_before_data, review.sequence)
        outcome = rules.outcome_when_leaving_care(review.statutory_due_on, body.ended_on, judged=judged)
        review.status, review.closed_on = outcome, body.ended_on
        closed = {rules.STATUS_MISSED: events.ReviewMissed, rules.STATUS_CANCELLED: events.ReviewCancelled}[outcome]
        await ctx.session.flush()  # the change is written before its event is recorded
        ctx.record(
            closed(review_id=review.id, care_period_id=period.id, sequence=review.sequence,
                   statutory_due_on=review.statutory_due_on, closed_on=body.ended_on),
            subject=Subject("review", review.id), child_id=child.id, iro_id=iro_id,
        )  # fmt: skip
    return period


async def change_placement(
    ctx: ReviewsCtx, *, child_id: uuid.UUID, body: schemas.PlacementChangeCreate
) -> PlacementChange:
    """A change of placement within the care period the child was in on `changed_on` (that day's, not
    today's: a past change for a child now 18 or out of care is judged on its own date). Refuses a future
    `changed_on` (422), one on or after the 18th birthday (422), before the period began (422), in no care
    period (409), or before the period's latest recorded placement change (422 `change-before-latest`); a
    code not in use on that day (422). With `REVIEWS_PLACEMENT_CHANGE_REVIEW`, an unplanned change brings
    the period's next review forward (local policy)."""
    child = await get_child(ctx.session, child_id)
    period = await period_on(ctx, child=child, day=body.changed_on, field="changed_on")
    check_code(
        body.placement_type, ok=body.placement_type in rules.placement_types_on(body.changed_on),
        valid=rules.placement_types_on(body.changed_on), field="placement_type",
        what=f"an SSDA903 placement code in use on {body.changed_on}",
    )  # fmt: skip
    await not_before_latest(ctx, model=PlacementChange, period=period, day=body.changed_on)
    change = PlacementChange(id=uuid.uuid4(), care_period_id=period.id, child_id=child.id, **body.model_dump())
    period.placement_type = body.placement_type
    ctx.session.add(change)
    await ctx.session.flush()
    ctx.record(
        events.PlacementChanged(care_period_id=period.id, changed_on=body.changed_on,
                                placement_type=body.placement_type, unplanned=body.unplanned),
        subject=Subject("care_period", period.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, on=body.changed_on),
    )  # fmt: skip
    if body.unplanned and ctx.settings.placement_change_review:
        await bring_forward_after_placement_change(ctx, child=child, period=period, changed_on=body.changed_on)
    return change


async def bring_forward_after_placement_change(
    ctx: ReviewsCtx, *, child: Child, period: CarePeriod, changed_on: dt.date
) -> None:
    """The local-policy setting: a review within 20 working days of an unplanned placement change. Only
    the period's scheduled review, and only for a change after its latest held review (an older change,
    recorded late, was that review's business)."""
    review = await ctx.session.scalar(
        select(Review).where(Review.care_period_id == period.id, Review.status == rules.STATUS_SCHEDULED)
    )
    if review is None:
        return
    last_held = await ctx.session.scalar(
        select(func.max(Review.held_on)).where(Review.care_period_id == period.id, Review.status == rules.STATUS_HELD)
    )
    if last_held is not None and changed_on < last_held:
        return
    due = rules.placement_change_due(ctx.calendar, changed_on, review.due_on)
    if due is None:
        return
    review.due_on, review.early_reason = due, "placement_change"
    await ctx.session.flush()  # the change is written before its event is recorded
    ctx.record(
        events.ReviewBroughtForward(review_id=review.id, due_on=due, statutory_due_on=review.statutory_due_on,
                                    reason="placement_change"),
        subject=Subject("review", review.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, on=changed_on),
    )  # fmt: skip


async def not_before_latest(
    ctx: ReviewsCtx, *, model: type[PlacementChange] | type[LegalStatusChange], period: CarePeriod, day: dt.date
) -> None:
    """Refuse a change dated before the latest change of its kind recorded for the care period (422
    `change-before-latest` on `changed_on`): changes are recorded in date order, the same day allowed."""
    latest = await ctx.session.scalar(select(func.max(model.changed_on)).where(model.care_period_id == period.id))
    if latest is not None and day < latest:
        raise errors.ChangeBeforeLatest(
            f"A change on {latest} is already recorded for this care period: changes are recorded in date order."
        )


async def change_legal_status(
    ctx: ReviewsCtx, *, child_id: uuid.UUID, body: schemas.LegalStatusChangeCreate
) -> LegalStatusChange:
    """A change of legal status within the care period the child was in on `changed_on`, judged on that
    day as `change_placement` is (the same refusals); `previous_legal_status` on the event is the period's
    legal status before it."""
    child = await get_child(ctx.session, child_id)
    period = await period_on(ctx, child=child, day=body.changed_on, field="changed_on")
    check_code(
        body.legal_status, ok=rules.valid_legal_status(body.legal_status), valid=rules.listed("legal_status_codes"),
        field="legal_status", what="an SSDA903 legal status",
    )  # fmt: skip
    await not_before_latest(ctx, model=LegalStatusChange, period=period, day=body.changed_on)
    change = LegalStatusChange(id=uuid.uuid4(), care_period_id=period.id, child_id=child.id, **body.model_dump())
    previous, period.legal_status = period.legal_status, body.legal_status
    ctx.session.add(change)
    await ctx.session.flush()
    ctx.record(
        events.LegalStatusChanged(care_period_id=period.id, changed_on=body.changed_on,
                                  legal_status=body.legal_status, previous_legal_status=previous),
        subject=Subject("care_period", period.id), child_id=child.id,
        iro_id=await footprint_iro(ctx, child_id=child.id, on=body.changed_on),
    )  # fmt: skip
    return change


# --- Allocation ----------------------------------------------------------------------------------


async def allocate(ctx: ReviewsCtx, *, child_id: uuid.UUID, body: schemas.AllocationCreate) -> Allocation:
    child = await get_child(ctx.session, child_id)
    iro = await ctx.session.get(Iro, body.iro_id)
    if iro is None:
        raise errors.UnknownIro(f"No IRO {body.iro_id}.")
    if not iro.active:
        raise errors.IroInactive(f"IRO {iro.email} is not active.")
    current = await ctx.session.scalar(
        select(Allocation).where(Allocation.child_id == child.id, Allocation.ended_on.is_(None)).with_for_update()
    )
    if current is not None:
        if current.iro_id == iro.id:
            return current  # already allocated: nothing changes, no event
        if body.allocated_on < current.allocated_on:
            raise errors.AllocationBeforeCurrent(
                f"The current allocation began on {current.allocated_on}; allocate on or after it."
            )
        current.ended_on = body.allocated_on
    allocation = Allocation(id=uuid.uuid4(), child_id=child.id, iro_id=iro.id, allocated_on=body.allocated_on)
    ctx.session.add(allocation)
    await ctx.session.flush()
    ctx.record(
        events.IroAllocated(allocation_id=allocation.id, child_id=child.id, iro_id=iro.id,
                            allocated_on=body.allocated_on, previous_iro_id=current.iro_id if current else None),
        subject=Subject("child", child.id), child_id=child.id, iro_id=iro.id,
    )  # fmt: skip
    return allocation


def active_on(day: Any) -> Any:
    """A condition: the allocation covers `day`."""
    return and_(Allocation.allocated_on <= day, or_(Allocation.ended_on.is_(None), Allocation.ended_on > day))


def eighteenth_birthday(date_of_birth: Any) -> Any:
    """SQL for `rules.statutory_cutoff` (the migration's `reviews.eighteenth_birthday`)."""
    return func.reviews.eighteenth_birthday(date_of_birth, type_=Date)
