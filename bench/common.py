"""What every workload of `python -m bench` shares: the run's context and the shape of a result.

A workload module exposes `run(context: Context) -> list[Result]`: it measures the platform and its
baseline in the same run (never a figure from another day), and returns one `Result` per case. The
runner (bench/__main__.py) starts the platform, calls each workload, samples each process's RSS after
it, and writes bench/results/<date>-<machine>.json and the table in bench/RESULTS.md.

A workload module may also expose `prepare(context: Context) -> dict[str, Any] | None`: data of its own
to generate before it is measured (e.g. bulk-loading ten million footprint events). The runner calls it
once, before the first pass, times it as a data-generation phase, and records what it returns.

`Measurement.cpu` keys: `load` is the load generator (pgbench, wrk, or this process when the load is
Python's), the others a process by its name in `Context.processes` (`gateway`, `reviews`, `postgres`...).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil


@dataclass(frozen=True)
class Scale:
    """The generated data: `children` and `years` for the simulator and the national loader; `events`
    for the footprint's own workloads (query, verify), bulk-loaded."""

    children: int = 300
    years: int = 1
    events: int = 100_000


@dataclass
class Context:
    """A running platform (`iro serve`, or its processes against `DATABASE_URL`) and the run's knobs.

    `database_url` connects as the database owner (the migrations' role): benchmarks may create
    throwaway tables and bulk-load, never the services. `processes` maps a process's name (`gateway`,
    `reviews`, `escalations`, `participation`, `postgres`, ...) to its pid, for CPU and RSS.
    `token(roles, sub)` mints a development token the platform accepts. `seconds` is the measured time
    per case (split over `rounds`); `folder` a scratch directory the workload may fill."""

    gateway: str
    services: dict[str, str]
    database_url: str
    processes: dict[str, int]
    token: Callable[[Sequence[str], str], str]
    folder: Path
    scale: Scale = field(default_factory=Scale)
    seconds: float = 10.0
    rounds: int = 3
    tools: dict[str, str] = field(default_factory=dict)  # "wrk", "pgbench", "py-spy" -> path, when installed
    smoke: bool = False  # the test suite's tiny run: every step once, figures not meant to be read
    # Added for the runner (bench/runner.py):
    today: dt.date | None = None  # the platform's today (IRO_TODAY when pinned): dates sent must not be after it
    options: dict[str, Any] = field(default_factory=dict)  # workload-specific switches ("prototype": True, ...)
    server_local: bool = True  # the PostgreSQL server runs on this machine (its CPU is measurable)

    def warmup(self, normal: float = 1.0) -> float:
        """Seconds of warm-up before a measured run: `normal`, or 0.2 s in a smoke run."""
        return min(normal, 0.2) if self.smoke else normal


@dataclass
class Measurement:
    """One side of a comparison. `throughput` in `unit` (events/s, req/s, rows/s); latencies in ms
    (None when the tool gives none); `cpu` as % of one core over the measured time, by process."""

    label: str
    throughput: float | None
    unit: str
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    count: int | None = None
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class Result:
    """One case of a workload: the platform beside its baseline, the ratio the goal is about
    (`getattr(platform, ratio_of) / getattr(baseline, ratio_of)`), and whether the goal was met (None: no
    goal, or not judged at this scale)."""

    workload: str
    case: str
    platform: Measurement
    baseline: Measurement | None
    ratio: float | None
    goal: str
    met: bool | None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Added: what `ratio` divides, platform's by baseline's: "throughput" (higher is better), or a latency field
    # ("p50_ms", "p95_ms", "p99_ms": lower is better) for a goal about latency.
    ratio_of: str = "throughput"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) of `values` by the inclusive method; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[min(98, max(0, round(q) - 1))])


def ratio(platform: float | None, baseline: float | None) -> float | None:
    """platform / baseline, or None when either is missing or the baseline is 0."""
    if platform is None or not baseline:
        return None
    return platform / baseline


# --- Helpers a workload may use ------------------------------------------------------------------------


def own_cpu() -> float:
    """CPU seconds (user + system) of this process so far, and of its children already reaped."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def process_cpu(pid: int | None, *, with_children: bool = False) -> float:
    """CPU seconds (user + system) of process `pid` so far; with `with_children` also those of its live
    children and of the children it has reaped (the postmaster and its backends). 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        total = times.user + times.system
        if with_children:
            total += times.children_user + times.children_system
            for child in process.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a backend that has just gone
                    child_times = child.cpu_times()
                    total += child_times.user + child_times.system
        return total
    except psutil.Error:
        return 0.0


class CpuMeter:
    """CPU of the platform's processes between `start()` and `stop()`, as % of one core over the wall time.

    `meter = CpuMeter(context.processes); meter.start(); ...; cpu = meter.stop()`: a dict by process name
    (`postgres` with its backends), plus `runner` (this process) and `machine` (every process of the
    machine: all cores, so up to 100 x cores)."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = dict(processes)
        self._before: dict[str, float] = {}
        self._started = 0.0

    def _snapshot(self) -> dict[str, float]:
        out = {name: process_cpu(pid, with_children=name == "postgres") for name, pid in self.processes.items()}
        out["runner"] = own_cpu()
        times = psutil.cpu_times()
        out["machine"] = times.user + times.nice + times.system + getattr(times, "irq", 0.0)
        out["machine"] += getattr(times, "softirq", 0.0)
        return out

    def start(self) -> None:
        self._before = self._snapshot()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        after, wall = self._snapshot(), time.monotonic() - self._started
        if wall <= 0:
            return {}
        return {name: round(100 * (after[name] - self._before.get(name, 0.0)) / wall, 1) for name in after}


def with_database(url: str, database: str) -> str:
    """`url` pointing at `database` on the same server (asyncpg's plain form: no `+asyncpg`)."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def throwaway_database(url: str, prefix: str, *, migrate_to_head: bool = True) -> Iterator[str]:
    """A new database `<prefix>_<random>` on the server of `url` (as its user, who must be allowed to
    CREATE DATABASE), migrated to head unless told not to; dropped `WITH (FORCE)` afterwards. Yields its
    URL. For workloads that write what must not land in the platform's own database (pgbench's appends)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    try:
        database_url = with_database(url, name)
        if migrate_to_head:
            from shared import migrate

            migrate.upgrade(database_url)
        yield database_url
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def platform_sequencer(url: str) -> Iterator[int | None]:
    """The footprint's sequencer process as `iro serve` starts it (`iro sequencer`, DATABASE_URL=`url`), for a
    throwaway database that should behave as the platform's: yields its pid, or None when this version of the
    platform has no sequencer; stopped (SIGTERM) afterwards."""
    import importlib.util

    if importlib.util.find_spec("shared.footprint.sequencer") is None:
        yield None
        return
    env = dict(os.environ, DATABASE_URL=url)
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "sequencer"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        time.sleep(0.5)
        if process.poll() is not None:
            raise RuntimeError(f"iro sequencer exited {process.returncode}: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cores() -> int:
    return os.cpu_count() or 1
