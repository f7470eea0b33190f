"""Gap-free order, whatever the concurrency: a tailing reader that sequences before it reads, as every
reader of the platform does (shared.footprint.sequencer), misses nothing and sees no event twice."""

import asyncio
import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.footprint import sequencer
from shared.footprint.models import Event
from tests.footprint.helpers import append_one, marker

WRITERS = 8
APPENDS_EACH = 200


async def test_eight_concurrent_writers_and_a_tailing_reader_see_every_event_once_in_order(engine):
    kind = marker()
    async with AsyncSession(engine) as session:
        start = await session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0
    done = asyncio.Event()
    seen: list[tuple[int, str]] = []

    async def writer(number: int) -> None:
        rng = random.Random(number)
        for i in range(APPENDS_EACH):
            async with AsyncSession(engine) as session, session.begin():
                await asyncio.sleep(rng.random() * 0.002)  # work inside the transaction, before the append
                await append_one(session, kind, payload={"writer": number, "i": i})
                await asyncio.sleep(rng.random() * 0.002)  # and after it, while holding the lock

    async def reader() -> None:
        after = start
        async with AsyncSession(engine) as session:
            while True:
                finished = done.is_set()
                await sequencer.sequence_pending(sessions=async_sessionmaker(engine))
                rows = (
                    await session.execute(select(Event.seq, Event.type).where(Event.seq > after).order_by(Event.seq))
                ).all()
                await session.rollback()  # a fresh snapshot for the next read
                for seq, event_type in rows:
                    assert seq == after + 1, f"gap: read {seq} after {after}"
                    after = seq
                    seen.append((seq, event_type))
                if finished and not rows:
                    return
                await asyncio.sleep(0.005)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    done.set()
    await reading

    ours = [seq for seq, event_type in seen if event_type == kind]
    assert len(ours) == WRITERS * APPENDS_EACH
    assert len(set(ours)) == len(ours)
    assert ours == sorted(ours)
    async with AsyncSession(engine) as session:
        payloads = (await session.execute(select(Event.payload).where(Event.type == kind))).scalars().all()
    assert sorted((p["writer"], p["i"]) for p in payloads) == [
        (w, i) for w in range(WRITERS) for i in range(APPENDS_EACH)
    ]
