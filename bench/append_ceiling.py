"""The footprint's append ceiling, measured with pgbench: the platform's per-event append against plain
inserts and against a prototype of a pending table with a single sequencer (run by hand; issue 15).

    .venv/bin/python -m bench.append_ceiling [--database-url URL] [--seconds 20] [--clients 8] [--write-results]
    .venv/bin/python -m bench.append_ceiling --seconds 5                      # a check in about two minutes

One throwaway database (on an embedded PostgreSQL in a temporary folder, or `iro_bench_ceiling_<random>`
on the server at `--database-url` / `DATABASE_URL`, dropped `WITH (FORCE)` at the end), migrated to
head, so the real `footprint.append_event` and the footprint's triggers exist. pgbench then runs each
case with `--clients` connections, one event per transaction, every event the same realistic row (a
`care_period.started`: new uuids for the event, the child, the IRO and the care period, a request id,
`occurred_at` now, the actor `{"role","sub"}` and a payload of about 220 bytes), built by the server
from `gen_random_uuid()` inside the one statement:

- `current`: `SELECT seq, recorded_at, prev_hash, hash FROM footprint.append_event(...)`, the call
  `shared.footprint.append` makes, with the canonical encoding's three parts around `recorded_at` and
  `seq` built in the same statement from the event's values (the platform builds them in Python with
  `shared.footprint.canonical.canonical_parts`; the text is the same, and the check at the end proves
  it: every hash recomputes from the stored row). The function takes the advisory lock, reads the
  head, hashes and inserts; the lock is held through the commit. The function computes the hash itself,
  but over the parts it is given, and they carry the event's id, ids and times: one fixed set of parts
  passed as constants would need the same `id` every time (refused: `uq_events_id`), or would leave every
  hash disagreeing with its row (verify: a hash mismatch at seq 1). Hence the parts are built per event.
- `plain`: an INSERT of the same row into `bench_plain`, a copy of `footprint.events` (same columns,
  constraints and indexes; `seq` from a sequence; no triggers, no hash, no order): the baseline.
- `pending+sequencer`: the prototype (SQL below, created in the throwaway database only: a prototype
  for measurement, not a migration). The transaction inserts the row and its canonical parts into
  `bench_pending` (no lock); after its COMMIT the same client runs `SELECT bench_sequence()`, which
  takes `pg_try_advisory_xact_lock` and, if it gets it, moves every committed pending row (by
  `pending_id`) into `bench_events` (a copy of `footprint.events` with its append-only triggers) with
  `seq` head + 1, 2, ... and the hash chain computed as `footprint.append_event(s)` computes it, in one
  transaction; if not, it returns at once (someone else is sequencing).
- `pending+background`: the same pending insert, but the clients never sequence: one asyncpg
  connection in this process calls `bench_sequence()` every 5 ms.
- `pending+wait`: the same, but after its commit each client waits for the lock
  (`bench_sequence(true)`), so when its call returns its own event is in the chain (read-your-writes).
- `pending+inline`: the append as one call, `SELECT bench_append(...)`, as `footprint.append_event` would
  be: it inserts the event into `bench_pending` and then tries the lock in the same transaction; the
  winner sequences at once, its own event and every committed pending one, and holds the lock through
  its commit (as the append does now); a loser leaves its event pending and commits without waiting.

Counted: events sequenced, i.e. visible in the chained table with their `seq` (`max(seq)` sampled at
the start and the end of the measured window, after a warm-up), not events pending. For the pending
designs, the lag of each event sequenced in the window: `sequenced_at - enqueued_at` (both
`clock_timestamp()`: at the pending INSERT, before the request's commit; at the sequencer's INSERT,
before its commit). Also pgbench's own figures (transactions, per-request latency from its log) and CPU
as % of one core: pgbench (psutil over its process), PostgreSQL (postmaster and children, when the
server is on this machine), this process (the background sequencer), the rest of the machine and the
hypervisor's steal. Each case runs `--seconds` in all, split over `--rounds` runs of pgbench in an
order that rotates from round to round; events/s is the median round. Each run starts with a CHECKPOINT
(so every run pays alike for full-page writes), and during the pending cases the pending table is
VACUUMed every second (a queue table: autovacuum visits a table at most once a minute by default, and a
queue that deletes thousands of rows a second bloats meanwhile; in the real design the sequencer's
background loop would do it; `--no-vacuum` leaves it to autovacuum). At the end both chains are
checked: `seq` gap-free from 1, every `prev_hash` the hash before it and every `hash` recomputed from
the stored row (`shared.footprint.verify`), and nothing lost (pending rows inserted = sequenced).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import psutil  # noqa: E402

from bench import common  # noqa: E402
from shared import db, migrate  # noqa: E402
from shared.embedded import EmbeddedPostgres  # noqa: E402
from shared.footprint import canonical, events, verify  # noqa: E402
from shared.footprint.models import Actor  # noqa: E402

CASES = ("current", "plain", "pending+sequencer", "pending+background", "pending+wait", "pending+inline")
PENDING_CASES = ("pending+sequencer", "pending+background", "pending+wait", "pending+inline")
GOAL_RATIO, GOAL_LAG_MS = 0.7, 50.0
BACKGROUND_INTERVAL = 0.005  # seconds between the background sequencer's calls
VACUUM_INTERVAL = 1.0  # seconds between VACUUMs of the pending table, during the pending cases
SEQUENCER_BATCH = 10_000  # at most this many events per sequencer transaction
# The prototype sequencer's advisory lock: 'benchseq' read as a big-endian int64 (not the footprint's key:
# it chains its own table). A real sequencer would take the footprint's own APPEND_LOCK_KEY.
SEQUENCER_LOCK_KEY = int.from_bytes(b"benchseq", "big", signed=True)
GENESIS = canonical.GENESIS_HASH

# --- The event: one realistic row, its values made by the server in the statement -------------------

# Stand-ins, replaced in the SQL by each transaction's own values (they occur nowhere else in the text).
_ID, _CHILD, _IRO, _SUBJECT = (f"00000000-0000-4000-8000-00000000b00{n}" for n in range(1, 5))
_REQUEST = "bench-request-id-stand-in"
_OCCURRED = dt.datetime(2001, 2, 3, 4, 5, 6, 70809, tzinfo=dt.UTC)
ACTOR = Actor(sub="iro.bench@example.org", role="iro").as_json()
EVENT = events.CarePeriodStarted(
    care_period_id=uuid.UUID(_SUBJECT), child_id=uuid.UUID(_CHILD), started_on=dt.date(2026, 11, 2),
    legal_status="C2", placement_type="U4", started_before_data=False,
)  # fmt: skip
FIELDS: dict[str, Any] = {
    "id": uuid.UUID(_ID),
    "type": EVENT.type,
    "occurred_at": _OCCURRED,
    "service": "reviews",
    "actor": ACTOR,
    "child_id": uuid.UUID(_CHILD),
    "iro_id": uuid.UUID(_IRO),
    "subject_type": "care_period",
    "subject_id": _SUBJECT,
    "payload": canonical.normalise_payload(EVENT.to_payload()),
    "request_id": _REQUEST,
}
# The transaction's own values: one row, evaluated once (volatile functions keep the subquery apart).
ROW_SOURCE = (
    "(SELECT gen_random_uuid() AS id, gen_random_uuid() AS child_id, gen_random_uuid() AS iro_id,"
    " CAST(gen_random_uuid() AS text) AS subject_id, substr(md5(CAST(random() AS text)), 1, 16) AS request_id,"
    " date_trunc('microseconds', clock_timestamp()) AS occurred_at) AS v"
)
_SUBSTITUTIONS = {
    _ID: "CAST(v.id AS text)",
    _CHILD: "CAST(v.child_id AS text)",
    _IRO: "CAST(v.iro_id AS text)",
    _SUBJECT: "v.subject_id",
    _REQUEST: "v.request_id",
    canonical.timestamp(_OCCURRED): "to_char(v.occurred_at AT TIME ZONE 'UTC', "
    + """E'YYYY-MM-DD"T"HH24\\x3aMI\\x3aSS.US"Z"')""",
}


def _literal(value: str) -> str:
    """An SQL string literal with no `:` in its text: pgbench reads `:name` as a variable even inside quotes
    (with `--protocol=prepared` it turns each into a parameter), so colons are written `\\x3a` in an E'' string."""
    if ":" not in value:
        return "'" + value.replace("'", "''") + "'"
    return "E'" + value.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\x3a") + "'"


def sql_text(template: str) -> str:
    """`template` as an SQL text expression: its stand-ins replaced by the transaction's values."""
    pattern = "(" + "|".join(re.escape(s) for s in _SUBSTITUTIONS) + ")"
    pieces = [
        _SUBSTITUTIONS[piece] if piece in _SUBSTITUTIONS else _literal(piece)
        for piece in re.split(pattern, template)
        if piece
    ]
    return " || ".join(pieces)


