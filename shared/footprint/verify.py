"""Recompute the hash chain and name the first event that does not fit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import Row, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidField
from shared.footprint import canonical
from shared.footprint.models import Event


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int | None
    head_hash: str | None
    first_bad_seq: int | None = None
    problem: str | None = None
    next_from_seq: int | None = None  # set when the check stopped at `max_events` before the range's end

    @property
    def complete(self) -> bool:
        """The whole range asked for was checked (or a break was found in it)."""
        return self.next_from_seq is None


# The rows verify reads: `actor` and `payload` as their JSON text, decoded in the worker thread with
# the hashing, not on the event loop (a batch's jsonb decoding held the loop for ~50 ms).
_ROWS = [
    *(column for column in Event.__table__.c if column.name not in ("actor", "payload")),
    cast(Event.actor, Text).label("actor"),
    cast(Event.payload, Text).label("payload"),
]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def recompute(event: Row[Any] | Event, prev_hash: str) -> str:
    """The hash `event` should have after `prev_hash` (`actor` and `payload` as objects or JSON text)."""
    encoded = canonical.canonical(
        seq=event.seq,
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        service=event.service,
        actor=_json(event.actor),
        child_id=event.child_id,
        iro_id=event.iro_id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        payload=_json(event.payload),
        request_id=event.request_id,
    )
    return canonical.chain_hash(prev_hash, encoded)


async def verify(
    session: AsyncSession, *, from_seq: int | None = None, to_seq: int | None = None, batch: int = 1000,
    max_events: int | None = None,
) -> Verification:  # fmt: skip
    """Check events `from_seq..to_seq` (default: all; `to_seq` past the head stops at the head): no
    `seq` missing, each `prev_hash` is the hash of the event before it, and each `hash` recomputes.
    A truncated tail leaves no break behind, so compare `head_seq`/`head_hash` with a head recorded
    earlier (docs/footprint.md).

    At most `max_events` are checked in one call (None: no limit): a longer range stops there, `ok`
    for what was checked, with `next_from_seq` the seq to continue from (`complete` is false), so no
    call runs for minutes.

    Raises `InvalidField` (422) on `["query", "to_seq"]` when `to_seq < from_seq`, and on
    `["query", "from_seq"]` when `from_seq` is more than one past the head (`head + 1` is `ok`
    with `checked: 0`, so an auditor can poll from the last event they saw)."""
    if from_seq is not None and to_seq is not None and to_seq < from_seq:
        raise InvalidField(("query", "to_seq"), "`to_seq` is before `from_seq`.")
    head_row = (await session.execute(select(Event.seq, Event.hash).order_by(Event.seq.desc()).limit(1))).first()
    head_seq, head_hash = (head_row.seq, head_row.hash) if head_row else (None, None)
    if from_seq is not None and from_seq > (head_seq or 0) + 1:
        raise InvalidField(("query", "from_seq"), f"`from_seq` is more than one past the head (seq {head_seq or 0}).")
    start = max(1, from_seq or 1)
    end = min(to_seq, head_seq) if to_seq is not None and head_seq is not None else head_seq
    if end is None or start > end:
        return Verification(ok=True, checked=0, head_seq=head_seq, head_hash=head_hash)

    def bad(seq: int, problem: str, checked: int) -> Verification:
        return Verification(False, checked, head_seq, head_hash, first_bad_seq=seq, problem=problem)

    if start == 1:
        expected_prev = canonical.GENESIS_HASH
    else:
        before = await session.scalar(select(Event.hash).where(Event.seq == start - 1))
        if before is None:
            return bad(start - 1, "missing", 0)
        expected_prev = before
    expected_seq, checked = start, 0
    while expected_seq <= end:
        if max_events is not None and checked >= max_events:
            return Verification(True, checked, head_seq, head_hash, next_from_seq=expected_seq)
        size = batch if max_events is None else min(batch, max_events - checked)
        query = select(*_ROWS).where(Event.seq >= expected_seq, Event.seq <= end).order_by(Event.seq).limit(size)
        rows = list((await session.execute(query)).all())
        if not rows:
            return bad(expected_seq, "missing", checked)
        # Hashing is CPU work: a worker thread does it, so the event loop (and /healthz, and every
        # other request of the process) keeps answering while a long chain is verified.
        outcome = await anyio.to_thread.run_sync(check_batch, rows, expected_seq, expected_prev)
        checked += outcome.checked
        if outcome.first_bad_seq is not None:
            return bad(outcome.first_bad_seq, outcome.problem or "", checked)
        expected_seq, expected_prev = outcome.next_seq, outcome.last_hash
    return Verification(ok=True, checked=checked, head_seq=head_seq, head_hash=head_hash)


@dataclass(frozen=True)
class BatchOutcome:
    checked: int
    next_seq: int
    last_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def check_batch(rows: Sequence[Row[Any]], expected_seq: int, expected_prev: str) -> BatchOutcome:
    """Check consecutive events starting at `expected_seq` whose predecessor's hash is
    `expected_prev`. Pure CPU work (no I/O), run in a worker thread by `verify`."""
    checked = 0
    for event in rows:
        if event.seq != expected_seq:
            return BatchOutcome(checked, expected_seq, expected_prev, expected_seq, "missing")
        if event.prev_hash != expected_prev:
            problem = "prev_hash does not match the previous event's hash"
            return BatchOutcome(checked, expected_seq, expected_prev, event.seq, problem)
        if recompute(event, event.prev_hash) != event.hash:
            problem = "hash does not match the event's contents"
            return BatchOutcome(checked, expected_seq, expected_prev, event.seq, problem)
        checked += 1
        expected_prev = event.hash
        expected_seq += 1
    return BatchOutcome(checked, expected_seq, expected_prev)


async def head(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(Event.seq), 0))) or 0)
