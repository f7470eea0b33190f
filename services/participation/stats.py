"""The participation, feedback and advocacy statistics, counted in SQL over any period (brief 2.3;
definitions in docs/participation.md).

Ages are whole years from `date_part('year', age(day, date_of_birth))`, which agrees with
`shared.calendar.age_on` on every day, 29 February birthdays included (the test suite checks it):
PostgreSQL's `age` counts a year from 29 February as complete on 1 March in a common year.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import Date, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation import rules
from services.participation.schemas import (
    AdvocacyStats,
    AgeRate,
    FeedbackStats,
    ParticipationStats,
    QuarterCount,
    QuestionStats,
    Rate,
)
from services.participation.service import ParticipationCtx
from shared.errors import DateInFuture, InvalidField

_PARTICIPATED: Final = sorted(rules.PARTICIPATED)
MAX_QUARTERS: Final = 400  # a century: the advocacy stats list every quarter of the period


def age_sql(day: str, date_of_birth: str) -> str:
    """SQL for the whole years from `date_of_birth` to `day` (two SQL date expressions). Cast to
    `timestamp`: with plain dates PostgreSQL would pick `age(timestamptz, timestamptz)`, which
    depends on the session's time zone."""
    return f"date_part('year', age(CAST({day} AS timestamp), CAST({date_of_birth} AS timestamp)))::int"


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise InvalidField(("query", "to"), f"to ({end.isoformat()}) is before from ({start.isoformat()}).")


# --- Participation -------------------------------------------------------------------------------

_BY_CODE = text(
    """
    SELECT p.code, count(*) AS reviews
      FROM participation.held_review h
      LEFT JOIN participation.participation p ON p.review_id = h.review_id
     WHERE h.review_date BETWEEN :start AND :end
     GROUP BY p.code
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))

# Coded reviews of children 4 or over on the review date, by age (on the review date, or on
# `age_on`), with a grand total row (age NULL) from the empty grouping set.
_BY_AGE = text(
    f"""
    WITH coded AS (
        SELECT p.code, {age_sql("coalesce(CAST(:age_on AS date), h.review_date)", "h.date_of_birth")} AS age
          FROM participation.held_review h
          JOIN participation.participation p ON p.review_id = h.review_id
         WHERE h.review_date BETWEEN :start AND :end
           AND {age_sql("h.review_date", "h.date_of_birth")} >= :min_age
    )
    SELECT GROUPING(age) = 1 AS total, age, count(*) AS reviews,
           count(*) FILTER (WHERE code = ANY(:participated)) AS participated
      FROM coded
     GROUP BY GROUPING SETS ((age), ())
     ORDER BY total, age
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date), bindparam("age_on", type_=Date))


async def participation_stats(
    ctx: ParticipationCtx, *, start: dt.date, end: dt.date, age_on: dt.date | None = None
) -> ParticipationStats:
    """Held reviews in [start, end] by review date: how many, how many uncoded, by code, and the
    participation rate of children aged 4+ overall and by age. `age_on` after `today` is a 422: an
    age not reached yet is not a figure."""
    session, today = ctx.session, ctx.today
    check_period(start, end)
    if age_on is not None and age_on > today:
        raise DateInFuture(
            f"age_on ({age_on.isoformat()}) is after today ({today.isoformat()}): ages are counted on a day "
            "that has come, up to today.",
            loc=("query", "age_on"),
        )
    by_code = dict.fromkeys(rules.CODES, 0)
    reviews = uncoded = 0
    for row in (await session.execute(_BY_CODE, {"start": start, "end": end})).all():
        reviews += row.reviews
        if row.code is None:
            uncoded = row.reviews
        else:
            by_code[row.code] = row.reviews
    params = {
        "start": start,
        "end": end,
        "age_on": age_on,
        "min_age": rules.PN0_AGE_LIMIT,
        "participated": _PARTICIPATED,
    }
    total = Rate(reviews=0, participated=0, pct=None)
    by_age: list[AgeRate] = []
    for row in (await session.execute(_BY_AGE, params)).all():
        pct = rules.participation_pct(row.participated, row.reviews)
        if row.total:
            total = Rate(reviews=row.reviews, participated=row.participated, pct=pct)
        else:
            by_age.append(AgeRate(age=row.age, reviews=row.reviews, participated=row.participated, pct=pct))
    return ParticipationStats(
        from_=start,
        to=end,
        age_on=age_on,
        reviews=reviews,
        uncoded=uncoded,
        by_code=by_code,
        aged_4_plus=total,
        by_age=by_age,
    )


