"""A national-scale year of IRO data, bulk-loaded for benchmarks ONLY (issue 14's annual-report benchmark).

    .venv/bin/python -m bench.national_data --database-url URL [--children 83000] [--seed 14] [--migrate]

This is not an import path and never runs against a real service's database: it writes every service's
tables directly with set-based SQL (`INSERT ... SELECT` over `generate_series`, as the database owner),
bypassing the services' APIs, rules and idempotency records, to build in minutes what the ingest path
would take hours to apply. The database must be migrated to head (`iro migrate`, `iro serve`, or
`--migrate` here) and empty: it refuses a database that has children or footprint events already.

The world (deterministic from `--seed`; `TODAY` is the platform's pinned `IRO_TODAY`, 2026-04-20):

- `children` children aged 0-17 on 1 April 2025, each with one care period: about half looked after
  since before the data began (1 April 2024: the period is marked `started_before_data`, so its first
  review in the data is not judged, as after the SSDA903 backfill), a fifth starting in 2024-25, 29 %
  in 2025-26 and 3 % on short breaks (V3/V4, reg 48 timetable); about a fifth of those looked after
  before 2025-26 cease during it and about a sixth during 2024-25, and every period still open on the
  18th birthday ends that day (s105). With 83,000: 76,796 looked after during 2025-26, 53,304 on
  1 April 2025, 58,156 on 31 March 2026, 23,562 starting and 18,674 ceasing. Legal statuses (C1 -> C2
  changes for some, with `legal_status_change` rows and `initial_legal_status`).
- IROs: one per 55 children (1,509 for 83,000), FTE 1.0 / 0.8 / 0.6 / 0.5, each with `reviews.iro_fte`
  history (skipped if that table is absent): 10 % changed FTE during 2025-26, 3 % joined late.
- Allocations from the start of care: 12 % of children change IRO during 2025-26, 6 % during 2024-25,
  0.5 % never have one.
- Reviews: each care period's chain (reg 33: 20 working days on England's calendar, then 3 months, then
  6; reg 48 for short breaks), about 7 % held late (with a late reason), 2 % brought forward (early
  reason), every unheld review after the last held one scheduled, or missed/cancelled when care ended;
  social worker's report, decisions, record and letter dates; format and chairing.
- Participation (the service's own view of held reviews: `participation.child`, `held_review`, and a
  record for 96 % of them with a PN code valid for the child's age, methods, parents, interpreter).
- Escalations for about 13 % of children over the two years (alerts and formal, stages with response
  due dates on the working-day calendar, resolved / withdrawn / referred / open), commendations,
  feedback forms on 18 % of held reviews (15 % anonymous), advocacy referrals for 12 % of children.
- Midway reviews (about one per child per year) and case notes (about six), in `reviews.midway_review`
  and `reviews.case_note`, and their footprint events `midway_review.held` and `case_note.recorded`
  with the allocated IRO's `iro_id`.

The footprint (migrations 0002, 0007-0009): `footprint.events` is append-only by trigger (no UPDATE,
DELETE or TRUNCATE for anyone) and the service roles may append only through `footprint.append_event(s)`,
which stamp `recorded_at` with the database's clock: 700,000 events appended that way (at about 3,000
a second) would all be recorded today, and the report counts a period's events by `recorded_at`. So
the loader, as the table's owner (the migrations revoke INSERT from the service roles only), COPYs the
events with `recorded_at` three minutes after each `occurred_at`, in `occurred_at` order, and with
`seq`, `prev_hash` and `hash` computed here by `shared.footprint.canonical` exactly as the append
function chains them. The chain verifies (`shared.footprint.verify` on a 1,000-child load: ok); the
benchmark does not check it. The consumers' positions (`participation.reviews`,
`escalations.children`) are set to the head, as if they had read the log: none of these event types is
theirs. Finally `VACUUM (ANALYZE)`, as autovacuum would have done over a year.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.common import data_parser  # noqa: E402
from shared import db, migrate  # noqa: E402
from shared.calendar import WorkingCalendar  # noqa: E402
from shared.footprint import canonical  # noqa: E402

DATA_START = dt.date(2024, 4, 1)  # the records (and the platform's footprint) begin
YEAR = (dt.date(2025, 4, 1), dt.date(2026, 3, 31))  # the collection year the report is asked for
TODAY = dt.date(2026, 4, 20)  # the platform's IRO_TODAY in the benchmark
CHILDREN_PER_IRO = 55
EVENT_CHUNK = 20_000
MANAGER = "manager@bench.council.gov.uk"
LATE_REASONS = (
    "late_notification", "child_missing", "key_people_unavailable", "insufficient_information",
    "iro_unavailable", "recording_error", "other",
)  # fmt: skip
CATEGORIES = (
    "care_plan_not_completed", "permanence_delay", "drift_in_care_planning", "legal_status", "immigration_status",
    "safety_planning", "social_worker_availability", "placement_stability", "case_recording", "finances",
    "assessments_not_completed", "sdq_not_completed", "unregulated_placement", "visits_not_undertaken",
    "multi_agency_working", "raised_by_young_person", "pep_not_up_to_date", "review_out_of_timescale",
    "health_or_dental_overdue", "leaving_care_preparation", "working_with_parents", "childs_rights_or_needs",
    "funding_decision", "other",
)  # fmt: skip
STAGE_NAMES = (
    "Informal alert (social worker and team manager)", "Team Manager", "Service Manager", "Head of Service",
    "Assistant Director", "Director of Children's Services",
)  # fmt: skip


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _d(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


@dataclass
class LoadReport:
    children: int
    seed: int
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def events(self) -> int:
        return self.rows.get("footprint.events", 0)


# --- The SQL -------------------------------------------------------------------------------------


def _functions(seed: int) -> list[str]:
    """Session helpers: a deterministic uniform [0, 1) from (tag, i, k), a pick from a list, and
    England's working days (`pg_temp.cal`, filled from `shared.calendar`)."""
    return [
        f"""CREATE FUNCTION pg_temp.u(tag text, i bigint, k bigint DEFAULT 0) RETURNS float8
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
            $$ SELECT ('x' || substr(md5('{seed}:' || tag || ':' || i || ':' || k), 1, 13))::bit(52)::bigint
                      / 4503599627370496.0 $$""",
        """CREATE FUNCTION pg_temp.pick(u float8, choices text[]) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
            $$ SELECT choices[1 + floor(u * array_length(choices, 1))::int] $$""",
        f"""CREATE FUNCTION pg_temp.uid(tag text, i bigint, k bigint DEFAULT 0) RETURNS uuid
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
            $$ SELECT md5('{seed}:' || tag || ':' || i || ':' || k)::uuid $$""",
        "CREATE TEMP TABLE cal (day date PRIMARY KEY, working boolean NOT NULL, wd integer NOT NULL)",
        """CREATE FUNCTION pg_temp.add_wd(d date, n integer) RETURNS date LANGUAGE sql STABLE AS
            $$ SELECT c2.day FROM pg_temp.cal c1 JOIN pg_temp.cal c2 ON c2.wd = c1.wd + n AND c2.working
               WHERE c1.day = d $$""",
    ]