PARTS = canonical.canonical_parts(**FIELDS)  # what shared.footprint.append sends, with the stand-ins
COLUMNS = {  # the event's columns (but seq, recorded_at and the hashes) as SQL over ROW_SOURCE
    "id": "v.id",
    "type": _literal(FIELDS["type"]),
    "occurred_at": "v.occurred_at",
    "service": _literal(FIELDS["service"]),
    "actor": f"CAST({_literal(canonical.dumps(ACTOR))} AS jsonb)",
    "child_id": "v.child_id",
    "iro_id": "v.iro_id",
    "subject_type": _literal(FIELDS["subject_type"]),
    "subject_id": "v.subject_id",
    "payload": f"CAST({sql_text(canonical.dumps(FIELDS['payload']))} AS jsonb)",
    "request_id": "v.request_id",
}
CANONICAL_PARTS = [sql_text(part) for part in PARTS]


def _script_current() -> str:
    arguments = ",\n    ".join([*COLUMNS.values(), *CANONICAL_PARTS])
    return (
        "SELECT a.seq, a.recorded_at, a.prev_hash, a.hash\n"
        f"  FROM {ROW_SOURCE},\n"
        f"  LATERAL footprint.append_event(\n    {arguments}) AS a;\n"
    )


def _script_plain() -> str:
    names = [*COLUMNS, "recorded_at", "prev_hash", "hash"]
    values = [*COLUMNS.values(), "clock_timestamp()", _literal(GENESIS), _literal(GENESIS)]
    return f"INSERT INTO public.bench_plain ({', '.join(names)})\nSELECT {', '.join(values)}\n  FROM {ROW_SOURCE};\n"


def _script_pending(sequence: str | None) -> str:
    names = [*COLUMNS, "canonical_before_recorded_at", "canonical_before_seq", "canonical_after_seq"]
    values = ",\n       ".join([*COLUMNS.values(), *CANONICAL_PARTS])
    script = f"INSERT INTO public.bench_pending ({', '.join(names)})\nSELECT {values}\n  FROM {ROW_SOURCE};\n"
    return script + (f"{sequence};\n" if sequence else "")


def _script_inline() -> str:
    arguments = ",\n    ".join([*COLUMNS.values(), *CANONICAL_PARTS])
    return f"SELECT public.bench_append(\n    {arguments})\n  FROM {ROW_SOURCE};\n"


SCRIPTS = {
    "current": _script_current(),
    "plain": _script_plain(),
    "pending+sequencer": _script_pending("SELECT public.bench_sequence()"),
    "pending+background": _script_pending(None),
    "pending+wait": _script_pending("SELECT public.bench_sequence(true)"),
    "pending+inline": _script_inline(),
}
# What counts as sequenced: the chained table's head (the plain table's highest seq).
HEADS = {
    "current": "SELECT coalesce(max(seq), 0) FROM footprint.events",
    "plain": "SELECT coalesce(max(seq), 0) FROM public.bench_plain",
    **{case: "SELECT coalesce(max(seq), 0) FROM public.bench_events" for case in PENDING_CASES},
}

# --- The prototype: a pending table and a single sequencer (this database only) -------------------------

