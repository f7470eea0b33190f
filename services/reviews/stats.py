"""Timeliness and caseload statistics, computed in SQL (definitions: DESIGN.md 2.1 and 2.5)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import rules, schemas
from services.reviews.models import Iro
from services.reviews.service import caseloads
from services.reviews.settings import Settings


def pct(part: int, whole: int) -> float | None:
    """A percentage to one decimal place, half up; None when there is nothing to divide by."""
    if whole == 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# One row per review that counts in [from, to]: held in the period, or statutory due in the period
# and neither held nor cancelled by `to` (a review still scheduled on the 18th birthday closes then:
# missed if its statutory date had passed, else cancelled).
_COUNTED = """
WITH r AS (
    SELECT r.id, r.child_id, r.sequence, r.status, r.held_on, (r.held_on <= r.statutory_due_on) AS in_time,
           r.late_reason, r.statutory_due_on,
           r.closed_on, reviews.eighteenth_birthday(c.date_of_birth) AS cutoff
      FROM reviews.review r JOIN reviews.child c ON c.id = r.child_id
), counted AS (
    SELECT r.*,
           (r.held_on IS NOT NULL AND r.held_on BETWEEN :from AND :to) AS held_in_period,
           (r.statutory_due_on BETWEEN :from AND :to
             AND NOT (r.held_on IS NOT NULL AND r.held_on <= :to)
             AND NOT (r.status = 'cancelled' AND r.closed_on <= :to)
             AND NOT (r.status = 'scheduled' AND r.cutoff <= :to AND r.statutory_due_on >= r.cutoff)
           ) AS overdue_unheld
      FROM r
)
"""

_TOTALS = text(
    _COUNTED
    + """
SELECT count(*) FILTER (WHERE held_in_period) AS reviews_held,
       count(*) FILTER (WHERE held_in_period AND in_time) AS held_in_time,
       count(*) FILTER (WHERE overdue_unheld) AS overdue_unheld,
       count(*) FILTER (WHERE held_in_period AND sequence = 1) AS first_held,
       count(*) FILTER (WHERE held_in_period AND sequence = 1 AND in_time) AS first_in_time,
       count(*) FILTER (WHERE held_in_period AND sequence = 2) AS second_held,
       count(*) FILTER (WHERE held_in_period AND sequence = 2 AND in_time) AS second_in_time,
       count(*) FILTER (WHERE held_in_period AND sequence >= 3) AS subsequent_held,
       count(*) FILTER (WHERE held_in_period AND sequence >= 3 AND in_time) AS subsequent_in_time,
       count(DISTINCT child_id) FILTER (WHERE held_in_period OR overdue_unheld) AS children_reviewed,
       count(DISTINCT child_id) FILTER (WHERE (held_in_period OR overdue_unheld)) -
       count(DISTINCT child_id) FILTER (WHERE (held_in_period AND NOT in_time) OR overdue_unheld)
           AS children_all_in_time
  FROM counted
"""
)

_LATE = text(
    _COUNTED
    + """
SELECT late_reason, count(*) AS n FROM counted
 WHERE held_in_period AND NOT in_time GROUP BY late_reason ORDER BY late_reason
"""
)


async def timeliness(session: AsyncSession, *, start: dt.date, end: dt.date) -> schemas.Timeliness:
    params = {"from": start, "to": end}
    t = (await session.execute(_TOTALS, params)).one()
    late = {row.late_reason or "unrecorded": int(row.n) for row in (await session.execute(_LATE, params)).all()}
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
    )


async def caseload_table(session: AsyncSession, *, on: dt.date, settings: Settings) -> schemas.Caseloads:
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
