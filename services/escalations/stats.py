"""The escalation statistics of a period (DESIGN brief 2.4), counted in SQL.

- By raised date in [from, to]: `alerts`, `formal` (each by its kind when raised),
  `escalated_alerts`, `by_stage_reached`, `by_category`, `by_team`, `commendations`,
  `children_with_repeat_escalations`.
- By the date of the event in [from, to]: `formal_resolved`, `resolved_at_stage_1(_pct)` (its
  denominator `formal_resolved`), `median_working_days_to_resolution` with
  `resolved_with_working_days` (resolved in the period) and `cafcass_referrals` (referred in the
  period).
- As of today, whatever the period: `overdue_now`.

Working days need the bank holidays and closure days, which live in Python: SQL selects the
resolved escalations' dates and the median is taken here with the same calendar as due dates.

A period is checked by `shared.periods.check_period`, as every statistic's is: `to` before `from`,
or on or after `from` + 10 years (29 February + 10 years is 28 February), is a 422 naming `to`.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from sqlalchemy import Numeric, and_, cast, func, select

from services.escalations import rules
from services.escalations.models import Commendation, Escalation, EscalationChild
from services.escalations.rules import Status
from services.escalations.schemas import CategoryCount, EscalationStats, StageCount, TeamCount
from services.escalations.service import EscalationsCtx, overdue_condition
from shared import periods


def _ordered(categories: tuple[str, ...], found: dict[str, Any]) -> list[str]:
    """Configured categories first, in their order, then any others found (an older list's keys)."""
    return [key for key in categories if key in found] + sorted(key for key in found if key not in categories)


async def escalation_stats(ctx: EscalationsCtx, *, period_from: dt.date, period_to: dt.date) -> EscalationStats:
    """The statistics of the period [`period_from`, `period_to`], `overdue_now` as of `ctx.today`,
    by the configured ladder, categories and calendar."""
    periods.check_period(period_from, period_to)
    session, today, ladder = ctx.session, ctx.today, ctx.settings.ladder
    raised = Escalation.raised_on.between(period_from, period_to)
    alert = Escalation.raised_as_alert.is_(True)
    formal = Escalation.raised_as_alert.is_(False)

    totals = (
        await session.execute(
            select(
                func.count().filter(alert).label("alerts"),
                func.count().filter(formal).label("formal"),
                func.count().filter(alert, Escalation.stage >= rules.FIRST_FORMAL_STAGE).label("escalated_alerts"),
            ).where(raised)
        )
    ).one()

    reached = dict(
        (await session.execute(select(Escalation.stage, func.count()).where(raised).group_by(Escalation.stage))).all()
    )
    by_stage = [
        StageCount(stage=stage.stage, name=stage.name, count=int(reached.get(stage.stage, 0)))
        for stage in ladder.stages
    ] + [
        StageCount(stage=stage, name=None, count=int(count))
        for stage, count in sorted(reached.items())
        if stage > ladder.last
    ]

    categories = {
        row.category: row
        for row in await session.execute(
            select(
                Escalation.category,
                func.count().filter(alert).label("alerts"),
                func.count().filter(formal).label("formal"),
            )
            .where(raised)
            .group_by(Escalation.category)
        )
    }
    by_category = [
        CategoryCount(category=key, alerts=categories[key].alerts, formal=categories[key].formal)
        for key in _ordered(ctx.settings.categories, categories)
    ]

    count = func.count().label("count")
    teams = await session.execute(
        select(Escalation.team, count).where(raised).group_by(Escalation.team).order_by(count.desc(), Escalation.team)
    )
    by_team = [TeamCount(team=row.team, count=row.count) for row in teams]

    resolved = and_(
        Escalation.status == Status.RESOLVED.value,
        Escalation.stage >= rules.FIRST_FORMAL_STAGE,
        Escalation.closed_on.between(period_from, period_to),
    )
    at_stage_1 = func.count().filter(Escalation.stage == rules.FIRST_FORMAL_STAGE)
    resolution = (
        await session.execute(
            select(
                func.count().label("total"),
                at_stage_1.label("at_stage_1"),
                func.round(cast(100 * at_stage_1, Numeric) / func.nullif(func.count(), 0), 1).label("pct"),
            ).where(resolved)
        )
    ).one()
    spans = await session.execute(select(Escalation.raised_on, Escalation.closed_on).where(resolved))
    working_days = [
        rules.working_days_to_resolution(ctx.calendar, raised_on, closed_on)
        for raised_on, closed_on in spans
        if closed_on is not None  # always, by `resolved`; for the type checker
    ]

    overdue_now = await session.scalar(select(func.count()).select_from(Escalation).where(overdue_condition(today)))
    cafcass = await session.scalar(
        select(func.count()).where(
            Escalation.status == Status.REFERRED_TO_CAFCASS.value, Escalation.closed_on.between(period_from, period_to)
        )
    )
    commendations = await session.scalar(
        select(func.count()).where(Commendation.raised_on.between(period_from, period_to))
    )
    repeated = (
        select(EscalationChild.child_id)
        .join(Escalation, Escalation.id == EscalationChild.escalation_id)
        .where(raised)
        .group_by(EscalationChild.child_id)
        .having(func.count() >= 2)
        .subquery()
    )
    repeat_children = await session.scalar(select(func.count()).select_from(repeated))

    return EscalationStats(
        from_=period_from,
        to=period_to,
        alerts=totals.alerts,
        formal=totals.formal,
        escalated_alerts=totals.escalated_alerts,
        commendations=int(commendations or 0),
        by_stage_reached=by_stage,
        by_category=by_category,
        by_team=by_team,
        formal_resolved=resolution.total,
        resolved_at_stage_1=resolution.at_stage_1,
        resolved_at_stage_1_pct=None if resolution.pct is None else float(resolution.pct),
        median_working_days_to_resolution=float(statistics.median(working_days)) if working_days else None,
        resolved_with_working_days=len(working_days),
        overdue_now=int(overdue_now or 0),
        as_of=today,
        cafcass_referrals=int(cafcass or 0),
        children_with_repeat_escalations=int(repeat_children or 0),
    )