PROTOTYPE = [
    # The baseline: the same columns, constraints and indexes; seq from a sequence; no triggers, no order.
    "CREATE TABLE public.bench_plain (LIKE footprint.events INCLUDING ALL)",
    "CREATE SEQUENCE public.bench_plain_seq OWNED BY public.bench_plain.seq",
    "ALTER TABLE public.bench_plain ALTER COLUMN seq SET DEFAULT nextval('public.bench_plain_seq')",
    # Events waiting for their seq: written in the request's transaction, no lock. The same checks as the
    # log's, so a row the log would refuse is refused here, in its request, not later in the sequencer.
    # A queue table: every row is deleted within milliseconds, so vacuum it often.
    """
    CREATE TABLE public.bench_pending (
        pending_id   bigint      GENERATED ALWAYS AS IDENTITY,
        id           uuid        NOT NULL,
        type         text        NOT NULL,
        occurred_at  timestamptz NOT NULL,
        service      text        NOT NULL,
        actor        jsonb       NOT NULL,
        child_id     uuid,
        iro_id       uuid,
        subject_type text        NOT NULL,
        subject_id   text        NOT NULL,
        payload      jsonb       NOT NULL,
        request_id   text,
        canonical_before_recorded_at text NOT NULL,
        canonical_before_seq         text NOT NULL,
        canonical_after_seq          text NOT NULL,
        enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT pk_bench_pending PRIMARY KEY (pending_id),
        CONSTRAINT uq_bench_pending_id UNIQUE (id),
        CONSTRAINT ck_bench_pending_type_shape CHECK (type ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
        CONSTRAINT ck_bench_pending_actor_shape
            CHECK (jsonb_typeof(actor) = 'object' AND actor ? 'sub' AND actor ? 'role')
    ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
            autovacuum_vacuum_cost_delay = 0)
    """,
    # The chain: a copy of footprint.events (columns, constraints, indexes) with its append-only triggers,
    # plus the two timestamps of the lag measurement (instrumentation, not part of the event).
    "CREATE TABLE public.bench_events (LIKE footprint.events INCLUDING ALL)",
    "ALTER TABLE public.bench_events ADD COLUMN enqueued_at timestamptz, ADD COLUMN sequenced_at timestamptz",
    "CREATE TRIGGER bench_events_no_update_or_delete BEFORE UPDATE OR DELETE ON public.bench_events"
    " FOR EACH ROW EXECUTE FUNCTION footprint.refuse_change()",
    "CREATE TRIGGER bench_events_no_truncate BEFORE TRUNCATE ON public.bench_events"
    " FOR EACH STATEMENT EXECUTE FUNCTION footprint.refuse_change()",
    f"""
    CREATE FUNCTION public.bench_sequence(p_wait boolean DEFAULT false, p_max integer DEFAULT {SEQUENCER_BATCH})
    RETURNS integer LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
        v_pending_id bigint[];
        v_id uuid[];
        v_type text[];
        v_occurred_at timestamptz[];
        v_service text[];
        v_actor jsonb[];
        v_child_id uuid[];
        v_iro_id uuid[];
        v_subject_type text[];
        v_subject_id text[];
        v_payload jsonb[];
        v_request_id text[];
        v_before_recorded_at text[];
        v_before_seq text[];
        v_after_seq text[];
        v_enqueued_at timestamptz[];
        v_prev_hash text[] := '{{}}';
        v_hash text[] := '{{}}';
        v_count integer;
        v_seq bigint;
        v_prev text;
        v_now timestamptz;
        v_stamp text;
    BEGIN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'sequencing needs READ COMMITTED, not %', current_setting('transaction_isolation');
        END IF;
        IF p_wait THEN
            PERFORM pg_advisory_xact_lock({SEQUENCER_LOCK_KEY});
        ELSIF NOT pg_try_advisory_xact_lock({SEQUENCER_LOCK_KEY}) THEN
            RETURN 0;  -- another session is sequencing: it, or the next call, moves what is pending
        END IF;
        -- Under the lock, held until this transaction ends: this statement's snapshot sees every earlier
        -- sequencer's commit and every pending row committed before it. Only the holder deletes pending
        -- rows, and it chains exactly the rows it deleted.
        WITH moved AS (
            DELETE FROM public.bench_pending
             WHERE pending_id IN (SELECT p.pending_id FROM public.bench_pending p ORDER BY p.pending_id LIMIT p_max)
            RETURNING *
        )
        SELECT array_agg(m.pending_id ORDER BY m.pending_id), array_agg(m.id ORDER BY m.pending_id),
               array_agg(m.type ORDER BY m.pending_id), array_agg(m.occurred_at ORDER BY m.pending_id),
               array_agg(m.service ORDER BY m.pending_id), array_agg(m.actor ORDER BY m.pending_id),
               array_agg(m.child_id ORDER BY m.pending_id), array_agg(m.iro_id ORDER BY m.pending_id),
               array_agg(m.subject_type ORDER BY m.pending_id), array_agg(m.subject_id ORDER BY m.pending_id),
               array_agg(m.payload ORDER BY m.pending_id), array_agg(m.request_id ORDER BY m.pending_id),
               array_agg(m.canonical_before_recorded_at ORDER BY m.pending_id),
               array_agg(m.canonical_before_seq ORDER BY m.pending_id),
               array_agg(m.canonical_after_seq ORDER BY m.pending_id), array_agg(m.enqueued_at ORDER BY m.pending_id)
          INTO v_pending_id, v_id, v_type, v_occurred_at, v_service, v_actor, v_child_id, v_iro_id, v_subject_type,
               v_subject_id, v_payload, v_request_id, v_before_recorded_at, v_before_seq, v_after_seq, v_enqueued_at
          FROM moved m;
        v_count := coalesce(array_length(v_pending_id, 1), 0);
        IF v_count = 0 THEN
            RETURN 0;
        END IF;
        SELECT e.seq, e.hash INTO v_seq, v_prev FROM public.bench_events e ORDER BY e.seq DESC LIMIT 1;
        v_seq := coalesce(v_seq, 0);
        v_prev := coalesce(v_prev, repeat('0', 64));
        v_now := date_trunc('microseconds', clock_timestamp());
        v_stamp := to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
        FOR i IN 1 .. v_count LOOP
            v_prev_hash[i] := v_prev;
            v_prev := encode(sha256(convert_to(
                v_prev || v_before_recorded_at[i] || v_stamp || v_before_seq[i] || (v_seq + i)::text || v_after_seq[i],
                'UTF8')), 'hex');
            v_hash[i] := v_prev;
        END LOOP;
        INSERT INTO public.bench_events (seq, id, type, occurred_at, recorded_at, service, actor, child_id, iro_id,
                                         subject_type, subject_id, payload, request_id, prev_hash, hash,
                                         enqueued_at, sequenced_at)
        SELECT v_seq + u.n, u.id, u.type, u.occurred_at, v_now, u.service, u.actor, u.child_id, u.iro_id,
               u.subject_type, u.subject_id, u.payload, u.request_id, u.prev_hash, u.hash, u.enqueued_at,
               clock_timestamp()
          FROM unnest(v_id, v_type, v_occurred_at, v_service, v_actor, v_child_id, v_iro_id, v_subject_type,
                      v_subject_id, v_payload, v_request_id, v_prev_hash, v_hash, v_enqueued_at)
               WITH ORDINALITY AS u(id, type, occurred_at, service, actor, child_id, iro_id, subject_type,
                                    subject_id, payload, request_id, prev_hash, hash, enqueued_at, n);
        PERFORM pg_notify('bench_footprint', '');
        RETURN v_count;
    END
    $fn$
    """,
    # The append as one call: the event goes into pending in the caller's transaction; then, if the lock
    # is free, the caller sequences at once, its own event and every committed pending one, in its own
    # transaction (the lock is then held until its commit, as footprint.append_event's is; nobody waits
    # for it). Returns the event's seq, or NULL when someone else was sequencing (it stays pending).
    """
    CREATE FUNCTION public.bench_append(
        p_id uuid, p_type text, p_occurred_at timestamptz, p_service text, p_actor jsonb, p_child_id uuid,
        p_iro_id uuid, p_subject_type text, p_subject_id text, p_payload jsonb, p_request_id text,
        p_canonical_before_recorded_at text, p_canonical_before_seq text, p_canonical_after_seq text
    ) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
        v_seq bigint;
    BEGIN
        INSERT INTO public.bench_pending (id, type, occurred_at, service, actor, child_id, iro_id, subject_type,
                                          subject_id, payload, request_id, canonical_before_recorded_at,
                                          canonical_before_seq, canonical_after_seq)
        VALUES (p_id, p_type, p_occurred_at, p_service, p_actor, p_child_id, p_iro_id, p_subject_type, p_subject_id,
                p_payload, p_request_id, p_canonical_before_recorded_at, p_canonical_before_seq,
                p_canonical_after_seq);
        IF public.bench_sequence() > 0 THEN
            SELECT e.seq INTO v_seq FROM public.bench_events e WHERE e.id = p_id;
        END IF;
        RETURN v_seq;
    END
    $fn$
    """,
]


