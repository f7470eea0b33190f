"""Ingested events applied by the reviews service (its batch command path, `POST /v1/ingest/reviews`).

Each handler resolves the event's target (children by `la_reference`, IROs by email, the review a
`review.held` is) and applies it through the same service functions as the public routes, so the
same rules refuse it. The target is returned and kept on the command's key with its outcome
(shared.ingest.runner), so a retry after a crash reaches the same child, period and review.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from services.reviews import review_service, rules, schemas, service
from services.reviews.errors import NotLookedAfter, ReviewLateWithoutReason, UnknownIro
from services.reviews.models import Allocation, CarePeriod, Child, Iro, Review
from shared import roles
from shared.errors import UnknownChild
from shared.ingest.commands import Command, CommandBatch, CommandResults
from shared.ingest.errors import NoReviewToHold
from shared.ingest.runner import Applied, Handler, rebuild, run

Ctx = service.ReviewsCtx


async def child_by_reference(ctx: Ctx, la_reference: str) -> Child:
    """The child with this `la_reference`; `unknown-child` on `la_reference` if none (yet)."""
    child = await ctx.session.scalar(select(Child).where(Child.la_reference == la_reference))
    if child is None:
        raise UnknownChild(
            f"No child has la_reference {la_reference!r}: register it first (child.registered), then replay.",
            field="la_reference",
        )
    return child


async def iro_by_email(ctx: Ctx, email: str) -> Iro:
    iro = await ctx.session.scalar(select(Iro).where(func.lower(Iro.email) == email.lower()))
    if iro is None:
        raise UnknownIro(f"No IRO has email {email!r}: a manager registers IROs (POST /v1/iros).", field="iro_email")
    return iro


def _ids(**ids: Any) -> dict[str, str]:
    return {name: str(value) for name, value in ids.items() if value is not None}


IMPORT = "ssda903"
"""The source of an SSDA903 import (services.gateway.backfill): history, applied as a correction where
a case system's event would be a conflict."""


async def child_registered(ctx: Ctx, event: Any, _: Command) -> Applied:
    known = await ctx.session.scalar(select(Child).where(Child.la_reference == event.la_reference))
    if known is not None and known.date_of_birth == event.date_of_birth:
        return Applied(_ids(child_id=known.id), duplicate=True, note="The child is already registered.")
    if known is not None and ctx.actor.source == IMPORT:
        # A return that gives a known child another date of birth corrects it, as child.updated does.
        changes = {"date_of_birth": event.date_of_birth} | ({"sex": event.sex} if event.sex else {})
        await service.update_child(ctx, child_id=known.id, body=rebuild(schemas.ChildUpdate, changes))
        return Applied(_ids(child_id=known.id), note="The child was known: its date of birth was corrected.")
    child = await service.register_child(ctx, body=rebuild(schemas.ChildCreate, event.model_dump()))
    return Applied(_ids(child_id=child.id))


