"""Footprint append throughput beside two references, on a real PostgreSQL server (run by hand).

    .venv/bin/python bench/footprint_append.py [--seconds 5] [--database-url URL] [--write-results]

Designs, each append in its own transaction, with 1, 8 and 32 writers (asyncio tasks, one connection
each): `footprint` (shared.footprint.append), `plain` (INSERT into a copy of footprint.events with a
sequence for seq: no hash, no order) and `lock-table` (LOCK TABLE ... IN EXCLUSIVE MODE, as the
`eventsourcing` library's PostgreSQL recorder, then seq = last + 1 and the same hash chain). And in
batches of 10 and 100 events per transaction: `footprint-batchN` (shared.footprint.batch, one call of
footprint.append_events) beside `plain-batchN` (one multi-row INSERT of N rows); their figures count
events, not transactions. bench/README.md says more. Without a URL an embedded PostgreSQL runs in a
temporary folder; with one, a throwaway database iro_bench_<random> is created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import MetaData, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.common import cpu_by_pid, own_cpu, postmaster_of, server_key, throwaway_database, write_results
from shared import db, migrate
from shared.embedded import EmbeddedPostgres
from shared.footprint import canonical, events
from shared.footprint.append import append
from shared.footprint.batch import PendingEvent, append_many
from shared.footprint.models import Actor, Event, Subject

WRITERS = (1, 8, 32)
BATCHES = (10, 100)
DESIGNS = (
    "plain", "footprint", "lock-table",
    *(f"{design}-batch{size}" for size in BATCHES for design in ("plain", "footprint")),
)  # fmt: skip
MAX_APPENDS_PER_CASE = 1_000_000  # a bound on count as well as on time
RESULTS = Path(__file__).with_name("RESULTS.md")

ACTOR = Actor(sub="bench-user", role="iro")
EVENT = events.MidwayReviewHeld(midway_review_id=uuid.UUID(int=1), held_on=dt.date(2024, 1, 15), outcome="on_track")
PAYLOAD = EVENT.to_payload()  # what the typed append stores, so every design writes the same payload
_bench_metadata = MetaData()
PLAIN = Event.metadata.tables["footprint.events"].to_metadata(_bench_metadata, schema="public", name="bench_plain")
LOCKED = Event.metadata.tables["footprint.events"].to_metadata(_bench_metadata, schema="public", name="bench_locked")
SETUP = (
    "CREATE TABLE public.bench_plain (LIKE footprint.events INCLUDING ALL)",  # no triggers: LIKE skips them
    "CREATE SEQUENCE public.bench_plain_seq OWNED BY public.bench_plain.seq",
    "ALTER TABLE public.bench_plain ALTER COLUMN seq SET DEFAULT nextval('public.bench_plain_seq')",
    "CREATE TABLE public.bench_locked (LIKE footprint.events INCLUDING ALL)",
)
_LOCK_TABLE = text("LOCK TABLE public.bench_locked IN EXCLUSIVE MODE")
_LOCKED_HEAD = text(
    "SELECT (SELECT seq FROM public.bench_locked ORDER BY seq DESC LIMIT 1) AS seq,"
    " (SELECT hash FROM public.bench_locked ORDER BY seq DESC LIMIT 1) AS hash, clock_timestamp() AS now"
)


def _event() -> dict[str, Any]:
    """The arguments of one `append` call: a review outcome, with new ids each time."""
    subject = Subject("review", str(uuid.uuid4()))
    ids = {"child_id": uuid.uuid4(), "iro_id": uuid.uuid4(), "request_id": secrets.token_hex(8)}
    return {"type": EVENT.type, "actor": ACTOR, "subject": subject, "service": "bench", **ids}


def _row() -> dict[str, Any]:
    """The same event as a row's columns, without seq, times and hashes."""
    event = _event()
    actor, subject = event.pop("actor"), event.pop("subject")
    return event | {"id": uuid.uuid4(), "actor": actor.as_json(), "subject_type": "review", "subject_id": subject.id}


async def append_footprint(session: AsyncSession) -> int:
    async with session.begin():
        fields = _event()
        del fields["type"]  # the typed event carries it
        await append(session, event=EVENT, **fields)
    return 1


def _plain_row() -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    row = _row() | {"payload": PAYLOAD, "occurred_at": now, "recorded_at": now}
    return row | {"prev_hash": canonical.GENESIS_HASH, "hash": canonical.GENESIS_HASH}