# --- Measuring -----------------------------------------------------------------------------------------


def _cpu(processes: list[psutil.Process]) -> float:
    return sum(common.cpu_by_pid(processes).values())


@dataclass
class Sample:
    head: int
    wal: int  # the server's WAL position, in bytes
    server_clock: dt.datetime
    wall: float
    pending: int
    cpu: dict[str, float]


@dataclass
class Round(common.PerSecond):
    events: int
    wall: float
    wal_bytes: int  # WAL the server wrote over the window (all of it: this database is the only one busy)
    cpu: dict[str, float]  # seconds over the window, by role
    window: tuple[dt.datetime, dt.datetime]  # the server's clock at the window's start and end
    pending_at_end: int
    transactions: int  # pgbench's count, whole run
    failed: int
    latencies_ms: list[float]  # pgbench's per-transaction latency, transactions ending in the window


@dataclass
class Case:
    name: str
    rounds: list[Round] = field(default_factory=list)
    lag_ms: dict[str, float] = field(default_factory=dict)  # count, p50, p99, max

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.rounds) if self.rounds else 0.0

    @property
    def events(self) -> int:
        return sum(r.events for r in self.rounds)

    @property
    def wall(self) -> float:
        return sum(r.wall for r in self.rounds)

    @property
    def wal_per_event(self) -> float:
        events = self.events
        return sum(r.wal_bytes for r in self.rounds) / events if events else float("nan")

    def pct(self, role: str) -> float:
        return 100 * sum(r.cpu.get(role, 0.0) for r in self.rounds) / self.wall if self.wall else 0.0

    def latency(self, q: float) -> float:
        values = sorted(v for r in self.rounds for v in r.latencies_ms)
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def _latencies(prefix: Path, start: float, end: float) -> list[float]:
    """pgbench's per-transaction log (`client_id transaction_no time script_no time_epoch time_us ...`,
    time in microseconds): the latency of each transaction that ended in [start, end)."""
    out = []
    for path in prefix.parent.glob(prefix.name + ".*"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) < 6:
                continue
            ended = int(parts[4]) + int(parts[5]) / 1e6
            if start <= ended < end:
                out.append(int(parts[2]) / 1000)
        path.unlink()
    return out


async def _background(url: str, stop: asyncio.Event) -> None:
    """The background sequencer: one connection calling bench_sequence() every 5 ms (at once again after a
    full batch)."""
    connection = await asyncpg.connect(url)
    try:
        while not stop.is_set():
            moved = await connection.fetchval("SELECT public.bench_sequence()")
            if moved < SEQUENCER_BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), BACKGROUND_INTERVAL)
    finally:
        await connection.close()


async def _vacuum(url: str, stop: asyncio.Event) -> None:
    """Keep the queue table small: VACUUM it every VACUUM_INTERVAL seconds (autovacuum looks at a table
    once a minute at most, by default; a queue that deletes thousands of rows a second cannot wait that
    long). In the real design the sequencer's background loop would do it."""
    connection = await asyncpg.connect(url)
    try:
        while not stop.is_set():
            await connection.execute("VACUUM (TRUNCATE false) public.bench_pending")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), VACUUM_INTERVAL)
    finally:
        await connection.close()


async def drain(connection: asyncpg.Connection) -> int:
    moved, total = 1, 0
    while moved:
        moved = await connection.fetchval("SELECT public.bench_sequence(true)")
        total += moved
    return total


