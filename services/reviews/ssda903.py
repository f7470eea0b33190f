"""The reviews side of the DfE SSDA903 reviews table (DESIGN.md 2.7): every review held in a collection
year, with what the return needs from this service (the child's `la_reference` and date of birth, the
review date) and whether the DfE's rule 399 leaves the child out. Internal: the gateway's export
(`/v1/exports/ssda903/*`) reads it over HTTP with the caller's token, joins the participation
service's codes, and decides there which rows are exported.

Rule 399 (data-to-insight/csc-validator-be-903, `rule_399.py`): "Mother field, review field or
participation field are completed but child is looked after under legal status V3 or V4", raised only
when *all* of the child's episodes in the return have LS V3 or V4 (a child with any other episode is
not caught). Here the episodes are the child's legal statuses on the days of the collection year:
`short_breaks_only` is true when every legal status the child had on any day of the year, across all
their care periods overlapping it, was V3 or V4 (`rules.SHORT_BREAK_LEGAL_STATUSES`).

One query over the year's held reviews, whatever their number (a national deployment holds some
200,000 a year): no per-row look-ups. Each review's `problems` are `rules.review_problems`, as the
review reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, and_, false, func, literal, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import rules, schemas
from services.reviews.models import CarePeriod, Child, LegalStatusChange, Review
from services.reviews.service import eighteenth_birthday
from shared import periods


def legal_statuses(child_ids: Any, start: dt.date, end: dt.date) -> Any:
    """One row per legal status a child of `child_ids` (a subquery) had on some day of `[start, end]`:
    `child_id`, `legal_status`. A care period's days run from `started_on` to the day before it ended
    or the 18th birthday (s105), as `service.looked_after_on` counts them. It starts with its
    `initial_legal_status` and each legal status change applies from its `changed_on` until the next
    (two on one day: the later recorded holds from that day; the earlier held on no day)."""
    birthday = eighteenth_birthday(Child.date_of_birth)
    first_day_out = func.least(func.coalesce(CarePeriod.ended_on, birthday), birthday)
    in_year = (
        select(
            CarePeriod.id,
            CarePeriod.child_id,
            CarePeriod.started_on,
            first_day_out.label("end_on"),
            func.coalesce(CarePeriod.initial_legal_status, CarePeriod.legal_status).label("legal_status"),
        )
        .join(Child, Child.id == CarePeriod.child_id)
        .where(
            CarePeriod.child_id.in_(child_ids),
            CarePeriod.started_on <= end,
            or_(CarePeriod.ended_on.is_(None), CarePeriod.ended_on > start),
        )
        .cte("period_in_year")
    )
    p = in_year.c
    change = LegalStatusChange
    # Each status with the day it applies from: the period's first, then its changes, in the order they
    # apply (`step`, then the order recorded).
    applies = union_all(
        select(
            p.id.label("care_period_id"),
            p.child_id,
            p.end_on,
            p.started_on.label("from_on"),
            p.legal_status,
            literal(0, Integer).label("step"),
            null().label("recorded_at"),
            null().label("change_id"),
        ),
        select(p.id, p.child_id, p.end_on, change.changed_on, change.legal_status, literal(1, Integer),
               change.created_at, change.id)
        .join(change, and_(change.child_id == p.child_id, change.care_period_id == p.id)),
    ).subquery("status_from")  # fmt: skip
    a = applies.c
    next_from = func.lead(a.from_on).over(
        partition_by=a.care_period_id, order_by=(a.from_on, a.step, a.recorded_at, a.change_id)
    )
    # Until the next status or the period's end (excluded); `least` skips the last status's null `lead`.
    until_on = func.least(next_from, a.end_on).label("until_on")
    spans = select(a.child_id, a.legal_status, a.from_on, until_on).subquery("status_span")
    day_after = end + dt.timedelta(days=1)
    return select(spans.c.child_id, spans.c.legal_status).where(
        func.greatest(spans.c.from_on, start) < func.least(spans.c.until_on, day_after)
    )


async def review_rows(session: AsyncSession, *, collection_year: int) -> schemas.Ssda903Reviews:
    """Every review held in collection year `collection_year` (1 April of the year before to 31 March),
    by `la_reference`, then `held_on`: its child's reference and date of birth now, the review's
    sequence and problems, and `short_breaks_only` (rule 399, module doc)."""
    start, end = periods.collection_year(collection_year)
    held = and_(Review.status == rules.STATUS_HELD, Review.held_on.between(start, end))
    statuses = legal_statuses(select(Review.child_id).where(held), start, end).subquery("status_in_year")
    short_breaks = (
        select(
            statuses.c.child_id,
            func.bool_and(statuses.c.legal_status.in_(sorted(rules.SHORT_BREAK_LEGAL_STATUSES))).label("only"),
        )
        .group_by(statuses.c.child_id)
        .subquery("short_breaks")
    )
    query = (
        select(
            Review.id.label("review_id"),
            Review.child_id,
            Child.la_reference,
            Child.date_of_birth,
            Review.held_on,
            Review.sequence,
            func.coalesce(short_breaks.c.only, false()).label("short_breaks_only"),
        )
        .join(Child, Child.id == Review.child_id)
        .outerjoin(short_breaks, short_breaks.c.child_id == Review.child_id)
        .where(held)
        .order_by(Child.la_reference, Review.held_on, Review.id)
    )
    rows = (await session.execute(query)).all()
    # Validated in one call; the rows are unpacked by position (a row's mapping is slow at this size).
    items = [
        {
            "review_id": review_id, "child_id": child_id, "la_reference": la_reference,
            "date_of_birth": date_of_birth, "held_on": held_on, "sequence": sequence,
            "short_breaks_only": short_breaks_only, "problems": rules.review_problems(held_on, date_of_birth),
        }
        for review_id, child_id, la_reference, date_of_birth, held_on, sequence, short_breaks_only in rows
    ]  # fmt: skip
    return schemas.Ssda903Reviews.model_validate(
        {"collection_year": collection_year, "from_": start, "to": end, "items": items}
    )