async def append_plain(session: AsyncSession) -> int:
    async with session.begin():
        await session.execute(insert(PLAIN).values(**_plain_row()))
    return 1


def footprint_batch(size: int) -> Callable[[AsyncSession], Awaitable[int]]:
    """`size` events per transaction through the batch append (shared.footprint.batch)."""

    async def op(session: AsyncSession) -> int:
        async with session.begin():
            batch = []
            for _ in range(size):
                fields = _event()
                del fields["type"]  # the typed event carries it
                batch.append(PendingEvent.of(EVENT, **fields))
            await append_many(session, batch)
        return size

    return op


def plain_batch(size: int) -> Callable[[AsyncSession], Awaitable[int]]:
    """`size` plain rows per transaction in one multi-row INSERT: the batch's baseline."""

    async def op(session: AsyncSession) -> int:
        async with session.begin():
            await session.execute(insert(PLAIN), [_plain_row() for _ in range(size)])
        return size

    return op


async def append_lock_table(session: AsyncSession) -> int:
    row = _row() | {"payload": canonical.normalise_payload(PAYLOAD)}
    async with session.begin():
        await session.execute(_LOCK_TABLE)
        head = (await session.execute(_LOCKED_HEAD)).one()
        prev_hash = head.hash or canonical.GENESIS_HASH
        row |= {"seq": (head.seq or 0) + 1, "occurred_at": head.now, "recorded_at": head.now}
        row["hash"] = canonical.chain_hash(prev_hash, canonical.canonical(**row))
        row["prev_hash"] = prev_hash
        await session.execute(insert(LOCKED).values(**row))
    return 1


OPS: dict[str, Callable[[AsyncSession], Awaitable[int]]] = {
    "plain": append_plain,
    "footprint": append_footprint,
    "lock-table": append_lock_table,
    **{f"footprint-batch{size}": footprint_batch(size) for size in BATCHES},
    **{f"plain-batch{size}": plain_batch(size) for size in BATCHES},
}


def find_postmaster(backend_pid: int, local: bool) -> psutil.Process | None:
    """The server's postmaster: our backend's parent, when the server runs on this machine."""
    return postmaster_of(backend_pid) if local else None


def server_cpu(postmaster: psutil.Process | None) -> dict[int, float] | None:
    """CPU seconds (user + system) of the postmaster and each of its children, by pid."""
    if postmaster is None:
        return None
    try:
        family = [postmaster, *postmaster.children(recursive=True)]
    except psutil.Error:
        return None
    return cpu_by_pid(family)


def client_cpu() -> float:
    return own_cpu(children=False)


