"""The reviews service's routes: thin. Parse, call the service, commit once, answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Select, func, select

from services.reviews import review_service, schemas, service, ssda903, stats
from services.reviews.models import (
    Allocation,
    CarePeriod,
    CaseNote,
    Child,
    Decision,
    Iro,
    MidwayReview,
    Rearrangement,
    Review,
)
from shared import periods
from shared.context import Ctx
from shared.db import UnitOfWork
from shared.errors import InvalidField
from shared.pagination import Page, PageParams, paginate
from shared.periods import CollectionYear, From, To
from shared.types import Date, Line, Reference

router = APIRouter(prefix="/v1", route_class=UnitOfWork)

Pages = Annotated[PageParams, Depends()]


# --- IROs ----------------------------------------------------------------------------------------


@router.post("/iros", status_code=201, tags=["iros"])
async def create_iro(body: schemas.IroCreate, ctx: Ctx) -> schemas.IroRead:
    """Register an IRO (managers), active at `fte` from today. The email identifies the IRO behind a token."""
    iro = await service.create_iro(ctx, body=body)
    return (await service.iro_reads(ctx, [iro]))[0]


@router.get("/iros", tags=["iros"])
async def list_iros(
    ctx: Ctx, pages: Pages, email: Line | None = None, active: bool | None = None
) -> Page[schemas.IroRead]:
    """IROs with today's caseload; `email` finds the IRO behind a token."""
    query = select(Iro)
    if email:
        query = query.where(func.lower(Iro.email) == email.lower())
    if active is not None:
        query = query.where(Iro.active == active)
    iros, cursor = await paginate(ctx.session, query, keys=[Iro.id], params=pages)
    return Page(items=await service.iro_reads(ctx, iros), next_cursor=cursor)


@router.get("/iros/{iro_id}", tags=["iros"])
async def read_iro(iro_id: uuid.UUID, ctx: Ctx) -> schemas.IroRead:
    """The IRO with today's caseload and its staffing history (`fte_history`)."""
    iro = await service.get_iro(ctx.session, iro_id)
    return (await service.iro_reads(ctx, [iro]))[0]


@router.patch("/iros/{iro_id}", tags=["iros"])
async def update_iro(iro_id: uuid.UUID, body: schemas.IroUpdate, ctx: Ctx) -> schemas.IroRead:
    """Change an IRO's `name`, `fte` or `active` (managers). A new `fte` or `active` applies from
    `changes_from` (default today, never in the future) until the next change already recorded, if any;
    `fte` and `active` read as the values in force today."""
    iro = await service.update_iro(ctx, iro_id=iro_id, body=body)
    return (await service.iro_reads(ctx, [iro]))[0]


# --- Children ------------------------------------------------------------------------------------


@router.post("/children", status_code=201, tags=["children"])
async def register_child(body: schemas.ChildCreate, ctx: Ctx) -> schemas.ChildRead:
    """Register a child; 409 when the `la_reference` is taken."""
    child = await service.register_child(ctx, body=body)
    return service.new_child_read(child, ctx.today)


@router.get("/children", tags=["children"])
async def list_children(
    ctx: Ctx,
    pages: Pages,
    la_reference: Reference | None = None,
    iro_id: uuid.UUID | None = Query(None, description="Children allocated to this IRO today."),
) -> Page[schemas.ChildRead]:
    query = select(Child)
    if la_reference:
        query = query.where(Child.la_reference == la_reference)
    if iro_id:
        allocated = select(Allocation.child_id).where(Allocation.iro_id == iro_id, service.active_on(ctx.today))
        query = query.where(Child.id.in_(allocated))
    children, cursor = await paginate(ctx.session, query, keys=[Child.id], params=pages)
    return Page(items=[await service.child_read(ctx, child=c) for c in children], next_cursor=cursor)


@router.get("/children/{child_id}", tags=["children"])
async def read_child(child_id: uuid.UUID, ctx: Ctx) -> schemas.ChildRead:
    return await service.read_child(ctx, child_id=child_id)


