"""Batch append: 100 events per transaction through `footprint.append_events` against COPY of the same rows
into an identical table without ordering (issue 15's `batch append` workload; goal ratio >= 0.5).

    .venv/bin/python -m bench --only "batch append"                 # as a workload of the one command
    .venv/bin/python -m bench.batch_append [--seconds 10] [--clients 8] [--batch 100] [--database-url URL]

One throwaway database on the platform's server (`iro_bench_batch_<random>`, migrated to head, dropped
`WITH (FORCE)` at the end: the appends never land in the platform's own footprint), with the platform's
footprint sequencer (`iro sequencer`, as `iro serve` runs it) on it when the platform has one, and `--clients` (8)
asyncpg connections in this process, each sending one batch per transaction (autocommit: one statement
is one transaction), as fast as the server answers:

- `platform`: `SELECT ... FROM footprint.append_events(14 arrays of 100)`, the call
  `shared.footprint.batch.append_many` makes (the request's unit of work, ingest, the 903 backfill): the
  append lock, the head, the hash chain in SQL, gap-free `seq`. Counted: events sequenced, i.e. the
  head of `footprint.events` (`max(seq)`) at the start and the end of the measured window.
- `baseline`: `COPY public.bench_copy FROM STDIN (FORMAT binary)` of the same 100 rows (asyncpg's
  `copy_records_to_table`): `bench_copy` is `LIKE footprint.events INCLUDING ALL` (columns,
  constraints, indexes) with `seq` from a sequence and no triggers, no hash, no order. Counted: rows of
  the COPYs that completed inside the window.

Every event is a `care_period.started` (the append-ceiling benchmark's row: a 222-byte payload, the
actor, ids, a request id) with a new event id and child id; the canonical encoding's three parts are
cut from a template made once by `shared.footprint.canonical.canonical_parts` (stand-ins replaced by
each event's values), so building a batch costs the client about as little as a COPY's rows do. The
load generator is this process (one event loop); its CPU is reported (`load`, % of one core) so that
a client-bound figure shows. Each side runs `seconds / rounds` per round after a warm-up, alternating
which goes first; events/s is the median round. At the end the chain is checked from seq 1 with the
platform's own `shared.footprint.verify` (bench.append_ceiling.check_chain).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.append_ceiling import _CHILD, _ID, _IRO, _OCCURRED, _REQUEST, _SUBJECT, ACTOR, FIELDS, check_chain  # noqa: E402
from bench.common import (  # noqa: E402
    Context,
    CpuMeter,
    Measurement,
    PerSecond,
    Result,
    percentile,
    platform_sequencer,
    ratio,
    throwaway_database,
)
from shared.footprint import canonical  # noqa: E402

WORKLOAD = "batch append"
GOAL = 0.5
BATCH = 100
CLIENTS = 8

# The append ceiling's event (bench/append_ceiling.py), with stand-ins that each event's own values replace
# (they occur nowhere else in the text).
PAYLOAD = FIELDS["payload"]
_STAND_INS = (_ID, _CHILD, _IRO, _SUBJECT, _REQUEST, canonical.timestamp(_OCCURRED))
_PATTERN = re.compile("(" + "|".join(re.escape(s) for s in _STAND_INS) + ")")


def _template(text: str) -> list[str]:
    """`text` cut into literal pieces and stand-ins, to be joined again with each event's values."""
    return [piece for piece in _PATTERN.split(text) if piece]


PART_TEMPLATES = [_template(part) for part in canonical.canonical_parts(**FIELDS)]
PAYLOAD_TEMPLATE = _template(canonical.dumps(PAYLOAD))
ACTOR_TEXT = canonical.dumps(ACTOR)

APPEND = """
SELECT count(*) FROM footprint.append_events(
    $1::uuid[], $2::text[], $3::timestamptz[], $4::text[], CAST($5::text[] AS jsonb[]), $6::uuid[], $7::uuid[],
    $8::text[], $9::text[], CAST($10::text[] AS jsonb[]), $11::text[], $12::text[], $13::text[], $14::text[])
"""
COPY_COLUMNS = [
    "id", "type", "occurred_at", "recorded_at", "service", "actor", "child_id", "iro_id", "subject_type",
    "subject_id", "payload", "request_id", "prev_hash", "hash",
]  # fmt: skip
SETUP = [
    "CREATE TABLE public.bench_copy (LIKE footprint.events INCLUDING ALL)",
    "CREATE SEQUENCE public.bench_copy_seq OWNED BY public.bench_copy.seq",
    "ALTER TABLE public.bench_copy ALTER COLUMN seq SET DEFAULT nextval('public.bench_copy_seq')",
]