def machine_cpu() -> float:
    """CPU seconds all processes of this machine have used (all cores): to see load from others."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class Case:
    """One design at one writer count, summed over its rounds."""

    design: str
    writers: int
    appends: int = 0
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float | None = 0.0
    machine_cpu: float = 0.0
    round_rates: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return self.appends / self.wall if self.wall else 0.0

    @property
    def rate(self) -> float:
        """The median round: robust to a burst of other load hitting a round or two."""
        return statistics.median(self.round_rates) if self.round_rates else self.mean

    def add(self, one: Case) -> None:
        self.appends += one.appends
        self.wall += one.wall
        self.client_cpu += one.client_cpu
        self.machine_cpu += one.machine_cpu
        both = self.server_cpu is not None and one.server_cpu is not None
        self.server_cpu = self.server_cpu + one.server_cpu if both else None  # type: ignore[operator]
        self.round_rates.append(one.mean)


async def measure(
    sessions: list[AsyncSession], design: str, seconds: float, warmup: float, postmaster: psutil.Process | None
) -> Case:
    """One round: every session appends in a loop; counted between the end of the warm-up and the deadline."""
    op, done, stop = OPS[design], [0], asyncio.Event()

    async def writer(session: AsyncSession) -> None:
        while not stop.is_set() and done[0] < MAX_APPENDS_PER_CASE:
            appended = await op(session)  # awaited first: `done[0] += await ...` reads done[0] before the await
            done[0] += appended

    tasks = [asyncio.create_task(writer(s)) for s in sessions]
    try:
        await asyncio.sleep(warmup)
        count0, t0, client0, server0 = done[0], time.perf_counter(), client_cpu(), server_cpu(postmaster)
        machine0 = machine_cpu()
        deadline = t0 + seconds
        while time.perf_counter() < deadline and done[0] < MAX_APPENDS_PER_CASE and not any(t.done() for t in tasks):
            await asyncio.sleep(0.02)
        count1, t1, client1, server1 = done[0], time.perf_counter(), client_cpu(), server_cpu(postmaster)
        machine1 = machine_cpu()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
    server = None
    if server0 is not None and server1 is not None:
        server = sum(v - server0.get(pid, 0.0) for pid, v in server1.items())
    return Case(design, len(sessions), count1 - count0, t1 - t0, client1 - client0, server, machine1 - machine0)


async def run_all(
    engine: AsyncEngine, seconds: float, warmup: float, rounds: int, postmaster: psutil.Process | None
) -> list[Case]:
    """Every design x writer count once per round, in an order rotating from round to round, so that a
    change in the machine's speed (a shared VM, other people's load) hits every case alike."""
    cases = {(design, writers): Case(design, writers) for writers in WRITERS for design in DESIGNS}
    order = list(cases)
    connections = [await engine.connect() for _ in range(max(WRITERS))]
    # Each session is bound to its writer's connection for the whole run: no pool checkout per append.
    sessions = [AsyncSession(bind=c, expire_on_commit=False) for c in connections]
    try:
        for r in range(rounds):
            start = r * len(order) // rounds
            for design, writers in order[start:] + order[:start]:
                one = await measure(sessions[:writers], design, seconds / rounds, warmup, postmaster)
                cases[(design, writers)].add(one)
            print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    finally:
        for session in sessions:
            await session.close()
        for connection in connections:
            await connection.close()
    return list(cases.values())


async def bench(url: str, seconds: float, warmup: float, rounds: int, local: bool) -> tuple[list[Case], dict[str, str]]:
    engine = db.create_engine(url, pool_size=max(WRITERS) + 2)
    try:
        async with engine.begin() as connection:
            for statement in SETUP:
                await connection.execute(text(statement))
        async with engine.connect() as connection:
            info = {
                name: str(await connection.scalar(text(f"SHOW {name}")))
                for name in ("server_version", "synchronous_commit", "fsync")
            }
            backend_pid = int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0)
        postmaster = find_postmaster(backend_pid, local)
        cases = await run_all(engine, seconds, warmup, rounds, postmaster)
        async with engine.connect() as connection:
            gaps = await connection.scalar(text("SELECT max(seq) - count(*) FROM footprint.events"))
            info["footprint_gaps"] = str(gaps)
        return sorted(cases, key=lambda c: (DESIGNS.index(c.design), c.writers)), info
    finally:
        await engine.dispose()


def _other(c: Case) -> float:
    """CPU used on this machine by neither the benchmark nor the (local) server: other people's load."""
    return max(0.0, c.machine_cpu - c.client_cpu - (c.server_cpu or 0.0))


def _pct(cpu_seconds: float | None, wall: float) -> str:
    return "n/a" if cpu_seconds is None else f"{100 * cpu_seconds / wall:.0f} %"


