"""The participation, feedback and advocacy statistics, counted in SQL over any period (brief 2.3;
definitions in docs/participation.md). A period is checked by `shared.periods.check_period`, as the
gateway's reports check theirs: `to` before `from`, or on or after `from` + 10 years (29 February +
10 years is 28 February), is a 422 naming `to`.

Ages are whole years from `date_part('year', age(day, date_of_birth))`, which agrees with
`shared.calendar.age_on` on every day, 29 February birthdays included (the test suite checks it):
PostgreSQL's `age` counts a year from 29 February as complete on 1 March in a common year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import Date, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation import rules
from services.participation.schemas import (
    AdvocacyStats,
    AgeRate,
    FeedbackStats,
    ParentStats,
    ParticipationStats,
    QuarterCount,
    QuestionStats,
    Rate,
    YesNoCounts,
)
from services.participation.service import ParticipationCtx
from shared import periods
from shared.errors import DateInFuture

_PARTICIPATED: Final = sorted(rules.PARTICIPATED)
PARENT_TOOK_PART: Final = ("attended", "views_conveyed")
"""A parent's participation values that count as taking part in the review."""


def age_sql(day: str, date_of_birth: str) -> str:
    """SQL for the whole years from `date_of_birth` to `day` (two SQL date expressions). Cast to
    `timestamp`: with plain dates PostgreSQL would pick `age(timestamptz, timestamptz)`, which
    depends on the session's time zone."""
    return f"date_part('year', age(CAST({day} AS timestamp), CAST({date_of_birth} AS timestamp)))::int"


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


# The same held reviews' participation records: how the child and the parents took part.
_RECORDS = text(
    """
    SELECT count(*) AS recorded,
           count(*) FILTER (WHERE p.met_iro_before) AS met_iro_yes,
           count(*) FILTER (WHERE NOT p.met_iro_before) AS met_iro_no,
           count(*) FILTER (WHERE p.met_iro_before IS NULL) AS met_iro_not_recorded,
           count(*) FILTER (WHERE p.interpreter_used) AS interpreter_yes,
           count(*) FILTER (WHERE NOT p.interpreter_used) AS interpreter_no,
           count(*) FILTER (WHERE p.interpreter_used IS NULL) AS interpreter_not_recorded,
           count(*) FILTER (WHERE jsonb_array_length(p.parents) > 0) AS with_parents,
           count(*) FILTER (
               WHERE EXISTS (SELECT FROM jsonb_array_elements(p.parents) AS e (parent)
                              WHERE e.parent ->> 'participation' = ANY(:took_part))
           ) AS parent_took_part
      FROM participation.held_review h
      JOIN participation.participation p ON p.review_id = h.review_id
     WHERE h.review_date BETWEEN :start AND :end
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))

# Methods are de-duplicated at entry (`rules.check_methods`), so this counts records listing each.
_METHODS = text(
    """
    SELECT m.method, count(*) AS records
      FROM participation.held_review h
      JOIN participation.participation p ON p.review_id = h.review_id
     CROSS JOIN LATERAL unnest(p.methods) AS m (method)
     WHERE h.review_date BETWEEN :start AND :end
     GROUP BY m.method
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))

_PARENT_ENTRIES = text(
    """
    SELECT e.parent ->> 'participation' AS participation, count(*) AS entries
      FROM participation.held_review h
      JOIN participation.participation p ON p.review_id = h.review_id
     CROSS JOIN LATERAL jsonb_array_elements(p.parents) AS e (parent)
     WHERE h.review_date BETWEEN :start AND :end
     GROUP BY 1
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))


def _listed(configured: Iterable[str], found: dict[str, int]) -> dict[str, int]:
    """Counts of every configured value in its order (zeros too), then any other value found (from an
    older list) in alphabetical order."""
    listed = {key: found.get(key, 0) for key in configured}
    return listed | {key: found[key] for key in sorted(found) if key not in listed}


async def _how_taken_part(session: AsyncSession, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The participation records of held reviews in [start, end]: `recorded`, `methods`,
    `met_iro_before`, `interpreter_used` and `parents`, as `ParticipationStats` names them."""
    period = {"start": start, "end": end}
    row = (await session.execute(_RECORDS, {**period, "took_part": list(PARENT_TOOK_PART)})).one()
    methods = {row.method: row.records for row in await session.execute(_METHODS, period)}
    entries = {row.participation: row.entries for row in await session.execute(_PARENT_ENTRIES, period)}
    return {
        "recorded": row.recorded,
        "methods": _listed(rules.METHODS, methods),
        "met_iro_before": YesNoCounts(yes=row.met_iro_yes, no=row.met_iro_no, not_recorded=row.met_iro_not_recorded),
        "interpreter_used": YesNoCounts(
            yes=row.interpreter_yes, no=row.interpreter_no, not_recorded=row.interpreter_not_recorded
        ),
        "parents": ParentStats(
            reviews_with_parents_recorded=row.with_parents,
            reviews_with_a_parent_taking_part=row.parent_took_part,
            by_participation=_listed(rules.PARENT_PARTICIPATION, entries),
        ),
    }


async def participation_stats(
    ctx: ParticipationCtx, *, start: dt.date, end: dt.date, age_on: dt.date | None = None
) -> ParticipationStats:
    """Held reviews in [start, end] by review date: how many, how many uncoded, by code, and the
    participation rate of children aged 4+ overall and by age; and over their participation records,
    how the child and the parents took part. `age_on` after `today` is a 422: an age not reached yet
    is not a figure."""
    session, today = ctx.session, ctx.today
    periods.check_period(start, end)
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
        **await _how_taken_part(session, start, end),
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
    periods.check_period(start, end)
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
    periods.check_period(start, end)
    counted = {
        row.quarter: row.referrals for row in (await session.execute(_REFERRALS, {"start": start, "end": end})).all()
    }
    by_quarter = [
        QuarterCount(quarter=quarter, start=first, end=last, referrals=counted.get(quarter, 0))
        for quarter, first, last in quarters(start, end)
    ]
    return AdvocacyStats(from_=start, to=end, referrals=sum(counted.values()), by_quarter=by_quarter)