async def care_period_started(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    same = await ctx.session.scalar(
        select(CarePeriod).where(CarePeriod.child_id == child.id, CarePeriod.started_on == event.started_on)
    )
    if same is not None:
        note = f"A care period starting on {event.started_on} is already recorded."
        return Applied(_ids(child_id=child.id, care_period_id=same.id), duplicate=True, note=note)
    if event.started_before_data:
        # History from a backfill: a period already known on that day is the one the data began in.
        known = await ctx.session.scalar(
            select(CarePeriod).where(
                CarePeriod.child_id == child.id, CarePeriod.started_on <= event.started_on,
                (CarePeriod.ended_on.is_(None)) | (CarePeriod.ended_on >= event.started_on),
            )
        )  # fmt: skip
        if known is not None:
            note = f"The child was already in a care period on {event.started_on} (from {known.started_on})."
            return Applied(_ids(child_id=child.id, care_period_id=known.id), duplicate=True, note=note)
    body = rebuild(schemas.CarePeriodStart, event.model_dump(exclude={"la_reference"}))
    period = await service.start_care_period(ctx, child_id=child.id, body=body)
    return Applied(_ids(child_id=child.id, care_period_id=period.id))


async def placement_changed(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    body = rebuild(schemas.PlacementChangeCreate, event.model_dump(exclude={"la_reference"}))
    change = await service.change_placement(ctx, child_id=child.id, body=body)
    return Applied(_ids(child_id=child.id, care_period_id=change.care_period_id))


async def legal_status_changed(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    body = rebuild(schemas.LegalStatusChangeCreate, event.model_dump(exclude={"la_reference"}))
    change = await service.change_legal_status(ctx, child_id=child.id, body=body)
    return Applied(_ids(child_id=child.id, care_period_id=change.care_period_id))


async def care_period_ended(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    period = await service.open_period(ctx.session, child.id)
    if period is None:
        ended = await ctx.session.scalar(
            select(CarePeriod).where(CarePeriod.child_id == child.id, CarePeriod.ended_on == event.ended_on)
        )
        if ended is not None:
            note = f"The care period already ended on {event.ended_on}."
            return Applied(_ids(child_id=child.id, care_period_id=ended.id), duplicate=True, note=note)
    body = rebuild(schemas.CarePeriodEnd, {"ended_on": event.ended_on, "reason": event.reason})
    if period is None:
        raise NotLookedAfter("The child has no open care period.", current_state="not_looked_after")
    await service.end_care_period(ctx, child_id=child.id, period_id=period.id, body=body)
    return Applied(_ids(child_id=child.id, care_period_id=period.id))


async def iro_allocated(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    iro = await iro_by_email(ctx, event.iro_email)
    current = await ctx.session.scalar(
        select(Allocation).where(Allocation.child_id == child.id, Allocation.ended_on.is_(None))
    )
    if current is not None and current.iro_id == iro.id:
        note = f"{iro.email} has been the child's IRO since {current.allocated_on}."
        return Applied(_ids(child_id=child.id, iro_id=iro.id), duplicate=True, note=note)
    body = rebuild(schemas.AllocationCreate, {"iro_id": iro.id, "allocated_on": event.allocated_on})
    await service.allocate(ctx, child_id=child.id, body=body)
    return Applied(_ids(child_id=child.id, iro_id=iro.id))


async def review_to_hold(ctx: Ctx, child: Child, held_on: dt.date) -> tuple[CarePeriod, Review]:
    """The review a `review.held` on `held_on` is: the earliest unheld review of the care period that
    contains `held_on` (never the next one after it); `no-review-to-hold` saying why none fits."""
    if not rules.within_care_age(held_on, child.date_of_birth):
        raise NoReviewToHold(
            f"{held_on} is on or after the child's 18th birthday: nobody is looked after from it (s105)."
        )
    period = await ctx.session.scalar(
        select(CarePeriod)
        .where(
            CarePeriod.child_id == child.id,
            CarePeriod.started_on <= held_on,
            (CarePeriod.ended_on.is_(None)) | (CarePeriod.ended_on >= held_on),
        )
        .order_by(CarePeriod.started_on.desc())
        .limit(1)
    )
    if period is None:
        raise NoReviewToHold(f"The child was not in a care period on {held_on}: start one first, then replay.")
    review = await ctx.session.scalar(
        select(Review)
        .where(Review.care_period_id == period.id, Review.status == rules.STATUS_SCHEDULED)
        .order_by(Review.sequence)
        .limit(1)
    )
    if review is None:
        raise NoReviewToHold(f"The care period that contains {held_on} has no unheld review left.")
    return period, review


async def review_held(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    already = await ctx.session.scalar(
        select(Review).where(
            Review.child_id == child.id, Review.held_on == event.held_on, Review.status == rules.STATUS_HELD
        )
    )
    if already is not None:
        note = f"The child's review of {event.held_on} is already recorded (review {already.sequence})."
        target = _ids(child_id=child.id, care_period_id=already.care_period_id, review_id=already.id)
        return Applied(target, duplicate=True, note=note)
    period, review = await review_to_hold(ctx, child, event.held_on)
    fields = event.model_dump(exclude={"la_reference", "participation_code"}, exclude_none=True)
    try:
        await review_service.hold(ctx, review_id=review.id, body=rebuild(schemas.ReviewHeld, fields))
    except ReviewLateWithoutReason:
        if ctx.actor.source != IMPORT:
            raise
        # The 903 records no reason for a late review: an imported one is late for a reason not recorded.
        fields["late_reason"] = "not_recorded"
        await review_service.hold(ctx, review_id=review.id, body=rebuild(schemas.ReviewHeld, fields))
    return Applied(_ids(child_id=child.id, care_period_id=period.id, review_id=review.id))


async def case_note_recorded(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    iro = await iro_by_email(ctx, event.iro_email)
    body = rebuild(
        schemas.CaseNoteCreate,
        {"recorded_on": event.recorded_on, "text": event.text, "kind": event.kind, "iro_id": iro.id},
    )
    note = await review_service.record_case_note(ctx, child_id=child.id, body=body)
    return Applied(_ids(child_id=child.id, case_note_id=note.id, iro_id=iro.id))


async def child_updated(ctx: Ctx, event: Any, _: Command) -> Applied:
    child = await child_by_reference(ctx, event.la_reference)
    changes = event.model_dump(exclude={"la_reference"}, exclude_unset=True)
    await service.update_child(ctx, child_id=child.id, body=rebuild(schemas.ChildUpdate, changes))
    return Applied(_ids(child_id=child.id))


HANDLERS: dict[str, Handler] = {
    "child.registered": child_registered,
    "care_period.started": care_period_started,
    "placement.changed": placement_changed,
    "legal_status.changed": legal_status_changed,
    "care_period.ended": care_period_ended,
    "iro.allocated": iro_allocated,
    "review.held": review_held,
    "case_note.recorded": case_note_recorded,
    "child.updated": child_updated,
}
"""Every event type this service applies (`review.held`'s participation code is the participation
service's)."""


router = APIRouter(prefix="/v1", tags=["ingest"])


@router.post("/ingest/reviews")
async def apply_events(batch: CommandBatch, request: Request, principal: roles.Caller) -> CommandResults:
    """Internal (only the gateway calls it): apply ingested events in order, one savepoint each, in
    one transaction; each outcome kept on its key (shared.ingest.runner)."""
    return await run(request, principal, batch, HANDLERS, schema="reviews")
