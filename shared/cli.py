"""The `iro` command: `serve`, `token`, `migrate`, `sequencer`, `simulate`, `import`, `report`."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import httpx
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared import auth, importer, logs, migrate, report
from shared.embedded import EmbeddedPostgres
from shared.footprint import sequencer
from shared.settings import CommonSettings

EMBEDDED_DATABASE = "iro"
SERVICES = ("reviews", "escalations", "participation", "gateway")
# The gateway's aiohttp client crashed (SIGSEGV) inside uvloop under load (uvloop issue #706 reports
# the same, gone with `--loop asyncio`): the gateway runs on asyncio's own loop.
LOOP = {"reviews": [], "escalations": [], "participation": [], "gateway": ["--loop", "asyncio"]}


class ServeSettings(CommonSettings):
    """Where `iro serve` puts each process (prefix `IRO_`)."""

    model_config = SettingsConfigDict(env_prefix="IRO_", populate_by_name=True, extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="The address every process listens on.")
    gateway_port: int = Field(8000, ge=0, le=65535)
    reviews_port: int = Field(8001, ge=0, le=65535)
    escalations_port: int = Field(8002, ge=0, le=65535)
    participation_port: int = Field(8003, ge=0, le=65535)
    startup_timeout: float = Field(60.0, gt=0, description="Seconds to wait for every /readyz.")
    on_child_exit: Literal["restart", "stop", "continue"] = Field(
        "restart",
        description="When one process dies: restart it with back-off, stop everything, or leave it dead and "
        "keep the others running (to try failures).",
    )
    max_restarts: int = Field(
        5, ge=0, description="Restarts of one process within 10 minutes before `iro serve` stops everything."
    )
    sequencer_interval: float = Field(
        0.02,
        gt=0,
        le=5,
        description="Seconds between the footprint sequencer's rounds (`iro sequencer`): the longest an event "
        "committed while another transaction was sequencing waits for its `seq` when nothing else chains it.",
    )
    sequencer_vacuum_every: float = Field(
        1.0,
        gt=0,
        description="Seconds between the sequencer's VACUUMs of `footprint.pending` (when it saw work): every dead "
        "row left in the queue slows each append's look at it (10 s gave 0.51 of plain inserts, 1 s 0.70).",
    )


MAX_TOKEN_TTL = 30 * 24 * 3600  # seconds: a development token lives at most 30 days
RESTART_WINDOW = 600.0  # seconds: restarts counted against IRO_MAX_RESTARTS
MAX_BACKOFF = 30.0  # seconds: the back-off doubles from 1 s up to this


@dataclass
class Child:
    name: str
    port: int | None  # None: a process without an HTTP port (the footprint sequencer)
    process: subprocess.Popen[bytes]
    command: list[str] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)  # monotonic times of its restarts
    restart_at: float | None = None  # when a dead process is due to be started again


def backoff(recent_restarts: int) -> float:
    """Seconds to wait before the next restart: 1, 2, 4, ... up to `MAX_BACKOFF`."""
    return float(min(MAX_BACKOFF, 2**recent_restarts))


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, start_new_session=True)


def say(message: str, stream: IO[str] | None = None) -> None:
    print(message, file=stream or sys.stdout, flush=True)


class AlreadyRunning(RuntimeError):
    pass


class ServeLock:
    """One `iro serve` per data folder: a second one is told so instead of touching the database."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "serve.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self.path, "a+")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunning(
                f"iro serve is already running (pid {holder}) with its data in {self.path.parent}. "
                "Stop it first (Ctrl-C in its terminal), or point IRO_DATA_DIR at another folder."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_until_ready(urls: dict[str, str], *, timeout: float, exited: Callable[[], str | None]) -> None:
    """Poll each process's `/readyz` (name to base URL) until all answer 200. Raises RuntimeError
    when `exited()` says a process has gone, or after `timeout` seconds. Used by `iro serve` and by
    the end-to-end tests."""
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            gone = exited()
            if gone:
                raise RuntimeError(gone)
            for name, url in list(pending.items()):
                try:
                    if client.get(f"{url}/readyz").status_code == 200:
                        del pending[name]
                except httpx.TransportError:
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.2)  # a command-line process polling others, not an event loop


