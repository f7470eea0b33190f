"""`python -m bench`: every workload of issue 15 against the running platform, each beside its baseline, in one run.

    .venv/bin/python -m bench                                        # small: 300 children, 1 year (minutes)
    .venv/bin/python -m bench --children 83000 --years 10 --events 10000000 --repeat   # national scale
    .venv/bin/python -m bench --smoke --no-write --json /tmp/bench.json            # the test suite's run

1. A database: an embedded PostgreSQL in a temporary folder, or a throwaway database `iro_bench_<random>` on
   the server at `--database-url` / `DATABASE_URL` (dropped `WITH (FORCE)` at the end); migrated to head.
2. Data at the chosen scale: the simulator (`iro simulate`, fed to the running platform over TCP as a case
   system, IROs and managers would) up to `--bulk-above` children; above it the bulk loader
   `bench.national_data` (set-based SQL and a chained COPY of footprint events, before the platform starts;
   `IRO_TODAY` pinned to its 2026-04-20). Then each workload's own `prepare(context)` when it has one
   (bench/footprint_scale.py: `--events` footprint events). Each phase is timed.
3. The platform as `iro serve` runs it (tests.e2e.processes.start_platform: gateway, three services, the
   footprint sequencer, each its own process, on free ports).
4. Each workload's `run(context)` (bench/common.py), in order; the RSS of every platform process after each;
   with `--repeat` every workload a second time (the memory check's second pass): RSS growth % per process.
5. bench/results/<date>-<machine>.json (every Result, the machine, versions, phases) and the table between
   the `<!-- bench:one-command -->` markers of bench/RESULTS.md (`--no-write`: neither; `--json PATH` too).

bench/README.md ("One command") says what each workload measures against what.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import psutil  # noqa: E402

from bench import common  # noqa: E402
from bench.common import RESULTS_MD, Context, Measurement, Result, Scale, ratio, say  # noqa: E402
from shared import db, migrate  # noqa: E402
from shared.auth import mint_development_token  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
NATIONAL_FROM = 10_000  # children: a run at or above this is the national run, with its own section and file


def scale_label(children: int) -> str:
    """`small` or `national`: each keeps its own section of RESULTS.md and its own results file."""
    return "national" if children >= NATIONAL_FROM else "small"


def section(label: str) -> str:
    """The section of RESULTS.md a run of this scale writes: `<!-- bench:one-command-<label> -->`."""
    return f"one-command-{label}"


SERVICES = ("gateway", "reviews", "escalations", "participation")
LIBRARIES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg", "pydantic", "httpx", "aiohttp", "psutil")
MEMORY_GOAL = 10.0  # % RSS growth across the repeat
SMOKE = {"children": 20, "years": 1, "events": 2000, "seconds": 1.0, "rounds": 1}


@dataclass(frozen=True)
class Workload:
    """A workload of the one command: `key` on the command line, the module exposing `run(context)`."""

    key: str
    name: str
    module: str
    needs: tuple[str, ...] = ()  # tools it cannot run without


# In this order: the readers of the generated data first, then what writes to the platform, then what runs in a
# throwaway database of its own.
WORKLOADS = (
    Workload("annual-report", "annual report", "bench.annual_report"),
    Workload("footprint", "footprint query, footprint verify", "bench.footprint_scale"),
    Workload("service-read", "service read", "bench.service_read"),
    Workload("gateway-hop", "gateway hop", "bench.gateway_hop"),
    Workload("write-path", "write path", "bench.write_path"),
    Workload("append-ceiling", "append ceiling", "bench.append_ceiling", needs=("pgbench",)),
    Workload("batch-append", "batch append", "bench.batch_append"),
)
ALIASES = {"footprint-query": "footprint", "footprint-verify": "footprint", "memory": "memory"}


# --- Options -----------------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    keys = ", ".join(w.key for w in WORKLOADS)
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Every workload of issue 15 against the running platform, each beside its baseline.",
        epilog=f"Workloads (--only/--skip): {keys}, memory (needs --repeat to judge). bench/README.md says more.",
    )
    parser.add_argument("--children", type=int, help=f"children of the generated data (default {Scale.children})")
    parser.add_argument("--years", type=int, help=f"years of the simulated world (default {Scale.years})")
    parser.add_argument("--events", type=int, help=f"footprint events for the footprint workloads ({Scale.events})")
    parser.add_argument("--seconds", type=float, help="measured seconds per case, over all rounds (default 10)")
    parser.add_argument("--rounds", type=int, help="rounds per case, in rotating order (default 3)")
    parser.add_argument("--only", help="run only these workloads (comma-separated keys)")
    parser.add_argument("--skip", help="skip these workloads (comma-separated keys)")
    parser.add_argument("--repeat", action="store_true", help="run every workload twice: the memory check")
    parser.add_argument("--smoke", action="store_true", help="tiny scale: 20 children, 1 s per case, 1 round")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a server to use")
    parser.add_argument(
        "--data", choices=("auto", "simulate", "bulk"), default="auto", help="how to generate the data (auto)"
    )
    parser.add_argument("--bulk-above", type=int, default=5000, help="auto: bulk-load above this many children")
    parser.add_argument("--seed", type=int, default=15, help="the simulator's and the loaders' seed (15)")
    parser.add_argument("--today", type=dt.date.fromisoformat, help="pin the platform's IRO_TODAY (YYYY-MM-DD)")
    parser.add_argument("--prototype", action="store_true", help="append ceiling: also the prototype's designs")
    parser.add_argument("--no-write", action="store_true", help="write neither bench/results/ nor RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write the results' json here")
    parser.add_argument("--no-install", action="store_true", help="do not try apt-get for a missing wrk/pgbench")
    args = parser.parse_args(argv)
    smoke = SMOKE if args.smoke else {}
    default = Scale()
    args.children = args.children or smoke.get("children") or default.children
    args.years = args.years or smoke.get("years") or default.years
    args.events = args.events or smoke.get("events") or default.events
    args.seconds = args.seconds or smoke.get("seconds") or 10.0
    args.rounds = args.rounds or smoke.get("rounds") or 3
    if min(args.children, args.years, args.events, args.rounds) < 1 or args.seconds <= 0:
        parser.error("--children, --years, --events and --rounds must be at least 1, --seconds above 0")
    try:
        args.selected = select(args.only, args.skip)
    except ValueError as exc:
        parser.error(str(exc))
    args.memory = "memory" not in {k.strip() for k in (args.skip or "").split(",")} and (
        not args.only or "memory" in {normalise(k) for k in args.only.split(",")}
    )
    return args


def normalise(key: str) -> str:
    key = key.strip().lower().replace(" ", "-").replace("_", "-")
    return ALIASES.get(key, key)


def select(only: str | None, skip: str | None) -> list[Workload]:
    known = {w.key for w in WORKLOADS} | {"memory"}
    chosen = {normalise(k) for k in only.split(",") if k.strip()} if only else None
    skipped = {normalise(k) for k in skip.split(",") if k.strip()} if skip else set()
    for key in (chosen or set()) | skipped:
        if key not in known:
            raise ValueError(f"unknown workload {key!r}: one of {', '.join(sorted(known))}")
    return [w for w in WORKLOADS if (chosen is None or w.key in chosen) and w.key not in skipped]


# --- Tools -------------------------------------------------------------------------------------------------


def find_tools(install: bool) -> dict[str, str]:
    """wrk, pgbench and py-spy where installed; a missing wrk or pgbench is installed with apt-get when this
    runs as root on Debian/Ubuntu (and `install`), else the command to install it is printed."""
    tools = common.installed_tools()
    missing = [name for name in ("wrk", "pgbench") if name not in tools]
    if not missing:
        return tools
    packages = ["wrk" if name == "wrk" else "postgresql-client" for name in missing]
    command = ["apt-get", "install", "-y", *packages]
    if install and shutil.which("apt-get") and os.geteuid() == 0:
        say(f"bench: {', '.join(missing)} missing: {' '.join(command)}")
        done = subprocess.run(
            command, capture_output=True, text=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        )
        if done.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True)
            subprocess.run(command, capture_output=True)
        tools.update({name: path for name in missing if (path := shutil.which(name))})
    for name in ("wrk", "pgbench"):
        if name not in tools:
            say(
                f"bench: {name} is not installed: `sudo {' '.join(command)}` (workloads that need it fall back or fail)"
            )
    return tools


def tool_versions(tools: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, flag in (("wrk", "-v"), ("pgbench", "--version"), ("py-spy", "--version")):
        if name in tools:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                done = subprocess.run([tools[name], flag], capture_output=True, text=True, timeout=10)
                text = (done.stdout or done.stderr).strip().splitlines()
                out[name] = text[0].split(" [")[0].split(" Copyright")[0].strip() if text else "unknown"
    return out


# --- The database ------------------------------------------------------------------------------------------


@dataclass
class Database:
    url: str  # the owner's URL (libpq form)
    title: str  # "embedded PostgreSQL" or "PostgreSQL at host:port"
    local: bool  # on this machine: its CPU and memory are measurable
    postmaster: int | None


@contextlib.contextmanager
def database(url: str | None, folder: Path) -> Iterator[Database]:
    """An embedded server in `folder`, or a throwaway database on the server at `url`."""
    if url:
        key, local = common.server_key(url)
        with common.throwaway_database(db.plain_url(url), "iro_bench", migrate_to_head=False) as own:
            yield Database(own, f"PostgreSQL at {key}", local, asyncio.run(_postmaster(own)) if local else None)
        return
    from shared.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(folder / "pg")
    server.start()
    try:
        yield Database(server.ensure_database("iro_bench"), "embedded PostgreSQL", True, server.pid)
    finally:
        server.stop()


async def _postmaster(url: str) -> int | None:
    connection = await asyncpg.connect(url)
    try:
        backend = int(await connection.fetchval("SELECT pg_backend_pid()"))
    finally:
        await connection.close()
    postmaster = common.postmaster_of(backend)
    return None if postmaster is None else postmaster.pid


async def _server_info(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(url)
    try:
        names = ("server_version", "shared_buffers", "max_connections", "synchronous_commit", "work_mem")
        info = {name: str(await connection.fetchval(f"SHOW {name}")) for name in names}
        info["version"] = str(await connection.fetchval("SELECT version()"))
        info["size"] = str(await connection.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        info["footprint_events"] = str(await connection.fetchval("SELECT count(*) FROM footprint.events"))
        info["children"] = str(await connection.fetchval("SELECT count(*) FROM reviews.child"))
        return info
    finally:
        await connection.close()


# --- The platform ------------------------------------------------------------------------------------------


def platform_processes(platform_: Any, postmaster: int | None) -> dict[str, int]:
    """The pids of the gateway, the services, the footprint sequencer (when `iro serve` runs one) and the
    postmaster (when local)."""
    processes = {name: platform_.process_of(name).pid for name in SERVICES}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(platform_.process.pid).children(recursive=True):
            cmdline = child.cmdline()
            if "sequencer" in cmdline and "shared.cli" in cmdline:
                processes["sequencer"] = child.pid
    if postmaster is not None:
        processes["postgres"] = postmaster
    return processes


def simulate(gateway: str, env: dict[str, str], children: int, years: int, seed: int) -> dict[str, Any]:
    """`iro simulate` fed to the platform at `gateway`: one IRO per 50 children (2 at least)."""
    iros = max(2, round(children / 50))
    command = [
        sys.executable, "-m", "shared.cli", "simulate", "--children", str(children), "--iros", str(iros),
        "--years", str(years), "--seed", str(seed), "--gateway", gateway,
    ]  # fmt: skip
    say(f"bench: {' '.join(command[2:])}")
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    output = (done.stdout + done.stderr).strip().splitlines()
    for line in output[-8:]:
        say(f"  {line}")
    if done.returncode != 0:
        say(f"bench: iro simulate exited {done.returncode}: the data is what it sent (see the lines above)")
    return {"command": " ".join(command[2:]), "exit": done.returncode, "iros": iros, "output": output[-12:]}


# --- Memory ------------------------------------------------------------------------------------------------


def rss(processes: dict[str, int]) -> dict[str, float]:
    """Resident memory in MiB of each platform process (the Python processes; not PostgreSQL, whose shared
    buffers every backend maps)."""
    out = {}
    for name, pid in processes.items():
        if name == "postgres":
            continue
        with contextlib.suppress(psutil.Error):
            out[name] = round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    return out


def memory_results(samples: list[dict[str, Any]], repeated: bool) -> list[Result]:
    """One Result per process: RSS after the repeat (platform) against RSS after the first pass (baseline);
    without a repeat, after the workloads against before them (growth that includes warming up: not judged)."""
    if len(samples) < 2:
        return []
    if repeated:
        firsts = [s for s in samples if s["pass"] == 1]
        before, after = firsts[-1], samples[-1]
        goal, how = f"< {MEMORY_GOAL:g} % growth across the repeat", "after the repeat vs after the first pass"
    else:
        before, after = samples[0], samples[-1]
        goal, how = f"< {MEMORY_GOAL:g} % growth across a repeat (--repeat)", "after the workloads vs before them"
    results = []
    for name in after["rss"]:
        if name not in before["rss"]:
            continue
        first, last = before["rss"][name], after["rss"][name]
        r = ratio(last, first)
        growth = None if r is None else 100 * (r - 1)
        restarted = before["pids"].get(name) != after["pids"].get(name)
        results.append(
            Result(
                workload="memory",
                case=name,
                platform=Measurement(label=f"RSS {how.split(' vs ')[0]}", throughput=last, unit="MiB RSS"),
                baseline=Measurement(label=f"RSS {how.split(' vs ')[1]}", throughput=first, unit="MiB RSS"),
                ratio=r,
                goal=goal,
                met=None if not repeated or growth is None or restarted else growth < MEMORY_GOAL,
                notes=[f"growth {growth:+.1f} % ({how})" if growth is not None else "no figure"]
                + (["the process was restarted in between: not judged"] if restarted else []),
                extra={
                    "series": [{"after": s["after"], "pass": s["pass"], "mib": s["rss"].get(name)} for s in samples]
                },
            )
        )
    return results


# --- Running -----------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What the run measured and how long each phase took."""

    args: argparse.Namespace
    phases: dict[str, float] = field(default_factory=dict)  # seconds
    results: list[Result] = field(default_factory=list)  # the first pass's, and memory
    repeat_results: list[Result] = field(default_factory=list)
    workloads: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> status, seconds, error
    data: dict[str, Any] = field(default_factory=dict)
    server: dict[str, str] = field(default_factory=dict)
    database_title: str = ""
    tools: dict[str, str] = field(default_factory=dict)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(time.monotonic() - started, 2)
            say(f"bench: {name}: {self.phases[name]:.1f} s")


