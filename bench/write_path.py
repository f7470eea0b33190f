"""Write path: `POST /v1/children` through the gateway against the same rows written by raw asyncpg.

    .venv/bin/python -m bench.write_path [--seconds 10] [--rounds 3] [--idempotency-key]

Alone, it starts `iro serve` (embedded PostgreSQL) on free ports in a temporary folder; under
`python -m bench` the runner hands it the running platform (`run(context)`).

- **platform**: `POST /v1/children` through the gateway over TCP, 16 clients: `wrk` (one thread,
  keep-alive) with a Lua `request()` that builds a unique body per request
  (`{"la_reference": "<run>-<n>", "date_of_birth": "2012-05-01"}`), a manager's token. No
  `Idempotency-Key` (the contract makes it optional); `--idempotency-key` sends a unique one per
  request as well, to see what keeping the answer costs (a second result, no goal). The reviews
  service checks the token and the role table, checks the reference is free, inserts the child,
  appends `child.registered` to the footprint and commits: one transaction (and, since this issue,
  no reads of the new child's care period and allocation, which cannot exist yet).
- **baseline**: raw asyncpg, 16 connections in this process (one asyncio task each, uvloop), each
  writing the same child row (`reviews.child`: the columns the service writes) and its
  `child.registered` event through `footprint.append_event` (canonical parts from
  `shared.footprint.canonical`, the same actor, subject and payload) in one transaction, as the
  reviews database role: the floor PostgreSQL and the footprint's ordered append set.

Each side runs `context.rounds` rounds of `context.seconds / rounds` seconds (1 s warm-up before
each, rotating which side goes first). Before each, the consumers and the sequencer are let catch up
(until they use under 10 % of a core) on the events the previous case wrote: the baseline writes
~1,000 events a second, which the consumers read for seconds after it stops, and that work must not
be charged to the next case. Their work during a case (on its own events) is counted in it.

Reported per side: req/s, p50/p95/p99 in ms, errors (non-2xx, socket errors; exceptions for the
baseline) and CPU as % of one core by process (`load`: the load generator, i.e. wrk or this process;
`gateway`, `reviews`, `sequencer` (the footprint's, when `iro serve` runs one: it chains events left
pending), `postgres` with its backends, `consumers`: the escalations and participation services,
which read every `child.registered` from the footprint, the baseline's too; `other`, `steal`).
`extra` gives CPU ms per request of each process. Goal: platform / baseline req/s
>= 0.25 (measured 2026-11-29: 0.13, 92/s against 726/s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import asyncpg
import httpx

from bench import _load
from bench.common import MANAGER, Context, Result, ratio
from shared.footprint import canonical, events
from shared.footprint.batch import PendingEvent
from shared.footprint.models import Actor, Subject
from shared.settings import CommonSettings

WORKLOAD = "write path"
CLIENTS = 16
GOAL = 0.25
DATE_OF_BIRTH = "2012-05-01"
BODY = '{"la_reference":"%s-%d","date_of_birth":"' + DATE_OF_BIRTH + '"}'

INSERT_CHILD = (
    "INSERT INTO reviews.child (id, la_reference, date_of_birth, display_name, sex, uasc)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
APPEND = (
    "SELECT seq, recorded_at, prev_hash, hash FROM footprint.append_event("
    "$1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14)"
)


def check_platform(context: Context, token: str) -> None:
    """One POST answers 201 with the child (and a unique reference is taken only once)."""
    reference = f"WP-CHECK-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{context.gateway}/v1/children",
        json={"la_reference": reference, "date_of_birth": DATE_OF_BIRTH},
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    )
    if response.status_code != 201:
        raise RuntimeError(f"POST /v1/children answered {response.status_code}: {response.text}")


def platform_run(context: Context, token: str, seconds: float, *, key: bool) -> _load.Run:
    return _load.wrk_run(
        f"{context.gateway}/v1/children",
        headers={"Authorization": f"Bearer {token}"},
        clients=CLIENTS,
        seconds=seconds,
        folder=context.folder,
        post_body=BODY,
        prefix=f"WP{'K' if key else ''}-{uuid.uuid4().hex[:10]}",
        idempotency_key=key,
    )


class Baseline:
    """16 asyncpg connections as the reviews role, each writing a child and its event per transaction."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        settings = CommonSettings()
        self.role = settings.db_role("reviews") if settings.db_use_service_roles else None
        self.actor = Actor(sub=MANAGER, role="manager")
        self.born = dt.date.fromisoformat(DATE_OF_BIRTH)
        self.connections: list[asyncpg.Connection] = []
        try:
            import uvloop

            self.loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            self.loop = asyncio.new_event_loop()

    async def write(self, connection: asyncpg.Connection, reference: str) -> None:
        child_id = uuid.uuid4()
        pending = PendingEvent.of(
            events.ChildRegistered(child_id=child_id, la_reference=reference, date_of_birth=self.born, uasc=None),
            actor=self.actor,
            subject=Subject("child", child_id),
            service="reviews",
            child_id=child_id,
            iro_id=None,
            occurred_at=dt.datetime.now(dt.UTC),
            request_id=str(uuid.uuid4()),
        )
        fields = pending.fields()
        before_recorded_at, before_seq, after_seq = canonical.canonical_parts(**fields)
        async with connection.transaction():
            await connection.execute(INSERT_CHILD, child_id, reference, self.born, None, None, None)
            await connection.fetchrow(
                APPEND,
                fields["id"], fields["type"], fields["occurred_at"], fields["service"],
                canonical.dumps(fields["actor"]), fields["child_id"], fields["iro_id"], fields["subject_type"],
                fields["subject_id"], canonical.dumps(fields["payload"]), fields["request_id"],
                before_recorded_at, before_seq, after_seq,
            )  # fmt: skip

    async def connect(self) -> None:
        settings = {"role": self.role} if self.role else {}
        self.connections = list(
            await asyncio.gather(
                *(asyncpg.connect(self.database_url, server_settings=settings) for _ in range(CLIENTS))
            )
        )

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections))

    async def load(self, seconds: float) -> _load.Run:
        prefix = f"WPB-{uuid.uuid4().hex[:10]}"

        async def work(worker: int, n: int) -> None:
            await self.write(self.connections[worker], f"{prefix}-{worker}-{n}")

        return await _load.python_load(work, clients=CLIENTS, seconds=seconds)

    def run(self, seconds: float) -> _load.Run:
        return self.loop.run_until_complete(self.load(seconds))

    def __enter__(self) -> Baseline:
        """Its connections on its own event loop (uvloop), opened before any CPU is metered (a backend
        that starts and ends within a measurement would be missed)."""
        self.loop.run_until_complete(self.connect())
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.run_until_complete(self.close())
        self.loop.close()


