"""Batch ingest over TCP against a baseline of plain asyncpg writes of the same rows (run by hand).

    .venv/bin/python bench/ingest.py [--children 2000] [--database-url URL] [--write-results]

A deterministic stream of case-system events (`generate`: registrations, care periods, IRO
allocations, placement and legal status changes, reviews held with participation codes, case notes;
every child's events in the order they happened, the children's interleaved by date, as a backfill
sends them) is sent in two ways, batch by batch, in one run against one PostgreSQL server:

- `platform`: `POST /v1/events` on the gateway of an `iro serve` started by this script, in
  signed `application/cloudevents-batch+json` batches of `--batch` (500) events, one request at a
  time (as docs/integration.md tells a source to send), over TCP from this process;
- `baseline`: asyncpg writing the rows the platform writes for the same events into a second
  database migrated alike: the gateway.inbox rows, the domain rows (reviews.* and participation.*)
  and the footprint events through the same `footprint.append_events` function the platform's batch
  append calls, in the platform's chunks (`GATEWAY_INGEST_CHUNK`, 250), one transaction per chunk.
  It knows every id already (no lookups), computes no rules and keeps no idempotency records: the
  cost of the writes alone.

Each batch is sent to the platform, then written by the baseline, alternately, so that a change in
the machine's speed hits both alike. Reported: events/s of each and the ratio (goal >= 0.3), p50,
p95 and p99 per batch, CPU of the load generator, the platform's processes and PostgreSQL, and the
rows each wrote per table (pg_stat_user_tables). Without a URL an embedded PostgreSQL runs in a
temporary folder; with one, two throwaway databases are created on that server and dropped at the end.
bench/README.md says more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.e2e.processes, when run as `python bench/ingest.py`

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402

from bench import common  # noqa: E402
from shared import db, migrate  # noqa: E402
from shared.auth import mint_development_token  # noqa: E402
from shared.embedded import EmbeddedPostgres  # noqa: E402
from shared.footprint import canonical, events  # noqa: E402
from shared.footprint.batch import PendingEvent  # noqa: E402
from shared.footprint.models import Actor, Subject  # noqa: E402
from shared.ingest import envelope, signing  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402
from tests.e2e.processes import Platform, start_platform  # noqa: E402

SOURCE = "mosaic"
FEED = "mosaic-feed"  # the integration token's subject
MANAGER = "manager@council.gov.uk"
CHUNK = 250  # GATEWAY_INGEST_CHUNK's default: the platform's transaction per call to a service
EPOCH = dt.date(2024, 1, 8)  # the first care period starts on or after this day
LAST_START = dt.date(2025, 10, 31)  # and on or before this one: every event is in the past (2026-06 at most)
LEGAL = ("C1", "C2", "V2", "E1")
PLACEMENTS = ("U1", "U2", "U3", "U4", "U5", "U6", "R1", "K2")
NOTE_KINDS = ("contact", "visit", "midway_check", None)


# --- The stream ----------------------------------------------------------------------------------


def _iro_emails(count: int) -> list[str]:
    return [f"iro{n:03d}@bench.council.gov.uk" for n in range(count)]


def _age_on(date_of_birth: dt.date, day: dt.date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def generate(children: int, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The events of `children` children (about 9 each) and the IROs they name, from `seed`: the
    same arguments give the same stream. Every event is valid and applies (`accepted`): the first
    review 10 days after entering care (in time), the second 70 days later, a third 150 days after
    that; participation codes by age (PN0 under 4); placement changes in date order."""
    rnd = random.Random(seed)
    iros = _iro_emails(max(5, children // 40))
    timeline: list[tuple[dt.date, int, int, dict[str, Any]]] = []
    for c in range(children):
        ref = f"BENCH-{c:06d}"
        start = EPOCH + dt.timedelta(days=rnd.randrange((LAST_START - EPOCH).days))
        date_of_birth = start - dt.timedelta(days=rnd.randrange(365, 15 * 365))
        iro = rnd.choice(iros)
        legal = rnd.choice(LEGAL)
        own: list[tuple[dt.date, str, dict[str, Any]]] = []
        registered = start - dt.timedelta(days=rnd.randrange(4))
        data: dict[str, Any] = {"la_reference": ref, "date_of_birth": date_of_birth.isoformat()}
        if rnd.random() < 0.8:
            data["sex"] = rnd.choice(("male", "female"))
        if rnd.random() < 0.1:
            data["uasc"] = True
        own.append((registered, "child.registered", data))
        own.append(
            (
                start,
                "care_period.started",
                {
                    "la_reference": ref,
                    "started_on": start.isoformat(),
                    "legal_status": legal,
                    "placement_type": rnd.choice(PLACEMENTS),
                },
            )
        )
        own.append((start, "iro.allocated", {"la_reference": ref, "iro_email": iro, "allocated_on": start.isoformat()}))
        held = [start + dt.timedelta(days=10)]
        held.append(held[0] + dt.timedelta(days=70))
        if rnd.random() < 0.7:
            held.append(held[1] + dt.timedelta(days=150))
        for day in held:
            code = "PN0" if _age_on(date_of_birth, day) < 4 else rnd.choice(("PN1", "PN1", "PN2", "PN3", "PN5", "PN6"))
            own.append(
                (
                    day,
                    "review.held",
                    {
                        "la_reference": ref,
                        "held_on": day.isoformat(),
                        "format": rnd.choice(("in_person", "virtual")),
                        "participation_code": code,
                    },
                )
            )
        moves = sorted(rnd.sample(range(15, 200), rnd.choice((0, 1, 1, 2))))
        for offset in moves:
            day = start + dt.timedelta(days=offset)
            own.append(
                (
                    day,
                    "placement.changed",
                    {
                        "la_reference": ref,
                        "changed_on": day.isoformat(),
                        "placement_type": rnd.choice(PLACEMENTS),
                        "unplanned": rnd.random() < 0.3,
                    },
                )
            )
        if legal == "C1" and rnd.random() < 0.6:
            day = start + dt.timedelta(days=40)
            own.append(
                (
                    day,
                    "legal_status.changed",
                    {"la_reference": ref, "changed_on": day.isoformat(), "legal_status": "C2"},
                )
            )
        for _ in range(rnd.choice((1, 2, 2, 3))):
            day = start + dt.timedelta(days=rnd.randrange(1, 220))
            note: dict[str, Any] = {
                "la_reference": ref,
                "iro_email": iro,
                "recorded_on": day.isoformat(),
                "text": f"Bench note {rnd.getrandbits(48):012x}: spoke with the child and carer.",
            }
            if kind := rnd.choice(NOTE_KINDS):
                note["kind"] = kind
            own.append((day, "case_note.recorded", note))
        own.sort(key=lambda item: item[0])  # stable: same-day events keep their order (registration first)
        for seq, (day, kind, body) in enumerate(own):
            timeline.append((day, c, seq, {"type": kind, "data": body}))
    timeline.sort(key=lambda item: item[:3])
    stream = []
    for n, (day, _, _, event) in enumerate(timeline):
        stamp = dt.datetime.combine(day, dt.time(9, 0), dt.UTC) + dt.timedelta(seconds=n % 28_800)
        stream.append(
            {
                "specversion": "1.0",
                "id": f"bench-{seed}-{n:07d}",
                "source": SOURCE,
                "type": event["type"],
                "time": stamp.isoformat().replace("+00:00", "Z"),
                "data": event["data"],
            }
        )
    return stream, iros


def batches(stream: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


# --- The platform: POST /v1/events ----------------------------------------------------------------


class PlatformSender:
    """One keep-alive HTTP connection to the gateway; each batch serialised before it is timed and
    signed just before it is sent (the signature holds for 5 minutes)."""

    def __init__(self, gateway: str, iros: list[str]) -> None:
        settings = CommonSettings()
        self.token = mint_development_token(settings, sub=FEED, roles=["integration"], ttl=6 * 3600)
        manager = mint_development_token(settings, sub=MANAGER, roles=["manager"], ttl=3600)
        self.client = httpx.Client(base_url=gateway, timeout=600)
        for email in iros:
            reply = self.client.post(
                "/v1/iros",
                json={"name": email.split("@")[0], "email": email, "fte": 1},
                headers={"Authorization": f"Bearer {manager}"},
            )
            if reply.status_code not in (201, 409):
                raise RuntimeError(f"POST /v1/iros: {reply.status_code} {reply.text}")

    def send(self, body: bytes) -> Counter[str]:
        headers = signing.headers_for(body, signing.DEVELOPMENT_SECRET)
        headers |= {"Authorization": f"Bearer {self.token}", "Content-Type": envelope.BATCH}
        reply = self.client.post("/v1/events", content=body, headers=headers)
        if reply.status_code != 200:
            raise RuntimeError(f"POST /v1/events: {reply.status_code} {reply.text[:2000]}")
        return Counter(result["status"] for result in reply.json()["results"])

    def close(self) -> None:
        self.client.close()


# --- The baseline: the same rows, written with asyncpg ------------------------------------------------


APPEND = (
    "SELECT seq FROM footprint.append_events($1::uuid[], $2::text[], $3::timestamptz[], $4::text[],"
    " $5::text[]::jsonb[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[]::jsonb[], $11::text[],"
    " $12::text[], $13::text[], $14::text[])"
)
INSERTS = {  # in foreign-key order
    "reviews.child": ("id", "la_reference", "date_of_birth", "display_name", "sex", "uasc"),
    "participation.child": ("id", "la_reference", "date_of_birth"),
    "reviews.care_period": ("id", "child_id", "started_on", "legal_status", "placement_type"),
    "reviews.review": ("id", "child_id", "care_period_id", "sequence", "due_on", "statutory_due_on"),
    "reviews.allocation": ("id", "child_id", "iro_id", "allocated_on"),
    "reviews.placement_change": ("id", "care_period_id", "child_id", "changed_on", "placement_type", "unplanned"),
    "reviews.legal_status_change": ("id", "care_period_id", "child_id", "changed_on", "legal_status"),
    "reviews.case_note": ("id", "child_id", "recorded_on", "text", "kind", "iro_id", "recorded_by"),
    "gateway.inbox": (
        "id",
        "source",
        "event_id",
        "type",
        "body",
        "status",
        "warnings",
        "target",
        "received_by",
        "applied_at",
        "request_id",
    ),
}
UPDATES = {
    "care_period_placement": "UPDATE reviews.care_period SET placement_type = $2 WHERE id = $1",
    "care_period_legal": "UPDATE reviews.care_period SET legal_status = $2 WHERE id = $1",
    "review_held": "UPDATE reviews.review SET status = 'held', held_on = $2, format = $3, chaired_by_iro_id = $4,"
    " in_time = true WHERE id = $1",
}
LATE_INSERTS = {  # after the updates: a held review's participation (held_review names it)
    "participation.held_review": (
        "review_id",
        "child_id",
        "review_date",
        "date_of_birth",
        "format",
        "chaired_by_iro_id",
        "sequence",
    ),
    "participation.participation": ("review_id", "code", "recorded_by"),
}


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    values = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


def _kind(sequence: int) -> str:
    return "first" if sequence == 1 else "second" if sequence == 2 else "subsequent"


@dataclass
class ChildState:
    id: uuid.UUID
    date_of_birth: dt.date
    period: uuid.UUID | None = None
    placement: str | None = None
    legal: str | None = None
    iro: uuid.UUID | None = None
    next_review: tuple[uuid.UUID, int, dt.date] | None = None  # id, sequence, statutory due


@dataclass
class Chunk:
    """The rows and footprint events of a chunk of events, built before its transaction."""

    inserts: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in INSERTS})
    updates: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {u: [] for u in UPDATES})
    late: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in LATE_INSERTS})
    footprint: list[PendingEvent] = field(default_factory=list)