def _steps(children: int, iros: int) -> list[tuple[str, list[str]]]:
    today, y0, y1, start = _d(TODAY), _d(YEAR[0]), _d(YEAR[1]), _d(DATA_START)
    iro_of = "CASE WHEN NOT c.has_alloc THEN NULL WHEN c.change_on IS NOT NULL AND {day} >= c.change_on " \
             "THEN c.iro2 ELSE c.iro1 END"  # fmt: skip
    return [
        (
            "iros",
            [
                f"""CREATE TEMP TABLE w_iro AS
                SELECT j, pg_temp.uid('iro', j) AS id, 'IRO ' || lpad(j::text, 4, '0') AS name,
                       'iro' || j || '@bench.council.gov.uk' AS email,
                       CASE WHEN pg_temp.u('fte', j) < 0.72 THEN 1.0 WHEN pg_temp.u('fte', j) < 0.86 THEN 0.8
                            WHEN pg_temp.u('fte', j) < 0.95 THEN 0.6 ELSE 0.5 END AS fte,
                       pg_temp.u('iro-change', j) < 0.10 AS changed,
                       {y0} + floor(pg_temp.u('iro-change-on', j) * 300)::int AS changed_on,
                       pg_temp.u('iro-joined', j) < 0.03 AS joined_late,
                       DATE '2024-07-01' + floor(pg_temp.u('iro-joined-on', j) * 450)::int AS joined_on
                  FROM generate_series(1, {iros}) j""",
                """INSERT INTO reviews.iro (id, name, email, fte, active, created_at)
               SELECT id, name, email, fte, true, TIMESTAMPTZ '2024-03-01 09:00+00' FROM w_iro""",
            ],
        ),
        (
            "children",
            [
                f"""CREATE TEMP TABLE w_child AS
                WITH b AS (
                    SELECT i, {y0} - 1 - floor(pg_temp.u('dob', i) * 6574)::int AS dob, pg_temp.u('kind', i) AS uk
                      FROM generate_series(1, {children}) i
                ), k AS (
                    SELECT i, dob, reviews.eighteenth_birthday(dob) AS e18,
                           CASE WHEN uk < 0.48 AND dob <= DATE '2024-02-01' THEN 'long'
                                WHEN uk < 0.68 THEN CASE WHEN dob > DATE '2025-02-01' THEN 'cur' ELSE 'prev' END
                                WHEN reviews.eighteenth_birthday(dob) < DATE '2026-09-01' THEN 'long'
                                WHEN uk < 0.97 THEN 'cur' ELSE 'short' END AS kind
                      FROM b
                ), s AS (
                    SELECT k.*, lo + floor(pg_temp.u('start', i) * greatest(hi - lo, 0))::int AS started_on
                      FROM k CROSS JOIN LATERAL (
                          SELECT CASE kind WHEN 'long' THEN greatest(dob, DATE '2019-04-01')
                                           WHEN 'cur' THEN greatest(dob, {y0}) ELSE greatest(dob, {start}) END AS lo,
                                 CASE kind WHEN 'long' THEN {start} - 1 WHEN 'prev' THEN {y0} - 1
                                           WHEN 'cur' THEN {y1} ELSE DATE '2025-12-31' END AS hi
                      ) AS range
                ), e AS (
                    SELECT s.*,
                           CASE WHEN kind <> 'cur' AND pg_temp.u('end', i) < 0.22
                                     THEN greatest(started_on + 28, {y0} + floor(pg_temp.u('end-on', i) * 365)::int)
                                WHEN kind IN ('long', 'short') AND pg_temp.u('end', i) < 0.37
                                     THEN greatest(started_on + 28, {start} + floor(pg_temp.u('end-on', i) * 365)::int)
                                WHEN kind = 'cur' AND pg_temp.u('end', i) < 0.15
                                     THEN started_on + 30 + floor(pg_temp.u('end-on', i) * 200)::int
                           END AS planned_end
                      FROM s
                ), f AS (
                    SELECT e.*,
                           CASE WHEN e18 <= {today} AND (planned_end IS NULL OR planned_end >= {today} OR planned_end
                               > e18)
                                     THEN e18
                                WHEN planned_end < {today} THEN planned_end END AS ended_on
                      FROM e
                )
                SELECT f.*,
                       pg_temp.uid('child', i) AS id, pg_temp.uid('care-period', i) AS period_id,
                       least(ended_on, e18, {today} + 1) AS cutoff,
                       greatest(started_on, {start}) AS span_from,
                       CASE WHEN kind = 'short' THEN pg_temp.pick(pg_temp.u('legal', i), ARRAY['V3', 'V3', 'V4'])
                            ELSE pg_temp.pick(pg_temp.u('legal', i),
                                 ARRAY['C2','C2','C2','C2','C2','C2','C2','C2','C2','C1','C1','C1','C1',
                                       'V2','V2','V2','V2','E1','E1','D1']) END AS legal_status,
                       pg_temp.u('alloc', i) >= 0.005 AS has_alloc,
                       1 + floor(pg_temp.u('iro', i) * {iros})::int AS iro1,
                       1 + ((floor(pg_temp.u('iro', i) * {iros})::int + 1
                             + floor(pg_temp.u('iro2', i) * ({iros} - 1))::int) % {iros}) AS iro2,
                       CASE WHEN pg_temp.u('chg', i) < 0.12 THEN {y0} + floor(pg_temp.u('chg-on', i) * 365)::int
                            WHEN pg_temp.u('chg', i) < 0.18 THEN {start} + floor(pg_temp.u('chg-on', i) * 365)::int
                       END AS change_candidate
                  FROM f""",
                """ALTER TABLE w_child ADD COLUMN change_on date, ADD COLUMN span_to date,
                                   ADD COLUMN legal_changed_on date""",
                """UPDATE w_child SET
                    change_on = CASE WHEN change_candidate > started_on + 7 AND change_candidate < cutoff - 1
                                     THEN change_candidate END,
                    span_to = cutoff,
                    legal_changed_on = CASE WHEN legal_status = 'C1' AND pg_temp.u('legal-change', i) < 0.5
                                             AND started_on + 60 + floor(pg_temp.u('legal-change-on', i) * 140)::int
                                                 < cutoff
                                            THEN started_on + 60 + floor(pg_temp.u('legal-change-on', i) * 140)::int
                                                END""",
                "CREATE UNIQUE INDEX ON w_child (i)",
                "ANALYZE w_child",
                """INSERT INTO reviews.child (id, la_reference, date_of_birth, sex, uasc, created_at)
                SELECT id, 'NAT' || lpad(i::text, 7, '0'), dob,
                       pg_temp.pick(pg_temp.u('sex', i), ARRAY['male', 'female', 'male', 'female', 'unknown']),
                       pg_temp.u('uasc', i) < 0.06, TIMESTAMPTZ '2024-04-01 09:00+00'
                  FROM w_child""",
                """INSERT INTO reviews.care_period (id, child_id, started_on, legal_status, initial_legal_status,
                                                placement_type, ended_on, end_reason, started_before_data)
                SELECT period_id, id, started_on, CASE WHEN legal_changed_on IS NOT NULL THEN 'C2' ELSE legal_status
                    END,
                       legal_status, pg_temp.pick(pg_temp.u('placement', i),
                           ARRAY['U1','U2','U3','U4','U5','U6','R1','K2']),
                       ended_on,
                       CASE WHEN ended_on IS NULL THEN NULL WHEN ended_on = e18 THEN 'E8'
                            ELSE pg_temp.pick(pg_temp.u('ceased', i), ARRAY['E11','E12','E13','E41','E4A','E8']) END,
                       kind = 'long'
                  FROM w_child""",
                """INSERT INTO reviews.legal_status_change (id, care_period_id, child_id, changed_on, legal_status)
               SELECT pg_temp.uid('legal-change', i), period_id, id, legal_changed_on, 'C2'
                 FROM w_child WHERE legal_changed_on IS NOT NULL""",
            ],
        ),
        (
            "allocations and staffing",
            [
                """INSERT INTO reviews.allocation (id, child_id, iro_id, allocated_on, ended_on)
               SELECT pg_temp.uid('allocation', c.i, 1), c.id, pg_temp.uid('iro', c.iro1), c.started_on,
                      coalesce(c.change_on, c.ended_on)
                 FROM w_child c WHERE c.has_alloc
               UNION ALL
               SELECT pg_temp.uid('allocation', c.i, 2), c.id, pg_temp.uid('iro', c.iro2), c.change_on, c.ended_on
                 FROM w_child c WHERE c.has_alloc AND c.change_on IS NOT NULL""",
                # reviews.iro_fte (migration 0017), when present: filled below by `_staffing`.
            ],
        ),
        (
            "reviews",
            [
                f"""CREATE TEMP TABLE w_review AS
                WITH RECURSIVE chain (i, k, stat, planned) AS (
                    SELECT c.i, 1, first.stat,
                           CASE WHEN c.kind = 'long' THEN first.stat
                                WHEN pg_temp.u('late', c.i, 1) < 0.07
                                     THEN first.stat + 1 + floor(pg_temp.u('held', c.i, 1) * 30)::int
                                ELSE greatest(c.started_on + 3, first.stat - floor(pg_temp.u('held', c.i, 1) * 14)::int)
                           END
                      FROM w_child c CROSS JOIN LATERAL (
                          SELECT CASE c.kind WHEN 'long' THEN {start} + floor(pg_temp.u('held', c.i, 1) * 182)::int
                                             WHEN 'short' THEN (c.started_on + interval '3 months')::date
                                             ELSE pg_temp.add_wd(c.started_on, 20) END AS stat
                      ) AS first
                    UNION ALL
                    SELECT ch.i, ch.k + 1, nxt.stat,
                           CASE WHEN pg_temp.u('late', ch.i, ch.k + 1) < 0.07
                                     THEN nxt.stat + 1 + floor(pg_temp.u('held', ch.i, ch.k + 1) * 40)::int
                                ELSE nxt.stat - floor(pg_temp.u('held', ch.i, ch.k + 1) * nxt.slack)::int END
                      FROM chain ch JOIN w_child c ON c.i = ch.i
                     CROSS JOIN LATERAL (
                          SELECT (ch.planned + CASE WHEN ch.k = 1 AND c.kind IN ('prev', 'cur') THEN interval '3 months'
                                                    ELSE interval '6 months' END)::date AS stat,
                                 CASE WHEN ch.k = 1 AND c.kind IN ('prev', 'cur') THEN 20 ELSE 35 END AS slack
                     ) AS nxt
                     WHERE ch.planned < c.cutoff
                )
                SELECT ch.i, ch.k, ch.stat, pg_temp.uid('review', ch.i, ch.k) AS id,
                       CASE WHEN ch.planned < c.cutoff THEN ch.planned END AS held_on,
                       NOT (c.kind = 'long' AND ch.k = 1) AS judged
                  FROM chain ch JOIN w_child c ON c.i = ch.i""",
                "CREATE INDEX ON w_review (i, k)",
                "ANALYZE w_review",
                f"""INSERT INTO reviews.review (
                    id, child_id, care_period_id, sequence, due_on, statutory_due_on, early_reason, planned_on,
                    status, held_on, meeting_dates, format, chaired_by_child, chaired_by_iro_id, in_time,
                    late_reason, late_reason_detail, closed_on, sw_report_received_on, decisions_issued_on,
                    record_issued_on, letter_to_child_sent_on)
                SELECT r.id, c.id, c.period_id, r.k,
                       CASE WHEN r.judged AND pg_temp.u('early', r.i, r.k) < 0.02 THEN r.stat - 10 ELSE r.stat END,
                       r.stat,
                       CASE WHEN r.judged AND pg_temp.u('early', r.i, r.k) < 0.02 THEN 'iro_request' END,
                       CASE WHEN r.held_on IS NULL AND c.ended_on IS NULL THEN r.stat - 3 END,
                       CASE WHEN r.held_on IS NOT NULL THEN 'held' WHEN c.ended_on IS NULL THEN 'scheduled'
                            WHEN r.judged AND r.stat < c.ended_on THEN 'missed' ELSE 'cancelled' END,
                       r.held_on,
                       CASE WHEN r.held_on IS NOT NULL THEN ARRAY[r.held_on] END,
                       CASE WHEN r.held_on IS NOT NULL
                            THEN pg_temp.pick(pg_temp.u('format', r.i, r.k),
                                              ARRAY['in_person', 'in_person', 'in_person', 'virtual', 'virtual',
                                                    'hybrid']) END,
                       CASE WHEN r.held_on IS NOT NULL AND pg_temp.u('chair', r.i, r.k) < 0.82
                            THEN pg_temp.pick(pg_temp.u('chair-by', r.i, r.k),
                                              ARRAY['no','no','no','no','no','no','no','no','no','co_chair','chair'])
                                                  END,
                       CASE WHEN r.held_on IS NOT NULL THEN pg_temp.uid('iro', {iro_of.format(day="r.held_on")}) END,
                       CASE WHEN r.held_on IS NOT NULL AND r.judged THEN r.held_on <= r.stat END,
                       CASE WHEN r.held_on > r.stat AND r.judged
                            THEN pg_temp.pick(pg_temp.u('late-reason', r.i, r.k), {_array(LATE_REASONS)}) END,
                       CASE WHEN r.held_on > r.stat AND r.judged AND pg_temp.pick(pg_temp.u('late-reason', r.i, r.k),
                                 {_array(LATE_REASONS)}) = 'other' THEN 'Bench: rearranged at the family''s request'
                                     END,
                       CASE WHEN r.held_on IS NULL THEN c.ended_on END,
                       CASE WHEN r.held_on IS NOT NULL AND pg_temp.u('sw', r.i, r.k) < 0.88
                            THEN r.held_on - floor(pg_temp.u('sw-on', r.i, r.k) * 13)::int END,
                       nullif(least(CASE WHEN r.held_on IS NOT NULL AND pg_temp.u('dec', r.i, r.k) < 0.95
                            THEN r.held_on + floor(pg_temp.u('dec-on', r.i, r.k) * 10)::int END, {today} + 1),
                                {today} + 1),
                       nullif(least(CASE WHEN r.held_on IS NOT NULL AND pg_temp.u('rec', r.i, r.k) < 0.90
                            THEN r.held_on + 3 + floor(pg_temp.u('rec-on', r.i, r.k) * 35)::int END, {today} + 1),
                                {today} + 1),
                       nullif(least(CASE WHEN r.held_on IS NOT NULL AND pg_temp.u('let', r.i, r.k) < 0.55
                            THEN r.held_on + 2 + floor(pg_temp.u('let-on', r.i, r.k) * 30)::int END, {today} + 1),
                                {today} + 1)
                  FROM w_review r JOIN w_child c ON c.i = r.i""",
            ],
        ),
        (
            "participation",
            [
                """INSERT INTO participation.child (id, la_reference, date_of_birth)
               SELECT id, 'NAT' || lpad(i::text, 7, '0'), dob FROM w_child""",
                """INSERT INTO participation.held_review (review_id, child_id, review_date, date_of_birth, format,
                                                       chaired_by_iro_id, sequence)
                SELECT r.id, r.child_id, r.held_on, c.date_of_birth, r.format, r.chaired_by_iro_id, r.sequence
                  FROM reviews.review r JOIN reviews.child c ON c.id = r.child_id WHERE r.status = 'held'""",
                """INSERT INTO participation.participation (review_id, code, methods, met_iro_before, interpreter_used,
                                                         parents, recorded_by, recorded_at)
                SELECT h.review_id, p.code,
                       CASE WHEN p.code IN ('PN1', 'PN2', 'PN3', 'PN4')
                                 THEN CASE WHEN u2 < 0.75 THEN ARRAY['in_person'] ELSE ARRAY['video'] END
                                      || CASE WHEN u3 < 0.3 THEN ARRAY['met_iro_before'] ELSE ARRAY[]::text[] END
                            WHEN p.code = 'PN5' THEN ARRAY['advocate']
                            WHEN p.code = 'PN6' THEN ARRAY[pg_temp.pick(u2, ARRAY['consultation_form', 'app', 'phone',
                                                                                    'text_or_social_media'])]
                            ELSE ARRAY[]::text[] END,
                       CASE WHEN u4 < 0.6 THEN true WHEN u4 < 0.9 THEN false END,
                       CASE WHEN u5 < 0.05 THEN true WHEN u5 < 0.88 THEN false END,
                       CASE WHEN u6 < 0.25 THEN '[]'::jsonb
                            ELSE jsonb_build_array(jsonb_build_object('relationship', 'mother', 'participation',
                                     pg_temp.pick(u2, ARRAY['attended', 'attended', 'views_conveyed',
                                                            'invited_did_not_attend', 'not_invited',
                                                                'not_appropriate'])))
                                 || CASE WHEN u6 < 0.65 THEN '[]'::jsonb
                                         ELSE jsonb_build_array(jsonb_build_object('relationship', 'father',
                                              'participation', pg_temp.pick(u3, ARRAY['attended', 'views_conveyed',
                                              'invited_did_not_attend', 'invited_did_not_attend', 'not_invited'])))
                                    END
                       END,
                       'bench@council.gov.uk', (h.review_date + 1)::timestamptz
                  FROM participation.held_review h
                 CROSS JOIN LATERAL (
                     SELECT pg_temp.u('coded', hashtextextended(h.review_id::text, 0)) AS u1,
                            pg_temp.u('p2', hashtextextended(h.review_id::text, 0)) AS u2,
                            pg_temp.u('p3', hashtextextended(h.review_id::text, 0)) AS u3,
                            pg_temp.u('p4', hashtextextended(h.review_id::text, 0)) AS u4,
                            pg_temp.u('p5', hashtextextended(h.review_id::text, 0)) AS u5,
                            pg_temp.u('p6', hashtextextended(h.review_id::text, 0)) AS u6,
                            pg_temp.u('code', hashtextextended(h.review_id::text, 0)) AS uc
                 ) AS u
                 CROSS JOIN LATERAL (
                     SELECT CASE WHEN date_part('year', age(h.review_date::timestamp, h.date_of_birth::timestamp)) < 4
                                 THEN 'PN0'
                                 WHEN uc < 0.42 THEN 'PN1' WHEN uc < 0.52 THEN 'PN2' WHEN uc < 0.57 THEN 'PN3'
                                 WHEN uc < 0.62 THEN 'PN4' WHEN uc < 0.72 THEN 'PN5' WHEN uc < 0.88 THEN 'PN6'
                                 ELSE 'PN7' END AS code
                 ) AS p
                 WHERE u.u1 < 0.96""",
                f"""INSERT INTO participation.feedback (id, respondent, channel, review_id, child_id, answers, comment,
                                                    received_on, recorded_by, recorded_at)
                SELECT pg_temp.uid('feedback', r.i, r.k),
                       pg_temp.pick(pg_temp.u('fb-who', r.i, r.k),
                           ARRAY['child','child','child','child','child','child','child',
                           'parent','parent','parent','parent','carer','carer','carer','carer','social_worker','social_worker',
                           'supervising_social_worker','guardian','professional']),
                       pg_temp.pick(pg_temp.u('fb-channel', r.i, r.k), ARRAY['paper', 'online', 'online', 'app',
                           'phone',
                                                                              'face_to_face']),
                       CASE WHEN anonymous THEN NULL ELSE r.id END, CASE WHEN anonymous THEN NULL ELSE c.id END,
                       jsonb_strip_nulls(jsonb_build_object(
                           'iro_listens', answer(pg_temp.u('fb-q1', r.i, r.k)),
                           'understand_care_plan', CASE WHEN pg_temp.u('fb-a2', r.i, r.k) < 0.85
                                                        THEN answer(pg_temp.u('fb-q2', r.i, r.k)) END,
                           'supported_in_review', CASE WHEN pg_temp.u('fb-a3', r.i, r.k) < 0.8
                                                       THEN answer(pg_temp.u('fb-q3', r.i, r.k)) END,
                           'views_taken_into_account', CASE WHEN pg_temp.u('fb-a4', r.i, r.k) < 0.7
                                                            THEN answer(pg_temp.u('fb-q4', r.i, r.k)) END)),
                       NULL, r.held_on + floor(pg_temp.u('fb-on', r.i, r.k) * 21)::int, 'bench@council.gov.uk',
                       (r.held_on + 21)::timestamptz
                  FROM w_review r JOIN w_child c ON c.i = r.i
                 CROSS JOIN LATERAL (SELECT pg_temp.u('fb-anon', r.i, r.k) < 0.15 AS anonymous) AS a
                 WHERE r.held_on IS NOT NULL AND pg_temp.u('fb', r.i, r.k) < 0.18
                   AND r.held_on + floor(pg_temp.u('fb-on', r.i, r.k) * 21)::int <= {today}""".replace(
                    "answer(", "pg_temp.answer("
                ),
                f"""INSERT INTO participation.advocacy_referral (id, child_id, referred_on, provider, reason, outcome,
                                                             outcome_on, recorded_by)
                SELECT pg_temp.uid('advocacy', c.i), c.id, referred_on,
                       pg_temp.pick(pg_temp.u('adv-provider', c.i), ARRAY['Coram Voice', 'NYAS', 'Barnardo''s',
                                                                          'Local advocacy service']),
                       pg_temp.pick(pg_temp.u('adv-reason', c.i), ARRAY['review', 'complaint', 'placement move', NULL]),
                       CASE WHEN referred_on + 14 <= {today} THEN pg_temp.pick(pg_temp.u('adv-outcome', c.i),
                            ARRAY['accepted', 'accepted', 'accepted', 'declined', 'withdrawn']) END,
                       CASE WHEN referred_on + 14 <= {today} THEN referred_on + 14 END,
                       'bench@council.gov.uk'
                  FROM w_child c
                 CROSS JOIN LATERAL (SELECT c.span_from + floor(pg_temp.u('adv-on', c.i)
                                            * (c.span_to - c.span_from))::int AS referred_on) AS r
                 WHERE pg_temp.u('adv', c.i) < 0.12 AND c.span_to > c.span_from""",
            ],
        ),
        (
            "escalations",
            [
                f"""CREATE TEMP TABLE w_escalation AS
                SELECT c.i, e.n, c.id AS child_id, pg_temp.uid('escalation', c.i, e.n) AS id, x.raised_on, x.alert,
                       x.first_stage, x.stage, x.duration,
                       CASE WHEN x.raised_on + x.duration > {today} OR pg_temp.u('esc-open', c.i, e.n) < 0.04
                            THEN 'open'
                            WHEN x.stage >= 2 AND pg_temp.u('esc-status', c.i, e.n) < 0.05 THEN 'referred_to_cafcass'
                            WHEN pg_temp.u('esc-status', c.i, e.n) < 0.92 THEN 'resolved' ELSE 'withdrawn' END AS
                                status,
                       c.iro1
                  FROM w_child c
                 CROSS JOIN LATERAL generate_series(1, CASE WHEN pg_temp.u('esc', c.i) < 0.11 THEN 1
                                                            WHEN pg_temp.u('esc', c.i) < 0.13 THEN 2 ELSE 0 END) AS e
                                                                (n)
                 CROSS JOIN LATERAL (
                     SELECT c.span_from + floor(pg_temp.u('esc-on', c.i, e.n) * (c.span_to - c.span_from))::int AS
                         raised_on,
                            pg_temp.u('esc-alert', c.i, e.n) < 0.7 AS alert,
                            CASE WHEN pg_temp.u('esc-alert', c.i, e.n) < 0.7 THEN 0 ELSE 1 END AS first_stage,
                            CASE WHEN pg_temp.u('esc-alert', c.i, e.n) < 0.7
                                 THEN CASE WHEN pg_temp.u('esc-stage', c.i, e.n) < 0.6 THEN 0
                                           WHEN pg_temp.u('esc-stage', c.i, e.n) < 0.85 THEN 1
                                           WHEN pg_temp.u('esc-stage', c.i, e.n) < 0.95 THEN 2 ELSE 3 END
                                 ELSE CASE WHEN pg_temp.u('esc-stage', c.i, e.n) < 0.7 THEN 1
                                           WHEN pg_temp.u('esc-stage', c.i, e.n) < 0.9 THEN 2
                                           WHEN pg_temp.u('esc-stage', c.i, e.n) < 0.98 THEN 3 ELSE 4 END
                            END AS stage,
                            5 + floor(pg_temp.u('esc-days', c.i, e.n) * 60)::int AS duration
                 ) AS x
                 WHERE c.span_to > c.span_from""",
                f"""INSERT INTO escalations.escalation (id, raised_as_alert, scope, category, team, summary, raised_on,
                                                   raised_by, status, stage, outcome, closed_on, created_at)
                SELECT e.id, e.alert, 'child', pg_temp.pick(pg_temp.u('esc-category', e.i, e.n), {_array(CATEGORIES)}),
                       'Team ' || (1 + floor(pg_temp.u('esc-team', e.i, e.n) * 25)::int), 'Bench escalation',
                           e.raised_on,
                       'iro' || e.iro1 || '@bench.council.gov.uk', e.status, e.stage,
                       CASE WHEN e.status <> 'open' THEN 'Bench outcome' END,
                       CASE WHEN e.status <> 'open' THEN e.raised_on + e.duration END, e.raised_on::timestamptz
                  FROM w_escalation e""",
                """INSERT INTO escalations.escalation_child (escalation_id, child_id, position)
               SELECT id, child_id, 0 FROM w_escalation""",
                f"""INSERT INTO escalations.escalation_stage (escalation_id, stage, name, entered_on, response_due_on,
                                                         entry_reason, responded_on, responder, ended_on, ended_how)
                SELECT e.id, s.stage, ({_array(STAGE_NAMES)})[s.stage + 1], s.entered_on,
                       pg_temp.add_wd(s.entered_on, 10),
                       CASE WHEN s.stage > e.first_stage THEN 'No agreed response' END,
                       s.responded_on, CASE WHEN s.responded_on IS NOT NULL THEN 'Bench manager' END,
                       CASE WHEN s.stage < e.stage THEN s.entered_on + x.step
                            WHEN e.status <> 'open' THEN e.raised_on + e.duration END,
                       CASE WHEN s.stage < e.stage THEN 'escalated' WHEN e.status <> 'open' THEN e.status END
                  FROM w_escalation e
                 CROSS JOIN LATERAL (
                     SELECT (CASE WHEN e.status = 'open' THEN greatest({today} - e.raised_on, 0) ELSE e.duration END)
                            / (e.stage - e.first_stage + 1) AS step
                 ) AS x
                 CROSS JOIN LATERAL (
                     SELECT g AS stage, e.raised_on + (g - e.first_stage) * x.step AS entered_on,
                            CASE WHEN g < e.stage THEN e.raised_on + (g - e.first_stage) * x.step + (x.step * 6) / 10
                                 WHEN e.status <> 'open' THEN e.raised_on + (g - e.first_stage) * x.step
                                                              + least(3, e.raised_on + e.duration
                                                                         - (e.raised_on + (g - e.first_stage) * x.step))
                                 WHEN pg_temp.u('esc-responded', e.i, e.n) < 0.5
                                      AND e.raised_on + (g - e.first_stage) * x.step + 5 <= {today}
                                      THEN e.raised_on + (g - e.first_stage) * x.step + 5
                            END AS responded_on
                       FROM generate_series(e.first_stage, e.stage) AS g
                 ) AS s""",
                """INSERT INTO escalations.commendation (id, child_id, team, summary, raised_on, raised_by)
                SELECT pg_temp.uid('commendation', c.i), c.id,
                       'Team ' || (1 + floor(pg_temp.u('com-team', c.i) * 25)::int), 'Bench commendation',
                       c.span_from + floor(pg_temp.u('com-on', c.i) * (c.span_to - c.span_from))::int,
                       'iro' || c.iro1 || '@bench.council.gov.uk'
                  FROM w_child c WHERE pg_temp.u('com', c.i) < 0.03 AND c.span_to > c.span_from""",
                f"""INSERT INTO escalations.known_child (id, la_reference, date_of_birth, registered_seq, iro_id)
                SELECT c.id, 'NAT' || lpad(c.i::text, 7, '0'), c.dob, 0,
                       pg_temp.uid('iro', {iro_of.format(day=_d(TODAY))}) FROM w_child c""",
                """INSERT INTO escalations.known_iro (id, email, registered_seq) SELECT id, email, 0 FROM w_iro""",
            ],
        ),
        (
            "midway reviews and case notes",
            [
                f"""INSERT INTO reviews.midway_review (id, child_id, held_on, outcome, note, iro_id, recorded_by)
                SELECT pg_temp.uid('midway', r.i, r.k), c.id, m.held_on,
                       pg_temp.pick(pg_temp.u('mw-outcome', r.i, r.k),
                           ARRAY['on_track','on_track','on_track','on_track',
                           'on_track','on_track','on_track','on_track','on_track','on_track','on_track','on_track',
                           'concerns','concerns','concerns','escalated']),
                       NULL, pg_temp.uid('iro', {iro_of.format(day="m.held_on")}),
                       coalesce('iro' || {iro_of.format(day="m.held_on")} || '@bench.council.gov.uk', '{MANAGER}')
                  FROM w_review r JOIN w_child c ON c.i = r.i
                 CROSS JOIN LATERAL (SELECT r.held_on + 70 + floor(pg_temp.u('mw-on', r.i, r.k) * 40)::int AS held_on) m
                 WHERE r.held_on IS NOT NULL AND pg_temp.u('mw', r.i, r.k) < 0.5 AND m.held_on < c.cutoff""",
                f"""INSERT INTO reviews.case_note (id, child_id, recorded_on, text, kind, iro_id, recorded_by)
                SELECT pg_temp.uid('note', c.i, n.j), c.id, n.recorded_on,
                    'Bench note: spoke with the child and carer.',
                       pg_temp.pick(pg_temp.u('note-kind', c.i, n.j), ARRAY['contact', 'visit', 'midway_check', NULL]),
                       pg_temp.uid('iro', {iro_of.format(day="n.recorded_on")}),
                       coalesce('iro' || {iro_of.format(day="n.recorded_on")} || '@bench.council.gov.uk', '{MANAGER}')
                  FROM w_child c
                 CROSS JOIN LATERAL generate_series(1, floor((c.span_to - c.span_from) / 365.0
                                                             * (3 + 6 * pg_temp.u('notes', c.i)))::int) AS g (j)
                 CROSS JOIN LATERAL (
                     SELECT g.j, c.span_from + floor(pg_temp.u('note-on', c.i, g.j) * (c.span_to - c.span_from))::int
                            AS recorded_on
                 ) AS n
                 WHERE c.span_to > c.span_from""",
            ],
        ),
    ]