# --- Feedback ------------------------------------------------------------------------------------

_FORMS = text(
    """
    SELECT respondent, count(*) AS forms, count(*) FILTER (WHERE child_id IS NULL) AS anonymous
      FROM participation.feedback
     WHERE received_on BETWEEN :start AND :end
     GROUP BY respondent
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))

_ANSWERS = text(
    """
    SELECT f.respondent, a.key AS question, a.value AS answer, count(*) AS n
      FROM participation.feedback f
     CROSS JOIN LATERAL jsonb_each_text(f.answers) AS a (key, value)
     WHERE f.received_on BETWEEN :start AND :end
     GROUP BY f.respondent, a.key, a.value
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))


def _zeros() -> dict[str, int]:
    return dict.fromkeys(rules.ANSWERS, 0)


async def feedback_stats(ctx: ParticipationCtx, *, start: dt.date, end: dt.date) -> FeedbackStats:
    """Forms received in [start, end]: per respondent, and answer counts per question (the configured
    ones first), overall and per respondent. Questions answered in the period but since dropped from
    the set come last."""
    session, questions = ctx.session, ctx.settings.questions
    check_period(start, end)
    by_respondent = dict.fromkeys(rules.RESPONDENTS, 0)
    forms = anonymous = 0
    for row in (await session.execute(_FORMS, {"start": start, "end": end})).all():
        by_respondent[row.respondent] = row.forms
        forms += row.forms
        anonymous += row.anonymous
    texts: dict[str, str | None] = {q.key: q.text for q in questions}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for row in (await session.execute(_ANSWERS, {"start": start, "end": end})).all():
        texts.setdefault(row.question, None)
        per_respondent = counts.setdefault(row.question, {})
        per_respondent.setdefault(row.respondent, _zeros())[row.answer] = row.n
    out: list[QuestionStats] = []
    for key, question_text in texts.items():
        per_respondent = {role: counts.get(key, {}).get(role, _zeros()) for role in by_respondent}
        totals = _zeros()
        for answers in per_respondent.values():
            for answer, n in answers.items():
                totals[answer] = totals.get(answer, 0) + n
        out.append(QuestionStats(key=key, text=question_text, answers=totals, by_respondent=per_respondent))
    return FeedbackStats(
        from_=start, to=end, forms=forms, anonymous=anonymous, by_respondent=by_respondent, questions=out
    )


# --- Advocacy ------------------------------------------------------------------------------------

_REFERRALS = text(
    """
    SELECT to_char(referred_on, 'YYYY-"Q"Q') AS quarter, count(*) AS referrals
      FROM participation.advocacy_referral
     WHERE referred_on BETWEEN :start AND :end
     GROUP BY 1
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))


def _quarter_number(day: dt.date) -> int:
    return day.year * 4 + (day.month - 1) // 3


def quarters(start: dt.date, end: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """Every calendar quarter meeting [start, end], with the days of it inside the period."""
    out: list[tuple[str, dt.date, dt.date]] = []
    day = start
    while day <= end:
        quarter = rules.quarter_of(day)
        first, last = rules.quarter_bounds(quarter)
        out.append((quarter, max(first, start), min(last, end)))
        day = last + dt.timedelta(days=1)
    return out


async def advocacy_stats(session: AsyncSession, start: dt.date, end: dt.date) -> AdvocacyStats:
    """Referrals made in [start, end], per calendar quarter (every quarter of the period, zeros too)."""
    check_period(start, end)
    if _quarter_number(end) - _quarter_number(start) >= MAX_QUARTERS:
        raise InvalidField(("query", "from"), f"The period is too long: at most {MAX_QUARTERS} quarters.")
    counted = {
        row.quarter: row.referrals for row in (await session.execute(_REFERRALS, {"start": start, "end": end})).all()
    }
    by_quarter = [
        QuarterCount(quarter=quarter, start=first, end=last, referrals=counted.get(quarter, 0))
        for quarter, first, last in quarters(start, end)
    ]
    return AdvocacyStats(from_=start, to=end, referrals=sum(counted.values()), by_quarter=by_quarter)