class Baseline:
    """Writes, per chunk and in one transaction, the rows the platform writes for the chunk's events:
    what each event's row holds is known here (ids kept in memory), so there is no lookup."""

    def __init__(self, connection: asyncpg.Connection, iros: dict[str, uuid.UUID]) -> None:
        self.connection = connection
        self.iros = iros
        self.children: dict[str, ChildState] = {}
        self.actor = Actor(sub=FEED, role="integration", source=SOURCE)

    def _schedule(self, chunk: Chunk, child: ChildState, sequence: int, due: dt.date, now: dt.datetime) -> None:
        review = uuid.uuid4()
        assert child.period is not None
        chunk.inserts["reviews.review"].append((review, child.id, child.period, sequence, due, due))
        child.next_review = (review, sequence, due)
        self._fp(
            chunk,
            events.ReviewScheduled(
                review_id=review,
                care_period_id=child.period,
                child_id=child.id,
                sequence=sequence,
                kind=_kind(sequence),
                due_on=due,  # type: ignore[arg-type]
                statutory_due_on=due,
            ),
            "reviews",
            Subject("review", review),
            child,
            now,
        )

    def _fp(
        self,
        chunk: Chunk,
        fact: events.FootprintEvent,
        service: str,
        subject: Subject,
        child: ChildState | None,
        occurred: dt.datetime,
        iro: uuid.UUID | None = None,
    ) -> None:
        chunk.footprint.append(
            PendingEvent.of(
                fact,
                actor=self.actor,
                subject=subject,
                service=service,
                child_id=child.id if child else None,
                iro_id=iro or (child.iro if child else None),
                occurred_at=occurred,
                request_id=self.request_id,
            )
        )

    def build(self, events_: list[dict[str, Any]]) -> Chunk:
        chunk = Chunk()
        now = dt.datetime.now(dt.UTC)
        for event in events_:
            data, kind = event["data"], event["type"]
            occurred = dt.datetime.fromisoformat(event["time"])
            target: dict[str, str] = {}
            if kind == "child.registered":
                child = ChildState(uuid.uuid4(), dt.date.fromisoformat(data["date_of_birth"]))
                self.children[data["la_reference"]] = child
                chunk.inserts["reviews.child"].append(
                    (child.id, data["la_reference"], child.date_of_birth, None, data.get("sex"), data.get("uasc"))
                )
                chunk.inserts["participation.child"].append((child.id, data["la_reference"], child.date_of_birth))
                self._fp(
                    chunk,
                    events.ChildRegistered(
                        child_id=child.id,
                        la_reference=data["la_reference"],
                        date_of_birth=child.date_of_birth,
                        uasc=data.get("uasc"),
                    ),
                    "reviews",
                    Subject("child", child.id),
                    child,
                    occurred,
                )
            else:
                child = self.children[data["la_reference"]]
            target["child_id"] = str(child.id)
            if kind == "care_period.started":
                child.period, child.placement, child.legal = (
                    uuid.uuid4(),
                    data.get("placement_type"),
                    data["legal_status"],
                )
                started = dt.date.fromisoformat(data["started_on"])
                chunk.inserts["reviews.care_period"].append(
                    (child.period, child.id, started, child.legal, child.placement)
                )
                self._fp(
                    chunk,
                    events.CarePeriodStarted(
                        care_period_id=child.period,
                        child_id=child.id,
                        started_on=started,
                        legal_status=child.legal,
                        placement_type=child.placement,
                    ),
                    "reviews",
                    Subject("care_period", child.period),
                    child,
                    occurred,
                )
                self._schedule(chunk, child, 1, started + dt.timedelta(days=28), now)
            elif kind == "iro.allocated":
                allocation, child.iro = uuid.uuid4(), self.iros[data["iro_email"]]
                on = dt.date.fromisoformat(data["allocated_on"])
                chunk.inserts["reviews.allocation"].append((allocation, child.id, child.iro, on))
                self._fp(
                    chunk,
                    events.IroAllocated(
                        allocation_id=allocation,
                        child_id=child.id,
                        iro_id=child.iro,
                        allocated_on=on,
                        previous_iro_id=None,
                    ),
                    "reviews",
                    Subject("allocation", allocation),
                    child,
                    occurred,
                )
            elif kind == "placement.changed":
                change, on = uuid.uuid4(), dt.date.fromisoformat(data["changed_on"])
                assert child.period is not None
                chunk.inserts["reviews.placement_change"].append(
                    (change, child.period, child.id, on, data["placement_type"], data["unplanned"])
                )
                if data["placement_type"] != child.placement:  # an unchanged value is not written (as the ORM)
                    chunk.updates["care_period_placement"].append((child.period, data["placement_type"]))
                child.placement = data["placement_type"]
                self._fp(
                    chunk,
                    events.PlacementChanged(
                        care_period_id=child.period,
                        changed_on=on,
                        placement_type=data["placement_type"],
                        unplanned=data["unplanned"],
                    ),
                    "reviews",
                    Subject("placement_change", change),
                    child,
                    occurred,
                )
            elif kind == "legal_status.changed":
                change, on = uuid.uuid4(), dt.date.fromisoformat(data["changed_on"])
                assert child.period is not None and child.legal is not None
                chunk.inserts["reviews.legal_status_change"].append(
                    (change, child.period, child.id, on, data["legal_status"])
                )
                chunk.updates["care_period_legal"].append((child.period, data["legal_status"]))
                self._fp(
                    chunk,
                    events.LegalStatusChanged(
                        care_period_id=child.period,
                        changed_on=on,
                        legal_status=data["legal_status"],
                        previous_legal_status=child.legal,
                    ),
                    "reviews",
                    Subject("legal_status_change", change),
                    child,
                    occurred,
                )
                child.legal = data["legal_status"]
            elif kind == "review.held":
                assert child.next_review is not None and child.period is not None
                review, sequence, due = child.next_review
                held = dt.date.fromisoformat(data["held_on"])
                chunk.updates["review_held"].append((review, held, data.get("format"), child.iro))
                self._fp(
                    chunk,
                    events.ReviewHeld(
                        review_id=review,
                        care_period_id=child.period,
                        child_id=child.id,
                        date_of_birth=child.date_of_birth,
                        held_on=held,
                        sequence=sequence,
                        kind=_kind(sequence),
                        format=data.get("format"),  # type: ignore[arg-type]
                        chaired_by_iro_id=child.iro,
                        chaired_by_child=None,
                        in_time=True,
                        statutory_due_on=due,
                        late_reason=None,
                    ),
                    "reviews",
                    Subject("review", review),
                    child,
                    occurred,
                )
                months = 3 if sequence == 1 else 6
                self._schedule(chunk, child, sequence + 1, held + dt.timedelta(days=30 * months), now)
                chunk.late["participation.held_review"].append(
                    (review, child.id, held, child.date_of_birth, data.get("format"), child.iro, sequence)
                )
                chunk.late["participation.participation"].append((review, data["participation_code"], FEED))
                self._fp(
                    chunk,
                    events.ParticipationRecorded(
                        review_id=review,
                        review_date=held,
                        version=1,
                        code=data["participation_code"],
                        methods=[],
                        met_iro_before=None,
                        interpreter_used=None,
                        parents=[],
                    ),
                    "participation",
                    Subject("review", review),
                    child,
                    occurred,
                )
                target |= {"care_period_id": str(child.period), "review_id": str(review)}
            elif kind == "case_note.recorded":
                note, on, iro = uuid.uuid4(), dt.date.fromisoformat(data["recorded_on"]), self.iros[data["iro_email"]]
                chunk.inserts["reviews.case_note"].append(
                    (note, child.id, on, data["text"], data.get("kind"), iro, FEED)
                )
                self._fp(
                    chunk,
                    events.CaseNoteRecorded(
                        case_note_id=note, recorded_on=on, kind=data.get("kind"), author_iro_id=iro
                    ),
                    "reviews",
                    Subject("case_note", note),
                    child,
                    occurred,
                    iro,
                )
            chunk.inserts["gateway.inbox"].append(
                (
                    uuid.uuid4(),
                    SOURCE,
                    event["id"],
                    kind,
                    json.dumps(event, separators=(",", ":")),
                    "accepted",
                    "[]",
                    json.dumps(target),
                    FEED,
                    now,
                    self.request_id,
                )
            )
        return chunk

    async def write(self, events_: list[dict[str, Any]]) -> None:
        """One batch: its chunks, each built and then written in one transaction."""
        self.request_id = str(uuid.uuid4())
        for start in range(0, len(events_), CHUNK):
            chunk = self.build(events_[start : start + CHUNK])
            async with self.connection.transaction():
                for table, rows in chunk.inserts.items():
                    if rows:
                        await self.connection.executemany(_insert_sql(table, INSERTS[table]), rows)
                for name, rows in chunk.updates.items():
                    if rows:
                        await self.connection.executemany(UPDATES[name], rows)
                for table, rows in chunk.late.items():
                    if rows:
                        await self.connection.executemany(_insert_sql(table, LATE_INSERTS[table]), rows)
                await self.connection.fetch(APPEND, *_append_arguments(chunk.footprint))