@dataclass
class Batch:
    """One batch's events: the values each stand-in takes, per event, and the batch's time."""

    values: list[dict[str, str]]
    at: dt.datetime

    @classmethod
    def new(cls, size: int) -> Batch:
        at = dt.datetime.now(dt.UTC)
        stamp = canonical.timestamp(at)
        iro, request = str(uuid.uuid4()), uuid.uuid4().hex[:16]
        values = []
        for _ in range(size):
            child = str(uuid.uuid4())
            values.append(
                {
                    _ID: str(uuid.uuid4()),
                    _CHILD: child,
                    _IRO: iro,
                    _SUBJECT: str(uuid.uuid4()),
                    _REQUEST: request,
                    _STAND_INS[5]: stamp,
                }
            )
        return cls(values, at)

    def arrays(self) -> list[list[Any]]:
        """The 14 arrays of `footprint.append_events`."""
        v = self.values
        parts = [["".join([e.get(p, p) for p in template]) for e in v] for template in PART_TEMPLATES]
        return [
            [e[_ID] for e in v], [FIELDS["type"]] * len(v), [self.at] * len(v), ["reviews"] * len(v),
            [ACTOR_TEXT] * len(v), [e[_CHILD] for e in v], [e[_IRO] for e in v], ["care_period"] * len(v),
            [e[_SUBJECT] for e in v], ["".join([e.get(p, p) for p in PAYLOAD_TEMPLATE]) for e in v],
            [e[_REQUEST] for e in v], *parts,
        ]  # fmt: skip

    def records(self) -> list[tuple[Any, ...]]:
        """The same events as COPY rows (COPY_COLUMNS), with the genesis hash for both hashes."""
        genesis = canonical.GENESIS_HASH
        return [
            (
                uuid.UUID(e[_ID]),
                FIELDS["type"],
                self.at,
                self.at,
                "reviews",
                ACTOR_TEXT,
                uuid.UUID(e[_CHILD]),
                uuid.UUID(e[_IRO]),
                "care_period",
                e[_SUBJECT],
                "".join([e.get(p, p) for p in PAYLOAD_TEMPLATE]),
                e[_REQUEST],
                genesis,
                genesis,
            )
            for e in self.values
        ]


@dataclass
class Round(PerSecond):
    events: int
    wall: float
    latencies_ms: list[float]
    cpu: dict[str, float]
    errors: int = 0


@dataclass
class Side:
    label: str
    rounds: list[Round] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.rounds) if self.rounds else 0.0

    def measurement(self, unit: str) -> Measurement:
        latencies = [v for r in self.rounds for v in r.latencies_ms]
        wall = sum(r.wall for r in self.rounds)
        cpu: dict[str, float] = {}
        for r in self.rounds:
            for role, pct in r.cpu.items():
                cpu[role] = cpu.get(role, 0.0) + pct * r.wall / wall
        return Measurement(
            label=self.label,
            throughput=round(self.rate, 1),
            unit=unit,
            p50_ms=percentile(latencies, 50),
            p95_ms=percentile(latencies, 95),
            p99_ms=percentile(latencies, 99),
            count=sum(r.events for r in self.rounds),
            errors=sum(r.errors for r in self.rounds),
            cpu={k: round(v, 1) for k, v in cpu.items()},
        )


Op = Callable[[asyncpg.Connection, Batch], Awaitable[None]]


async def _append(connection: asyncpg.Connection, batch: Batch) -> None:
    await connection.fetchval(APPEND, *batch.arrays())


async def _copy(connection: asyncpg.Connection, batch: Batch) -> None:
    await connection.copy_records_to_table(
        "bench_copy", schema_name="public", columns=COPY_COLUMNS, records=batch.records()
    )


async def measure(
    url: str, op: Op, head_sql: str | None, *, clients: int, size: int, warmup: float, seconds: float,
    processes: dict[str, int],
) -> Round:  # fmt: skip
    """`clients` connections running `op` back to back for `warmup + seconds`; counted over the last
    `seconds`: the head's move (`head_sql`, events visible with their seq), or the rows of the ops that
    ended in the window."""
    connections = [await asyncpg.connect(url) for _ in range(clients + 1)]
    monitor, workers = connections[0], connections[1:]
    window: list[float] = [float("inf"), float("inf")]
    done: list[tuple[float, float, int]] = []  # (ended, latency ms, rows)
    errors = 0
    stop = asyncio.Event()

    async def worker(connection: asyncpg.Connection) -> None:
        nonlocal errors
        while not stop.is_set():
            batch = Batch.new(size)
            started = time.monotonic()
            try:
                await op(connection, batch)
            except asyncpg.PostgresError as exc:
                errors += 1
                print(f"  {exc.__class__.__name__}: {exc}", file=sys.stderr)
                await asyncio.sleep(0.05)
                continue
            ended = time.monotonic()
            done.append((ended, 1000 * (ended - started), size))

    try:
        tasks = [asyncio.create_task(worker(c)) for c in workers]
        await asyncio.sleep(warmup)
        meter = CpuMeter(processes)
        head0 = await monitor.fetchval(head_sql) if head_sql else 0
        window[0] = time.monotonic()
        meter.start()
        await asyncio.sleep(seconds)
        head1 = await monitor.fetchval(head_sql) if head_sql else 0
        window[1] = time.monotonic()
        cpu = meter.stop()
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        for connection in connections:
            await connection.close()
    inside = [(latency, rows) for ended, latency, rows in done if window[0] <= ended < window[1]]
    count = int(head1 - head0) if head_sql else sum(rows for _, rows in inside)
    cpu["load"] = cpu.pop("runner", 0.0)
    cpu.pop("machine", None)
    return Round(events=count, wall=window[1] - window[0], latencies_ms=[lat for lat, _ in inside], cpu=cpu,
                 errors=errors)  # fmt: skip