async def run_round(
    case: str, url: str, args: argparse.Namespace, folder: Path, postmaster: psutil.Process | None
) -> Round:
    """One pgbench run of `case`: a warm-up, the measured window, a short tail."""
    script = folder / f"{case}.sql"
    script.write_text(SCRIPTS[case])
    prefix = folder / f"log-{case}-{secrets.token_hex(3)}"
    jobs = max(1, min(args.clients, os.cpu_count() or 1))
    duration = int(args.warmup + args.round_seconds + 2)
    monitor = await asyncpg.connect(url)
    # Every run starts just after a checkpoint, so each pays the same full-page writes (the first change of
    # each page after a checkpoint logs the whole page) instead of whichever a checkpoint happened to hit.
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await monitor.execute("CHECKPOINT")
    stop = asyncio.Event()
    helpers = [asyncio.create_task(_vacuum(url, stop))] if case in PENDING_CASES and args.vacuum else []
    if case == "pending+background":
        helpers.append(asyncio.create_task(_background(url, stop)))
    pgbench = await asyncio.create_subprocess_exec(
        args.pgbench, "--no-vacuum", "--protocol=prepared", f"--client={args.clients}", f"--jobs={jobs}",
        f"--time={duration}", f"--file={script}", "--log", f"--log-prefix={prefix}", url,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=folder,
    )  # fmt: skip
    try:
        process = psutil.Process(pgbench.pid)

        async def sample() -> Sample:
            row = await monitor.fetchrow(
                f"SELECT ({HEADS[case]}) AS head, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal,"
                " clock_timestamp() AS now"
            )
            pending = 0
            if case in PENDING_CASES:
                pending = int(await monitor.fetchval("SELECT count(*) FROM public.bench_pending"))
            busy, steal = common.machine_cpu()
            cpu = {
                "pgbench": _cpu([process]),
                "postgres": _cpu(common.process_family(postmaster)),
                "bench": common.own_cpu(children=False),
                "machine": busy,
                "steal": steal,
            }
            return Sample(int(row["head"]), int(row["wal"]), row["now"], time.time(), pending, cpu)

        await asyncio.sleep(args.warmup)
        first = await sample()
        await asyncio.sleep(args.round_seconds)
        last = await sample()
        stdout, stderr = await pgbench.communicate()
    finally:
        if pgbench.returncode is None:
            pgbench.kill()
            await pgbench.wait()
        stop.set()
        await asyncio.gather(*helpers)
        if case in PENDING_CASES:
            await drain(monitor)  # what the run left pending: sequenced, but after the window
        await monitor.close()
    out = stdout.decode()
    if pgbench.returncode != 0:
        raise RuntimeError(f"pgbench failed for {case} ({pgbench.returncode}):\n{out}\n{stderr.decode()}")
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    cpu = {role: last.cpu[role] - first.cpu[role] for role in first.cpu}
    cpu["other"] = max(0.0, cpu["machine"] - cpu["pgbench"] - cpu["postgres"] - cpu["bench"])
    return Round(
        events=last.head - first.head,
        wall=last.wall - first.wall,
        wal_bytes=last.wal - first.wal,
        cpu=cpu,
        window=(first.server_clock, last.server_clock),
        pending_at_end=last.pending,
        transactions=int(processed.group(1)) if processed else 0,
        failed=int(failed.group(1)) if failed else 0,
        latencies_ms=_latencies(prefix, first.wall, last.wall),
    )


async def _in_windows(url: str, sql: str, windows: list[tuple[dt.datetime, dt.datetime]]) -> asyncpg.Record:
    """The row `sql` gives with the windows' starts and ends as $1 and $2."""
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchrow(sql, [w[0] for w in windows], [w[1] for w in windows])
    finally:
        await connection.close()


async def lag(url: str, windows: list[tuple[dt.datetime, dt.datetime]]) -> dict[str, float]:
    """sequenced_at - enqueued_at, in ms, of the events sequenced within `windows`."""
    row = await _in_windows(
        url,
        """
            SELECT count(*) AS count,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms) AS p50,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY l.ms) AS p99,
                   max(l.ms) AS max
              FROM (SELECT 1000 * extract(epoch FROM e.sequenced_at - e.enqueued_at) AS ms
                      FROM public.bench_events e
                      JOIN unnest($1::timestamptz[], $2::timestamptz[]) AS w(a, b)
                        ON e.sequenced_at >= w.a AND e.sequenced_at < w.b) AS l
            """,
        windows,
    )
    return {key: float(row[key]) if row[key] is not None else float("nan") for key in ("count", "p50", "p99", "max")}


async def check_chain(url: str, table: str) -> dict[str, Any]:
    """The chain of `table` from seq 1: no seq missing, each prev_hash the hash before it, each hash
    recomputed from the stored row (shared.footprint.verify.check_batch, the platform's own check)."""
    connection = await asyncpg.connect(url)
    columns = "seq, id, type, occurred_at, recorded_at, service, actor, child_id, iro_id, subject_type, subject_id,"
    columns += " payload, request_id, prev_hash, hash"
    try:
        if table == "footprint.events":  # what is still pending first: the check is of a chain at rest
            while await connection.fetchval("SELECT footprint.sequence(true)"):
                pass
        count, head = await connection.fetchrow(f"SELECT count(*), coalesce(max(seq), 0) FROM {table}")
        expected_seq, expected_prev, checked = 1, GENESIS, 0
        while expected_seq <= head:
            records = await connection.fetch(
                f"SELECT {columns} FROM {table} WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT 20000",
                expected_seq,
                head,
            )
            rows = [
                SimpleNamespace(**(dict(r) | {"actor": json.loads(r["actor"]), "payload": json.loads(r["payload"])}))
                for r in records
            ]
            outcome = verify.check_batch(rows, expected_seq, expected_prev)  # type: ignore[arg-type]  # duck-typed rows
            checked += outcome.checked
            if outcome.first_bad_seq is not None:
                return {"ok": False, "count": count, "head": head, "checked": checked,
                        "first_bad_seq": outcome.first_bad_seq, "problem": outcome.problem}  # fmt: skip
            expected_seq, expected_prev = outcome.next_seq, outcome.last_hash
        return {"ok": count == head == checked, "count": count, "head": head, "checked": checked}
    finally:
        await connection.close()