def _exited(children: list[Child]) -> str | None:
    for child in children:
        if child.process.poll() is not None:
            return f"the {child.name} process exited with code {child.process.returncode}"
    return None


def _stop_children(children: list[Child], grace: float = 10.0) -> None:
    for child in reversed(children):  # the gateway first: it stops taking requests
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def supervise(children: list[Child], settings: ServeSettings, env: dict[str, str], stop: threading.Event) -> int:
    """Watch the processes until `stop` is set. A process that dies is, by `IRO_ON_CHILD_EXIT`,
    restarted after a back-off (1 s, 2 s, 4 s ... 30 s; every restart logged with its count), or
    ends everything (`stop`), or is left dead (`continue`). More than `IRO_MAX_RESTARTS` restarts of
    one process within 10 minutes ends everything: a process that cannot stay up needs a person.
    Returns the exit code of `iro serve`: 0 when stopped on request, 1 when it gave up."""
    reported: set[str] = set()
    while not stop.wait(0.5):
        now = time.monotonic()
        for child in children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.process = _spawn(child.command, env)
                    child.restarts.append(now)
                    child.restart_at = None
                    say(f"iro serve: started the {child.name} process again (pid {child.process.pid}).", sys.stderr)
                continue
            returncode = child.process.poll()
            if returncode is None or child.name in reported:
                continue
            if settings.on_child_exit == "stop":
                say(f"iro serve: the {child.name} process stopped unexpectedly (exit {returncode}); stopping.",
                    sys.stderr)  # fmt: skip
                return 1
            if settings.on_child_exit == "continue":
                say(f"iro serve: the {child.name} process stopped (exit {returncode}); the rest run on.", sys.stderr)
                reported.add(child.name)
                continue
            recent = [at for at in child.restarts if now - at < RESTART_WINDOW]
            if len(recent) >= settings.max_restarts:
                say(
                    f"iro serve: the {child.name} process stopped (exit {returncode}) after {len(recent)} restarts "
                    f"in {RESTART_WINDOW / 60:.0f} minutes (IRO_MAX_RESTARTS={settings.max_restarts}); stopping.",
                    sys.stderr,
                )
                return 1
            delay = backoff(len(recent))
            child.restart_at = now + delay
            say(
                f"iro serve: the {child.name} process stopped (exit {returncode}); restarting it in {delay:.0f}s "
                f"(restart {len(recent) + 1} of {settings.max_restarts} allowed in {RESTART_WINDOW / 60:.0f} minutes).",
                sys.stderr,
            )
    return 0


