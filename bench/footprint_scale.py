"""The footprint at national scale: auditors' queries and the chain's verify over millions of events (issue 15).

    .venv/bin/python -m bench.footprint_scale --events 10000000            # embedded PostgreSQL, temp folder
    .venv/bin/python -m bench.footprint_scale --events 100000 --seconds 3  # a check: a minute or two
    .venv/bin/python -m bench.footprint_scale --events 1000000 --database-url postgresql://postgres@host/db

A workload of `python -m bench`: `run(context) -> list[Result]` (bench/common.py). Run alone it starts an
embedded PostgreSQL in a temporary folder (or, with `--database-url` / `DATABASE_URL`, creates a throwaway
database `iro_bench_fp_<random>` on that server and drops it `WITH (FORCE)` at the end), migrates it,
starts `iro serve` on it (`tests.e2e.processes.start_platform`) and calls `run`.

1. **Data** (`bench/footprint_scale_data.py`, benchmark data only): appends `context.scale.events`
   chained events to `footprint.events` by COPY as the table's owner, continuing the chain from the
   current head under the footprint's append lock (so it loads after whatever the log holds), then
   `VACUUM (ANALYZE) footprint.events`. About 83,000 children and 1,509 IROs over 10 years at
   10,000,000 events (one child per 120 events, one IRO per 55 children at smaller sizes), 13 event
   types with their models' payloads. Reported: load seconds and seconds per million events.
2. **Query** (`GET /v1/footprint`, an auditor's token, over TCP from `wrk` when installed, else from an
   in-process httpx client) against the same SQL over asyncpg (the statement `shared.footprint.read.page`
   runs, compiled by SQLAlchemy's asyncpg dialect, with the same parameters, `limit + 1` rows, on
   connections that take the auditor role as the gateway's do), with 1 and 16 clients, for:
   - `child-90d`: a child's events in the last 90 days of the data (`child_id`, `from`, `to`), 64 children;
   - `iro-90d`: an IRO's events in the last 90 days (`iro_id`, `from`, `to`), 64 IROs;
   - `iro-first` / `iro-deep`: an IRO's whole history, the first page and its last page (a cursor after
     all but its last 50 events: with 120 events a child, the deepest page of that IRO);
   - `log-first` / `log-deep` / `log-tail`: the whole log, the first page, page 1000 (the cursor reached
     by following 999 `next_cursor`s through the API) and the pages just before the head.
   Cursors other than the followed one are made with `read.encode_cursor` and the platform's
   `IRO_CURSOR_SECRET` (the same bytes the API gives out: checked against the followed cursor).
   `limit` 50. Each case runs `context.seconds` at each client count split over `context.rounds` rounds
   (the cases in rotating order), the platform and the baseline back to back. p50/p95/p99 from wrk's
   1000 quantiles per run (or every request) merged over rounds. The **database's** own time is
   `EXPLAIN (ANALYZE, BUFFERS)`'s planning + execution time of the same statement for every parameter
   set of the case (64; 20 repeats of one for the log's first page), p50/p95/p99 over them.
   Goals: p99 at the database <= 5 ms; platform p99 <= 3x the asyncpg baseline's at the same clients;
   deep page p99 <= 1.5x the first page's (`iro-deep` / `iro-first`, `log-deep` and `log-tail` /
   `log-first`).
3. **Verify**: `GET /v1/footprint/verify`, called again from `next_from_seq` until `complete` (at most
   `GATEWAY_VERIFY_MAX_EVENTS` a call, 1,000,000 by default), over the whole chain, against one SQL
   statement that verifies the same rows in PostgreSQL: it rebuilds each event's canonical text
   (docs/footprint.md: jsonb objects re-encoded with keys in code-point order, `COLLATE "C"`, no
   whitespace, by a temporary PL/pgSQL function; timestamps by `to_char`), hashes
   `prev_hash || canonical` with `sha256`, compares it with `hash`, and checks `prev_hash` against the
   previous row's `hash` (`lag` over `seq`): the same checks, so its `bad` count must be 0 and its
   count the platform's `checked` (both are reported). Also reported, not judged: the floor, a bare
   `sha256` of each row's columns as text without the canonical re-encoding. Goal: platform seconds
   <= 2x the SQL verify's. **Off the event loop**: while the verify runs, a thread GETs the gateway's
   `/healthz` every 100 ms; its p50/p99/max are reported beside the idle figures (goal: p99 <= 100 ms).

Figures at national scale need time. On this project's 2-core VM the load took 67 s per million events
with the machine to itself (100,000 events) and 188 s per million while other sessions' test suites kept
it busy (1,000,000 events, load average 6-9): 10,000,000 events is 11 to 31 minutes of loading
(PostgreSQL's COPY into a table with 11 indexes and 4 CHECK constraints is the bound, ~55 µs an event
alone; Python's generation and hashing, ~26 µs an event, runs beside it), then `VACUUM (ANALYZE)`, and
the platform's verify at 75-270 µs an event (4 to 45 minutes).
`--events 100000` checks the whole path in a couple of minutes. The loaded events stay in the
database: run this workload last, or on a database of its own (they are types no consumer reads, and
the annual report counts the IRO work types among them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect  # noqa: E402

from bench import common, footprint_scale_data  # noqa: E402
from bench._load import WRK_DONE, run_wrk  # noqa: E402
from bench.common import Context, Measurement, Result, Scale, percentile, ratio  # noqa: E402
from shared import db  # noqa: E402
from shared.footprint import read  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402

WORKLOAD = "footprint"
AUDITOR = "auditor@bench.council.gov.uk"
LIMIT = 50
SAMPLES = 64  # parameter sets per case
WINDOW_DAYS = 90
DEEP_PAGE = 1000
CLIENTS = (1, 16)
DB_GOAL_MS = 5.0
API_GOAL = 3.0
DEEP_GOAL = 1.5
VERIFY_GOAL = 2.0
HEALTHZ_GOAL_MS = 100.0
QUANTILES = 1000
WRK_PATHS = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def say(message: str) -> None:
    common.say(f"[footprint_scale] {message}")


# --- Cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    """One query shape: its API paths and, for each, the platform's SQL parameters (same order)."""

    name: str
    description: str
    paths: list[str]
    filters: list[read.EventFilter]
    latencies: dict[tuple[str, int], list[float]] = field(default_factory=dict)  # (side, clients) -> ms
    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    seconds: dict[tuple[str, int], float] = field(default_factory=dict)
    errors: dict[tuple[str, int], int] = field(default_factory=dict)
    cpu: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)  # CPU seconds by process
    database_ms: list[float] = field(default_factory=list)
    plan: str = ""  # EXPLAIN (ANALYZE, BUFFERS) text of the slowest parameter set
    rows: int = 0  # rows of the first parameter set's page


