"""The batch append: many events under one hold of the lock, chained in order, gap-free beside
single appends from other writers, and verified by the same chain check."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import footprint
from shared.footprint import verify
from shared.footprint.append import FootprintError
from shared.footprint.batch import PendingEvent, append_many
from shared.footprint.models import Event
from tests.footprint.helpers import ACTOR, append_one, marker


def pending(event_type: str, n: int, **overrides: object) -> PendingEvent:
    values: dict[str, object] = {
        "type": event_type,
        "actor": ACTOR,
        "subject": footprint.Subject("thing", uuid.uuid4()),
        "payload": {"n": n, "when": "2022-01-20", "text": 'ünïcode "quoted"'},
        "service": "reviews",
    }
    values.update(overrides)
    return PendingEvent(**values)  # type: ignore[arg-type]


async def test_a_batch_takes_consecutive_seqs_and_chains_each_event_to_the_one_before(session):
    kind = marker()
    stored = await append_many(session, [pending(kind, n) for n in range(5)])
    seqs = [event.seq for event in stored]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    for before, after in itertools.pairwise(stored):
        assert after.prev_hash == before.hash
    assert len({event.recorded_at for event in stored}) == 1  # one instant for the batch
    rows = (await session.execute(select(Event.__table__).where(Event.type == kind).order_by(Event.seq))).all()
    assert [row.payload["n"] for row in rows] == [0, 1, 2, 3, 4]
    for row in rows:  # every stored hash recomputes from the stored row
        assert verify.recompute(row, row.prev_hash) == row.hash
    assert rows[0].payload["text"] == 'ünïcode "quoted"'


async def test_an_empty_batch_appends_nothing(session):
    head = await verify.head(session)
    assert await append_many(session, []) == []
    assert await verify.head(session) == head


async def test_a_batch_refuses_a_transaction_that_is_not_read_committed(engine: AsyncEngine):
    async with AsyncSession(engine) as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        with pytest.raises(FootprintError):
            await append_many(session, [pending(marker(), 1)])
        await session.rollback()


async def test_batches_and_single_appends_from_concurrent_writers_leave_no_gap_and_verify(engine: AsyncEngine):
    kind = marker()

    async def batches(writer: int) -> None:
        for round_ in range(5):
            async with AsyncSession(engine) as session, session.begin():
                await append_many(session, [pending(kind, writer * 100 + round_ * 10 + i) for i in range(10)])

    async def singles() -> None:
        for _ in range(20):
            async with AsyncSession(engine) as session, session.begin():
                await append_one(session, kind)

    await asyncio.gather(*(batches(w) for w in range(3)), singles())
    async with AsyncSession(engine) as session:
        seqs = list((await session.scalars(select(Event.seq).where(Event.type == kind).order_by(Event.seq))).all())
        assert len(seqs) == 3 * 5 * 10 + 20
        first, last = seqs[0], seqs[-1]
        result = await verify.verify(session, from_seq=first, to_seq=last)
        assert (result.ok, result.checked) == (True, last - first + 1)
        # Each batch of ten sits in ten consecutive places, in the order it was recorded.
        payloads = (
            await session.execute(
                text("SELECT seq, payload->>'n' AS n FROM footprint.events WHERE type = :k AND payload ? 'when'"
                     " ORDER BY seq"), {"k": kind}
            )
        ).all()  # fmt: skip
        by_batch: dict[int, list[int]] = {}
        for row in payloads:
            by_batch.setdefault(int(row.n) // 10, []).append(row.seq)
        for places in by_batch.values():
            assert places == list(range(places[0], places[0] + 10))
