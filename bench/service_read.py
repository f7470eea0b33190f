"""Service read: `GET /v1/children/{id}` on the reviews service against a bare app and raw asyncpg.

    .venv/bin/python -m bench.service_read [--seconds 10] [--rounds 3]

Alone, it starts `iro serve` (embedded PostgreSQL) on free ports in a temporary folder; under
`python -m bench` the runner hands it the running platform (`run(context)`). It registers an IRO and
a child with an open care period allocated to that IRO (through the gateway), then measures, with 16
clients:

- **platform**: `GET /v1/children/{id}` on the reviews service's own port (no gateway): `wrk` (one
  thread, keep-alive), a manager's token. The service checks the token and the role table, opens a
  session, reads the child, its open care period and its allocation (three queries) and answers
  `schemas.ChildRead`.
- **bare app**: a FastAPI app started by this module (`--serve-bare`) under uvicorn with the settings
  `iro serve` gives the reviews service (shared/cli.py: `--no-access-log`, uvicorn's default loop and
  HTTP parser, i.e. uvloop and httptools, one process), running the same three queries with an asyncpg
  pool (10 to 20 connections, as the service's pool of 10 plus 10 overflow) as the reviews database
  role and returning the service's own response model (`services.reviews.schemas.ChildRead`, built
  with the same rules). No token, no middleware, no ORM: what FastAPI, uvicorn and asyncpg cost.
  Same `wrk` load; the answers are checked equal before measuring.
- **raw asyncpg**: the same three queries per request from 16 connections in this process (uvloop),
  no HTTP: the floor. Its load generator is this process, so its figure may be the client's limit.

Each side runs `context.rounds` rounds of `context.seconds / rounds` seconds (1 s warm-up, rotating
order). Per side: req/s, p50/p95/p99 ms, errors (non-2xx, socket errors), CPU as % of one core by
process (`load`: wrk or this process; `reviews`, `bare` the bare app, `postgres` with its backends).
`extra` gives each process's CPU ms per request. Goal: platform / bare app req/s >= 0.5 (measured
2026-11-29: 455/s, 0.034 of raw asyncpg's 13,300/s; 2.5 ms of reviews CPU per request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import _load
from bench.common import MANAGER, ROOT, Context, Result, ratio, stop_process, wait_answering
from services.reviews import rules, schemas
from shared.clock import Clock
from shared.settings import CommonSettings

WORKLOAD = "service read"
CLIENTS = 16
GOAL = 0.5

CHILD = "SELECT id, la_reference, date_of_birth, display_name, sex, uasc FROM reviews.child WHERE id = $1"
OPEN_PERIOD = (
    "SELECT id, child_id, started_on, legal_status, placement_type, ended_on, end_reason, started_before_data"
    " FROM reviews.care_period WHERE child_id = $1 AND ended_on IS NULL"
)
ALLOCATED = (
    "SELECT iro_id FROM reviews.allocation WHERE child_id = $1 AND allocated_on <= $2"
    " AND (ended_on IS NULL OR ended_on > $2) ORDER BY allocated_on DESC LIMIT 1"
)


def role() -> str | None:
    settings = CommonSettings()
    return settings.db_role("reviews") if settings.db_use_service_roles else None


async def read_child(connection: Any, child_id: uuid.UUID, today: dt.date) -> tuple[Any, Any, Any]:
    """The three queries the service runs for `GET /v1/children/{id}` (child, open period, allocation)."""
    child = await connection.fetchrow(CHILD, child_id)
    period = await connection.fetchrow(OPEN_PERIOD, child_id) if child is not None else None
    iro_id = await connection.fetchval(ALLOCATED, child_id, today) if child is not None else None
    return child, period, iro_id


# --- The bare app (a subprocess: `service_read.py --serve-bare --port P`) -----------------------------


def bare_app() -> Any:
    from fastapi import FastAPI, HTTPException

    settings = CommonSettings()
    clock = Clock(settings.today)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.database_url
        server_settings = {"role": name} if (name := role()) else {}
        async with asyncpg.create_pool(
            settings.database_url, min_size=10, max_size=20, server_settings=server_settings
        ) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/children/{child_id}")
    async def read(child_id: uuid.UUID) -> schemas.ChildRead:
        today = clock.today()
        async with app.state.pool.acquire() as connection:
            child, period, iro_id = await read_child(connection, child_id, today)
        if child is None:
            raise HTTPException(404)
        born = child["date_of_birth"]
        cutoff = rules.statutory_cutoff(born)
        current = None
        if period is not None and today < cutoff:
            current = schemas.CarePeriodRead(
                id=period["id"],
                child_id=period["child_id"],
                started_on=period["started_on"],
                legal_status=period["legal_status"],
                placement_type=period["placement_type"],
                ended_on=rules.effective_end(period["ended_on"], born, today=today),
                end_reason=period["end_reason"],
                short_break=rules.is_short_break(period["legal_status"]),
                started_before_data=period["started_before_data"],
            )
        return schemas.ChildRead(
            id=child["id"],
            la_reference=child["la_reference"],
            date_of_birth=born,
            display_name=child["display_name"],
            sex=child["sex"],
            uasc=child["uasc"],
            eighteenth_birthday=cutoff,
            current_care_period=current,
            iro_id=iro_id,
        )

    return app


def serve_bare(port: int) -> None:
    import uvicorn

    # As `iro serve` starts the reviews service: uvicorn's defaults (uvloop, httptools), no access log.
    uvicorn.run(bare_app(), host="127.0.0.1", port=port, access_log=False)


@contextlib.contextmanager
def bare_process(database_url: str, folder: Path) -> Any:
    from tests.e2e.processes import free_ports

    [port] = free_ports(1)
    log = folder / "bare-app.log"
    env = dict(os.environ, DATABASE_URL=database_url)
    command = [sys.executable, "-m", "bench.service_read", "--serve-bare", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(url, process, what="the bare app", log=log)
        yield process, url
    finally:
        stop_process(process)


# --- Raw asyncpg -------------------------------------------------------------------------------------


class Raw:
    """16 asyncpg connections (reviews role) in this process, on their own uvloop loop, opened before
    any CPU is metered."""

    def __init__(self, database_url: str, child_id: uuid.UUID) -> None:
        self.database_url = database_url
        self.child_id = child_id
        self.connections: list[Any] = []
        try:
            import uvloop

            self.loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            self.loop = asyncio.new_event_loop()

    def __enter__(self) -> Raw:
        server_settings = {"role": name} if (name := role()) else {}

        async def connect() -> list[Any]:
            return list(
                await asyncio.gather(
                    *(asyncpg.connect(self.database_url, server_settings=server_settings) for _ in range(CLIENTS))
                )
            )

        self.connections = self.loop.run_until_complete(connect())
        return self

    def __exit__(self, *_: object) -> None:
        async def close() -> None:
            await asyncio.gather(*(c.close() for c in self.connections))

        self.loop.run_until_complete(close())
        self.loop.close()

    def run(self, seconds: float) -> _load.Run:
        clock = Clock(CommonSettings().today)

        async def work(worker: int, n: int) -> None:
            child, _, _ = await read_child(self.connections[worker], self.child_id, clock.today())
            if child is None:
                raise LookupError(self.child_id)

        return self.loop.run_until_complete(_load.python_load(work, clients=CLIENTS, seconds=seconds))


# --- Measuring ---------------------------------------------------------------------------------------


def make_child(context: Context, token: str) -> uuid.UUID:
    """An IRO and a child with an open care period allocated to that IRO, through the gateway."""
    tag = uuid.uuid4().hex[:8]
    started = (dt.date.today() - dt.timedelta(days=28)).isoformat()
    with httpx.Client(base_url=context.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=20) as client:

        def ok(response: httpx.Response, status: int = 200) -> Any:
            if response.status_code != status:
                raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} "
                                   f"{response.text}")  # fmt: skip
            return response.json()

        iro = ok(client.post("/v1/iros", json={"name": "Bench", "email": f"sr-{tag}@council.gov.uk", "fte": 0.8}), 201)
        child = ok(client.post("/v1/children", json={"la_reference": f"SR-{tag}", "date_of_birth": "2012-05-01"}), 201)
        period = {"started_on": started, "legal_status": "C2", "placement_type": "U4"}
        ok(client.post(f"/v1/children/{child['id']}/care-periods", json=period), 201)
        ok(client.put(f"/v1/children/{child['id']}/iro", json={"iro_id": iro["id"], "allocated_on": started}))
    return uuid.UUID(child["id"])


def check_same(urls: dict[str, str], token: str) -> None:
    """The service and the bare app answer 200 with the same body."""
    bodies = {}
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {token}"}) as client:
        for name, url in urls.items():
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: GET {url} answered {response.status_code}: {response.text}")
            bodies[name] = response.json()
    if len({repr(sorted(body.items())) for body in bodies.values()}) != 1:
        raise RuntimeError(f"the service and the bare app answer differently: {bodies}")


def run(context: Context) -> list[Result]:
    """The service's read against the bare app and against raw asyncpg."""
    token = context.token(["manager"], MANAGER)
    child_id = make_child(context, token)
    path = f"/v1/children/{child_id}"
    with bare_process(context.database_url, context.folder) as (bare, bare_url), Raw(
        context.database_url, child_id
    ) as raw:  # fmt: skip
        urls = {"reviews": context.services["reviews"] + path, "bare": bare_url + path}
        check_same(urls, token)
        processes: dict[str, int] = {
            name: context.processes[name] for name in ("reviews", "postgres") if name in context.processes
        }
        meter = _load.CpuMeter({**processes, "bare": bare.pid})
        rounds = _load.Rounds.of(context)
        headers = {"Authorization": f"Bearer {token}"}

        def wrk(url: str) -> Any:
            return lambda s: _load.wrk_run(url, headers=headers, clients=CLIENTS, seconds=s, folder=context.folder)

        labels = {
            "platform": "GET /v1/children/{id} on the reviews service, wrk, 16 clients",
            "bare": "bare FastAPI app + asyncpg, same queries and model, wrk, 16 clients",
            "raw": "raw asyncpg, the same 3 queries, 16 connections",
        }
        cases: dict[str, tuple[_load.Side, Any]] = {
            "platform": (_load.Side(labels["platform"]), wrk(urls["reviews"])),
            "bare": (_load.Side(labels["bare"]), wrk(urls["bare"])),
            "raw": (_load.Side(labels["raw"]), raw.run),
        }
        rounds.run(WORKLOAD, cases, meter)

    platform_, bare_side, raw_side = (cases[name][0] for name in ("platform", "bare", "raw"))
    per_request = {
        "reviews": platform_.ms_per_request("reviews"),
        "postgres (platform)": platform_.ms_per_request("postgres"),
        "bare": bare_side.ms_per_request("bare"),
        "postgres (bare)": bare_side.ms_per_request("postgres"),
        "load (raw asyncpg process)": raw_side.ms_per_request("load"),
        "postgres (raw)": raw_side.ms_per_request("postgres"),
    }
    notes = [
        f"{rounds.count} round(s) of {rounds.seconds:g} s per side; round rates platform "
        f"{[round(x) for x in platform_.round_rates]}, bare {[round(x) for x in bare_side.round_rates]}, raw "
        f"{[round(x) for x in raw_side.round_rates]}",
    ]
    extra = {
        "clients": CLIENTS,
        "cpu_ms_per_request": per_request,
        "reviews_cpu_ms_per_request": platform_.ms_per_request("reviews"),
    }
    to_bare = ratio(platform_.rate, bare_side.rate)

    def against(baseline: _load.Side, case: str, goal: str, met: bool | None) -> Result:
        return Result(
            workload=WORKLOAD, case=f"GET /v1/children/{{id}}, reviews service vs {case}",
            platform=platform_.measurement(), baseline=baseline.measurement(),
            ratio=ratio(platform_.rate, baseline.rate), goal=goal, met=met, notes=notes, extra=extra,
        )  # fmt: skip

    return [
        against(bare_side, "a bare FastAPI app", f"platform / bare app req/s >= {GOAL}",
                None if context.smoke or to_bare is None else to_bare >= GOAL),
        against(raw_side, "raw asyncpg (the floor)",
                "none (the floor; raw asyncpg's load generator is this Python process)", None),
    ]  # fmt: skip


def main() -> None:
    parser = _load.parser(__doc__)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.port)
        return
    _load.alone("iro-bench-read-", args, run)


if __name__ == "__main__":
    main()