@router.patch("/children/{child_id}", tags=["children"])
async def update_child(child_id: uuid.UUID, body: schemas.ChildUpdate, ctx: Ctx) -> schemas.ChildRead:
    """Correct a child's details (case systems correct dates of birth): any of `date_of_birth`,
    `display_name`, `sex`, `uasc`. The same values change nothing. A new date of birth recomputes the
    timetable of unheld reviews against the 18th birthday it gives (docs/reviews.md)."""
    child = await service.update_child(ctx, child_id=child_id, body=body)
    return await service.child_read(ctx, child=child)


@router.post("/children/{child_id}/care-periods", status_code=201, tags=["care periods"])
async def start_care_period(child_id: uuid.UUID, body: schemas.CarePeriodStart, ctx: Ctx) -> schemas.CarePeriodRead:
    """The child becomes looked after: the first review is scheduled (20 working days; 3 months for short breaks)."""
    period = await service.start_care_period(ctx, child_id=child_id, body=body)
    return service.period_read(period, await service.get_child(ctx.session, child_id), ctx.today)


@router.get("/children/{child_id}/care-periods", tags=["care periods"])
async def list_care_periods(child_id: uuid.UUID, ctx: Ctx) -> Page[schemas.CarePeriodRead]:
    child = await service.get_child(ctx.session, child_id)
    rows = await ctx.session.scalars(
        select(CarePeriod).where(CarePeriod.child_id == child.id).order_by(CarePeriod.started_on)
    )
    return Page(items=[service.period_read(p, child, ctx.today) for p in rows.all()])


@router.post("/children/{child_id}/care-periods/{period_id}/end", tags=["care periods"])
async def end_care_period(
    child_id: uuid.UUID, period_id: uuid.UUID, body: schemas.CarePeriodEnd, ctx: Ctx
) -> schemas.CarePeriodRead:
    """The child leaves care: unheld reviews past their statutory date become `missed`, the rest `cancelled`."""
    period = await service.end_care_period(ctx, child_id=child_id, period_id=period_id, body=body)
    return service.period_read(period, await service.get_child(ctx.session, child_id), ctx.today)


@router.post("/children/{child_id}/placement-changes", status_code=201, tags=["care periods"])
async def change_placement(
    child_id: uuid.UUID, body: schemas.PlacementChangeCreate, ctx: Ctx
) -> schemas.PlacementChangeRead:
    change = await service.change_placement(ctx, child_id=child_id, body=body)
    return schemas.PlacementChangeRead.model_validate(change)


@router.post("/children/{child_id}/legal-status-changes", status_code=201, tags=["care periods"])
async def change_legal_status(
    child_id: uuid.UUID, body: schemas.LegalStatusChangeCreate, ctx: Ctx
) -> schemas.LegalStatusChangeRead:
    change = await service.change_legal_status(ctx, child_id=child_id, body=body)
    return schemas.LegalStatusChangeRead.model_validate(change)


@router.put("/children/{child_id}/iro", tags=["allocation"])
async def allocate_iro(child_id: uuid.UUID, body: schemas.AllocationCreate, ctx: Ctx) -> schemas.AllocationRead:
    """Allocate an IRO (managers); the previous allocation ends that day and stays in the history."""
    allocation = await service.allocate(ctx, child_id=child_id, body=body)
    return schemas.AllocationRead.model_validate(allocation)


@router.get("/children/{child_id}/iro-allocations", tags=["allocation"])
async def allocation_history(child_id: uuid.UUID, ctx: Ctx) -> Page[schemas.AllocationRead]:
    """Every IRO the child has had, oldest first (continuity of IRO is itself reported)."""
    await service.get_child(ctx.session, child_id)
    rows = await ctx.session.scalars(
        select(Allocation)
        .where(Allocation.child_id == child_id)
        .order_by(Allocation.allocated_on, Allocation.created_at)
    )
    return Page(items=[schemas.AllocationRead.model_validate(a) for a in rows.all()])


# --- Reviews -------------------------------------------------------------------------------------


