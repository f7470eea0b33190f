"""What every workload of `python -m bench` shares: the run's context and the shape of a result.

A workload module exposes `run(context: Context) -> list[Result]`: it measures the platform and its
baseline in the same run (never a figure from another day), and returns one `Result` per case. The
runner (bench/__main__.py) starts the platform, calls each workload, samples each process's RSS after
it, and writes bench/results/<date>-<machine>.json and the table in bench/RESULTS.md.

A workload module may also expose `prepare(context: Context) -> dict[str, Any] | None`: data of its own
to generate before it is measured (e.g. bulk-loading ten million footprint events). The runner calls it
once, before the first pass, times it as a data-generation phase, and records what it returns.

It is also the one home of the helpers every bench module uses: `say`, CPU by process (`own_cpu`,
`machine_cpu`, `process_cpu`, `process_family`, `cpu_by_pid`, `cpu_delta`, `CpuMeter`), throwaway
databases (`throwaway_database`, `with_database`, `server_key`), the postmaster (`postmaster_of`,
`embedded_postmaster`), subprocesses (`wait_answering`, `stop_process`), the sections of bench/RESULTS.md
(`write_results`) and the machine (`cpu_model`, `cores`). Load generation (wrk) is bench/_load.py's.

`Measurement.cpu` keys: `load` is the load generator (pgbench, wrk, or this process when the load is
Python's), the others a process by its name in `Context.processes` (`gateway`, `reviews`, `postgres`...).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import re
import resource
import secrets
import shutil
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
MANAGER = "manager@council.gov.uk"  # the token's subject where a workload acts as a manager


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


class PerSecond:
    """`rate`: `events` per second of `wall` (0 without time), for a round's dataclass with those fields."""

    events: int
    wall: float

    @property
    def rate(self) -> float:
        return self.events / self.wall if self.wall else 0.0


def ratio(platform: float | None, baseline: float | None) -> float | None:
    """platform / baseline, or None when either is missing or the baseline is 0."""
    if platform is None or not baseline:
        return None
    return platform / baseline


# --- Helpers a workload may use ------------------------------------------------------------------------


def say(message: str) -> None:
    """A progress line on stderr (stdout is for the results)."""
    print(message, file=sys.stderr, flush=True)


def cores() -> int:
    return os.cpu_count() or 1


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# --- CPU -----------------------------------------------------------------------------------------------


def own_cpu(*, children: bool = True) -> float:
    """CPU seconds (user + system) of this process so far and, with `children`, of its children already
    reaped (wrk, once it has exited)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if children else (resource.RUSAGE_SELF,):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def machine_cpu() -> tuple[float, float]:
    """CPU seconds every process of this machine has used (all cores), and the seconds stolen by the
    hypervisor (on a VM: time its vCPUs wanted to run and were not given)."""
    times = psutil.cpu_times()
    busy = times.user + times.nice + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
    return busy, getattr(times, "steal", 0.0)


def process_family(process: psutil.Process | int | None) -> list[psutil.Process]:
    """`process` (or the process `pid`) and all its live children, e.g. the postmaster and its backends;
    [] when it is None or gone."""
    if process is None:
        return []
    with contextlib.suppress(psutil.Error):
        parent = process if isinstance(process, psutil.Process) else psutil.Process(process)
        return [parent, *parent.children(recursive=True)]
    return []


def cpu_by_pid(processes: Sequence[psutil.Process]) -> dict[int, float]:
    """CPU seconds (user + system) of each of `processes` so far, by pid."""
    out: dict[int, float] = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):  # a process that has just gone
            times = process.cpu_times()
            out[process.pid] = times.user + times.system
    return out


def cpu_delta(after: dict[int, float] | float, before: dict[int, float] | float) -> float:
    """CPU seconds between two snapshots: of `cpu_by_pid` (the processes there at the end), or of a total."""
    if isinstance(after, dict):
        assert isinstance(before, dict)
        return float(sum(value - before.get(pid, 0.0) for pid, value in after.items()))
    assert not isinstance(before, dict)
    return float(after - before)


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
            total += sum(cpu_by_pid(process.children(recursive=True)).values())
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
        out["machine"] = machine_cpu()[0]
        return out

    def start(self) -> None:
        self._before = self._snapshot()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        after, wall = self._snapshot(), time.monotonic() - self._started
        if wall <= 0:
            return {}
        return {name: round(100 * (after[name] - self._before.get(name, 0.0)) / wall, 1) for name in after}


# --- Databases -----------------------------------------------------------------------------------------


def with_database(url: str, database: str) -> str:
    """`url` pointing at `database` on the same server (asyncpg's plain form: `postgresql://`, no `+asyncpg`)."""
    parts = urlsplit(url)  # as shared.db.plain_url: the libpq scheme
    return urlunsplit(("postgresql", parts.netloc, f"/{database}", parts.query, parts.fragment))


def server_key(url: str) -> tuple[str, bool]:
    """(`host:port` of the server at `url`, whether it runs on this machine)."""
    host = urlsplit(url).hostname or "localhost"
    local = host in ("localhost", "127.0.0.1", "::1") or host.startswith("/")
    return f"{host}:{urlsplit(url).port or 5432}", local


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(with_database(url, "postgres"))
    try:
        for statement in statements:
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


def postmaster_of(backend_pid: int) -> psutil.Process | None:
    """The postmaster of a local server: the parent of one of its backends (None if it is not postgres)."""
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(backend_pid).parent()
        if parent is not None and "postgres" in parent.name():
            return parent
    return None


def embedded_postmaster(data_dir: Path) -> psutil.Process | None:
    """The postmaster of the embedded PostgreSQL of an `iro serve` whose data folder is `data_dir`."""
    pgdata = str((data_dir / "pg").resolve())
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "postgres" in (process.info["name"] or "") and pgdata in cmdline:
            return process
    return None


# --- Processes -----------------------------------------------------------------------------------------


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_answering(url: str, process: subprocess.Popen[Any], *, what: str, timeout: float = 30.0,
                   log: Path | None = None) -> None:  # fmt: skip
    """Until `url`/readyz answers 200; raises if `process` (`what`, e.g. "the bare app") exits or `timeout`
    passes (with the end of `log`, when given)."""
    import httpx

    def tail() -> str:
        return f":\n{log.read_text()}" if log is not None else ""

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited {process.returncode}{tail()}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer in {timeout:.0f} s{tail()}")
            time.sleep(0.1)


def installed_tools() -> dict[str, str]:
    """wrk, pgbench and py-spy (also the venv's) where installed: name -> path."""
    tools = {name: path for name in ("wrk", "pgbench", "py-spy") if (path := shutil.which(name))}
    spy = Path(sys.executable).with_name("py-spy")
    if "py-spy" not in tools and spy.exists():
        tools["py-spy"] = str(spy)
    return tools


# --- Results and command lines ---------------------------------------------------------------------------


def write_results(section: str, body: str, *, path: Path = RESULTS_MD, title: str = "# Benchmark results\n") -> None:
    """Write `body` as the section `<!-- bench:<section> -->` of `path` (bench/RESULTS.md), replacing it or
    appending it."""
    start, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    block = f"{start}\n{body}{end}\n"
    current = path.read_text() if path.exists() else title
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + block
    path.write_text(updated)


def data_parser(doc: str | None, database: str) -> argparse.ArgumentParser:
    """The command line of a data generator run alone (`--database-url`, required: `database` says which)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help=database)
    return parser


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
        stop_process(process)