def _append_arguments(pending: list[PendingEvent]) -> list[list[Any]]:
    """The 14 arrays of `footprint.append_events`, built as shared.footprint.batch.append_many builds them."""
    rows = [event.fields() for event in pending]
    parts = [canonical.canonical_parts(**row) for row in rows]
    names = (
        "id",
        "type",
        "occurred_at",
        "service",
        "actor",
        "child_id",
        "iro_id",
        "subject_type",
        "subject_id",
        "payload",
        "request_id",
    )
    columns = {name: [row[name] for row in rows] for name in names}
    columns["actor"] = [canonical.dumps(actor) for actor in columns["actor"]]
    columns["payload"] = [canonical.dumps(payload) for payload in columns["payload"]]
    return [*columns.values(), [p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts]]


async def baseline_iros(connection: asyncpg.Connection, emails: list[str]) -> dict[str, uuid.UUID]:
    ids = {email: uuid.uuid4() for email in emails}
    await connection.executemany(
        "INSERT INTO reviews.iro (id, name, email, fte) VALUES ($1, $2, $3, 1)",
        [(iro, email.split("@")[0], email) for email, iro in ids.items()],
    )
    return ids


# --- CPU accounting ----------------------------------------------------------------------------------

ROLES = ("load", "gateway", "reviews", "participation", "escalations", "postgres")