async def reviews_page(
    ctx: service.ReviewsCtx, *, query: Select[Review], pages: PageParams, keys: list[Any]
) -> Page[schemas.ReviewRead]:
    query = (
        query.add_columns(Child.date_of_birth, CarePeriod.started_before_data)
        .join(Child, Child.id == Review.child_id)
        .join(CarePeriod, CarePeriod.id == Review.care_period_id)
    )
    rows, cursor = await paginate(ctx.session, query, keys=keys, params=pages)
    items = [
        review_service.review_read(ctx, review=r, date_of_birth=dob, started_before_data=before_data)
        for r, dob, before_data in rows
    ]
    return Page(items=items, next_cursor=cursor)


@router.get("/children/{child_id}/reviews", tags=["reviews"])
async def child_reviews(child_id: uuid.UUID, ctx: Ctx, pages: Pages) -> Page[schemas.ReviewRead]:
    """The child's reviews, oldest first."""
    await service.get_child(ctx.session, child_id)
    query = select(Review).where(Review.child_id == child_id)
    return await reviews_page(ctx, query=query, pages=pages, keys=[Review.due_on, Review.id])


@router.get("/reviews", tags=["reviews"])
async def list_reviews(
    ctx: Ctx,
    pages: Pages,
    iro_id: uuid.UUID | None = Query(None, description="Reviews of children allocated to this IRO today."),
    child_id: uuid.UUID | None = None,
    status: Literal["scheduled", "overdue", "held", "missed", "cancelled"] | None = None,
    due_from: Date | None = None,
    due_to: Date | None = None,
) -> Page[schemas.ReviewRead]:
    query = select(Review)
    if iro_id:
        query = query.where(
            Review.child_id.in_(
                select(Allocation.child_id).where(Allocation.iro_id == iro_id, service.active_on(ctx.today))
            )
        )
    if child_id:
        query = query.where(Review.child_id == child_id)
    if status:
        query = query.where(review_service.status_sql(ctx.today) == status)
    if due_from:
        query = query.where(Review.due_on >= due_from)
    if due_to:
        query = query.where(Review.due_on <= due_to)
    return await reviews_page(ctx, query=query, pages=pages, keys=[Review.due_on, Review.id])


async def one_review(ctx: service.ReviewsCtx, *, review: Review) -> schemas.ReviewRead:
    dob = await review_service.child_date_of_birth(ctx.session, review.child_id)
    before_data = await review_service.period_started_before_data(ctx.session, review.care_period_id)
    return review_service.review_read(ctx, review=review, date_of_birth=dob, started_before_data=before_data)


@router.get("/reviews/{review_id}", tags=["reviews"])
async def read_review(review_id: uuid.UUID, ctx: Ctx) -> schemas.ReviewRead:
    return await one_review(ctx, review=await review_service.get_review(ctx.session, review_id))


@router.post("/reviews/{review_id}/early", tags=["reviews"])
async def bring_forward(review_id: uuid.UUID, body: schemas.EarlyReview, ctx: Ctx) -> schemas.ReviewRead:
    """An early review (reg 33(3)): `due_on` moves earlier; in-time is still judged on `statutory_due_on`."""
    review = await review_service.bring_forward(ctx, review_id=review_id, body=body)
    return await one_review(ctx, review=review)


@router.post("/reviews/{review_id}/rearrangements", tags=["reviews"])
async def rearrange(review_id: uuid.UUID, body: schemas.Rearrangement, ctx: Ctx) -> schemas.ReviewRead:
    review = await review_service.rearrange(ctx, review_id=review_id, body=body)
    return await one_review(ctx, review=review)


@router.get("/reviews/{review_id}/rearrangements", tags=["reviews"])
async def rearrangements(review_id: uuid.UUID, ctx: Ctx) -> Page[schemas.RearrangementRead]:
    await review_service.get_review(ctx.session, review_id)
    rows = await ctx.session.scalars(
        select(Rearrangement).where(Rearrangement.review_id == review_id).order_by(Rearrangement.created_at)
    )
    return Page(items=[schemas.RearrangementRead.model_validate(r) for r in rows.all()])