_ANSWER = """CREATE FUNCTION pg_temp.answer(u float8) RETURNS text LANGUAGE sql IMMUTABLE AS
    $$ SELECT CASE WHEN u < 0.68 THEN 'always' WHEN u < 0.92 THEN 'sometimes' ELSE 'never' END $$"""

# The footprint events of the midway reviews and case notes, in the order they happened: a working
# day's hour in London, from 09:00.
_EVENTS = """
SELECT e.t, e.id, e.child_id, e.iro_id, e.day, e.extra, i.email,
       ((e.day + time '09:00' + make_interval(secs => floor(pg_temp.u('at', hashtextextended(e.id::text, 0)) * 28800)))
            AT TIME ZONE 'Europe/London') AS occurred_at
  FROM (
      SELECT 'midway_review' AS t, id, child_id, iro_id, held_on AS day, outcome AS extra FROM reviews.midway_review
      UNION ALL
      SELECT 'case_note', id, child_id, iro_id, recorded_on, kind FROM reviews.case_note
  ) AS e
  LEFT JOIN reviews.iro i ON i.id = e.iro_id
 ORDER BY occurred_at, e.id
"""

_COLUMNS = (
    "seq", "id", "type", "occurred_at", "recorded_at", "service", "actor", "child_id", "iro_id", "subject_type",
    "subject_id", "payload", "request_id", "prev_hash", "hash",
)  # fmt: skip