def load_modules(selected: list[Workload], run: Run) -> dict[str, Any]:
    modules = {}
    for workload in selected:
        if importlib.util.find_spec(workload.module) is None:
            say(f"bench: {workload.name}: not available ({workload.module} is not there yet): skipped")
            run.workloads[workload.key] = {"name": workload.name, "status": "not available"}
            continue
        missing = [tool for tool in workload.needs if tool not in run.tools]
        if missing:
            say(f"bench: {workload.name}: needs {', '.join(missing)}, not installed: skipped")
            run.workloads[workload.key] = {"name": workload.name, "status": f"needs {', '.join(missing)}"}
            continue
        try:
            modules[workload.key] = importlib.import_module(workload.module)
        except Exception as exc:
            say(f"bench: {workload.name}: {workload.module} does not import: {exc!r}")
            run.workloads[workload.key] = {"name": workload.name, "status": "error", "error": repr(exc)}
            continue
        if not callable(getattr(modules[workload.key], "run", None)):
            say(f"bench: {workload.name}: {workload.module} has no run(context) yet: skipped")
            run.workloads[workload.key] = {"name": workload.name, "status": "not available"}
            del modules[workload.key]
            continue
        run.workloads[workload.key] = {"name": workload.name, "status": "ok", "seconds": {}}
    return modules