def run(context: Context) -> list[Result]:
    """The write path against its baseline (`--idempotency-key` by hand adds the keyed case)."""
    return measure(context, with_key=False)


def measure(context: Context, *, with_key: bool) -> list[Result]:
    token = context.token(["manager"], MANAGER)
    check_platform(context, token)
    with Baseline(context.database_url) as baseline:
        baseline.run(0.2)  # writes: fails early if the role cannot
        return compare(context, token, baseline, with_key=with_key)


def compare(context: Context, token: str, baseline: Baseline, *, with_key: bool) -> list[Result]:
    own = ("gateway", "reviews", "sequencer", "postgres")
    watched = {name: pid for name, pid in context.processes.items() if name in own}
    consumers: dict[str, int] = {
        name: context.processes[name] for name in ("escalations", "participation") if name in context.processes
    }
    meter = _load.CpuMeter({**watched, **consumers})
    rounds = _load.Rounds.of(context)

    cases: dict[str, tuple[_load.Side, Any]] = {
        "platform": (
            _load.Side("POST /v1/children via the gateway, wrk, 16 clients"),
            lambda s: platform_run(context, token, s, key=False),
        ),
        "baseline": (
            _load.Side("asyncpg: INSERT child + footprint.append_event, 16 connections"),
            baseline.run,
        ),
    }
    if with_key:
        cases["platform+key"] = (
            _load.Side("POST /v1/children via the gateway with a unique Idempotency-Key, wrk, 16 clients"),
            lambda s: platform_run(context, token, s, key=True),
        )
    # Whatever reads the footprint after a write: its work on one case's events must not fall in the next.
    followers = [
        pid for name, pid in context.processes.items() if name in ("escalations", "participation", "sequencer")
    ]
    settled = [0.0]

    def settle() -> None:
        settled[0] += _load.settle(followers)

    rounds.run(WORKLOAD, cases, meter, before=settle)

    base = cases["baseline"][0]
    results = []
    for name in ("platform", "platform+key"):
        if name not in cases:
            continue
        side = cases[name][0]
        for each in (side, base):  # the consumers, together (they read the baseline's events too)
            for role in ("escalations", "participation"):
                if role in each.cpu:
                    each.cpu["consumers"] = each.cpu.get("consumers", 0.0) + each.cpu.pop(role)
        r = ratio(side.rate, base.rate)
        goal = f"platform / baseline req/s >= {GOAL}" if name == "platform" else "none (what the key costs)"
        results.append(
            Result(
                workload=WORKLOAD,
                case=side.label.split(",")[0],
                platform=side.measurement(),
                baseline=base.measurement(),
                ratio=r,
                goal=goal,
                met=(r is not None and r >= GOAL) if name == "platform" and not context.smoke else None,
                notes=[
                    f"{rounds.count} round(s) of {rounds.seconds:g} s per side; round rates platform "
                    f"{[round(x) for x in side.round_rates]}, baseline {[round(x) for x in base.round_rates]}",
                    "baseline load is this Python process (asyncpg on uvloop): its CPU is `load`",
                    f"before each case the consumers and sequencer were let catch up on the previous case's events "
                    f"({settled[0]:.0f} s in all)",
                ],
                extra={
                    "clients": CLIENTS,
                    "cpu_ms_per_request": {
                        role: side.ms_per_request(role)
                        for role in ("gateway", "reviews", "sequencer", "postgres", "consumers", "load")
                    },
                    "baseline_cpu_ms_per_request": {
                        role: base.ms_per_request(role) for role in ("sequencer", "postgres", "consumers", "load")
                    },
                    "reviews_cpu_ms_per_request": side.ms_per_request("reviews"),
                },
            )
        )
    return results


def main() -> None:
    parser = _load.parser(__doc__)
    parser.add_argument("--idempotency-key", action="store_true", help="also measure with a unique Idempotency-Key")
    args = parser.parse_args()
    _load.alone("iro-bench-write-", args, lambda context: measure(context, with_key=args.idempotency_key))


if __name__ == "__main__":
    main()