async def _staffing(connection: asyncpg.Connection) -> int:
    """`reviews.iro_fte` (migration 0017), when present: each IRO's FTE from before the data (or from the
    day it joined), and a change during the year for some; `iro.fte` stays the row in force today."""
    exists = await connection.fetchval(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'reviews' AND table_name = 'iro_fte'"
        " AND column_name IN ('iro_id', 'valid_from', 'fte', 'active')"
    )
    if exists != 4:
        print("  reviews.iro_fte is absent (before migration 0017): no staffing history", file=sys.stderr)
        return 0
    await connection.execute(
        """INSERT INTO reviews.iro_fte (iro_id, valid_from, fte, active)
           SELECT id, CASE WHEN joined_late THEN joined_on ELSE DATE '2024-03-01' END,
                  CASE WHEN changed THEN CASE WHEN fte = 1.0 THEN 0.8 ELSE 1.0 END ELSE fte END, true
             FROM w_iro
           UNION ALL
           SELECT id, greatest(changed_on, CASE WHEN joined_late THEN joined_on + 1 ELSE changed_on END), fte, true
             FROM w_iro WHERE changed"""
    )
    return int(await connection.fetchval("SELECT count(*) FROM reviews.iro_fte"))


def _payload(kind: str, row: asyncpg.Record) -> dict[str, Any]:
    """The payload `review_service` records (`shared.footprint.events`: MidwayReviewHeld, CaseNoteRecorded)."""
    if kind == "midway_review":
        return {"midway_review_id": str(row["id"]), "held_on": row["day"].isoformat(), "outcome": row["extra"],
                "schema_version": 1}  # fmt: skip
    author = str(row["iro_id"]) if row["iro_id"] else None
    return {"case_note_id": str(row["id"]), "recorded_on": row["day"].isoformat(), "kind": row["extra"],
            "author_iro_id": author, "schema_version": 1}  # fmt: skip


