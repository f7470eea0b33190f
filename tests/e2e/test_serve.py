"""`iro serve` end to end: a fresh embedded database, four processes over TCP, a clean stop."""

import subprocess
import sys

import httpx
import psutil
import pytest

from tests.e2e.processes import SERVICES, start_platform

pytestmark = pytest.mark.e2e


def postmaster_pid(pgdata) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def test_iro_serve_starts_everything_and_stops_leaving_nothing_running(folder):
    platform = start_platform(folder / "data")
    try:
        platform.wait_ready()
        for name in SERVICES:
            ready = httpx.get(f"{platform.url(name)}/readyz", timeout=5)
            assert ready.status_code == 200, name
            assert ready.json()["service"] == name
        pgdata = platform.data_dir / "pg"
        database_pid = postmaster_pid(pgdata)
        processes = psutil.Process(platform.process.pid).children(recursive=True)
        assert len(processes) == 5  # the footprint sequencer, the three services and the gateway
        assert sum("sequencer" in process.cmdline() for process in processes) == 1
        assert psutil.pid_exists(database_pid)

        # A second `iro serve` on the same data says so and touches nothing.
        second = subprocess.run(
            [sys.executable, "-m", "shared.cli", "serve"],
            env=platform.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert httpx.get(f"{platform.url()}/readyz", timeout=5).status_code == 200
    finally:
        code = platform.stop()
    assert code == 0, platform.log.read_text()
    survivors = [p.pid for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []
    assert not psutil.pid_exists(database_pid) or psutil.Process(database_pid).status() == psutil.STATUS_ZOMBIE
    leftover = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and str(pgdata) in " ".join(p.info["cmdline"])
    ]
    assert leftover == []
    assert "Stopped." in platform.log.read_text()


def test_iro_serve_restarts_on_the_same_data(folder):
    data = folder / "data"
    first = start_platform(data)
    try:
        first.wait_ready()
    finally:
        assert first.stop() == 0
    second = start_platform(data)
    try:
        second.wait_ready()
        assert httpx.get(f"{second.url('reviews')}/readyz", timeout=5).json()["migrations"] == "ok"
    finally:
        assert second.stop() == 0