def one_pass(
    number: int, modules: dict[str, Any], context: Context, run: Run, sample: Callable[[str, int], None]
) -> list[Result]:
    results: list[Result] = []
    for key, module in modules.items():
        state = run.workloads[key]
        if state["status"] != "ok":
            continue
        say(f"bench: pass {number}: {state['name']} ...")
        started = time.monotonic()
        try:
            found = list(module.run(context))
        except Exception as exc:
            say(f"bench: {state['name']} failed:\n{traceback.format_exc()}")
            state["status"], state["error"] = "error", f"{exc.__class__.__name__}: {exc}"
            found = []
        seconds = round(time.monotonic() - started, 2)
        state["seconds"][f"pass {number}"] = seconds
        state.setdefault("results", {})[f"pass {number}"] = len(found)
        run.phases[f"pass {number}: {state['name']}"] = seconds
        for result in found:
            result.extra.setdefault("pass", number)
            say(f"  {summary(result)}")
        results += found
        sample(state["name"], number)
    return results


def bench(args: argparse.Namespace) -> Run:
    run = Run(args)
    started = time.monotonic()
    run.tools = find_tools(install=not args.no_install)
    bulk = args.data == "bulk" or (args.data == "auto" and args.children > args.bulk_above)
    pinned = args.today
    if bulk and pinned is None:
        from bench import national_data

        pinned = national_data.TODAY
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="iro-bench-")))
        with run.phase("database"):
            server = stack.enter_context(database(args.database_url, folder))
            migrate.upgrade(server.url)
        run.database_title = server.title
        if bulk:
            from bench import national_data

            with run.phase("data: bench.national_data (bulk)"):
                report = asyncio.run(national_data.load(server.url, children=args.children, seed=args.seed))
            run.data = {"how": "bench.national_data", "children": args.children, "rows": report.rows,
                        "seconds": report.seconds, "today": str(pinned)}  # fmt: skip
        from tests.e2e.processes import start_platform

        env = {"IRO_TODAY": pinned.isoformat()} if pinned else {}
        with run.phase("platform start"):
            platform_ = start_platform(folder / "serve", database_url=server.url, extra_env=env)
            stack.callback(stop_platform, platform_)
            platform_.wait_ready(timeout=300)
        if not bulk:
            with run.phase("data: iro simulate"):
                outcome = simulate(platform_.url(), platform_.env, args.children, args.years, args.seed)
            run.data = {"how": "iro simulate", "children": args.children, "years": args.years, **outcome}
        from shared.simulate.command import platform_today

        settings = CommonSettings()

        def token(roles: Sequence[str], sub: str) -> str:
            return mint_development_token(settings, sub=sub, roles=list(roles), ttl=12 * 3600)

        processes = platform_processes(platform_, server.postmaster)
        context = Context(
            gateway=platform_.url(),
            services={name: platform_.url(name) for name in SERVICES if name != "gateway"},
            database_url=server.url,
            processes=processes,
            token=token,
            folder=folder / "work",
            scale=Scale(children=args.children, years=args.years, events=args.events),
            seconds=args.seconds,
            rounds=args.rounds,
            tools=run.tools,
            smoke=args.smoke,
            today=platform_today(platform_.url(), settings),
            options={"prototype": args.prototype, "seed": args.seed},
            server_local=server.local,
        )
        context.folder.mkdir(parents=True, exist_ok=True)
        modules = load_modules(args.selected, run)
        for key, module in modules.items():
            prepare = getattr(module, "prepare", None)
            if callable(prepare):
                name = run.workloads[key]["name"]
                try:
                    with run.phase(f"data: {name} (prepare)"):
                        run.workloads[key]["prepared"] = prepare(context)
                except Exception as exc:
                    say(f"bench: {name}: prepare failed:\n{traceback.format_exc()}")
                    run.workloads[key].update(status="error", error=f"prepare: {exc.__class__.__name__}: {exc}")
        run.server = asyncio.run(_server_info(server.url))
        samples: list[dict[str, Any]] = []

        def sample(after: str, number: int) -> None:
            now = {name: platform_.process_of(name).pid for name in SERVICES}
            if "sequencer" in processes:
                now["sequencer"] = processes["sequencer"]
            samples.append({"after": after, "pass": number, "rss": rss(now), "pids": now})

        sample("data generated", 0)
        run.results = one_pass(1, modules, context, run, sample)
        if args.repeat:
            run.repeat_results = one_pass(2, modules, context, run, sample)
        if args.memory:
            memory = memory_results(samples, args.repeat)
            run.results += memory
            run.workloads["memory"] = {"name": "memory", "status": "ok" if memory else "no samples", "samples": samples}
            for result in memory:
                say(f"  {summary(result)}")
    run.phases["total"] = round(time.monotonic() - started, 2)
    return run