@dataclass
class Watched:
    services: dict[str, psutil.Process]
    postmaster: psutil.Process | None

    def snapshot(self) -> dict[str, Any]:
        return {
            "load": common.own_cpu(children=False),  # this process only
            "machine": common.machine_cpu(),
            "postgres": common.cpu_by_pid(common.process_family(self.postmaster)),
            **{name: common.cpu_by_pid([p]) for name, p in self.services.items()},
        }


def find_watched(platform_: Platform, backend_pid: int, local: bool) -> Watched:
    children = psutil.Process(platform_.process.pid).children(recursive=True)
    services = {}
    for name in ("gateway", "reviews", "participation", "escalations"):
        for process in children:
            with contextlib.suppress(psutil.Error):
                if f"services.{name}.main:create_app" in " ".join(process.cmdline()):
                    services[name] = process
    return Watched(services, common.postmaster_of(backend_pid) if local else None)


# --- Measuring ---------------------------------------------------------------------------------------


@dataclass
class Side:
    """The platform or the baseline over the measured batches."""

    name: str
    events: int = 0
    seconds: float = 0.0  # the batches' own time (request to answer; the baseline's transactions)
    wall: float = 0.0  # and the pause after each: the window the CPU is measured over
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys((*ROLES, "machine", "steal"), 0.0))
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    def pct(self, role: str) -> float:
        return 100 * self.cpu[role] / self.wall if self.wall else 0.0

    @property
    def other(self) -> float:
        mine = sum(self.cpu[role] for role in ROLES)
        return max(0.0, 100 * (self.cpu["machine"] - mine) / self.wall) if self.wall else 0.0

    def per_event(self, role: str) -> float:
        return 1000 * self.cpu[role] / self.events if self.events else 0.0