async def bench(
    url: str, *, seconds: float, rounds: int, warmup: float, clients: int, size: int, processes: dict[str, int]
) -> tuple[Side, Side, dict[str, Any]]:
    connection = await asyncpg.connect(url)
    try:
        for statement in SETUP:
            await connection.execute(statement)
        version = str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
    platform_, baseline = Side("footprint.append_events, 100 per transaction"), Side("COPY of the same rows")
    per_round = seconds / rounds
    head = "SELECT coalesce(max(seq), 0) FROM footprint.events"
    for n in range(rounds):
        order = [(platform_, _append, head), (baseline, _copy, None)]
        for side, op, head_sql in order if n % 2 == 0 else order[::-1]:
            one = await measure(url, op, head_sql, clients=clients, size=size, warmup=warmup, seconds=per_round,
                                processes=processes)  # fmt: skip
            side.rounds.append(one)
            print(f"  batch append round {n + 1}/{rounds} {side.label}: {one.rate:.0f} events/s", file=sys.stderr)
    chain = await check_chain(url, "footprint.events")
    return platform_, baseline, {"server_version": version, "chain": chain}


def result(platform_: Side, baseline: Side, info: dict[str, Any], clients: int, size: int) -> Result:
    p, b = platform_.measurement("events/s"), baseline.measurement("rows/s")
    r = ratio(p.throughput, b.throughput)
    chain = info["chain"]
    notes = [
        f"{clients} asyncpg connections, {size} events per transaction; platform counted by the head of"
        " footprint.events (events sequenced), COPY by the rows of the COPYs completed in the window",
        f"chain after the run: {chain['count']} events, {chain['checked']} checked: "
        + ("verifies" if chain["ok"] else f"BROKEN at seq {chain.get('first_bad_seq')} ({chain.get('problem')})"),
    ]
    load = max(p.cpu.get("load", 0.0), b.cpu.get("load", 0.0))
    if load >= 80:
        notes.append(f"the load generator reached {load:.0f} % of a core: the figure may be client-bound")
    return Result(
        workload=WORKLOAD,
        case=f"{size} per transaction, {clients} clients",
        platform=p,
        baseline=b,
        ratio=r,
        goal=f">= {GOAL} of COPY",
        met=None if r is None else bool(r >= GOAL and chain["ok"]),
        notes=notes,
        extra={"postgres": info["server_version"], "round_rates": {
            "platform": [round(x.rate, 1) for x in platform_.rounds],
            "baseline": [round(x.rate, 1) for x in baseline.rounds]}},
    )  # fmt: skip


def bench_on(server: str, processes: dict[str, int], **knobs: Any) -> tuple[Side, Side, dict[str, Any]]:
    """`bench(...)` in a throwaway database on the server at `server`, with the platform's sequencer on it
    when the platform has one (its CPU reported beside `processes`')."""
    with throwaway_database(server, "iro_bench_batch") as url, platform_sequencer(url) as sequencer:
        return asyncio.run(bench(url, processes={**processes, **({"sequencer": sequencer} if sequencer else {})},
                                 **knobs))  # fmt: skip


def run(context: Context) -> list[Result]:
    """The workload for `python -m bench`: in a throwaway database on the platform's server."""
    clients = int(context.options.get("clients", CLIENTS))
    size = int(context.options.get("batch", BATCH))
    processes = {"postgres": context.processes["postgres"]} if "postgres" in context.processes else {}
    p, b, info = bench_on(context.database_url, processes, seconds=context.seconds, rounds=context.rounds,
                          warmup=context.warmup(1.0), clients=clients, size=size)  # fmt: skip
    return [result(p, b, info, clients, size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per side in all (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating the sides (default 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per round (default 1)")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"connections (default {CLIENTS})")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"events per transaction (default {BATCH})")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a server to use instead")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.database_url
        processes: dict[str, int] = {}
        if not url:
            from shared.embedded import EmbeddedPostgres

            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="iro-bench-batch-"))
            server = EmbeddedPostgres(Path(folder) / "pg")
            server.start()
            stack.callback(server.stop)
            url = server.ensure_database("postgres")
            processes = {"postgres": server.pid} if server.pid else {}
        p, b, info = bench_on(url, processes, seconds=args.seconds, rounds=args.rounds, warmup=args.warmup,
                              clients=args.clients, size=args.batch)  # fmt: skip
    outcome = result(p, b, info, args.clients, args.batch)
    for m in (outcome.platform, outcome.baseline):
        assert m is not None
        print(f"{m.label}: {m.throughput} {m.unit}, p50 {m.p50_ms} ms, p99 {m.p99_ms} ms, CPU {m.cpu}")
    print(f"ratio {outcome.ratio:.2f} (goal {outcome.goal}): {'met' if outcome.met else 'NOT met'}")
    print("\n".join(outcome.notes))


if __name__ == "__main__":
    main()
