"""Load generation: what the request workloads (bench/write_path.py, bench/service_read.py) share, wrk runs
(also bench/gateway_hop.py's and bench/footprint_scale.py's), CPU accounting by process, latency
percentiles, and a platform of their own when run alone. The CPU, database and process helpers under
them are bench/common.py's.

- `run_wrk(...)`: `wrk` with a script ending in `WRK_DONE`, its report parsed (every wrk run of bench/).
- `wrk_run(...)`: `wrk` (C, one thread, keep-alive, a separate process) against one URL for a number
  of seconds, with a Lua script that reports the request count, the errors (connect, read, write,
  timeouts and HTTP statuses >= 400) and the latency distribution as 1,000 quantiles, each standing for
  1/1000 of the run's requests, so that rounds can be merged (Debian's wrk 4.1.0 does not hand its
  histogram to Lua). With `post_body` the script builds a unique JSON body per request (a run prefix
  and a counter substituted for `%s` and `%d`) and, with `idempotency_key`, a unique `Idempotency-Key`.
- `python_load(...)`: N asyncio workers in this process calling an async function in a loop for a
  number of seconds (the asyncpg baselines), with each call's latency.
- `CpuMeter`: CPU seconds (user + system) of named processes between two snapshots; `postgres` is the
  postmaster and all its children (backends come and go; a pooled connection's backend stays), `load`
  is this process and its reaped children (wrk, once it has exited), `machine` every process on every
  core, `steal` the hypervisor's.
- `Rounds`: a workload's rounds (count, seconds, warm-up) and the rotating loop that runs its sides.
- `standalone(folder)`: `iro serve` on free ports in `folder` (tests.e2e.processes.start_platform, as
  bench/gateway_hop.py starts it), wrapped as a `bench.common.Context`, for running a workload alone;
  `parser(doc)` and `alone(...)` are such a workload's `main()`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests.e2e.processes, when run as a script
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import Context, Measurement, Result, say  # noqa: E402

QUANTILES = 1000

# wrk's report: the request count, duration (µs), errors (all, and HTTP statuses >= 400), and the latency
# distribution as 1000 quantiles (0.05 %, 0.15 %, ... 99.95 %), each standing for 1/1000 of the run's
# requests, so that rounds can be merged. (Debian's wrk 4.1.0 does not give its histogram buckets to Lua.)
# A script adds `request` when the request must change (WRK_POST, bench/footprint_scale.py's paths).
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d\\n", summary.requests, summary.duration,
                         e.connect + e.read + e.write + e.status + e.timeout, e.status))
  for k = 1, 1000 do
    io.write(string.format("Q %d\\n", latency:percentile((k - 0.5) / 10)))
  end
end
"""

# args: prefix, body template (%s the prefix, %d the counter), "key" for a unique Idempotency-Key.
WRK_POST = """
local counter = 0
local prefix = "run"
local template = ""
local with_key = false
init = function(args)
  prefix = args[1]
  template = args[2]
  with_key = args[3] == "key"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
request = function()
  counter = counter + 1
  local body = string.format(template, prefix, counter)
  if with_key then
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["Idempotency-Key"] = string.format("%s-%d", prefix, counter)
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("POST", nil, nil, body)
end
"""


@dataclass
class Latencies:
    """Latencies in ms with weights (wrk's quantiles stand for 1/1000 of a run's requests each)."""

    values: list[tuple[float, float]] = field(default_factory=list)

    def add(self, ms: float, weight: float = 1.0) -> None:
        self.values.append((ms, weight))

    def percentile(self, q: float) -> float | None:
        """The smallest latency at or above which q % of the (weighted) requests lie."""
        if not self.values:
            return None
        ordered = sorted(self.values)
        total = sum(w for _, w in ordered)
        rank, seen = q / 100 * total, 0.0
        for ms, weight in ordered:
            seen += weight
            if seen >= rank:
                return ms
        return ordered[-1][0]


@dataclass
class Run:
    """One load run: requests done, errors, seconds as the load generator measured them, latencies."""

    requests: int
    errors: int
    duration: float
    latencies: Latencies


