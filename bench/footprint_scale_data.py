"""Bulk-load footprint events for the footprint's scale benchmark ONLY (issue 15; `bench/footprint_scale.py`).

    .venv/bin/python -m bench.footprint_scale_data --database-url URL --events 1000000 [--seed 15]

Never an import path and never run against a real service's database: it COPYs rows straight into
`footprint.events` as the table's owner (the migrations revoke INSERT from the service roles only; the
append-only triggers refuse UPDATE, DELETE and TRUNCATE, not INSERT), to build in minutes what appends
through the platform would take hours to write. It does what `bench/national_data.py` `_footprint` does,
at any size and with many event types.

**It appends.** Each chunk of `CHUNK` events is one transaction that takes the footprint's append lock
(`pg_advisory_xact_lock` on `shared.footprint.append.APPEND_LOCK_KEY`, the lock every append and the
sequencer take), reads the head (`seq`, `hash`, `recorded_at`) and continues the chain from it: so it
loads after whatever the log already holds, and an event the platform appends between two chunks is
chained in, not overwritten or forked. `seq` is head + 1, + 2, ...; `prev_hash` / `hash` are computed
here, in Python, with exactly the canonical encoding of `shared.footprint.canonical` (a fast template of
it, checked against `canonical.canonical` on the first `SELF_CHECK` events of every load), streamed into
`COPY ... FROM STDIN` (text format) while PostgreSQL writes the previous lines (one core each on a
2-core machine). The chain verifies with the platform's own verify.

**The world** (deterministic from `--seed`): `events` events with `occurred_at` spread evenly (with
jitter, increasing along `seq`) over the `YEARS` (10) years before the day of the load; children and
IROs scale with the events so that the shape per child and per IRO is the same at any size: one child
per `EVENTS_PER_CHILD` (120) events, up to 83,000 (10,000,000 events: 83,000 children), one IRO per
`CHILDREN_PER_IRO` (55) children (1,509 for 83,000). Each child is looked after for `CARE_YEARS` (4)
years, the children's periods staggered over the ten years, and an event at time t belongs to a child
in care at t; the child's allocated IRO changes every 18 months (`iro_id` is the allocated IRO, as the
services record it). `recorded_at` is 1 to 30 minutes after `occurred_at` and never decreases along
`seq`: appended after a log recorded later (e.g. today), the loaded events take the head's
`recorded_at` (a backfill is recorded when it is loaded), never a time in the future.

Event types (shares of the events), from `shared/footprint/events.py`, with payloads their models
accept (the first `SELF_CHECK` are parsed with `events.parse`): `case_note.recorded` 28 %,
`child.record_viewed` 22 %, `review.scheduled` 8 %, `review.record_keeping_updated` 8 %,
`decision.recorded` 8 %, `decision.updated` 6 %, `midway_review.held` 5 %, `participation.recorded`
5 %, `placement.changed` 4 %, `legal_status.changed` 2 %, `escalation.raised` 2 %,
`feedback.received` 1 %, `advocacy.referred` 1 %. No type a consumer reads (`iro.registered`,
`child.registered`, `child.updated`, `iro.allocated`, `review.held`: `read_by` in the models), so the
running platform's consumers skip the loaded events instead of failing on children they never saw.
Actors: the allocated IRO (`{"role": "iro", "sub": <email>}`), a manager for some views, the case
system (`{"role": "integration", "source": "mosaic", ...}`) for placement and legal status changes;
every event has a `request_id`.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.common import data_parser  # noqa: E402
from shared import db  # noqa: E402
from shared.footprint import canonical, events  # noqa: E402
from shared.footprint.append import APPEND_LOCK_KEY  # noqa: E402

YEARS = 10
CARE_YEARS = 4
EVENTS_PER_CHILD = 120
MAX_CHILDREN = 83_000
CHILDREN_PER_IRO = 55
CHUNK = 500_000  # events per transaction (one lock, one COPY)
LINES_PER_WRITE = 2_000  # COPY lines sent to the server per write
SELF_CHECK = 2_000  # events checked against canonical.canonical and events.parse at the start of a load
DAY_US = 86_400 * 1_000_000
YEAR_US = 365.25 * DAY_US
IRO_PERIOD_US = int(1.5 * YEAR_US)
MANAGERS = ("manager1@bench.council.gov.uk", "manager2@bench.council.gov.uk", "manager3@bench.council.gov.uk")
COLUMNS = (
    "seq", "id", "type", "occurred_at", "recorded_at", "service", "actor", "child_id", "iro_id", "subject_type",
    "subject_id", "payload", "request_id", "prev_hash", "hash",
)  # fmt: skip
TEMPLATE = (
    '{{"actor":{actor},"child_id":"{child}","id":"{id}","iro_id":"{iro}","occurred_at":"{occurred}",'
    '"payload":{payload},"recorded_at":"{recorded}","request_id":"{request}","seq":{seq},"service":"{service}",'
    '"subject_id":"{subject_id}","subject_type":"{subject_type}","type":"{type}"}}'
)
WEIGHTS = {
    "case_note.recorded": 28, "child.record_viewed": 22, "review.scheduled": 8, "review.record_keeping_updated": 8,
    "decision.recorded": 8, "decision.updated": 6, "midway_review.held": 5, "participation.recorded": 5,
    "placement.changed": 4, "legal_status.changed": 2, "escalation.raised": 2, "feedback.received": 1,
    "advocacy.referred": 1,
}  # fmt: skip
NOTE_KINDS = ("contact", "visit", "consultation", "quality_assurance", "other")
PLACEMENTS = ("U1", "U2", "U3", "U4", "U5", "U6", "K2", "R1", "P1", "H5")
OWNERS = ("Social worker", "Team manager", "Foster carer", "Health", "Virtual school", "IRO")
CATEGORIES = ("care_plan_not_completed", "permanence_delay", "drift_in_care_planning", "placement_stability",
              "health_or_dental_overdue", "pep_not_up_to_date", "visits_not_undertaken")  # fmt: skip
CODES = ("PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7")


def uid(bits: int) -> str:
    """A version-4 uuid's text from 128 random bits (faster than `uuid.UUID`, same form: lowercase, hyphens)."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


