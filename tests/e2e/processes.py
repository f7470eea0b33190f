"""Start `iro serve` as a real process on free ports and wait for it, for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psutil

from shared.cli import wait_until_ready

T = TypeVar("T")

SERVICES = ("gateway", "reviews", "escalations", "participation")
RUNNING = "Ctrl-C stops everything."  # the last line `iro serve` prints before it supervises


def eventually(read: Callable[[], T], done: Callable[[T], bool], seconds: float = 15, every: float = 0.1) -> T:
    """`read()` again every `every` seconds until `done(value)` or `seconds` have passed; the last value
    (the caller asserts on it). For what happens after an answer: a consumer's catch-up, an import."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(every)


def free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class Platform:
    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    data_dir: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def process_of(self, service: str) -> psutil.Process:
        """The uvicorn process `iro serve` started for `service` (found by its port)."""
        port = str(self.ports[service])
        for process in psutil.Process(self.process.pid).children(recursive=True):
            if port in process.cmdline():
                return process
        raise AssertionError(f"no {service} process on port {port}")

    def url(self, service: str = "gateway") -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        def exited() -> str | None:
            code = self.process.poll()
            return None if code is None else f"iro serve exited {code}:\n{self.log.read_text()}"

        try:
            wait_until_ready({name: self.url(name) for name in SERVICES}, timeout=timeout, exited=exited)
            # Every process answers; `iro serve` itself is supervising once it has said so.
            deadline = time.monotonic() + timeout
            while RUNNING not in self.log.read_text():
                if (gone := exited()) or time.monotonic() > deadline:
                    raise RuntimeError(gone or f"iro serve did not say it was running within {timeout:.0f}s")
                time.sleep(0.1)  # polling a log file with a deadline, as wait_until_ready polls /readyz
        except RuntimeError as exc:
            raise AssertionError(f"{exc}\n{self.log.read_text()}") from None

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def start_platform(
    data_dir: Path, *, database_url: str | None = None, extra_env: dict[str, str] | None = None
) -> Platform:
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        IRO_DATA_DIR=str(data_dir),
        IRO_GATEWAY_PORT=str(ports["gateway"]),
        IRO_REVIEWS_PORT=str(ports["reviews"]),
        IRO_ESCALATIONS_PORT=str(ports["escalations"]),
        IRO_PARTICIPATION_PORT=str(ports["participation"]),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra_env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "serve"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Platform(process=process, ports=ports, data_dir=data_dir, log=log, env=env)