def wrk_path() -> str | None:
    return shutil.which("wrk")


@dataclass
class WrkOutput:
    """What WRK_DONE reports: requests, errors, seconds, and the 1000 latency quantiles in µs."""

    requests: int
    errors: int
    duration: float
    quantiles_us: list[int]


def run_wrk(
    wrk: str, script: Path, url: str, *, headers: dict[str, str], clients: int, seconds: float,
    script_args: Sequence[str] = (),
) -> WrkOutput:  # fmt: skip
    """`wrk -t1 -c<clients>` against `url` for `seconds` (at least 1) with `script` (which must end with
    WRK_DONE), the `headers`, and `script_args` after `--`."""
    command = [wrk, "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    lines = done.stdout.splitlines()
    summary = next((line.split()[1:] for line in lines if line.startswith("BENCH ")), None)
    quantiles = [int(line.split()[1]) for line in lines if line.startswith("Q ")]
    if done.returncode != 0 or summary is None or len(quantiles) != QUANTILES:
        raise RuntimeError(f"wrk exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    requests, duration_us, errors = (int(x) for x in summary[:3])
    return WrkOutput(requests=requests, errors=errors, duration=duration_us / 1e6, quantiles_us=quantiles)


def wrk_run(
    url: str,
    *,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    folder: Path,
    post_body: str | None = None,
    prefix: str = "run",
    idempotency_key: bool = False,
) -> Run:
    """`wrk -t1 -c<clients>` against `url` for `seconds` (at least 1). `post_body`: a JSON template
    with `%s` (a per-run `prefix`) and `%d` (a counter) to POST a unique body per request."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    script = folder / ("post.lua" if post_body else "get.lua")
    script.write_text((WRK_POST if post_body else "") + WRK_DONE)
    script_args = (prefix, post_body, "key" if idempotency_key else "nokey") if post_body else ()
    out = run_wrk(wrk, script, url, headers=headers, clients=clients, seconds=seconds, script_args=script_args)
    latencies = Latencies()
    for us in out.quantiles_us:
        latencies.add(us / 1000, out.requests / QUANTILES)
    return Run(requests=out.requests, errors=out.errors, duration=out.duration, latencies=latencies)


async def python_load(
    work: Callable[[int, int], Awaitable[None]], *, clients: int, seconds: float, max_calls: int = 2_000_000
) -> Run:
    """`clients` workers calling `await work(worker, n)` (n counts that worker's calls) for `seconds`;
    an exception counts as an error."""
    latencies = Latencies()
    done = errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(index: int) -> None:
        nonlocal done, errors
        n = 0
        while done < max_calls and (start := time.perf_counter()) < deadline:
            n += 1
            try:
                await work(index, n)
            except Exception:
                errors += 1
            latencies.add((time.perf_counter() - start) * 1000)
            done += 1

    await asyncio.gather(*(worker(i) for i in range(clients)))
    return Run(requests=done, errors=errors, duration=time.perf_counter() - started, latencies=latencies)


# --- CPU -----------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds by role between `start()` and `stop()`: `load`, the named processes (`postgres`
    with its children), `machine` (all cores, all processes) and `steal`."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = dict(processes)
        self._before: dict[str, Any] = {}
        self._wall = 0.0

    def _snapshot(self) -> dict[str, Any]:
        busy, steal = common.machine_cpu()
        snap: dict[str, Any] = {"load": common.own_cpu(), "machine": busy, "steal": steal}
        for name, pid in self.processes.items():
            snap[name] = common.cpu_by_pid(common.process_family(pid) if name == "postgres" else [psutil.Process(pid)])
        return snap

    def start(self) -> None:
        self._before = self._snapshot()
        self._wall = time.perf_counter()

    def stop(self) -> tuple[dict[str, float], float]:
        """(CPU seconds by role, wall seconds) since `start()`."""
        after, wall = self._snapshot(), time.perf_counter() - self._wall
        return {name: common.cpu_delta(value, self._before[name]) for name, value in after.items()}, wall


@dataclass
class Side:
    """One side of a comparison summed over its rounds (requests, errors, seconds, CPU by role)."""

    label: str
    unit: str = "req/s"
    requests: int = 0
    errors: int = 0
    duration: float = 0.0
    wall: float = 0.0
    latencies: Latencies = field(default_factory=Latencies)
    cpu: dict[str, float] = field(default_factory=dict)
    round_rates: list[float] = field(default_factory=list)

    def add(self, run: Run, cpu: dict[str, float], wall: float) -> None:
        self.requests += run.requests
        self.errors += run.errors
        self.duration += run.duration
        self.wall += wall
        self.latencies.values.extend(run.latencies.values)
        self.round_rates.append(run.requests / run.duration if run.duration else 0.0)
        for role, seconds in cpu.items():
            self.cpu[role] = self.cpu.get(role, 0.0) + seconds

    @property
    def rate(self) -> float | None:
        return self.requests / self.duration if self.duration else None

    def cpu_percent(self) -> dict[str, float]:
        """% of one core over the measured wall time, by role (`other`: the machine's busy time not
        in any named role: idle services, other people's load)."""
        if not self.wall:
            return {}
        out = {role: round(100 * seconds / self.wall, 1) for role, seconds in self.cpu.items() if role != "machine"}
        named = sum(seconds for role, seconds in self.cpu.items() if role not in ("machine", "steal"))
        if "machine" in self.cpu:
            out["machine"] = round(100 * self.cpu["machine"] / self.wall, 1)
            out["other"] = round(max(0.0, 100 * (self.cpu["machine"] - named) / self.wall), 1)
        return out

    def ms_per_request(self, role: str) -> float | None:
        """CPU milliseconds of `role` per request."""
        if not self.requests or role not in self.cpu:
            return None
        return round(1000 * self.cpu[role] / self.requests, 3)

    def measurement(self) -> Measurement:
        def ms(q: float) -> float | None:
            value = self.latencies.percentile(q)
            return None if value is None else round(value, 3)

        return Measurement(
            label=self.label,
            throughput=None if self.rate is None else round(self.rate, 1),
            unit=self.unit,
            p50_ms=ms(50),
            p95_ms=ms(95),
            p99_ms=ms(99),
            count=self.requests,
            errors=self.errors,
            cpu=self.cpu_percent(),
        )


def settle(pids: Sequence[int], *, below: float = 10.0, timeout: float = 120.0) -> float:
    """Wait until the processes `pids` together use less than `below` % of one core over half a second
    (the footprint consumers and sequencer catching up on the events a case wrote, so that their work
    is not charged to the next case), at most `timeout` seconds. Returns the seconds waited."""
    processes = [psutil.Process(pid) for pid in pids]
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        before = sum(common.cpu_by_pid(processes).values())
        time.sleep(0.5)
        if 100 * (sum(common.cpu_by_pid(processes).values()) - before) / 0.5 < below:
            break
    return time.perf_counter() - started


def measure(side: Side, meter: CpuMeter, run: Callable[[], Run]) -> None:
    """One round of `side`: `run()` between two CPU snapshots."""
    meter.start()
    result = run()
    cpu, wall = meter.stop()
    side.add(result, cpu, wall)


@dataclass(frozen=True)
class Rounds:
    """How a request workload splits `context.seconds`: `count` rounds of `seconds`, each run after a
    `warmup` (one round of 1 s, no warm-up, in a smoke run)."""

    count: int
    seconds: float
    warmup: float

    @classmethod
    def of(cls, context: Context) -> Rounds:
        count = 1 if context.smoke else max(1, context.rounds)
        seconds = 1.0 if context.smoke else max(1.0, context.seconds / count)
        return cls(count, seconds, 0.0 if context.smoke else 1.0)

    def run(
        self, workload: str, cases: dict[str, tuple[Side, Callable[[float], Run]]], meter: CpuMeter,
        before: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        """Every case once a round, in rotating order (a slow spell of the machine hits all alike): `before()`,
        the warm-up, then the measured run."""
        order = list(cases)
        for round_ in range(self.count):
            shift = round_ % len(order)
            for name in order[shift:] + order[:shift]:
                side, go = cases[name]
                if before is not None:
                    before()
                if self.warmup:
                    go(self.warmup)
                measure(side, meter, functools.partial(go, self.seconds))
            say(f"  {workload}: round {round_ + 1}/{self.count} done")


# --- A platform of its own -----------------------------------------------------------------------


def find_processes(platform_: Any) -> dict[str, int]:
    """The pids of the gateway, the services, the footprint sequencer (when there is one) and the
    postmaster under an `iro serve`."""
    from tests.e2e.processes import SERVICES

    processes = {name: platform_.process_of(name).pid for name in SERVICES}
    with contextlib.suppress(psutil.Error):  # the footprint's sequencer, when `iro serve` runs one
        for child in psutil.Process(platform_.process.pid).children(recursive=True):
            argv = child.cmdline()
            if "sequencer" in argv and "shared.cli" in argv:
                processes["sequencer"] = child.pid
    if (postmaster := common.embedded_postmaster(platform_.data_dir)) is not None:
        processes["postgres"] = postmaster.pid
    return processes


def database_url_of(pid: int) -> str:
    """The `DATABASE_URL` a process of the platform was started with (the owner's: `iro serve` sets it)."""
    url = psutil.Process(pid).environ().get("DATABASE_URL")
    if not url:
        raise RuntimeError(f"process {pid} has no DATABASE_URL")
    return url


@contextlib.contextmanager
def standalone(folder: Path, *, seconds: float, rounds: int) -> Iterator[Context]:
    """`iro serve` (embedded PostgreSQL) in `folder` as a `Context`, stopped on exit."""
    from shared.auth import mint_development_token
    from shared.settings import CommonSettings
    from tests.e2e.processes import start_platform

    platform_ = start_platform(folder / "data")
    try:
        platform_.wait_ready()
        processes = find_processes(platform_)
        settings = CommonSettings()

        def token(roles: Sequence[str], sub: str) -> str:
            return mint_development_token(settings, sub=sub, roles=list(roles), ttl=6 * 3600)

        tools = common.installed_tools()
        yield Context(
            gateway=platform_.url(),
            services={name: platform_.url(name) for name in ("reviews", "escalations", "participation")},
            database_url=database_url_of(processes["reviews"]),
            processes=processes,
            token=token,
            folder=folder,
            seconds=seconds,
            rounds=rounds,
            tools=tools,
        )
    finally:
        code = platform_.stop()
        if code != 0:
            print(f"iro serve exited {code}; its log:\n{platform_.log.read_text()}", file=sys.stderr)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The command line of a request workload run alone: `--seconds` and `--rounds`."""
    out = argparse.ArgumentParser(description=(doc or "").split("\n", 1)[0])
    out.add_argument("--seconds", type=float, default=10.0, help="measured seconds per side (default 10)")
    out.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    return out


def alone(prefix: str, args: argparse.Namespace, workload: Callable[[Context], list[Result]]) -> None:
    """`workload` on a platform of its own (`standalone`, in a temporary folder named `prefix`...), its
    results printed."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as folder,
        standalone(Path(folder), seconds=args.seconds, rounds=args.rounds) as context,
    ):
        results = workload(context)
    print_results(results)


def print_results(results: Sequence[Any]) -> None:
    """A short text form of `Result`s for a run by hand."""
    for result in results:
        print(f"== {result.workload}: {result.case}")
        for m in (result.platform, result.baseline):
            if m is None:
                continue
            print(
                f"  {m.label}: {m.throughput} {m.unit}, p50/p95/p99 {m.p50_ms}/{m.p95_ms}/{m.p99_ms} ms, "
                f"{m.count} done, {m.errors} errors, CPU % {m.cpu}"
            )
        print(
            f"  ratio {result.ratio if result.ratio is None else round(result.ratio, 3)}; goal {result.goal}: "
            f"{result.met}"
        )
        for key, value in result.extra.items():
            print(f"  {key}: {value}")
        for note in result.notes:
            print(f"  - {note}")