async def bench(url: str, args: argparse.Namespace, local: bool, postmaster_pid: int | None) -> dict[str, Any]:
    postmaster = psutil.Process(postmaster_pid) if postmaster_pid is not None else None
    connection = await asyncpg.connect(url)
    try:
        for statement in PROTOTYPE:
            await connection.execute(statement)
        settings = ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        info = {name: str(await connection.fetchval(f"SHOW {name}")) for name in settings}
        if postmaster is None and local:  # the server's postmaster: our backend's parent, while it lives
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(int(await connection.fetchval("SELECT pg_backend_pid()"))).parent()
                postmaster = parent if parent is not None and "postgres" in parent.name() else None
    finally:
        await connection.close()
    cases = {name: Case(name) for name in args.cases}
    order = list(cases)
    with tempfile.TemporaryDirectory(prefix="iro-bench-ceiling-") as scratch:
        for r in range(args.rounds):
            start = r * len(order) // args.rounds
            for name in order[start:] + order[:start]:
                one = await run_round(name, url, args, Path(scratch), postmaster)
                cases[name].rounds.append(one)
                print(f"  round {r + 1}/{args.rounds} {name}: {one.rate:.0f} events/s", file=sys.stderr, flush=True)
    for name in PENDING_CASES:
        if name in cases:
            cases[name].lag_ms = await lag(url, [one.window for one in cases[name].rounds])
    connection = await asyncpg.connect(url)
    try:
        info["pending_left"] = str(await connection.fetchval("SELECT count(*) FROM public.bench_pending"))
        enqueued = await connection.fetchval("SELECT last_value FROM public.bench_pending_pending_id_seq")
        info["pending_inserted"] = str(enqueued or 0)
    finally:
        await connection.close()
    tables = ["footprint.events"] if "current" in cases else []
    tables += ["public.bench_events"] if any(name in cases for name in PENDING_CASES) else []
    chains = {table: await check_chain(url, table) for table in tables}
    return {"cases": cases, "info": info, "chains": chains, "postmaster": postmaster is not None}


# --- Reporting -----------------------------------------------------------------------------------------