def timed(side: Side, watched: Watched, count: int, measured: bool, pause: float, action: Any) -> Any:
    before, started = watched.snapshot(), time.perf_counter()
    result = action()
    took = time.perf_counter() - started
    time.sleep(pause)  # the platform's consumers catch up in the background: counted with it, not the next batch
    after = watched.snapshot()
    if measured:
        side.events += count
        side.seconds += took
        side.wall += time.perf_counter() - started
        side.latencies.append(took)
        for role in (*ROLES, "machine", "steal"):
            if role == "machine":
                side.cpu[role] += after["machine"][0] - before["machine"][0]
            elif role == "steal":
                side.cpu[role] += after["machine"][1] - before["machine"][1]
            elif role in after:
                side.cpu[role] += common.cpu_delta(after[role], before[role])
    return result


async def table_writes(url: str) -> dict[str, tuple[int, int]]:
    """Rows inserted and updated per table since the database was made (pg_stat_user_tables)."""
    connection = await asyncpg.connect(db.plain_url(url))
    try:
        rows = await connection.fetch(
            "SELECT schemaname || '.' || relname AS name, n_tup_ins, n_tup_upd FROM pg_stat_user_tables"
            " WHERE n_tup_ins + n_tup_upd > 0"
        )
    finally:
        await connection.close()
    return {row["name"]: (row["n_tup_ins"], row["n_tup_upd"]) for row in rows}