@dataclass
class LoadStats:
    """What a load did: `events` written after `head_before` (seq), `seconds` wall time per step."""

    events: int
    children: int
    iros: int
    head_before: int
    head_after: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def load_seconds(self) -> float:
        """Generation, hashing and COPY (the commits included), without the VACUUM."""
        return self.seconds.get("copy", 0.0)

    @property
    def seconds_per_million(self) -> float:
        return self.load_seconds / (self.events / 1e6) if self.events else 0.0


class World:
    """The deterministic stream of events; `next(seq, prev_hash, floor_us)` makes the next one's COPY line."""

    def __init__(
        self, total: int, *, seed: int, end_us: int, known_iros: list[tuple[str, str]] | None = None,
        known_children: list[str] | None = None,
    ) -> None:  # fmt: skip
        """`known_iros` ((id, email)) and `known_children` (ids): the reviews service's own, when it has
        some, so that every `iro_id` and `child_id` of the loaded events is one the platform knows (the
        annual report names each IRO with work in the footprint, and refuses one it cannot)."""
        self.rng = random.Random(seed)
        self.total = total
        r = self.rng
        if known_children:
            self.children = list(known_children)
        else:
            count = min(MAX_CHILDREN, max(10, total // EVENTS_PER_CHILD))
            self.children = [uid(r.getrandbits(128)) for _ in range(count)]
        self.children_count = len(self.children)
        if known_iros:
            self.iros = [iro_id for iro_id, _ in known_iros]
            emails = [email for _, email in known_iros]
        else:
            count = max(3, round(self.children_count / CHILDREN_PER_IRO))
            self.iros = [uid(r.getrandbits(128)) for _ in range(count)]
            emails = [f"iro{n:04d}@bench.council.gov.uk" for n in range(count)]
        self.iros_count = len(self.iros)
        self.iro_actor = [canonical.dumps({"role": "iro", "sub": email}) for email in emails]
        self.manager_actor = [canonical.dumps({"role": "manager", "sub": m}) for m in MANAGERS]
        self.mosaic_actor = canonical.dumps({"role": "integration", "source": "mosaic", "sub": "mosaic@bench"})
        self.care_period = [uid(r.getrandbits(128)) for _ in range(self.children_count)]
        self.end_us = end_us
        self.span_us = int(YEARS * YEAR_US)
        self.start_us = end_us - self.span_us
        self.care_us = int(CARE_YEARS * YEAR_US)
        # Child k is looked after from start_k = start - care + k * (span + care) / children, for `care`.
        self.stagger = (self.span_us + self.care_us) / self.children_count
        self.types = list(WEIGHTS)
        self.cumulative = []
        acc = 0
        for name in self.types:
            acc += WEIGHTS[name]
            self.cumulative.append(acc)
        self.weight_total = acc
        self.index = 0
        self.last_second = -1
        self.second_text = ""

    def child_at(self, t_us: int) -> tuple[int, int]:
        """A child looked after at `t_us` and the index of its IRO then."""
        offset = t_us - self.start_us + self.care_us  # start_k <= t < start_k + care
        hi = min(self.children_count - 1, int(offset / self.stagger))
        lo = max(0, int((offset - self.care_us) / self.stagger) + 1)
        k = self.rng.randint(lo, max(lo, hi))
        since = t_us - (self.start_us - self.care_us + int(k * self.stagger))
        period = max(0, since) // IRO_PERIOD_US
        return k, (k * 7919 + period * 104729) % self.iros_count

    def stamp(self, t_us: int) -> str:
        second, micro = divmod(t_us, 1_000_000)
        if second != self.last_second:
            self.last_second = second
            self.second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self.second_text}.{micro:06d}Z"

    @staticmethod
    def day(t_us: int, plus_days: int = 0) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(t_us // 1_000_000 + plus_days * 86_400))

    def payload(self, kind: str, k: int, iro: int, t_us: int) -> tuple[str, str, str, dict[str, Any], str]:
        """(service, subject_type, subject_id, payload, actor) of an event of type `kind`."""
        r = self.rng
        today = self.day(t_us)
        child, period = self.children[k], self.care_period[k]
        iro_actor = self.iro_actor[iro]
        if kind == "case_note.recorded":
            note = uid(r.getrandbits(128))
            payload = {"case_note_id": note, "recorded_on": today, "kind": r.choice(NOTE_KINDS),
                       "author_iro_id": self.iros[iro], "schema_version": 1}  # fmt: skip
            return "reviews", "case_note", note, payload, iro_actor
        if kind == "child.record_viewed":
            actor = iro_actor if r.random() < 0.8 else r.choice(self.manager_actor)
            return "gateway", "child", child, {"view": "overview", "missing": [], "schema_version": 1}, actor
        review = uid(r.getrandbits(128))
        if kind == "review.scheduled":
            sequence = r.randint(1, 12)
            payload = {"review_id": review, "care_period_id": period, "child_id": child, "sequence": sequence,
                       "kind": "first" if sequence == 1 else "second" if sequence == 2 else "subsequent",
                       "due_on": self.day(t_us, 120), "statutory_due_on": self.day(t_us, 122),
                       "schema_version": 1}  # fmt: skip
            return "reviews", "review", review, payload, iro_actor
        if kind == "review.record_keeping_updated":
            payload = {"review_id": review, "decisions_issued_on": today, "schema_version": 1}
            if r.random() < 0.5:
                payload["record_issued_on"] = today
            return "reviews", "review", review, payload, iro_actor
        if kind == "decision.recorded":
            decision = uid(r.getrandbits(128))
            payload = {"decision_id": decision, "review_id": review, "owner": r.choice(OWNERS),
                       "due_on": self.day(t_us, r.randint(10, 90)), "schema_version": 1}  # fmt: skip
            return "reviews", "decision", decision, payload, iro_actor
        if kind == "decision.updated":
            decision = uid(r.getrandbits(128))
            payload = {"decision_id": decision, "status": "done", "completed_on": today, "schema_version": 1}
            return "reviews", "decision", decision, payload, iro_actor
        if kind == "midway_review.held":
            outcome = r.choice(("on_track", "on_track", "concerns", "escalated"))
            payload = {"midway_review_id": review, "held_on": today, "outcome": outcome, "schema_version": 1}
            return "reviews", "midway_review", review, payload, iro_actor
        if kind == "participation.recorded":
            payload = {"review_id": review, "review_date": today, "version": 1, "code": r.choice(CODES),
                       "methods": ["attended"], "met_iro_before": r.random() < 0.7, "interpreter_used": False,
                       "parents": [], "schema_version": 1}  # fmt: skip
            return "participation", "review", review, payload, iro_actor
        if kind == "placement.changed":
            payload = {"care_period_id": period, "changed_on": today, "placement_type": r.choice(PLACEMENTS),
                       "unplanned": r.random() < 0.3, "schema_version": 1}  # fmt: skip
            return "reviews", "care_period", period, payload, self.mosaic_actor
        if kind == "legal_status.changed":
            payload = {"care_period_id": period, "changed_on": today, "legal_status": "C2",
                       "previous_legal_status": "C1", "schema_version": 1}  # fmt: skip
            return "reviews", "care_period", period, payload, self.mosaic_actor
        if kind == "escalation.raised":
            escalation = uid(r.getrandbits(128))
            payload = {"escalation_id": escalation, "kind": "formal", "raised_as_alert": False, "scope": "child",
                       "children": 1, "category": r.choice(CATEGORIES), "team": "Locality North",
                       "raised_on": today, "status": "open", "stage": 1, "stage_name": "Team Manager",
                       "response_due_on": self.day(t_us, 7), "schema_version": 1}  # fmt: skip
            return "escalations", "escalation", escalation, payload, iro_actor
        if kind == "feedback.received":
            form = uid(r.getrandbits(128))
            payload = {"feedback_id": form, "respondent": "child", "channel": "online", "received_on": today,
                       "answers": {"listened": "always", "understood": "sometimes"}, "has_comment": False,
                       "anonymous": False, "review_id": review, "schema_version": 1}  # fmt: skip
            return "participation", "feedback", form, payload, iro_actor
        referral = uid(r.getrandbits(128))
        payload = {"referral_id": referral, "referred_on": today, "provider": "NYAS", "reason": None,
                   "schema_version": 1}  # fmt: skip
        return "participation", "advocacy_referral", referral, payload, iro_actor

    def line(self, seq: int, prev: str, floor_us: int, check: bool) -> tuple[str, str, int]:
        """The COPY line (text format) of the next event at `seq` chained after `prev`; its hash and
        `recorded_at` (µs). `check`: compare with `canonical.canonical` and parse the payload."""
        r = self.rng
        i = self.index
        self.index += 1
        occurred_us = self.start_us + int((i + r.random()) * self.span_us / self.total)
        recorded_us = max(occurred_us + r.randint(60, 1800) * 1_000_000, floor_us)
        k, iro = self.child_at(occurred_us)
        pick = r.random() * self.weight_total
        j = 0
        while self.cumulative[j] <= pick:
            j += 1
        kind = self.types[j]
        service, subject_type, subject_id, payload, actor = self.payload(kind, k, iro, occurred_us)
        payload_text = canonical.dumps(payload)
        event_id, request = uid(r.getrandbits(128)), f"{r.getrandbits(128):032x}"
        occurred, recorded = self.stamp(occurred_us), self.stamp(recorded_us)
        child, iro_id = self.children[k], self.iros[iro]
        text = TEMPLATE.format(
            actor=actor, child=child, id=event_id, iro=iro_id, occurred=occurred, payload=payload_text,
            recorded=recorded, request=request, seq=seq, service=service, subject_id=subject_id,
            subject_type=subject_type, type=kind,
        )  # fmt: skip
        if "\\" in text or "\t" in text or "\n" in text:
            raise ValueError(f"a character COPY's text format would need escaped: {text}")
        digest = hashlib.sha256(prev.encode("ascii") + text.encode("utf-8")).hexdigest()
        if check:
            self.check(text, payload, kind, seq=seq, id=event_id, occurred=occurred, recorded=recorded,
                       service=service, actor=actor, child=child, iro=iro_id, subject_type=subject_type,
                       subject_id=subject_id, request=request)  # fmt: skip
        row = (f"{seq}\t{event_id}\t{kind}\t{occurred}\t{recorded}\t{service}\t{actor}\t{child}\t{iro_id}\t"
               f"{subject_type}\t{subject_id}\t{payload_text}\t{request}\t{prev}\t{digest}\n")  # fmt: skip
        return row, digest, recorded_us

    @staticmethod
    def check(text: str, payload: dict[str, Any], kind: str, **f: Any) -> None:
        import datetime as dt
        import json

        def ts(value: str) -> dt.datetime:
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)

        expected = canonical.canonical(
            seq=f["seq"], id=f["id"], type=kind, occurred_at=ts(f["occurred"]), recorded_at=ts(f["recorded"]),
            service=f["service"], actor=json.loads(f["actor"]), child_id=f["child"], iro_id=f["iro"],
            subject_type=f["subject_type"], subject_id=f["subject_id"], payload=payload, request_id=f["request"],
        )  # fmt: skip
        if expected != text.encode("utf-8"):
            raise AssertionError(f"the template differs from canonical.canonical:\n{text}\n{expected.decode()}")
        events.parse(kind, payload)  # raises on a payload its model refuses


async def load(
    url: str, total: int, *, seed: int = 15, log: Callable[[str], None] | None = None, vacuum: bool = True
) -> LoadStats:
    """Append `total` chained events to `footprint.events` at `url` (connecting as the table's owner),
    then `VACUUM (ANALYZE) footprint.events`. Returns the counts and the seconds of each step."""
    say = log or (lambda message: print(message, file=sys.stderr))
    connection = await asyncpg.connect(db.plain_url(url))
    try:
        await connection.execute("SET synchronous_commit = off")
        head_before = int(await connection.fetchval("SELECT coalesce(max(seq), 0) FROM footprint.events"))
        today_us = int(time.time() // 86_400) * DAY_US  # the day of the load, 00:00 UTC
        known_iros = [(str(row["id"]), row["email"]) for row in await connection.fetch(
            "SELECT id, email FROM reviews.iro ORDER BY id")]  # fmt: skip
        known_children = [str(row["id"]) for row in await connection.fetch(
            "SELECT id FROM reviews.child ORDER BY id LIMIT $1", MAX_CHILDREN)]  # fmt: skip
        world = World(
            total, seed=seed * 1_000_003 + head_before, end_us=today_us,  # a second load: new event ids
            known_iros=known_iros or None, known_children=known_children or None,
        )  # fmt: skip
        stats = LoadStats(total, world.children_count, world.iros_count, head_before)
        say(f"  loading {total:,} events ({world.children_count:,} children, {world.iros_count:,} IROs, "
            f"{YEARS} years) after seq {head_before:,}")  # fmt: skip
        started = time.perf_counter()
        written = 0
        while written < total:
            size = min(CHUNK, total - written)
            async with connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK_KEY)
                head = await connection.fetchrow(
                    "SELECT seq, hash, (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_us"
                    " FROM footprint.events ORDER BY seq DESC LIMIT 1"
                )
                seq = int(head["seq"]) if head else 0
                prev = head["hash"] if head else canonical.GENESIS_HASH
                floor = int(head["recorded_us"]) if head else 0

                async def lines(count: int, first: int, prev: str, floor: int) -> AsyncIterator[bytes]:
                    batch: list[str] = []
                    for n in range(count):
                        check = world.index < SELF_CHECK
                        row, prev, floor = world.line(first + n, prev, floor, check)
                        batch.append(row)
                        if len(batch) >= LINES_PER_WRITE:
                            yield "".join(batch).encode("utf-8")
                            batch = []
                    if batch:
                        yield "".join(batch).encode("utf-8")

                await connection.copy_to_table(
                    "events", schema_name="footprint", source=lines(size, seq + 1, prev, floor), columns=COLUMNS,
                    format="text",
                )  # fmt: skip
            written += size
            elapsed = time.perf_counter() - started
            say(f"  {written:,} events in {elapsed:.0f} s ({elapsed / (written / 1e6):.0f} s per million)")
        stats.seconds["copy"] = time.perf_counter() - started
        stats.head_after = int(await connection.fetchval("SELECT coalesce(max(seq), 0) FROM footprint.events"))
        if vacuum:
            started = time.perf_counter()
            await connection.execute("VACUUM (ANALYZE) footprint.events")
            stats.seconds["vacuum_analyze"] = time.perf_counter() - started
            say(f"  VACUUM (ANALYZE) footprint.events: {stats.seconds['vacuum_analyze']:.0f} s")
    finally:
        await connection.close()
    return stats


def main() -> None:
    parser = data_parser(__doc__, "a database migrated to head (its owner)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    stats = asyncio.run(load(args.database_url, args.events, seed=args.seed))
    print(stats)


if __name__ == "__main__":
    main()