def pgbench_version(path: str) -> str:
    return subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def report(result: dict[str, Any], title: str, args: argparse.Namespace) -> str:
    cases: dict[str, Case] = result["cases"]
    info, chains = result["info"], result["chains"]
    plain = cases["plain"].rate if "plain" in cases else float("nan")
    cores = os.cpu_count() or 1
    lines = [
        f"## Append ceiling (issue 15): {title}",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; `python -m bench.append_ceiling --seconds "
        f"{args.seconds:g} --rounds {args.rounds} --clients {args.clients}`: each case {args.seconds:g} s measured "
        f"in all, in {args.rounds} pgbench runs of {args.round_seconds:g} s (rotating order, {args.warmup:g} s "
        "warm-up each); events/s is the median run, and the ratios use it",
        f"- Machine: {cores} cores, {common.cpu_model()}, {platform.platform()}; Python {platform.python_version()}",
        f"- PostgreSQL {info['server_version']}, synchronous_commit={info['synchronous_commit']},"
        f" fsync={info['fsync']}, shared_buffers={info['shared_buffers']}",
        f"- Load generator: {pgbench_version(args.pgbench)}, {args.clients} clients, "
        f"{max(1, min(args.clients, cores))} threads, `--protocol=prepared`, one event per transaction",
        "- Event: `care_period.started`, payload "
        f"{len(canonical.dumps(FIELDS['payload']))} bytes, new uuids per event (made by the server in the statement)",
        "",
        "| case | events sequenced | events/s (median) | runs min-max | vs plain | pgbench tx | failed"
        " | request p50 ms | p99 ms | lag p50 ms | lag p99 ms | lag max ms | pending at end | WAL B/event | pgbench CPU"
        " | postgres CPU | bench CPU | other CPU | steal |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def postgres_cpu(case: Case) -> str:
        return f"{case.pct('postgres'):.0f} %" if result["postmaster"] else "n/a"

    for case in cases.values():
        rates = [r.rate for r in case.rounds]
        lagged = case.name in PENDING_CASES and case.lag_ms
        lag_cells = " | ".join(f"{case.lag_ms[k]:.1f}" for k in ("p50", "p99", "max")) if lagged else "- | - | -"
        pending = str(max(r.pending_at_end for r in case.rounds)) if case.name in PENDING_CASES else "-"
        lines.append(
            f"| {case.name} | {case.events} | {case.rate:.0f} | {min(rates):.0f}-{max(rates):.0f}"
            f" | {case.rate / plain:.2f} | {sum(r.transactions for r in case.rounds)}"
            f" | {sum(r.failed for r in case.rounds)} | {case.latency(0.5):.2f} | {case.latency(0.99):.2f}"
            f" | {lag_cells} | {pending} | {case.wal_per_event:.0f} | {case.pct('pgbench'):.0f} %"
            f" | {postgres_cpu(case)}"
            f" | {case.pct('bench'):.0f} % | {case.pct('other'):.0f} %"
            f" | {case.pct('steal'):.0f} % |"
        )
    lines += [
        "",
        "`events sequenced`: the chained table's head moved by this many in the measured windows (footprint.events"
        " for `current`, bench_events for the pending designs, bench_plain's highest seq for `plain`): events"
        " visible with their seq, not events pending. `pgbench tx`: transactions pgbench completed, warm-up and tail"
        " included. `request`: pgbench's latency per transaction (the whole script: for the pending designs the"
        " INSERT's commit and then the sequencer call). `lag`: sequenced_at - enqueued_at of the events sequenced"
        " in the windows. `pending at end`: rows still pending when a window closed (the largest). `WAL B/event`:"
        " the server's WAL over the windows per event sequenced (a pending event is written twice, and deleted"
        " once). "
        + (
            f"During the pending cases the pending table is VACUUMed every {VACUUM_INTERVAL:g} s (a queue table), and"
            " that work is in the postgres CPU. "
            if args.vacuum
            else "The pending table was not VACUUMed during the runs (`--no-vacuum`). "
        )
        + "CPU is % of"
        " one core over the windows: `pgbench` its process, `postgres` the postmaster and its children"
        " (0 when the server is not on this machine), `bench` this process (the background sequencer),"
        " `other` the rest of the machine, `steal` what the hypervisor took.",
        "",
    ]
    for case in cases.values():
        if case.name == "plain":
            continue
        ratio = case.rate / plain
        met = "met" if ratio >= GOAL_RATIO else "NOT met"
        verdict = f"- {case.name} / plain = **{ratio:.3f}** (goal >= {GOAL_RATIO}): {met}"
        if case.name in PENDING_CASES and case.lag_ms:
            p99 = case.lag_ms["p99"]
            met = "met" if p99 <= GOAL_LAG_MS else "NOT met"
            verdict += f"; lag p99 **{p99:.1f} ms** (goal <= {GOAL_LAG_MS:g} ms): {met}"
        lines.append(verdict)
    for table, chain in chains.items():
        state = "verifies" if chain["ok"] else f"BROKEN at seq {chain.get('first_bad_seq')} ({chain.get('problem')})"
        lines.append(
            f"- {table}: {chain['count']} events, seq 1..{chain['head']}, {chain['checked']} checked: the chain {state}"
            " (seq gap-free, each prev_hash the hash before it, each hash recomputed from the row by"
            " shared.footprint.verify)"
        )
    if any(name in cases for name in PENDING_CASES):
        inserted, left = int(info["pending_inserted"]), int(info["pending_left"])
        sequenced = chains["public.bench_events"]["count"]
        lines.append(
            f"- Nothing lost: {inserted} pending rows inserted, {sequenced} sequenced, {left} left pending"
            f" ({'all accounted for' if inserted == sequenced + left else 'MISMATCH'})"
        )
    lines += [
        "",
        "Reading (generated from the figures):",
        "",
        *(f"- {s}" for s in reading(cases, cores, result["postmaster"])),
    ]
    return "\n".join(lines) + "\n"


def reading(cases: dict[str, Case], cores: int, server_known: bool) -> list[str]:
    out = []
    plain = cases["plain"].rate
    best = max((c for c in cases.values() if c.name != "plain"), key=lambda c: c.rate, default=None)
    if best is not None and plain:
        out.append(
            f"The fastest ordered design was {best.name} at {best.rate:.0f} events/s,"
            f" {best.rate / plain:.2f} of plain inserts ({plain:.0f}/s)."
        )
    both = [
        c.name
        for c in cases.values()
        if c.name in PENDING_CASES
        and plain
        and c.rate / plain >= GOAL_RATIO
        and c.lag_ms.get("p99", 1e9) <= GOAL_LAG_MS
    ]
    out.append(f"Meeting both goals in this run: {', '.join(both) if both else 'none'}.")
    busiest = max(cases.values(), key=lambda c: c.pct("pgbench") + c.pct("postgres") + c.pct("bench"))
    used = (busiest.pct("pgbench") + busiest.pct("postgres") + busiest.pct("bench")) / 100
    out.append(
        f"pgbench used at most {max(c.pct('pgbench') for c in cases.values()):.0f} % of a core"
        + (
            f"; pgbench, the server and this process together kept up to {used:.1f} of the {cores} cores busy"
            f" ({busiest.name})."
            if server_known
            else " (the server's CPU is not known: it is not on this machine)."
        )
    )
    spread = max(
        (max(r.rate for r in c.rounds) - min(r.rate for r in c.rounds)) / c.rate for c in cases.values() if c.rate
    )
    other = max(c.pct("other") for c in cases.values())
    steal = max(c.pct("steal") for c in cases.values())
    out.append(
        f"Runs of one case differed by up to {100 * spread:.0f} % of its median; other processes used up to"
        f" {other:.0f} % of a core during a case and the hypervisor stole up to {steal:.0f} %: ratios nearer a goal"
        " than that are within this machine's noise."
    )
    return out


# --- Running -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(url: str | None, folder: Path) -> Iterator[tuple[str, bool, str, str, int | None]]:
    """(URL, server is local, results key, title, postmaster pid if known): a throwaway database on the
    server at `url`, dropped afterwards, or one on an embedded server started in `folder`."""
    if url:
        key, local = common.server_key(url)
        with common.throwaway_database(url, "iro_bench_ceiling", migrate_to_head=False) as own:
            yield own, local, f"append-ceiling-{key}", f"PostgreSQL at {key}", None
        return
    server = EmbeddedPostgres(folder / "pg")
    server.start()
    try:
        url = server.ensure_database("iro_bench_ceiling")
        yield url, True, "append-ceiling-embedded", "embedded PostgreSQL", server.pid
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per case in all (default 20)")
    parser.add_argument("--rounds", type=int, default=4, help="pgbench runs per case, rotating order (default 4)")
    parser.add_argument("--warmup", type=float, default=1.5, help="warm-up seconds of each run (default 1.5)")
    parser.add_argument("--clients", type=int, default=8, help="pgbench clients (default 8)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="a subset of the cases")
    parser.add_argument(
        "--no-vacuum", dest="vacuum", action="store_false", help="do not VACUUM the pending table every second"
    )
    parser.add_argument("--pgbench", default=shutil.which("pgbench") or "pgbench", help="the pgbench to run")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a server to use instead")
    parser.add_argument("--write-results", action="store_true", help="write/update its section in bench/RESULTS.md")
    parser.add_argument("--print-scripts", action="store_true", help="print the pgbench scripts and the prototype")
    args = parser.parse_args()
    args.round_seconds = args.seconds / args.rounds
    if args.print_scripts:
        for name, script in SCRIPTS.items():
            print(f"-- {name}\n{script}")
        print(";\n".join(PROTOTYPE) + ";")
        return
    if "plain" not in args.cases:
        parser.error("the cases must include plain: the baseline")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # drop the database on kill
    with (
        tempfile.TemporaryDirectory(prefix="iro-bench-ceiling-pg-") as folder,
        database(args.database_url, Path(folder)) as (url, local, key, title, postmaster_pid),
    ):
        migrate.upgrade(url)
        print(f"benchmarking the append ceiling on {title}: {args.seconds:g} s per case", file=sys.stderr)
        result = asyncio.run(bench(db.plain_url(url), args, local, postmaster_pid))
    body = report(result, title, args)
    print(body)
    if args.write_results:
        common.write_results(key, body)


if __name__ == "__main__":
    main()


# --- As a workload of `python -m bench` -----------------------------------------------------------------


async def sequencing_lag(url: str, windows: list[tuple[dt.datetime, dt.datetime]]) -> dict[str, float]:
    """For whatever design `footprint.append_event` has: `recorded_at - occurred_at`, in ms, of the events in
    footprint.events recorded within `windows`. The script makes `occurred_at` with `clock_timestamp()` when
    the call starts, and `recorded_at` is stamped when the event is sequenced into the chain, so this is the
    time from the call to the event's seq: the lock's wait when the append holds the lock through its commit,
    the time pending when a sequencer chains it after the commit."""
    row = await _in_windows(
        url,
        """
            SELECT count(*) AS count,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY l.ms) AS p95,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY l.ms) AS p99,
                   max(l.ms) AS max
              FROM (SELECT 1000 * extract(epoch FROM e.recorded_at - e.occurred_at) AS ms
                      FROM footprint.events e
                      JOIN unnest($1::timestamptz[], $2::timestamptz[]) AS w(a, b)
                        ON e.recorded_at >= w.a AND e.recorded_at < w.b) AS l
            """,
        windows,
    )
    return {key: round(float(value), 2) if value is not None else float("nan") for key, value in dict(row).items()}


def _measurement(case: Case, label: str) -> Any:
    from bench.common import Measurement

    return Measurement(
        label=label,
        throughput=round(case.rate, 1),
        unit="events/s",
        p50_ms=round(case.latency(0.5), 3),
        p95_ms=round(case.latency(0.95), 3),
        p99_ms=round(case.latency(0.99), 3),
        count=case.events,
        errors=sum(r.failed for r in case.rounds),
        cpu={
            "load": round(case.pct("pgbench"), 1),
            "postgres": round(case.pct("postgres"), 1),
            "runner": round(case.pct("bench"), 1),
        },
    )


def run(context: Any) -> list[Any]:
    """The `append ceiling` workload of `python -m bench` (bench.common.Context in, Results out): `current`
    (the real `footprint.append_event`, whatever its design) against `plain`, with pgbench, `context.seconds`
    per case over `context.rounds` runs, in a throwaway database on the platform's server. The prototype's
    pending designs run too only with `context.options["prototype"]` (`python -m bench --prototype`)."""
    from bench.common import Result, platform_sequencer, process_cpu, ratio

    pgbench = context.tools.get("pgbench") or shutil.which("pgbench")
    if not pgbench:
        raise RuntimeError("pgbench is not installed (apt-get install postgresql-client)")
    cases = list(CASES) if context.options.get("prototype") else ["current", "plain"]
    args = argparse.Namespace(
        seconds=context.seconds, rounds=context.rounds, warmup=context.warmup(1.5), clients=8, cases=cases,
        vacuum=True, pgbench=pgbench, round_seconds=context.seconds / context.rounds,
    )  # fmt: skip
    with (
        common.throwaway_database(context.database_url, "iro_bench_ceiling") as url,
        platform_sequencer(url) as sequencer_pid,
    ):
        plain_url = db.plain_url(url)
        sequencer_cpu, started = process_cpu(sequencer_pid), time.monotonic()
        outcome = asyncio.run(bench(plain_url, args, context.server_local, context.processes.get("postgres")))
        sequencer_pct = 100 * (process_cpu(sequencer_pid) - sequencer_cpu) / (time.monotonic() - started)
        lag = asyncio.run(sequencing_lag(plain_url, [r.window for r in outcome["cases"]["current"].rounds]))
    found: dict[str, Case] = outcome["cases"]
    chains = outcome["chains"]
    plain = _measurement(found["plain"], "plain INSERT into an identical table, no order (pgbench)")
    results = []
    for name, case in found.items():
        if name == "plain":
            continue
        measured = _measurement(case, f"{name}: footprint.append_event (pgbench)" if name == "current" else name)
        r = ratio(measured.throughput, plain.throughput)
        table = "footprint.events" if name == "current" else "public.bench_events"
        chain = chains.get(table, {"ok": True})
        case_lag = lag if name == "current" else case.lag_ms
        p99 = case_lag.get("p99") if case_lag else None
        lag_met = p99 is None or p99 != p99 or p99 <= GOAL_LAG_MS  # not measured (None, NaN) judges nothing
        notes = [
            f"{args.clients} pgbench clients, one event per transaction; counted: the chain's head (events sequenced)",
            "the platform's footprint sequencer (`iro sequencer`) on the same database: "
            + (
                f"{sequencer_pct:.0f} % of a core over the whole workload"
                if sequencer_pid
                else "none (no such command)"
            ),
            f"{table}: {chain.get('count')} events, the chain "
            + ("verifies" if chain["ok"] else f"is BROKEN at seq {chain.get('first_bad_seq')}"),
        ]
        if case_lag:
            notes.append(
                f"sequencing lag (call to seq) p50 {case_lag.get('p50', float('nan')):.1f} ms, p99"
                f" {case_lag.get('p99', float('nan')):.1f} ms (goal p99 <= {GOAL_LAG_MS:g} ms)"
            )
        results.append(
            Result(
                workload="append ceiling",
                case=name if name != "current" else "footprint.append_event, 8 clients",
                platform=measured,
                baseline=plain,
                ratio=r,
                goal=f">= {GOAL_RATIO} of plain; lag p99 <= {GOAL_LAG_MS:g} ms",
                met=None if r is None else bool(r >= GOAL_RATIO and chain["ok"] and lag_met),
                notes=notes,
                extra={
                    "lag_ms": case_lag,
                    "postgres": outcome["info"].get("server_version"),
                    "round_rates": [round(x.rate, 1) for x in case.rounds],
                    "baseline_round_rates": [round(x.rate, 1) for x in found["plain"].rounds],
                    "wal_bytes_per_event": round(case.wal_per_event, 1),
                },
            )
        )
    return results