def run(args: argparse.Namespace, platform_url: str, baseline_url: str, local: bool) -> dict[str, Any]:
    stream, iros = generate(args.children, args.seed)
    groups = batches(stream, args.batch)
    bodies = [json.dumps(group, separators=(",", ":")).encode() for group in groups]
    print(f"{len(stream)} events in {len(groups)} batches of {args.batch}", file=sys.stderr)
    loop = asyncio.new_event_loop()
    connection: asyncpg.Connection = loop.run_until_complete(asyncpg.connect(db.plain_url(baseline_url)))
    with tempfile.TemporaryDirectory(prefix="iro-bench-ingest-") as folder:
        platform_ = start_platform(Path(folder) / "serve", database_url=platform_url)
        try:
            platform_.wait_ready()
            sender = PlatformSender(platform_.url(), iros)
            baseline = Baseline(connection, loop.run_until_complete(baseline_iros(connection, iros)))
            info = {
                "server_version": str(loop.run_until_complete(connection.fetchval("SHOW server_version"))),
                "synchronous_commit": str(loop.run_until_complete(connection.fetchval("SHOW synchronous_commit"))),
            }
            watched = find_watched(
                platform_, loop.run_until_complete(connection.fetchval("SELECT pg_backend_pid()")), local
            )
            sides = {"platform": Side("platform"), "baseline": Side("baseline")}
            profilers: list[subprocess.Popen[bytes]] = []
            for n, (group, body) in enumerate(zip(groups, bodies, strict=True)):
                measured = n >= args.warmup_batches
                if args.profile and n == args.warmup_batches:
                    profilers = start_profiles(watched, args.profile)
                statuses = timed(
                    sides["platform"], watched, len(group), measured, args.pause, lambda b=body: sender.send(b)
                )
                sides["platform"].statuses.update(statuses)
                timed(
                    sides["baseline"],
                    watched,
                    len(group),
                    measured,
                    args.pause,
                    lambda g=group: loop.run_until_complete(baseline.write(g)),
                )
                if (n + 1) % 10 == 0 or n + 1 == len(groups):
                    p, b = sides["platform"], sides["baseline"]
                    print(
                        f"  {n + 1}/{len(groups)} batches; platform {p.rate:.0f} ev/s, baseline {b.rate:.0f} ev/s",
                        file=sys.stderr,
                    )
            sender.close()
            if profilers:
                stop_profiles(profilers, args.profile)
            time.sleep(11)  # pg_stat counters reach the views within about 10 s of the last write
            writes = {
                "platform": loop.run_until_complete(table_writes(platform_url)),
                "baseline": loop.run_until_complete(table_writes(baseline_url)),
            }
        finally:
            loop.run_until_complete(connection.close())
            loop.close()
            code = platform_.stop()
            if code != 0:
                print(f"iro serve exited {code}; its log:\n{platform_.log.read_text()[-5000:]}", file=sys.stderr)
    kinds = Counter(event["type"] for event in stream)
    return {
        "sides": sides,
        "writes": writes,
        "info": info,
        "kinds": kinds,
        "events": len(stream),
        "batches": len(groups),
    }