def compiled(where: read.EventFilter) -> tuple[str, list[Any]]:
    """The statement `read.page` runs for `where` (limit + 1 rows), as asyncpg receives it."""
    statement = where.select().limit(LIMIT + 1).compile(dialect=asyncpg_dialect.dialect())
    params = statement.params
    return statement.string, [params[name] for name in statement.positiontup or ()]


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """As the route turns `from`/`to` days into `occurred_at` bounds (services/gateway/routes/footprint.py)."""
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(last, dt.time.max, tzinfo=dt.UTC),
    )


async def build_cases(connection: asyncpg.Connection, client: httpx.Client, secret: str) -> list[Case]:
    """The cases' parameters, chosen from the data (deterministically: by md5 of the id)."""
    last = await connection.fetchval("SELECT max(occurred_at) FROM footprint.events")
    end = last.astimezone(dt.UTC).date()
    start = end - dt.timedelta(days=WINDOW_DAYS - 1)
    low, high = day_bounds(start, end)
    window = f"from={start.isoformat()}&to={end.isoformat()}"
    children = [r[0] for r in await connection.fetch(
        "SELECT child_id FROM (SELECT DISTINCT child_id FROM footprint.events WHERE occurred_at >= $1"
        " AND child_id IS NOT NULL) c ORDER BY md5(child_id::text) LIMIT $2", low, SAMPLES)]  # fmt: skip
    iros = [r[0] for r in await connection.fetch(
        "SELECT iro_id FROM (SELECT iro_id, count(*) FROM footprint.events WHERE iro_id IS NOT NULL"
        " GROUP BY iro_id HAVING count(*) > $1) i ORDER BY md5(iro_id::text) LIMIT $2",
        2 * LIMIT, SAMPLES)]  # fmt: skip
    cases = [
        Case(
            "child-90d",
            f"a child's events {start}..{end} (the data's last {WINDOW_DAYS} days), {len(children)} children",
            [f"/v1/footprint?child_id={c}&{window}&limit={LIMIT}" for c in children],
            [read.EventFilter(child_id=c, occurred_from=low, occurred_to=high) for c in children],
        ),
        Case(
            "iro-90d",
            f"an IRO's events {start}..{end}, {len(iros)} IROs",
            [f"/v1/footprint?iro_id={i}&{window}&limit={LIMIT}" for i in iros],
            [read.EventFilter(iro_id=i, occurred_from=low, occurred_to=high) for i in iros],
        ),
        Case(
            "iro-first",
            f"an IRO's whole history, first page, {len(iros)} IROs",
            [f"/v1/footprint?iro_id={i}&limit={LIMIT}" for i in iros],
            [read.EventFilter(iro_id=i) for i in iros],
        ),
    ]
    deep_paths, deep_filters, depth = [], [], []
    for iro in iros:
        count, after = await connection.fetchrow(
            "SELECT count(*), (SELECT seq FROM footprint.events WHERE iro_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)"
            " FROM footprint.events WHERE iro_id = $1", iro, LIMIT)  # fmt: skip
        cursor = read.encode_cursor(after, secret=secret)
        deep_paths.append(f"/v1/footprint?iro_id={iro}&limit={LIMIT}&{urlencode({'cursor': cursor})}")
        deep_filters.append(read.EventFilter(iro_id=iro, after_seq=after))
        depth.append(count // LIMIT)
    cases.append(Case("iro-deep", f"an IRO's last page of its whole history (page {min(depth)}-{max(depth)}), cursor",
                      deep_paths, deep_filters))  # fmt: skip
    cases.append(Case("log-first", "the whole log, first page", [f"/v1/footprint?limit={LIMIT}"], [read.EventFilter()]))
    # Page 1000 of the whole log, by following the API's own cursors.
    headers = {"Authorization": client.headers["Authorization"]}
    path, pages, cursor = f"/v1/footprint?limit={LIMIT}", 1, None
    head = int(await connection.fetchval("SELECT max(seq) FROM footprint.events"))
    while pages < DEEP_PAGE:
        response = client.get(path if cursor is None else f"{path}&{urlencode({'cursor': cursor})}", headers=headers)
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        pages += 1
    if cursor is not None:
        after = read.decode_cursor(cursor, secret=secret)
        if read.encode_cursor(after, secret=secret) != cursor:
            raise RuntimeError("the API's cursor is not read.encode_cursor(after_seq) with the platform's secret")
        what = f"the whole log, page {pages} (after seq {after}, cursor followed through the API)"
        cases.append(Case("log-deep", what,
                          [f"/v1/footprint?limit={LIMIT}&{urlencode({'cursor': cursor})}"],
                          [read.EventFilter(after_seq=after)]))  # fmt: skip
    tails = [max(0, head - LIMIT * (n + 1)) for n in range(SAMPLES)]
    cases.append(Case("log-tail", f"the whole log, the {SAMPLES} pages before the head (seq {head}), cursor",
                      [f"/v1/footprint?limit={LIMIT}&{urlencode({'cursor': read.encode_cursor(a, secret=secret)})}"
                       for a in tails], [read.EventFilter(after_seq=a) for a in tails]))  # fmt: skip
    return cases


# --- Load generators ---------------------------------------------------------------------------


class Meter:
    """CPU seconds of the platform's processes (by name, from `context.processes`; postgres with its children)."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes: dict[str, psutil.Process] = {}
        for name, pid in processes.items():
            with contextlib.suppress(psutil.Error):
                self.processes[name] = psutil.Process(pid)

    def snapshot(self) -> dict[str, float]:
        out = {"load": common.own_cpu()}
        for name, process in self.processes.items():
            family = common.process_family(process) if name == "postgres" else [process]
            out[name] = sum(common.cpu_by_pid(family).values())
        return out

    @staticmethod
    def between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: after[name] - before.get(name, 0.0) for name in after}


@dataclass
class Run:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]  # one per request, or wrk's 1000 quantiles (each 1/1000 of the requests)


def wrk_run(wrk: str, folder: Path, base: str, paths: Sequence[str], token: str, clients: int, seconds: float) -> Run:
    script = folder / f"paths-{abs(hash(tuple(paths)))}.lua"
    if not script.exists():
        script.write_text(WRK_PATHS % ", ".join(json.dumps(p) for p in paths) + WRK_DONE)
    headers = {"Authorization": f"Bearer {token}"}
    out = run_wrk(wrk, script, base + paths[0], headers=headers, clients=clients, seconds=seconds)
    return Run(out.requests, out.errors, out.duration, [q / 1000 for q in out.quantiles_us])


def httpx_run(base: str, paths: Sequence[str], token: str, clients: int, seconds: float) -> Run:
    """The fallback without wrk: `clients` threads with a keep-alive httpx client each."""
    latencies: list[float] = []
    counts = {"errors": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        mine: list[float] = []
        errors = 0
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as session:
            n = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = session.get(paths[n % len(paths)])
                mine.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200
                n += 1
        with lock:
            latencies.extend(mine)
            counts["errors"] += errors

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n * 7,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Run(len(latencies), counts["errors"], time.perf_counter() - started, latencies)


async def asyncpg_run(pool: asyncpg.Pool, statements: list[tuple[str, list[Any]]], clients: int, seconds: float) -> Run:
    """The baseline: `clients` tasks, each on its own pooled connection, running the platform's SQL."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        async with pool.acquire() as connection:
            n = offset
            while time.perf_counter() < deadline:
                sql, args = statements[n % len(statements)]
                started = time.perf_counter()
                await connection.fetch(sql, *args)
                latencies.append((time.perf_counter() - started) * 1000)
                n += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n * 7) for n in range(clients)))
    return Run(len(latencies), 0, time.perf_counter() - started, latencies)