async def _footprint(reader: asyncpg.Connection, writer: asyncpg.Connection) -> int:
    """COPY the events in `occurred_at` order, each chained to the one before (docs/footprint.md)."""
    prev, seq = canonical.GENESIS_HASH, 0
    recorded = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    delay, tick = dt.timedelta(minutes=3), dt.timedelta(microseconds=1)
    chunk: list[tuple[Any, ...]] = []
    async with reader.transaction():
        async for row in reader.cursor(_EVENTS, prefetch=EVENT_CHUNK):
            seq += 1
            kind = row["t"]
            occurred = row["occurred_at"]
            recorded = max(occurred + delay, recorded + tick)
            actor = {"sub": row["email"], "role": "iro"} if row["email"] else {"sub": MANAGER, "role": "manager"}
            payload = _payload(kind, row)
            event_type = "midway_review.held" if kind == "midway_review" else "case_note.recorded"
            encoded = canonical.canonical(
                seq=seq, id=row["id"], type=event_type, occurred_at=occurred, recorded_at=recorded, service="reviews",
                actor=actor, child_id=row["child_id"], iro_id=row["iro_id"], subject_type=kind,
                subject_id=str(row["id"]), payload=payload, request_id=None,
            )  # fmt: skip
            digest = hashlib.sha256(prev.encode("ascii") + encoded).hexdigest()
            chunk.append((
                seq, row["id"], event_type, occurred, recorded, "reviews", canonical.dumps(actor), row["child_id"],
                row["iro_id"], kind, str(row["id"]), canonical.dumps(payload), None, prev, digest,
            ))  # fmt: skip
            prev = digest
            if len(chunk) >= EVENT_CHUNK:
                await writer.copy_records_to_table("events", schema_name="footprint", records=chunk, columns=_COLUMNS)
                chunk = []
    if chunk:
        await writer.copy_records_to_table("events", schema_name="footprint", records=chunk, columns=_COLUMNS)
    return seq