@router.post("/reviews/{review_id}/held", tags=["reviews"])
async def hold(review_id: uuid.UUID, body: schemas.ReviewHeld, ctx: Ctx) -> schemas.ReviewRead:
    """Record the review held (its first meeting's date); a late one needs a reason. Schedules the next."""
    review = await review_service.hold(ctx, review_id=review_id, body=body)
    return await one_review(ctx, review=review)


@router.patch("/reviews/{review_id}", tags=["reviews"])
async def update_review(review_id: uuid.UUID, body: schemas.ReviewRecordKeeping, ctx: Ctx) -> schemas.ReviewRead:
    """Record-keeping dates: the social worker's report, decisions issued, record issued, letter to the child."""
    review = await review_service.update_record_keeping(ctx, review_id=review_id, body=body)
    return await one_review(ctx, review=review)


# --- Decisions, midway reviews, case notes ----------------------------------------------------------


@router.post("/reviews/{review_id}/decisions", status_code=201, tags=["decisions"])
async def add_decision(review_id: uuid.UUID, body: schemas.DecisionCreate, ctx: Ctx) -> schemas.DecisionRead:
    decision = await review_service.add_decision(ctx, review_id=review_id, body=body)
    return review_service.decision_read(decision, ctx.today)


@router.get("/decisions", tags=["decisions"])
async def list_decisions(
    ctx: Ctx,
    pages: Pages,
    child_id: uuid.UUID | None = None,
    iro_id: uuid.UUID | None = Query(None, description="Decisions for children allocated to this IRO today."),
    status: Literal["open", "done", "not_done", "superseded"] | None = None,
    due_before: Date | None = Query(None, description="Due before this date (a date filter, not a judgement)."),
    past_due: bool | None = Query(None, description="true: open and past their due date as of today; false: not."),
) -> Page[schemas.DecisionRead]:
    query = select(Decision)
    if child_id:
        query = query.where(Decision.child_id == child_id)
    if iro_id:
        allocated = select(Allocation.child_id).where(Allocation.iro_id == iro_id, service.active_on(ctx.today))
        query = query.where(Decision.child_id.in_(allocated))
    if status:
        query = query.where(Decision.status == status)
    if due_before:
        query = query.where(Decision.due_on < due_before)
    if past_due is not None:
        condition = review_service.decision_past_due_sql(ctx.today)
        query = query.where(condition if past_due else ~condition)
    rows, cursor = await paginate(ctx.session, query, keys=[Decision.due_on, Decision.id], params=pages)
    return Page(items=[review_service.decision_read(d, ctx.today) for d in rows], next_cursor=cursor)


@router.patch("/decisions/{decision_id}", tags=["decisions"])
async def update_decision(decision_id: uuid.UUID, body: schemas.DecisionUpdate, ctx: Ctx) -> schemas.DecisionRead:
    decision = await review_service.update_decision(ctx, decision_id=decision_id, body=body)
    return review_service.decision_read(decision, ctx.today)


@router.post("/children/{child_id}/midway-reviews", status_code=201, tags=["midway reviews"])
async def hold_midway_review(
    child_id: uuid.UUID, body: schemas.MidwayReviewCreate, ctx: Ctx
) -> schemas.MidwayReviewRead:
    midway = await review_service.hold_midway_review(ctx, child_id=child_id, body=body)
    return schemas.MidwayReviewRead.model_validate(midway)


@router.get("/children/{child_id}/midway-reviews", tags=["midway reviews"])
async def list_midway_reviews(child_id: uuid.UUID, ctx: Ctx, pages: Pages) -> Page[schemas.MidwayReviewRead]:
    await service.get_child(ctx.session, child_id)
    query = select(MidwayReview).where(MidwayReview.child_id == child_id)
    rows, cursor = await paginate(ctx.session, query, keys=[MidwayReview.held_on, MidwayReview.id], params=pages)
    return Page(items=[schemas.MidwayReviewRead.model_validate(m) for m in rows], next_cursor=cursor)


