"""Timeliness and caseload statistics, computed in SQL (definitions: DESIGN.md 2.1 and 2.5)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, distinct, func, not_, or_, select

from services.reviews import review_service, rules, schemas
from services.reviews.models import CarePeriod, Child, Iro, Review
from services.reviews.service import ReviewsCtx, caseloads, eighteenth_birthday


def pct(part: int, whole: int) -> float | None:
    """A percentage to one decimal place, half up; None when there is nothing to divide by."""
    if whole == 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


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
    held_in_period = and_(Review.held_on.is_not(None), Review.held_on.between(start, end))
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


async def caseload_table(ctx: ReviewsCtx, *, on: dt.date) -> schemas.Caseloads:
    """Every active IRO's caseload on `on`, per FTE and against the guidance (settings)."""
    session, settings = ctx.session, ctx.settings
    iros = (await session.scalars(select(Iro).where(Iro.active).order_by(Iro.name, Iro.id))).all()
    counts = await caseloads(session, on)
    items = []
    for iro in iros:
        caseload = counts.get(iro.id, 0)
        per_fte = rules.caseload_per_fte(caseload, float(iro.fte))
        items.append(
            schemas.Caseload(
                iro_id=iro.id,
                name=iro.name,
                fte=float(iro.fte),
                caseload=caseload,
                caseload_per_fte=per_fte,
                within_guidance=rules.within_guidance(per_fte, settings.caseload_upper),
                band=rules.caseload_band(per_fte, settings.caseload_lower, settings.caseload_upper),
            )
        )
    return schemas.Caseloads(items=items)