def serve(settings: ServeSettings) -> int:
    lock = ServeLock(settings.data_dir)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        say(f"iro serve: {exc}", sys.stderr)
        return 1

    ports = {
        "reviews": settings.reviews_port,
        "escalations": settings.escalations_port,
        "participation": settings.participation_port,
        "gateway": settings.gateway_port,
    }
    busy = [f"{name} ({port})" for name, port in ports.items() if not _port_free(settings.host, port)]
    if busy:
        lock.release()
        say(
            f"iro serve: ports already in use on {settings.host}: {', '.join(busy)}. "
            "Set IRO_GATEWAY_PORT, IRO_REVIEWS_PORT, IRO_ESCALATIONS_PORT or IRO_PARTICIPATION_PORT.",
            sys.stderr,
        )
        return 1

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    database: EmbeddedPostgres | None = None
    children: list[Child] = []
    code = 0
    try:
        url = settings.database_url
        if not url:
            database = EmbeddedPostgres(settings.data_dir / "pg")
            say(f"Starting the embedded PostgreSQL server (data in {database.pgdata}) ...")
            database.start()
            url = database.ensure_database(EMBEDDED_DATABASE)
        say("Applying migrations ...")
        migrate.upgrade(url)

        env = dict(os.environ, DATABASE_URL=url)
        sequencing = [sys.executable, "-m", "shared.cli", "sequencer"]
        children.append(Child("sequencer", None, _spawn(sequencing, env), command=sequencing))
        for name in ("reviews", "escalations", "participation"):
            env[f"GATEWAY_{name.upper()}_URL"] = f"http://{settings.host}:{ports[name]}"
        for name in SERVICES:
            command = [
                sys.executable, "-m", "uvicorn", f"services.{name}.main:create_app", "--factory",
                "--host", settings.host, "--port", str(ports[name]), "--no-access-log", *LOOP[name],
            ]  # fmt: skip
            children.append(Child(name, ports[name], _spawn(command, env), command=command))
        wait_until_ready(
            {child.name: f"http://{settings.host}:{child.port}" for child in children if child.port is not None},
            timeout=settings.startup_timeout,
            exited=lambda: _exited(children),
        )

        gateway = f"http://{settings.host}:{settings.gateway_port}"
        say(f"\nThe IRO Footprint Platform is running: {gateway}  (API docs: {gateway}/docs)")
        for child in children[:-1]:
            where = f"http://{settings.host}:{child.port}" if child.port is not None else f"pid {child.process.pid}"
            say(f"  {child.name:<14} {where}")
        say("A development token:  TOKEN=$(python3 dev.py iro token --role manager --sub manager@council.gov.uk)")
        say(f'Then:  curl -H "Authorization: Bearer $TOKEN" {gateway}/v1/iros    (a walkthrough: docs/gateway.md)')
        say("Ctrl-C stops everything.\n")

        if database is not None:
            say(f"  database       pid {database.running_pid()} (data in {database.pgdata})")
        code = supervise(children, settings, env, stop)
    except Exception as exc:  # report and fall through to the clean shutdown
        say(f"iro serve: {exc}", sys.stderr)
        code = 1
    finally:
        say("Stopping ...")
        _stop_children(children)
        if database is not None:
            try:
                database.stop()
            except Exception as exc:  # say so plainly: the database may still be running
                say(f"iro serve: could not stop the database in {database.pgdata}: {exc}", sys.stderr)
                code = 1
        lock.release()
        say("Stopped.")
    return code


def run_sequencer(settings: ServeSettings) -> int:
    """`iro sequencer`: chain the footprint's pending events every `IRO_SEQUENCER_INTERVAL` seconds
    until SIGTERM or Ctrl-C (shared.footprint.sequencer.run), as `DATABASE_URL`'s own user."""
    if not settings.database_url:
        say("iro sequencer: DATABASE_URL is not set", sys.stderr)
        return 2
    database_url = settings.database_url

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await sequencer.run(
            database_url, interval=settings.sequencer_interval, vacuum_every=settings.sequencer_vacuum_every, stop=stop
        )

    logs.configure(service="sequencer")
    asyncio.run(main())
    return 0