def report(cases: list[Case], info: dict[str, str], title: str, args: argparse.Namespace) -> str:
    by = {(c.design, c.writers): c for c in cases}

    def ratio(a: tuple[str, int], b: tuple[str, int]) -> float:
        return by[a].rate / by[b].rate if by[b].rate else float("nan")

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu_model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), "?")
    cores = os.cpu_count() or 1
    lines = [
        f"## {title}",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {args.seconds:g} s measured per case in "
        f"{args.rounds} rounds, each running every case once (rotating order, {args.warmup:g} s warm-up each); "
        "appends/s is the median round, and the ratios use it",
        f"- Machine: {cores} cores, {cpu_model}, {platform.platform()}",
        f"- PostgreSQL {info['server_version']}, synchronous_commit={info['synchronous_commit']}, "
        f"fsync={info['fsync']}",
        f"- footprint.events after the run: max(seq) - count(*) = {info['footprint_gaps']} (0: no gaps)",
        "",
        "| design | writers | appends | appends/s (median) | mean | rounds min-max | vs plain@N | benchmark CPU"
        " | postgres CPU | other CPU |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in cases:
        vs_plain = ratio((c.design, c.writers), ("plain", c.writers))
        lines.append(
            f"| {c.design} | {c.writers} | {c.appends} | {c.rate:.0f} | {c.mean:.0f}"
            f" | {min(c.round_rates):.0f}-{max(c.round_rates):.0f} | {vs_plain:.2f}"
            f" | {_pct(c.client_cpu, c.wall)} | {_pct(c.server_cpu, c.wall)} | {_pct(_other(c), c.wall)} |"
        )
    vs_floor, vs_lock = ratio(("footprint", 8), ("plain", 1)), ratio(("footprint", 8), ("lock-table", 8))
    lines += [
        "",
        "CPU is % of one core over the case's wall time: `benchmark` is this Python process (getrusage),",
        "`postgres` the postmaster and all its children (psutil; n/a when the server is not local), `other`",
        "the rest of the machine's busy time (psutil.cpu_times), i.e. load from other processes.",
        "",
        f"- footprint@8 / plain@1 = **{vs_floor:.2f}** (goal >= 0.7): {'met' if vs_floor >= 0.7 else 'NOT met'}",
        f"- footprint@8 / lock-table@8 = **{vs_lock:.2f}** (goal >= 1.0): {'met' if vs_lock >= 1.0 else 'NOT met'}",
        "- footprint@N / plain@N: " + ", ".join(f"{n}: {ratio(('footprint', n), ('plain', n)):.2f}" for n in WRITERS),
        *(
            f"- footprint-batch{size}@N / plain-batch{size}@N (events/s, {size} per transaction): "
            + ", ".join(f"{n}: {ratio((f'footprint-batch{size}', n), (f'plain-batch{size}', n)):.2f}" for n in WRITERS)
            for size in BATCHES
        ),
        "",
        "Reading (generated from the figures):",
        "",
        *(f"- {sentence}" for sentence in _reading(by, cores)),
    ]
    return "\n".join(lines) + "\n"


def _reading(by: dict[tuple[str, int], Case], cores: int) -> list[str]:
    top = max(WRITERS)

    def scaling(design: str) -> str:
        one, many = by[(design, 1)].rate, by[(design, top)].rate
        return f"{design} {one:.0f}/s -> {many:.0f}/s ({many / one:.1f}x)" if one else f"{design} n/a"

    spread = max((max(c.round_rates) - min(c.round_rates)) / c.rate for c in by.values() if c.rate)
    out = [
        f"From 1 to {top} writers: " + "; ".join(scaling(d) for d in DESIGNS) + ". Plain inserts are not "
        "serialised and gain from concurrent commits; the footprint and lock-table designs hold a lock through "
        "the commit, so one append commits at a time whatever the writer count.",
        f"Rounds of the same case differed by up to {100 * spread:.0f} % of its median (column rounds min-max): "
        "ratios nearer a goal than that are within this machine's noise.",
    ]
    loop = max(by.values(), key=lambda c: c.client_cpu / c.wall if c.wall else 0)
    if loop.client_cpu / loop.wall >= 0.8:
        out.append(
            f"The load generator is one Python process (one event loop, one core at most); it reached "
            f"{100 * loop.client_cpu / loop.wall:.0f} % of a core ({loop.design}@{loop.writers}), so the highest "
            "figures are bounded by the client's CPU (SQLAlchemy and asyncpg per statement) as much as by the server."
        )
    other = max(_other(c) / c.wall for c in by.values() if c.wall)
    if other >= 0.2:
        out.append(
            f"Other processes used up to {100 * other:.0f} % of a core during a case: the machine was shared, "
            "so the figures are lower and noisier than a quiet machine would give."
        )
    used = max((c.client_cpu + (c.server_cpu or 0)) / c.wall for c in by.values() if c.wall)
    if any(c.server_cpu is not None for c in by.values()):
        out.append(f"Benchmark and server together kept at most {used:.1f} of the {cores} cores busy.")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per case (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each running every case (default 5)")
    parser.add_argument("--warmup", type=float, default=0.3, help="warm-up seconds per round (default 0.3)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a server to use instead")
    parser.add_argument("--write-results", action="store_true", help=f"write/update {RESULTS.name}")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="iro-bench-pg-"))
        if args.database_url:
            url = stack.enter_context(throwaway_database(args.database_url, "iro_bench", migrate_to_head=False))
            key, local = server_key(url)
            title = f"PostgreSQL at {key}"
        else:
            server = EmbeddedPostgres(Path(folder) / "pg")
            server.start()
            stack.callback(server.stop)
            url, local, key, title = server.ensure_database("iro_bench"), True, "embedded", "Embedded PostgreSQL"
        migrate.upgrade(url)
        print(f"benchmarking on {title}: {args.seconds:g} s per case", file=sys.stderr)
        cases, info = asyncio.run(bench(url, args.seconds, args.warmup, args.rounds, local))
    body = report(cases, info, title, args)
    print(body)
    if args.write_results:
        write_results(key, body, path=RESULTS, title="# Footprint append benchmark: results\n")


if __name__ == "__main__":
    main()
