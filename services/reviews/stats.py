"""The reviews service's statistics, computed in SQL: timeliness (DESIGN.md 2.1), caseloads (2.5), the
children looked after and record keeping (2.6, 2.2). Each figure of a period `[from, to]` is judged as of
`as_of_date` (the earlier of `to` and today); the definitions are in docs/reviews.md."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Date, and_, column, distinct, exists, func, literal, not_, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from services.reviews import review_service, rules, schemas, service
from services.reviews.models import Allocation, CarePeriod, Child, Iro, Review
from services.reviews.service import ReviewsCtx, eighteenth_birthday
from shared import periods


def pct(part: int, whole: int) -> float | None:
    """A percentage to one decimal place, half up; None when there is nothing to divide by."""
    if whole == 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def rate(numerator: int, denominator: int) -> schemas.Rate:
    """A figure with what it was computed from: `numerator` of `denominator`, and `pct`."""
    return schemas.Rate(numerator=numerator, denominator=denominator, pct=pct(numerator, denominator))


def _counted(start: dt.date, end: dt.date, as_of: dt.date) -> Any:
    """One row per review that counts in [start, end]: held in the period, or overdue unheld, that is
    statutory due in [start, as_of] and, as of `as_of`, neither held nor cancelled
    (`rules.review_status`: scheduled, overdue or missed, a care leaver's unheld review included).
    `judged` is `rules.timeliness_judged`: a review whose timeliness is not judged (the first review of
    a care period that began before the data) is never overdue unheld, and held it is counted apart."""
    status = review_service.status_sql(
        as_of, eighteenth_birthday(Child.date_of_birth), started_before_data=CarePeriod.started_before_data
    )
    judged = review_service.judged_sql(CarePeriod.started_before_data)
    # `status = 'held'` is `held_on IS NOT NULL` (ck_review_held), said so the partial index on held_on serves it.
    held_in_period = and_(Review.status == rules.STATUS_HELD, Review.held_on.between(start, end))
    overdue_unheld = and_(judged, Review.statutory_due_on.between(start, as_of), status.in_(_UNHELD))
    return (
        select(
            Review.child_id,
            Review.sequence,
            Review.late_reason,
            held_in_period.label("held_in_period"),
            judged.label("judged"),
            (Review.held_on <= Review.statutory_due_on).label("in_time"),
            overdue_unheld.label("overdue_unheld"),
        )
        .join(Child, Child.id == Review.child_id)
        .join(CarePeriod, CarePeriod.id == Review.care_period_id)
        .where(or_(held_in_period, overdue_unheld))
        .subquery("counted")
    )


_UNHELD = (rules.STATUS_SCHEDULED, rules.STATUS_OVERDUE, rules.STATUS_MISSED)


def as_of_date(end: dt.date, today: dt.date) -> dt.date:
    """The day a period's figures are judged as of: its end, or today while it is still running
    (DESIGN.md 2.1): nothing due after today is overdue."""
    return min(end, today)


async def timeliness(ctx: ReviewsCtx, *, start: dt.date, end: dt.date) -> schemas.Timeliness:
    """The timeliness figures of reviews in [start, end], as of its end or today (`as_of_date`). A
    review held whose timeliness is not judged counts in `not_judged` and in no other figure."""
    session = ctx.session
    as_of = as_of_date(end, ctx.today)
    c = _counted(start, end, as_of)
    held, in_time, overdue = and_(c.c.held_in_period, c.c.judged), c.c.in_time, c.c.overdue_unheld
    not_judged = and_(c.c.held_in_period, not_(c.c.judged))
    first, second, subsequent = c.c.sequence == 1, c.c.sequence == 2, c.c.sequence >= 3
    children = func.count(distinct(c.c.child_id)).filter(or_(held, overdue))
    t = (
        await session.execute(
            select(
                func.count().filter(held).label("reviews_held"),
                func.count().filter(held, in_time).label("held_in_time"),
                func.count().filter(overdue).label("overdue_unheld"),
                func.count().filter(held, first).label("first_held"),
                func.count().filter(held, first, in_time).label("first_in_time"),
                func.count().filter(held, second).label("second_held"),
                func.count().filter(held, second, in_time).label("second_in_time"),
                func.count().filter(held, subsequent).label("subsequent_held"),
                func.count().filter(held, subsequent, in_time).label("subsequent_in_time"),
                children.label("children_reviewed"),
                (children - func.count(distinct(c.c.child_id)).filter(or_(and_(held, not_(in_time)), overdue))).label(
                    "children_all_in_time"
                ),
                func.count().filter(not_judged).label("not_judged"),
            ).select_from(c)
        )
    ).one()
    late_rows = await session.execute(
        select(c.c.late_reason, func.count().label("n"))
        .where(held, not_(in_time))
        .group_by(c.c.late_reason)
        .order_by(c.c.late_reason)
    )
    late = {row.late_reason or "unrecorded": int(row.n) for row in late_rows.all()}
    return schemas.Timeliness(
        reviews_held=t.reviews_held,
        held_in_time=t.held_in_time,
        pct_in_time=pct(t.held_in_time, t.reviews_held),
        overdue_unheld=t.overdue_unheld,
        by_sequence={
            "first": schemas.SequenceCounts(held=t.first_held, in_time=t.first_in_time),
            "second": schemas.SequenceCounts(held=t.second_held, in_time=t.second_in_time),
            "subsequent": schemas.SequenceCounts(held=t.subsequent_held, in_time=t.subsequent_in_time),
        },
        late_by_reason=late,
        children_reviewed=t.children_reviewed,
        children_all_in_time=t.children_all_in_time,
        pct_children_all_in_time=pct(t.children_all_in_time, t.children_reviewed),
        not_judged=t.not_judged,
        as_of=as_of,
    )


async def timeliness_by_month(ctx: ReviewsCtx, *, start: dt.date, end: dt.date) -> schemas.TimelinessByMonth:
    """`timeliness` for each calendar month of [start, end] that has begun by today, each month cut by the
    period's ends and judged as of its own end (or today)."""
    months = []
    for month, first, last in periods.months(start, end):
        if first > ctx.today:
            break
        figures = await timeliness(ctx, start=first, end=last)
        months.append(schemas.MonthTimeliness(**figures.model_dump(), month=month, from_=first, to=last))
    return schemas.TimelinessByMonth(from_=start, to=end, months=months)


async def caseload_table(ctx: ReviewsCtx, *, as_of: dt.date) -> schemas.Caseloads:
    """The caseloads on `as_of` (DESIGN.md 2.5): each IRO active that day, and any other with a caseload
    that day (`service.caseloads`), at the FTE in force then (`service.staffing_on`), per FTE and against
    the guidance (settings); and the service's totals, with the children looked after that day
    (`service.looked_after_on`) whom no IRO was allocated."""
    session, settings = ctx.session, ctx.settings
    iros = (await session.scalars(select(Iro).order_by(Iro.name, Iro.id))).all()
    history = await service.fte_history(session)
    counts = await service.caseloads(session, as_of)
    items, total_fte = [], Decimal(0)
    for iro in iros:
        fte, active = service.staffing_on(iro, history.get(iro.id, []), as_of)
        caseload = counts.get(iro.id, 0)
        if not (active or caseload):
            continue
        total_fte += fte
        per_fte = rules.caseload_per_fte(caseload, float(fte))
        items.append(
            schemas.Caseload(
                iro_id=iro.id,
                name=iro.name,
                fte=float(fte),
                active=active,
                caseload=caseload,
                caseload_per_fte=per_fte,
                within_guidance=rules.within_guidance(per_fte, settings.caseload_upper),
                band=rules.caseload_band(per_fte, settings.caseload_lower, settings.caseload_upper),
            )
        )
    allocated = exists().where(Allocation.child_id == Child.id, service.active_on(as_of))
    looked_after = (
        await session.execute(
            select(
                func.count(distinct(Child.id)).filter(allocated).label("allocated"),
                func.count(distinct(Child.id)).filter(not_(allocated)).label("unallocated"),
            )
            .select_from(CarePeriod)
            .join(Child, Child.id == CarePeriod.child_id)
            .where(service.looked_after_on(as_of))
        )
    ).one()
    return schemas.Caseloads(
        as_of=as_of,
        items=items,
        iros=len(items),
        fte=float(total_fte),
        children_allocated=looked_after.allocated,
        caseload_per_fte=rules.children_per_fte(looked_after.allocated, total_fte),
        unallocated=looked_after.unallocated,
        guidance_lower=settings.caseload_lower,
        guidance_upper=settings.caseload_upper,
    )


async def children(ctx: ReviewsCtx, *, start: dt.date, end: dt.date) -> schemas.ChildrenStats:
    """The children looked after in `[start, end]`, as of `as_of_date` (DESIGN.md 2.6), each day judged
    by `service.looked_after_on`, the definition caseloads count with. A care period's days looked after
    run from its start to the day before it ended or the 18th birthday, so it was looked after on some
    day of `[start, as_of]` exactly when it was on the later of its start and `start`, and on every day
    exactly when it was on `start` and on `as_of`. Continuity of IRO (DESIGN.md 2.5): of the children
    looked after throughout, those with one allocation over the whole period. Counts are of children,
    but `started` and `ceased`, which count care periods."""
    session = ctx.session
    as_of = as_of_date(end, ctx.today)
    at_start, at_end = service.looked_after_on(start), service.looked_after_on(as_of)
    # "At the start" is as the 903 counts "at 31 March": looked after at the end of the day before `from`,
    # so at the start + started - ceased = at the end (a period starting on `from` counts once: started).
    before_start = service.looked_after_on(start - dt.timedelta(days=1))
    during = and_(CarePeriod.started_on <= as_of, service.looked_after_on(func.greatest(CarePeriod.started_on, start)))
    birthday = eighteenth_birthday(Child.date_of_birth)
    ended = func.least(func.coalesce(CarePeriod.ended_on, birthday), birthday)  # s105: 18 ends it
    periods = (
        select(
            CarePeriod.child_id,
            before_start.label("at_start"),
            at_end.label("at_end"),
            during.label("during"),
            and_(CarePeriod.started_on.between(start, as_of), not_(CarePeriod.started_before_data)).label("started"),
            ended.between(start, as_of).label("ceased"),
            and_(at_start, at_end).label("throughout"),
        )
        .join(Child, Child.id == CarePeriod.child_id)
        .where(CarePeriod.started_on <= as_of, or_(CarePeriod.ended_on.is_(None), CarePeriod.ended_on >= start))
        .subquery("period")
    )
    p = periods.c
    one_iro = one_allocation_throughout(start, as_of)
    figures = (
        await session.execute(
            select(
                func.count(distinct(p.child_id)).filter(p.at_start).label("at_start"),
                func.count(distinct(p.child_id)).filter(p.at_end).label("at_end"),
                func.count(distinct(p.child_id)).filter(p.during).label("during"),
                func.count().filter(p.started).label("started"),
                func.count().filter(p.ceased).label("ceased"),
                func.count(distinct(p.child_id)).filter(p.throughout).label("throughout"),
                func.count(distinct(p.child_id)).filter(p.throughout, p.child_id.in_(one_iro)).label("kept_one_iro"),
            )
        )
    ).one()
    data_from = await session.scalar(select(func.min(CarePeriod.started_on)))
    return schemas.ChildrenStats(
        from_=start,
        to=end,
        as_of=as_of,
        looked_after_at_start=figures.at_start,
        looked_after_at_end=figures.at_end,
        looked_after_during=figures.during,
        started=figures.started,
        ceased=figures.ceased,
        data_from=data_from,
        continuity=schemas.Continuity(looked_after_throughout=figures.throughout, kept_one_iro=figures.kept_one_iro),
    )


def one_allocation_throughout(start: dt.date, end: dt.date) -> Any:
    """The children with exactly one IRO allocation over any day of `[start, end]` (an allocation covers
    `allocated_on` up to the day before `ended_on`, so one ended the day it began covers none), and that
    one covering every day of it."""
    overlaps = and_(
        Allocation.allocated_on <= end,
        or_(
            Allocation.ended_on.is_(None),
            and_(Allocation.ended_on > start, Allocation.ended_on > Allocation.allocated_on),
        ),
    )
    covers = and_(service.active_on(start), service.active_on(end))
    return (
        select(Allocation.child_id)
        .where(overlaps)
        .group_by(Allocation.child_id)
        .having(func.count() == 1, func.bool_and(covers))
    )


def deadline_table(ctx: ReviewsCtx, days: list[dt.date]) -> Any:
    """A table of the record-keeping deadlines of a review held on each of `days` (`rules.record_deadlines`
    on the service's calendar and settings): `held_on`, `sw_report`, `decisions`, `record`, `letter`;
    sent as five date arrays and unnested, so a period of any length is one query."""
    settings = service.record_keeping(ctx.settings)
    deadlines = [rules.record_deadlines(ctx.calendar, day, settings) for day in days]
    columns = {
        "held_on": days,
        "sw_report": [d.sw_report_due for d in deadlines],
        "decisions": [d.decisions_due for d in deadlines],
        "record": [d.record_due for d in deadlines],
        "letter": [d.letter_due for d in deadlines],
    }
    arrays = [literal(values, ARRAY(Date())) for values in columns.values()]
    names = [column(name, Date()) for name in columns]
    return func.unnest(*arrays).table_valued(*names).render_derived(name="due")


CHAIRED_BY_CHILD = ("chair", "co_chair", "no")
FORMATS = ("in_person", "virtual", "hybrid")
NOT_RECORDED = "not_recorded"


async def record_keeping(ctx: ReviewsCtx, *, start: dt.date, end: dt.date) -> schemas.RecordKeepingStats:
    """Record keeping around the reviews held in `[start, end]` (judged for timeliness or not), as of
    `as_of_date` (DESIGN.md 2.2, IRO Handbook practice; the deadlines are settings, in working days):

    - `sw_report_on_time`: the social worker's report received on or before its due date,
      `sw_report_days_before` working days before the review; of all held.
    - `decisions_on_time`, `record_on_time`, `letter_to_child_on_time`: issued (sent) on or before the
      deadline, `decisions_days`, `record_days`, `letter_days` working days after the review; of the held
      reviews whose deadline is on or before `as_of`, and of those not yet due that were issued anyway.
    - `letter_to_child_sent`: a letter sent, whatever its date; of all held.
    - `chaired_by_child`, `by_format`: held reviews by the value recorded (`not_recorded`: none).

    The deadlines are `rules.record_deadlines` on the service's working-day calendar (England's bank
    holidays and the local closure days), as each review reads them (`record_keeping` on a review): worked
    out once per day a review was held in the period, and joined to the reviews in SQL."""
    session = ctx.session
    as_of = as_of_date(end, ctx.today)
    held = and_(Review.status == rules.STATUS_HELD, Review.held_on.between(start, end))
    days = await session.scalars(select(Review.held_on).where(held).distinct())
    due = deadline_table(ctx, sorted(day for day in days if day is not None))

    def after_review(done: Any, deadline: Any) -> list[Any]:
        judged = or_(deadline <= as_of, done.is_not(None))
        return [func.count().filter(done <= deadline), func.count().filter(judged)]

    def by_value(recorded: Any, values: tuple[str, ...]) -> list[Any]:
        not_recorded = or_(recorded.is_(None), recorded.not_in(values))
        return [*(func.count().filter(recorded == value) for value in values), func.count().filter(not_recorded)]

    chaired, formats = by_value(Review.chaired_by_child, CHAIRED_BY_CHILD), by_value(Review.format, FORMATS)
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Review.sw_report_received_on <= due.c.sw_report),
                *after_review(Review.decisions_issued_on, due.c.decisions),
                *after_review(Review.record_issued_on, due.c.record),
                *after_review(Review.letter_to_child_sent_on, due.c.letter),
                func.count().filter(Review.letter_to_child_sent_on.is_not(None)),
                *chaired,
                *formats,
            )
            .select_from(Review)
            .join(due, due.c.held_on == Review.held_on)
            .where(held)
        )
    ).one()
    (reviews_held, sw_on_time, decisions, decisions_of, record, record_of, letter, letter_of, sent, *counts) = row
    by_chair, by_format = counts[: len(chaired)], counts[len(chaired) :]
    return schemas.RecordKeepingStats(
        from_=start,
        to=end,
        as_of=as_of,
        reviews_held=reviews_held,
        sw_report_on_time=rate(sw_on_time, reviews_held),
        decisions_on_time=rate(decisions, decisions_of),
        record_on_time=rate(record, record_of),
        letter_to_child_on_time=rate(letter, letter_of),
        letter_to_child_sent=rate(sent, reviews_held),
        chaired_by_child={
            key: rate(n, reviews_held) for key, n in zip((*CHAIRED_BY_CHILD, NOT_RECORDED), by_chair, strict=True)
        },
        by_format={key: rate(n, reviews_held) for key, n in zip((*FORMATS, NOT_RECORDED), by_format, strict=True)},
    )