def stop_platform(platform_: Any) -> None:
    code = platform_.stop()
    if code != 0:
        say(f"bench: iro serve exited {code}; its log (the end):\n{platform_.log.read_text()[-5000:]}")


# --- Reporting ---------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """JSON without NaN or infinities (None instead)."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, dt.date | Path):
        return str(value)
    return value


def machine() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "cores": os.cpu_count() or 1,
        "cpu": common.cpu_model(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def libraries() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def document(run: Run) -> dict[str, Any]:
    args = run.args
    doc: dict[str, Any] = _clean(
        {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": "python -m bench " + " ".join(sys.argv[1:]),
            "machine": machine(),
            "postgres": {"where": run.database_title, **run.server},
            "libraries": libraries(),
            "load_generators": tool_versions(run.tools),
            "options": {
                "children": args.children,
                "years": args.years,
                "events": args.events,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "repeat": args.repeat,
                "smoke": args.smoke,
                "data": args.data,
                "seed": args.seed,
            },
            "data": run.data,
            "phases_seconds": run.phases,
            "workloads": run.workloads,
            "results": [r.as_json() for r in run.results],
            "repeat_results": [r.as_json() for r in run.repeat_results],
        }
    )
    return doc


def figure(m: Measurement | None) -> str:
    if m is None or m.throughput is None:
        return "-"
    value = m.throughput
    text = f"{value:,.0f}" if value >= 100 else f"{value:,.2f}" if value >= 1 else f"{value:.3g}"
    return f"{text} {m.unit}"


def ms(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def load_cpu(result: Result) -> str:
    values = [m.cpu["load"] for m in (result.platform, result.baseline) if m is not None and "load" in m.cpu]
    return f"{max(values):.0f} %" if values else "-"


def summary(result: Result) -> str:
    r = "-" if result.ratio is None else f"{result.ratio:.2f}"
    met = {True: "met", False: "NOT met", None: "not judged"}[result.met]
    return f"{result.workload} / {result.case}: {figure(result.platform)} vs {figure(result.baseline)}: {r} ({met})"


def table(run: Run) -> str:
    doc = document(run)
    m, pg = doc["machine"], doc["postgres"]
    args = run.args
    libs = ", ".join(f"{k} {v}" for k, v in doc["libraries"].items())
    loaders = ", ".join(doc["load_generators"].values()) or "none installed"
    data = run.data
    if data.get("how") == "iro simulate":
        data_line = (f"`iro simulate` {args.children} children, {data.get('iros')} IROs, {args.years} year(s), seed "
                     f"{args.seed}, fed over TCP (exit {data.get('exit')})")  # fmt: skip
    else:
        data_line = f"`bench.national_data` {args.children} children (bulk, IRO_TODAY {data.get('today')})"
    generation = {k.removeprefix("data: "): v for k, v in run.phases.items() if k.startswith("data: ")}
    lines = [
        "## One command: `python -m bench`",
        "",
        f"- Date: {doc['date'].replace('T', ' ')}; `{doc['command'].strip()}`: {args.seconds:g} s per case in "
        f"{args.rounds} round(s){'; every workload twice (--repeat)' if args.repeat else ''}",
        f"- Machine: {m['hostname']}, {m['cores']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM, {m['os']}; "
        f"Python {m['python']}",
        f"- PostgreSQL {pg.get('server_version', '?')} ({run.database_title}; shared_buffers "
        f"{pg.get('shared_buffers', '?')}, synchronous_commit {pg.get('synchronous_commit', '?')}); database "
        f"{pg.get('size', '?')}, {pg.get('children', '?')} children, {pg.get('footprint_events', '?')} footprint "
        "events when measuring began",
        f"- Libraries: {libs}; load generators: {loaders}",
        f"- Data: {data_line}; generated in " + ", ".join(f"{k} {v:.0f} s" for k, v in generation.items()),
        "- Phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in run.phases.items() if not k.startswith("data: ")),
    ]
    off = {w["name"]: w.get("error") or w["status"] for w in run.workloads.values() if w["status"] != "ok"}
    if off:
        lines.append("- Not measured: " + "; ".join(f"{k}: {v}" for k, v in off.items()))
    lines += [
        "",
        "| workload | case | platform | baseline | ratio | p50 / p95 / p99 ms | goal | met | load generator CPU |",
        "|---|---|--:|--:|--:|--:|---|---|--:|",
    ]
    for r in run.results:
        ratio_text = "-" if r.ratio is None else f"{r.ratio:.2f}"
        if r.ratio is not None and r.ratio_of != "throughput":
            ratio_text += f" ({r.ratio_of.removesuffix('_ms')})"
        met = {True: "met", False: "**NOT met**", None: "-"}[r.met]
        p = r.platform
        lat = "-" if p.p50_ms is None else f"{ms(p.p50_ms)} / {ms(p.p95_ms)} / {ms(p.p99_ms)}"
        lines.append(
            f"| {r.workload} | {r.case} | {figure(p)} | {figure(r.baseline)} | {ratio_text} | {lat} | {r.goal} | {met}"
            f" | {load_cpu(r)} |"
        )
    lines += [
        "",
        "ratio = platform / baseline: of throughput, higher is better (for the annual report throughput is 1 / "
        "the median time; for memory, RSS after the repeat / after the first pass), or of a latency where the "
        "ratio says so, e.g. `(p99)`, lower is better. p50/p95/p99 are the platform's, per "
        "request, transaction or report. Load generator CPU: % of one core (wrk, pgbench, or this Python "
        "process), the larger of the two sides. Notes per case, every CPU figure and the second pass are in "
        "the json: `bench/results/`.",
        "",
    ]
    notes = [f"- {r.workload} / {r.case}: {'; '.join(r.notes)}" for r in run.results if r.notes]
    return "\n".join([*lines, "Notes:", "", *notes] if notes else lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the platform, drop the database
    run = bench(args)
    doc = document(run)
    text = json.dumps(doc, indent=2) + "\n"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
        say(f"bench: {args.json}")
    body = table(run)
    print(body)
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        label = scale_label(args.children)
        machine = re.sub(r"[^A-Za-z0-9_.-]+", "-", socket.gethostname())
        name = f"{dt.date.today().isoformat()}-{machine}{'' if label == 'small' else '-' + label}.json"
        (RESULTS_DIR / name).write_text(text)
        common.write_results(section(label), body)
        say(f"bench: {RESULTS_DIR / name} and the one-command section of {RESULTS_MD}")
    failed = [w["name"] for w in run.workloads.values() if w["status"] == "error"]
    if failed:
        say(f"bench: failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