def token(settings: CommonSettings, *, roles: list[str], sub: str, ttl: int) -> int:
    unknown = [role for role in roles if role not in auth.ROLES]
    if unknown:
        say(f"iro token: unknown role {unknown[0]!r}; roles are {', '.join(auth.ROLES)}", sys.stderr)
        return 2
    if settings.production:
        say("iro token: development tokens are refused when IRO_ENV=production", sys.stderr)
        return 2
    if not 0 < ttl <= MAX_TOKEN_TTL:
        say(f"iro token: --ttl must be 1 to {MAX_TOKEN_TTL} seconds (it would print a token that is "
            f"{'already expired' if ttl <= 0 else 'valid for over 30 days'})", sys.stderr)  # fmt: skip
        return 2
    say(auth.mint_development_token(settings, sub=sub, roles=roles, ttl=ttl))
    return 0


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """`iro simulate` (docs/simulate.md)."""
    parser.add_argument("--children", type=int, required=True, help="how many children (N)")
    parser.add_argument("--iros", type=int, required=True, help="how many IROs (M)")
    parser.add_argument("--years", type=int, required=True, help="how many years, ending yesterday (Y)")
    parser.add_argument("--seed", type=int, required=True, help="the same seed (on the same day) gives the same world")
    parser.add_argument(
        "--gateway",
        help="the platform's gateway (default: the URL iro serve prints, from IRO_HOST and IRO_GATEWAY_PORT)",
    )
    parser.add_argument("--batch-size", type=int, default=500, help="events per POST /v1/events (default 500)")
    parser.add_argument("--concurrency", type=int, default=8, help="API requests at a time (default 8)")
    parser.add_argument("--expected", type=Path, help="write the expected figures (JSON) to this file")
    parser.add_argument(
        "--no-api-activity",
        action="store_true",
        help="send only the case system's events (no decisions, escalations ...)",
    )
    parser.add_argument("--dry-run", action="store_true", help="generate and write the expected figures; send nothing")
    parser.add_argument(
        "--ssda903-dir",
        type=Path,
        help="write the world's SSDA903 returns (DIR/<year>/header.csv, episodes.csv, reviews.csv) and the figures "
        "expected once they are imported (DIR/expected.json); send nothing",
    )
    parser.add_argument(
        "--collection-years",
        help="with --ssda903-dir: the returns to write, e.g. 2024,2025 (default: every year the world meets)",
    )
    parser.add_argument(
        "--ssda903-history",
        choices=["period", "year"],
        default="period",
        help="with --ssda903-dir: a return holds each care period whole from its start (period, the default) or "
        "only the episodes open in its year (year)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iro", description="The IRO Footprint Platform.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="start the database (embedded unless DATABASE_URL), services and gateway")
    mint = commands.add_parser("token", help="print a development JWT the local platform accepts")
    mint.add_argument("--role", action="append", required=True, choices=auth.ROLES, help="repeat for more")
    mint.add_argument("--sub", required=True, help="the subject; an IRO's email identifies that IRO")
    mint.add_argument(
        "--ttl", type=int, default=3600, help=f"seconds until it expires, 1 to {MAX_TOKEN_TTL} (default 3600)"
    )
    commands.add_parser("migrate", help="apply the migrations to DATABASE_URL")
    commands.add_parser(
        "sequencer", help="chain the footprint's pending events into the log (iro serve starts one; docs/footprint.md)"
    )
    simulate = commands.add_parser(
        "simulate", help="generate children and IROs over years from a seed, feed them to a running platform"
    )
    add_simulate_arguments(simulate)
    importing = commands.add_parser("import", help="upload an SSDA903 return to the gateway and print the report")
    importer.add_arguments(importing)
    reporting = commands.add_parser("report", help="write the annual report (HTML, or --json) from the gateway")
    report.add_arguments(reporting)
    args = parser.parse_args(argv)

    if args.command in ("import", "report"):
        if args.gateway is None:
            serving = ServeSettings()
            args.gateway = f"http://{serving.host}:{serving.gateway_port}"
        return importer.run(args) if args.command == "import" else report.run(args)

    if args.command == "simulate":
        from shared.simulate import command as simulation  # only this command needs it

        if args.gateway is None:
            serving = ServeSettings()
            args.gateway = f"http://{serving.host}:{serving.gateway_port}"
        return simulation.run(args)

    if args.command == "serve":
        return serve(ServeSettings())
    if args.command == "sequencer":
        return run_sequencer(ServeSettings())
    if args.command == "token":
        return token(CommonSettings(), roles=args.role, sub=args.sub, ttl=args.ttl)
    settings = CommonSettings()
    if not settings.database_url:
        say(
            "iro migrate: DATABASE_URL is not set (iro serve migrates its embedded database itself)",
            sys.stderr,
        )
        return 2
    migrate.upgrade(settings.database_url)
    say(f"Migrated to {migrate.head_revision()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