def start_profiles(watched: Watched, folder: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy (`pip install py-spy`, on PATH) sampling the platform's processes from now on: folded
    stacks in `folder`/<process>.txt, idle time left out."""
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy on PATH (pip install py-spy)")
    folder.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [spy, "record", "--pid", str(process.pid), "--rate", "200", "--nonblocking", "--format", "raw",
             "--output", str(folder / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for name, process in watched.services.items()
        if name != "escalations"
    ]  # fmt: skip


def stop_profiles(profilers: list[subprocess.Popen[bytes]], folder: Path) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        profiler.wait(60)
    for path in sorted(folder.glob("*.txt")):
        if path.name.endswith(".summary.txt"):
            continue
        summary = summarise_profile(path.read_text())
        path.with_suffix(".summary.txt").write_text(summary)
        print(f"--- profile of {path.stem} ({path})\n{summary}", file=sys.stderr)


def _frame(frame: str) -> tuple[str, str]:
    """A py-spy frame as `function (module path)` without its line, and its package: `services` or
    `shared` for the platform's code, else the path's first part (`sqlalchemy`, `asyncpg`, `asyncio`)."""
    found = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if found is None:
        return frame, "?"
    function, path = found.groups()
    if path.startswith("<sqlalchemy"):
        return f"{function} (sqlalchemy, generated)", "sqlalchemy"
    if "site-packages/" in path:  # absolute paths (a blocking py-spy): as the non-blocking one gives them
        path = path.split("site-packages/")[-1]
    elif "/lib/python3" in path:
        path = path.split("/lib/python3")[-1].split("/", 1)[-1]
    elif (cut := max(path.rfind("/services/"), path.rfind("/shared/"))) >= 0:
        path = path[cut + 1 :]
    package = path.split("/")[0].removesuffix(".py")
    return f"{function} ({path})", package


def summarise_profile(folded: str, top: int = 20) -> str:
    """Of py-spy's folded stacks: the share of samples whose leaf (the running function) is in each
    package; each function of the platform's code (services/, shared/) on the stack (inclusive); and
    the leaf functions (self). With `--nonblocking` a stack may be cut short at its root."""
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame(frame) for frame in stack.split(";")]
        for name in {name for name, package in frames if package in ("services", "shared")}:
            inclusive[name] += samples
        leaves[frames[-1][0]] += samples
        by_package[frames[-1][1]] += samples
    if not total:
        return "no samples\n"
    pct = [f"{package} {100 * n / total:.0f} %" for package, n in by_package.most_common(12)]
    lines = [f"{total} samples (non-idle)", "", "self time by package: " + ", ".join(pct), "", "inclusive, ours:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self (leaf frames):"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in leaves.most_common(top)]
    return "\n".join(lines) + "\n"


# --- Reporting ---------------------------------------------------------------------------------------


def report(result: dict[str, Any], title: str, args: argparse.Namespace) -> str:
    sides: dict[str, Side] = result["sides"]
    p, b = sides["platform"], sides["baseline"]
    ratio = p.rate / b.rate if b.rate else float("nan")
    kinds = ", ".join(f"{kind} {count}" for kind, count in result["kinds"].most_common())
    cores = os.cpu_count() or 1
    lines = [
        f"## Batch ingest: {title}",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; `bench/ingest.py --children {args.children}"
        f" --seed {args.seed} --batch {args.batch}`",
        f"- Machine: {cores} cores, {common.cpu_model()}, {platform.platform()}; Python {platform.python_version()}",
        f"- PostgreSQL {result['info']['server_version']}, synchronous_commit={result['info']['synchronous_commit']}",
        f"- Stream: {result['events']} events of {args.children} children in {result['batches']} batches of "
        f"{args.batch} ({kinds}); the first {args.warmup_batches} batches of each writer are not counted; each batch "
        f"is sent to the platform, then written by the baseline, with {args.pause:g} s after each",
        "- platform: signed `POST /v1/events` over TCP to `iro serve` (gateway, services, this server), one request "
        f"at a time; baseline: asyncpg, the same rows in chunks of {CHUNK} events, one transaction per chunk, the "
        "footprint events through `footprint.append_events`",
        "",
        "| writer | events | events/s | vs baseline | p50 s/batch | p95 | p99 | load CPU | gateway | reviews"
        " | participation | escalations | postgres | other | steal |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for side in (p, b):
        services = " | ".join(
            f"{side.pct(role):.0f} %" if side.name == "platform" else "-"
            for role in ("gateway", "reviews", "participation", "escalations")
        )
        lines.append(
            f"| {side.name} | {side.events} | {side.rate:.0f} | {side.rate / b.rate:.2f} | {side.percentile(50):.2f}"
            f" | {side.percentile(95):.2f} | {side.percentile(99):.2f} | {side.pct('load'):.0f} % | {services}"
            f" | {side.pct('postgres'):.0f} % | {side.other:.0f} % | {side.pct('steal'):.0f} % |"
        )
    lines += [
        "",
        "CPU is % of one core over the writer's measured batches and the pause after each (so the platform's "
        "consumers catching up in the background are counted as its own): `load` this "
        "process (the load generator: serialising is done before the clock starts, signing and the HTTP client "
        "inside it; for the baseline, building the rows and asyncpg), `postgres` the postmaster and its children "
        "(n/a off this machine), `other` the rest of the machine, `steal` what the hypervisor took.",
        "",
        "CPU per event, milliseconds: "
        + "; ".join(
            f"{side.name}: "
            + ", ".join(
                f"{role} {side.per_event(role):.2f}"
                for role in ROLES
                if side.name == "platform" or role in ("load", "postgres")  # the platform idles meanwhile
            )
            for side in (p, b)
        ),
        "",
        f"- platform / baseline events/s = **{ratio:.2f}** (goal >= 0.3): {'met' if ratio >= 0.3 else 'NOT met'}",
        f"- platform outcomes: {dict(p.statuses)} (the stream is valid: every event should be `accepted`)",
        "",
        "Rows written (pg_stat_user_tables: inserted / updated), each database from empty:",
        "",
        "| table | platform | baseline |",
        "|---|--:|--:|",
    ]
    writes = result["writes"]
    for table in sorted(set(writes["platform"]) | set(writes["baseline"])):
        cells = []
        for name in ("platform", "baseline"):
            ins, upd = writes[name].get(table, (0, 0))
            cells.append(f"{ins} / {upd}" if ins or upd else "-")
        lines.append(f"| {table} | {cells[0]} | {cells[1]} |")
    lines += ["", "Reading (generated from the figures):", "", *(f"- {s}" for s in reading(p, b, cores))]
    return "\n".join(lines) + "\n"


def reading(p: Side, b: Side, cores: int) -> list[str]:
    out = []
    busiest = max(("gateway", "reviews", "participation", "escalations", "postgres"), key=p.pct)
    mine = {side.name: 1000 * sum(side.cpu[role] for role in ROLES) / side.events for side in (p, b) if side.events}
    out.append(
        f"Per event, the platform's processes, the load generator and PostgreSQL used {mine.get('platform', 0):.2f} ms "
        f"of CPU in all, the baseline and PostgreSQL {mine.get('baseline', 0):.2f} ms. During the platform's batches "
        f"the machine was {p.pct('machine') / 100:.1f} of its {cores} cores busy; the busiest process was {busiest} "
        f"at {p.pct(busiest):.0f} % of a core ({p.per_event(busiest):.2f} ms per event)."
    )
    if p.pct(busiest) >= 80:
        out.append(
            f"{busiest} is one Python process (one event loop): at {p.pct(busiest):.0f} % of a core it bounds the "
            f"platform's rate near {1000 / p.per_event(busiest):.0f} events/s on this machine."
        )
    out.append(
        f"The load generator used {p.pct('load'):.0f} % of a core for the platform and {b.pct('load'):.0f} % for the "
        "baseline (which builds its rows and the footprint's canonical parts in this process)."
    )
    spread = [(max(s.latencies) - min(s.latencies)) / statistics.median(s.latencies) for s in (p, b) if s.latencies]
    out.append(
        f"Batches of one writer differed by up to {100 * max(spread, default=0):.0f} % of its median; other processes "
        f"used {p.other:.0f} % of a core during the platform's batches ({b.other:.0f} % during the baseline's) and the "
        f"hypervisor stole {p.pct('steal'):.0f} %."
    )
    return out


@contextlib.contextmanager
def databases(url: str | None, folder: Path) -> Iterator[tuple[str, str, bool, str, str]]:
    """(platform URL, baseline URL, server is local, results key, title): two fresh databases on the
    server at `url`, dropped afterwards, or on an embedded server started in `folder`."""
    if url:
        key, local = common.server_key(url)
        with (
            common.throwaway_database(url, "iro_bench_ingest_p", migrate_to_head=False) as platform_url,
            common.throwaway_database(url, "iro_bench_ingest_b", migrate_to_head=False) as baseline_url,
        ):
            yield platform_url, baseline_url, local, f"ingest-{key}", f"PostgreSQL at {key}"
        return
    server = EmbeddedPostgres(folder / "pg")
    server.start()
    try:
        yield (
            server.ensure_database("iro_bench_p"),
            server.ensure_database("iro_bench_b"),
            True,
            "ingest-embedded",
            "embedded PostgreSQL",
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--children", type=int, default=2000, help="children in the stream (about 9 events each)")
    parser.add_argument("--seed", type=int, default=12, help="the stream's seed (default 12)")
    parser.add_argument("--batch", type=int, default=500, help="events per request (default 500)")
    parser.add_argument("--warmup-batches", type=int, default=2, help="batches of each writer not counted")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds after each batch (default 0.5)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a server to use instead")
    parser.add_argument("--write-results", action="store_true", help="write/update its section in RESULTS.md")
    parser.add_argument("--profile", type=Path, help="a folder: py-spy samples the platform's processes into it")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (the platform, the databases) on kill
    with (
        tempfile.TemporaryDirectory(prefix="iro-bench-ingest-pg-") as folder,
        databases(args.database_url, Path(folder)) as (platform_url, baseline_url, local, key, title),
    ):
        migrate.upgrade(baseline_url)
        migrate.upgrade(platform_url)
        print(f"benchmarking ingest on {title}", file=sys.stderr)
        result = run(args, platform_url, baseline_url, local)
    body = report(result, title, args)
    print(body)
    if args.write_results:
        common.write_results(key, body)


if __name__ == "__main__":
    main()