async def database_times(connection: asyncpg.Connection, case: Case) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each parameter set: planning + execution ms; the slowest plan's text."""
    statements = [compiled(w) for w in case.filters]
    if len(statements) == 1:
        statements = statements * 20
    slowest = (-1.0, statements[0])
    for sql, args in statements:
        [plan] = json.loads(await connection.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args))
        ms = plan["Planning Time"] + plan["Execution Time"]
        case.database_ms.append(ms)
        if ms > slowest[0]:
            slowest = (ms, (sql, args))
    sql, args = slowest[1]
    rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
    case.plan = "\n".join(r[0] for r in rows)
    sql, args = statements[0]
    case.rows = len(await connection.fetch(sql, *args))


# --- The query workload ------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float | None:
    return percentile(sorted(values), q) if values else None


async def query_workload(context: Context, folder: Path) -> list[Result]:
    settings = CommonSettings()
    secret = settings.cursor_secret.get_secret_value()
    token = context.token(["auditor"], AUDITOR)
    wrk = context.tools.get("wrk") or shutil.which("wrk")
    url = db.plain_url(context.database_url)
    owner = await asyncpg.connect(url)
    pool = await asyncpg.create_pool(
        url, min_size=max(CLIENTS), max_size=max(CLIENTS), server_settings={"role": settings.db_role("auditor")}
    )
    meter = Meter(context.processes)
    try:
        with httpx.Client(base_url=context.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            cases = await build_cases(owner, client, secret)
            for case in cases:  # the API and the SQL give the same rows
                body = client.get(case.paths[0])
                body.raise_for_status()
                sql, args = compiled(case.filters[0])
                rows = await owner.fetch(sql, *args)
                api = [e["seq"] for e in body.json()["items"]]
                if api != [r["seq"] for r in rows][:LIMIT]:
                    raise RuntimeError(f"{case.name}: the API's page {api[:5]}... is not the SQL's")
        say(f"query cases: {', '.join(c.name for c in cases)}; EXPLAIN ANALYZE of each parameter set")
        for case in cases:
            await database_times(owner, case)
        per_run = max(1.0, context.seconds / max(1, context.rounds))
        loader = f"wrk ({wrk})" if wrk else "httpx threads (wrk not installed)"
        say(f"measuring {len(cases)} cases x {CLIENTS} clients x 2 sides, {context.rounds} rounds of {per_run:g} s")
        say(f"load generator: {loader}")
        order = [(case, clients) for case in cases for clients in CLIENTS]
        for round_ in range(context.rounds):
            shift = (round_ * 3) % len(order)
            for case, clients in order[shift:] + order[:shift]:
                statements = [compiled(w) for w in case.filters]
                for side in ("platform", "baseline"):
                    key = (side, clients)
                    before = meter.snapshot()
                    if side == "platform":
                        if wrk:
                            run = await asyncio.to_thread(
                                wrk_run, wrk, folder, context.gateway, case.paths, token, clients, per_run
                            )
                        else:
                            run = await asyncio.to_thread(
                                httpx_run, context.gateway, case.paths, token, clients, per_run
                            )
                    else:
                        run = await asyncpg_run(pool, statements, clients, per_run)
                    spent = Meter.between(before, meter.snapshot())
                    case.latencies.setdefault(key, []).extend(run.latencies_ms)
                    case.requests[key] = case.requests.get(key, 0) + run.requests
                    case.seconds[key] = case.seconds.get(key, 0.0) + run.seconds
                    case.errors[key] = case.errors.get(key, 0) + run.errors
                    totals = case.cpu.setdefault(key, {})
                    for name, value in spent.items():
                        totals[name] = totals.get(name, 0.0) + value
            say(f"  round {round_ + 1}/{context.rounds} done")
    finally:
        await pool.close()
        await owner.close()
    return query_results(context, cases, loader)


def measurement(case: Case, side: str, clients: int, label: str) -> Measurement:
    key = (side, clients)
    values = case.latencies.get(key, [])
    seconds = case.seconds.get(key, 0.0)
    cpu = {name: 100 * spent / seconds for name, spent in case.cpu.get(key, {}).items()} if seconds else {}
    return Measurement(
        label=label, throughput=case.requests.get(key, 0) / seconds if seconds else None, unit="req/s",
        p50_ms=quantile(values, 50), p95_ms=quantile(values, 95), p99_ms=quantile(values, 99),
        count=case.requests.get(key, 0), errors=case.errors.get(key, 0), cpu=cpu,
    )  # fmt: skip


def query_results(context: Context, cases: list[Case], loader: str) -> list[Result]:
    results = []
    by = {case.name: case for case in cases}
    for case in cases:
        db_p99 = quantile(case.database_ms, 99)
        for clients in CLIENTS:
            platform = measurement(case, "platform", clients, f"GET /v1/footprint via the gateway, {loader}")
            baseline = measurement(case, "baseline", clients, "the same SQL via asyncpg (auditor role)")
            r = ratio(platform.p99_ms, baseline.p99_ms)
            met_db = db_p99 is not None and db_p99 <= DB_GOAL_MS
            met_api = r is not None and r <= API_GOAL
            notes = [
                case.description,
                f"database (EXPLAIN ANALYZE planning + execution over {len(case.database_ms)} runs): p50 "
                f"{quantile(case.database_ms, 50):.2f} ms, p95 {quantile(case.database_ms, 95):.2f} ms, "
                f"p99 {db_p99:.2f} ms"
                f" (goal <= {DB_GOAL_MS:g} ms: {'met' if met_db else 'NOT met'})",
                f"platform p99 / asyncpg p99 = {r:.2f} (goal <= {API_GOAL:g}: {'met' if met_api else 'NOT met'})"
                if r is not None
                else "no ratio",
            ]
            met = met_db and met_api
            first = {"iro-deep": "iro-first", "log-deep": "log-first", "log-tail": "log-first"}.get(case.name)
            extra: dict[str, Any] = {"database_ms": {"p50": quantile(case.database_ms, 50),
                                                     "p95": quantile(case.database_ms, 95), "p99": db_p99},
                                     "rows_first_params": case.rows}  # fmt: skip
            if first and first in by:
                top = measurement(by[first], "platform", clients, "")
                deep = ratio(platform.p99_ms, top.p99_ms)
                deep_db = ratio(db_p99, quantile(by[first].database_ms, 99))
                met_deep = deep is not None and deep <= DEEP_GOAL
                notes.append(f"deep page p99 / {first} p99 = {deep:.2f} via the API, {deep_db:.2f} at the database"
                             f" (goal <= {DEEP_GOAL:g}: {'met' if met_deep else 'NOT met'})")  # fmt: skip
                extra["deep_over_first"] = {"api": deep, "database": deep_db}
                met = met and met_deep
            if clients == CLIENTS[0]:
                extra["slowest_plan"] = case.plan
            results.append(Result(
                workload=WORKLOAD, case=f"query {case.name} @{clients}", platform=platform, baseline=baseline,
                ratio=r, goal=f"db p99 <= {DB_GOAL_MS:g} ms; p99 <= {API_GOAL:g}x asyncpg"
                + (f"; p99 <= {DEEP_GOAL:g}x {first}" if first else ""),
                met=None if context.smoke else met, notes=notes, extra=extra, ratio_of="p99_ms",
            ))  # fmt: skip
    return results


# --- The verify workload -----------------------------------------------------------------------

CANON_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.canon(j jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF jsonb_typeof(j) = 'object' THEN
    RETURN '{' || coalesce((SELECT string_agg(to_json(k)::text || ':'
                 || CASE WHEN jsonb_typeof(v) IN ('object', 'array') THEN pg_temp.canon(v) ELSE v::text END,
                 ',' ORDER BY k COLLATE "C") FROM jsonb_each(j) AS e(k, v)), '')
           || '}';
  ELSIF jsonb_typeof(j) = 'array' THEN
    RETURN '[' || coalesce((SELECT string_agg(CASE WHEN jsonb_typeof(v) IN ('object', 'array') THEN pg_temp.canon(v)
                 ELSE v::text END, ',' ORDER BY n) FROM jsonb_array_elements(j) WITH ORDINALITY AS a(v, n)), '') || ']';
  END IF;
  RETURN j::text;
END $$
"""
_TS = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
CANONICAL_SQL = (
    """'{"actor":' || pg_temp.canon(actor) || ',"child_id":' || coalesce(to_json(child_id)::text, 'null')"""
    """ || ',"id":' || to_json(id)::text || ',"iro_id":' || coalesce(to_json(iro_id)::text, 'null')"""
    """ || ',"occurred_at":"' || """ + _TS.format("occurred_at") + """ || '","payload":' || pg_temp.canon(payload)"""
    """ || ',"recorded_at":"' || """ + _TS.format("recorded_at") + """ || '","request_id":'"""
    """ || coalesce(to_json(request_id)::text, 'null') || ',"seq":' || seq || ',"service":' || to_json(service)::text"""
    """ || ',"subject_id":' || to_json(subject_id)::text || ',"subject_type":' || to_json(subject_type)::text"""
    """ || ',"type":' || to_json(type)::text || '}'"""
)
SQL_VERIFY = f"""
SELECT count(*) AS checked,
       count(*) FILTER (WHERE encode(sha256(convert_to(prev_hash || canonical, 'UTF8')), 'hex') <> hash) AS bad_hash,
       count(*) FILTER (WHERE prev_hash <> coalesce(before, repeat('0', 64)) OR seq <> n) AS bad_link
  FROM (SELECT seq, prev_hash, hash, {CANONICAL_SQL} AS canonical,
               lag(hash) OVER (ORDER BY seq) AS before, row_number() OVER (ORDER BY seq) AS n
          FROM footprint.events) AS e
"""
SQL_FLOOR = """
SELECT sum(get_byte(h, 0)) FROM (SELECT sha256(convert_to(prev_hash || id::text || type || occurred_at::text
       || recorded_at::text || service || actor::text || coalesce(child_id::text, '') || coalesce(iro_id::text, '')
       || subject_type || subject_id || payload::text || coalesce(request_id, '') || seq, 'UTF8')) AS h
       FROM footprint.events) AS x
"""


class HealthProbe:
    """GET /healthz every `every` seconds in a thread; latencies in ms."""

    def __init__(self, base: str, every: float = 0.1) -> None:
        self.base, self.every = base, every
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append((time.perf_counter() - started) * 1000)
                self.failures += not ok
                self._stop.wait(self.every)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def verify_workload(context: Context) -> list[Result]:
    token = context.token(["auditor"], AUDITOR)
    meter = Meter(context.processes)
    with HealthProbe(context.gateway) as idle:
        await asyncio.sleep(3)
    calls: list[dict[str, Any]] = []
    with httpx.Client(base_url=context.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=3600) as client:
        before = meter.snapshot()
        started = time.perf_counter()
        with HealthProbe(context.gateway) as during:
            from_seq: int | None = None
            while True:
                call_started = time.perf_counter()
                response = await asyncio.to_thread(
                    client.get, "/v1/footprint/verify", params={} if from_seq is None else {"from_seq": from_seq}
                )
                response.raise_for_status()
                body = response.json()
                calls.append({**body, "seconds": time.perf_counter() - call_started})
                if not body["ok"]:
                    raise RuntimeError(f"the platform's verify found a break: {body}")
                say(f"  verify call {len(calls)}: {body['checked']:,} events in {calls[-1]['seconds']:.1f} s"
                    f" (complete: {body['complete']})")  # fmt: skip
                if body["complete"]:
                    break
                from_seq = body["next_from_seq"]
        platform_seconds = time.perf_counter() - started
        platform_cpu = Meter.between(before, meter.snapshot())
    checked = sum(call["checked"] for call in calls)
    connection = await asyncpg.connect(db.plain_url(context.database_url))
    try:
        await connection.execute(CANON_FUNCTION)
        await connection.execute("SET work_mem = '64MB'")
        before = meter.snapshot()
        started = time.perf_counter()
        row = await connection.fetchrow(SQL_VERIFY)
        sql_seconds = time.perf_counter() - started
        sql_cpu = Meter.between(before, meter.snapshot())
        started = time.perf_counter()
        await connection.fetchval(SQL_FLOOR)
        floor_seconds = time.perf_counter() - started
    finally:
        await connection.close()
    r = ratio(platform_seconds, sql_seconds)
    met = r is not None and r <= VERIFY_GOAL and row["checked"] == checked
    platform = Measurement(
        label=f"GET /v1/footprint/verify x {len(calls)} calls (GATEWAY_VERIFY_MAX_EVENTS a call)",
        throughput=checked / platform_seconds, unit="events/s", count=checked,
        p50_ms=platform_seconds * 1000, cpu={k: 100 * v / platform_seconds for k, v in platform_cpu.items()},
    )  # fmt: skip
    baseline = Measurement(
        label="one SQL statement: canonical text, sha256, chain links (lag)", throughput=row["checked"] / sql_seconds,
        unit="events/s", count=row["checked"], p50_ms=sql_seconds * 1000,
        errors=row["bad_hash"] + row["bad_link"], cpu={k: 100 * v / sql_seconds for k, v in sql_cpu.items()},
    )  # fmt: skip
    notes = [
        f"platform {platform_seconds:.1f} s for {checked:,} events in {len(calls)} calls (longest call "
        f"{max(c['seconds'] for c in calls):.1f} s); SQL verify {sql_seconds:.1f} s for {row['checked']:,} "
        f"({row['bad_hash']} hash and {row['bad_link']} link mismatches); bare sha256 floor {floor_seconds:.1f} s",
        f"platform / SQL verify = {r:.2f} (goal <= {VERIFY_GOAL:g}: {'met' if met else 'NOT met'}); "
        f"platform / floor = {platform_seconds / floor_seconds:.2f}",
        "p50_ms here is the whole verify's wall time",
    ]
    results = [Result(
        workload=WORKLOAD, case="verify whole chain", platform=platform, baseline=baseline, ratio=r,
        goal=f"<= {VERIFY_GOAL:g}x the SQL verify's time", met=None if context.smoke else met, notes=notes,
        extra={"calls": calls, "floor_seconds": floor_seconds, "sql": dict(row)}, ratio_of="p50_ms",
    )]  # fmt: skip
    idle_m = Measurement("GET /healthz, idle", None, "ms", quantile(idle.latencies, 50), quantile(idle.latencies, 95),
                         quantile(idle.latencies, 99), len(idle.latencies), idle.failures)  # fmt: skip
    during_m = Measurement("GET /healthz every 100 ms during the verify", None, "ms", quantile(during.latencies, 50),
                           quantile(during.latencies, 95), quantile(during.latencies, 99), len(during.latencies),
                           during.failures)  # fmt: skip
    healthy = during_m.p99_ms is not None and during_m.p99_ms <= HEALTHZ_GOAL_MS and not during.failures
    results.append(Result(
        workload=WORKLOAD, case="verify off the event loop (/healthz during verify)", platform=during_m,
        baseline=idle_m, ratio=ratio(during_m.p99_ms, idle_m.p99_ms), goal=f"/healthz p99 <= {HEALTHZ_GOAL_MS:g} ms",
        met=None if context.smoke else healthy, ratio_of="p99_ms",
        notes=[f"max {max(during.latencies):.1f} ms over {len(during.latencies)} probes"] if during.latencies else [],
    ))  # fmt: skip
    return results


# --- The workload --------------------------------------------------------------------------------


def run(context: Context) -> list[Result]:
    """Load `context.scale.events` events, then the query and verify workloads. Returns their results."""
    folder = Path(context.folder) / "footprint_scale"
    folder.mkdir(parents=True, exist_ok=True)
    events = context.scale.events if not context.smoke else min(context.scale.events, 3_000)
    stats = asyncio.run(footprint_scale_data.load(context.database_url, events, log=say))
    load = Result(
        workload=WORKLOAD, case="bulk load (benchmark data only)",
        platform=Measurement("COPY, chained in Python", events / stats.load_seconds, "events/s", count=events),
        baseline=None, ratio=None, goal="none (how long the data took)", met=None,
        notes=[f"{events:,} events ({stats.children:,} children, {stats.iros:,} IROs, 10 years) after seq "
               f"{stats.head_before:,} in {stats.load_seconds:.0f} s ({stats.seconds_per_million:.0f} s per million); "
               f"VACUUM (ANALYZE) {stats.seconds.get('vacuum_analyze', 0):.0f} s"],
        extra=dataclasses.asdict(stats),
    )  # fmt: skip
    say(load.notes[0])
    results = [load]
    results += asyncio.run(query_workload(context, folder))
    results += asyncio.run(verify_workload(context))
    return results


# --- Alone ---------------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    def f(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "| case | platform p50 / p95 / p99 ms | req/s | baseline p50 / p95 / p99 ms | req/s | ratio | met |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        p, b = r.platform, r.baseline
        lines.append(
            f"| {r.case} | {f(p.p50_ms)} / {f(p.p95_ms)} / {f(p.p99_ms)} | {f(p.throughput, 0)} | "
            + (f"{f(b.p50_ms)} / {f(b.p95_ms)} / {f(b.p99_ms)} | {f(b.throughput, 0)}" if b else "- | -")
            + f" | {f(r.ratio)} | {r.met} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- {r.case}: " + "; ".join(r.notes))
    return "\n".join(lines)


@contextlib.contextmanager
def database(url: str | None, folder: Path) -> Iterator[tuple[str, int | None]]:
    """A fresh database (URL, the embedded postmaster's pid or None), dropped or stopped afterwards."""
    if url:
        with common.throwaway_database(url, "iro_bench_fp", migrate_to_head=False) as own:
            yield own, None
        return
    from shared.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(folder / "pg")
    server.start()
    try:
        yield server.ensure_database("iro_bench_footprint"), server.pid
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="events to load (national: 10000000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a server (else embedded)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case and client count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()

    from shared import migrate
    from shared.auth import mint_development_token
    from tests.e2e.processes import start_platform

    with contextlib.ExitStack() as stack:
        folder = args.folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="iro-bench-fp-")))
        folder.mkdir(parents=True, exist_ok=True)
        url, postmaster = stack.enter_context(database(args.database_url, folder))
        migrate.upgrade(url)
        platform_ = start_platform(folder / "serve", database_url=url)
        try:
            platform_.wait_ready(timeout=300)
            settings = CommonSettings()
            processes = {name: platform_.process_of(name).pid for name in ("gateway", "reviews")}
            if postmaster:
                processes["postgres"] = postmaster
            context = Context(
                gateway=platform_.url(), services={n: platform_.url(n) for n in platform_.ports}, database_url=url,
                processes=processes, folder=folder, scale=Scale(events=args.events), seconds=args.seconds,
                rounds=args.rounds, tools={"wrk": w} if (w := shutil.which("wrk")) else {},
                token=lambda roles, sub: mint_development_token(settings, sub=sub, roles=list(roles), ttl=24 * 3600),
            )  # fmt: skip
            results = run(context)
        finally:
            code = platform_.stop()
            if code != 0:
                print(f"iro serve exited {code}; its log:\n{platform_.log.read_text()[-5000:]}", file=sys.stderr)
    print(table(results))
    for r in results:
        if "slowest_plan" in r.extra:
            print(f"\n{r.case}: slowest plan\n{r.extra['slowest_plan']}")
    if args.json:
        args.json.write_text(json.dumps([r.as_json() for r in results], indent=1, default=str))


if __name__ == "__main__":
    main()