TABLES = (
    "reviews.iro", "reviews.iro_fte", "reviews.child", "reviews.care_period", "reviews.legal_status_change",
    "reviews.allocation", "reviews.review", "reviews.midway_review", "reviews.case_note", "participation.child",
    "participation.held_review", "participation.participation", "participation.feedback",
    "participation.advocacy_referral", "escalations.escalation", "escalations.escalation_stage",
    "escalations.escalation_child", "escalations.commendation", "footprint.events",
)  # fmt: skip


async def load(
    url: str, *, children: int = 83_000, seed: int = 14, log: Callable[[str], None] | None = None
) -> LoadReport:
    """Fill the empty, migrated database at `url` with a national-scale world of `children` children.
    Returns the seconds per step and the rows per table."""
    say = log or (lambda message: print(message, file=sys.stderr))
    iros = max(5, round(children / CHILDREN_PER_IRO))
    report = LoadReport(children=children, seed=seed)
    connection = await asyncpg.connect(db.plain_url(url))
    writer = await asyncpg.connect(db.plain_url(url))
    try:
        if await connection.fetchval("SELECT count(*) FROM reviews.child") or await connection.fetchval(
            "SELECT count(*) FROM footprint.events"
        ):
            raise SystemExit("national_data: the database already has children or footprint events; give an empty one")
        await connection.execute("SET synchronous_commit = off; SET work_mem = '256MB'")
        await writer.execute("SET synchronous_commit = off")
        started = time.perf_counter()
        for statement in [*_functions(seed), _ANSWER]:
            await connection.execute(statement)
        calendar = WorkingCalendar()
        days = [
            dt.date(2018, 1, 1) + dt.timedelta(days=n) for n in range((dt.date(2028, 1, 1) - dt.date(2018, 1, 1)).days)
        ]
        working, rows = 0, []
        for day in days:
            is_working = calendar.is_working_day(day)
            working += is_working
            rows.append((day, is_working, working))
        await connection.copy_records_to_table("cal", records=rows, schema_name=None)
        await connection.execute("CREATE UNIQUE INDEX ON pg_temp.cal (wd) WHERE working; ANALYZE pg_temp.cal")
        report.seconds["setup"] = time.perf_counter() - started
        for name, statements in _steps(children, iros):
            started = time.perf_counter()
            async with connection.transaction():
                for statement in statements:
                    await connection.execute(statement)
                if name == "allocations and staffing":
                    await _staffing(connection)
            report.seconds[name] = time.perf_counter() - started
            say(f"  {name}: {report.seconds[name]:.1f} s")
        started = time.perf_counter()
        async with writer.transaction():
            events = await _footprint(connection, writer)
            for schema, consumer in (
                ("participation", "participation.reviews"),
                ("escalations", "escalations.children"),
            ):
                await writer.execute(
                    f"INSERT INTO {schema}.consumer_position (consumer, position) VALUES ($1, $2)"
                    " ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = now()",
                    consumer, events,
                )  # fmt: skip
        report.seconds["footprint events (COPY, chained)"] = time.perf_counter() - started
        say(f"  footprint: {events} events in {report.seconds['footprint events (COPY, chained)']:.1f} s")
        started = time.perf_counter()
        await connection.execute("VACUUM (ANALYZE)")
        report.seconds["vacuum analyze"] = time.perf_counter() - started
        say(f"  vacuum analyze: {report.seconds['vacuum analyze']:.1f} s")
        for table in TABLES:
            if await connection.fetchval("SELECT to_regclass($1)", table):
                report.rows[table] = int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await writer.close()
        await connection.close()
    return report


def main() -> None:
    parser = data_parser(__doc__, "an empty database migrated to head")
    parser.add_argument("--children", type=int, default=83_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--migrate", action="store_true", help="apply the migrations first")
    args = parser.parse_args()
    if args.migrate:
        migrate.upgrade(args.database_url)
    report = asyncio.run(load(args.database_url, children=args.children, seed=args.seed))
    print(f"loaded {args.children} children in {report.total_seconds:.1f} s")
    for table, count in report.rows.items():
        print(f"  {table}: {count}")


if __name__ == "__main__":
    main()