@router.post("/children/{child_id}/case-notes", status_code=201, tags=["case notes"])
async def record_case_note(child_id: uuid.UUID, body: schemas.CaseNoteCreate, ctx: Ctx) -> schemas.CaseNoteRead:
    note = await review_service.record_case_note(ctx, child_id=child_id, body=body)
    return schemas.CaseNoteRead.model_validate(note)


@router.get("/children/{child_id}/case-notes", tags=["case notes"])
async def list_case_notes(child_id: uuid.UUID, ctx: Ctx, pages: Pages) -> Page[schemas.CaseNoteRead]:
    await service.get_child(ctx.session, child_id)
    query = select(CaseNote).where(CaseNote.child_id == child_id)
    rows, cursor = await paginate(ctx.session, query, keys=[CaseNote.recorded_on, CaseNote.id], params=pages)
    return Page(items=[schemas.CaseNoteRead.model_validate(n) for n in rows], next_cursor=cursor)


# --- Stats ---------------------------------------------------------------------------------------


@router.get("/stats/timeliness", tags=["stats"])
async def timeliness(
    ctx: Ctx,
    start: From,
    end: To,
) -> schemas.Timeliness:
    """Reviews held in time, overdue unheld, per child (DESIGN.md 2.1)."""
    periods.check_period(start, end)
    return await stats.timeliness(ctx, start=start, end=end)


@router.get("/stats/timeliness/by-month", tags=["stats"], response_model_by_alias=True)
async def timeliness_by_month(
    ctx: Ctx,
    start: From,
    end: To,
) -> schemas.TimelinessByMonth:
    """The timeliness figures of each calendar month of the period, each as of its own end (or today),
    in one call (the annual report's chart; DESIGN.md 2.1)."""
    periods.check_period(start, end)
    return await stats.timeliness_by_month(ctx, start=start, end=end)


@router.get("/stats/caseloads", tags=["stats"])
async def caseload_stats(
    ctx: Ctx,
    as_of: Annotated[Date | None, Query(description="The day of the caseloads; default today.")] = None,
    on: Annotated[Date | None, Query(description="The same as `as_of` (kept for older callers).")] = None,
) -> schemas.Caseloads:
    """Per IRO: caseload, per FTE, within the 50-70 guidance, at the FTE in force on `as_of`; and the
    service's totals and the children looked after with no IRO allocated (DESIGN.md 2.5)."""
    if as_of is not None and on is not None and as_of != on:
        raise InvalidField(("query", "as_of"), f"as_of ({as_of}) and on ({on}) name different days: send one.")
    return await stats.caseload_table(ctx, as_of=as_of or on or ctx.today)


@router.get("/stats/children", tags=["stats"])
async def children_stats(ctx: Ctx, start: From, end: To) -> schemas.ChildrenStats:
    """The children looked after in the period, as of the earlier of `to` and today: at its start and
    end, during it, care periods started and ceased, and continuity of IRO (DESIGN.md 2.5, 2.6)."""
    periods.check_period(start, end)
    return await stats.children(ctx, start=start, end=end)


@router.get("/stats/record-keeping", tags=["stats"])
async def record_keeping_stats(ctx: Ctx, start: From, end: To) -> schemas.RecordKeepingStats:
    """Around the reviews held in the period: the social worker's report, decisions, record and letter
    to the child on time (working-day deadlines, settings), who chaired and the format (DESIGN.md 2.2)."""
    periods.check_period(start, end)
    return await stats.record_keeping(ctx, start=start, end=end)


# --- The DfE SSDA903 return (internal: the gateway's export) --------------------------------------


@router.get("/ssda903/reviews", tags=["ssda903"])
async def ssda903_reviews(
    ctx: Ctx,
    collection_year: CollectionYear,
) -> schemas.Ssda903Reviews:
    """Internal (the gateway's DfE export): every review held in the collection year, by `la_reference`
    then `held_on`, with the child's date of birth, whether the child's legal statuses in the year were
    all short breaks (V3/V4: rule 399 leaves them out) and the review's problems."""
    return await ssda903.review_rows(ctx.session, collection_year=collection_year)
