"""Consumers: in order, resumable, atomic with what they do, and not stopped by a bad event."""

import asyncio
import time
import uuid

from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.footprint.consumer import Consumer
from tests.footprint.helpers import append_committed, marker


def make(engine, kind, handler, **kwargs) -> Consumer:
    return Consumer(
        name=kwargs.pop("name", f"test-{uuid.uuid4().hex[:8]}"),
        schema="gateway",
        engine=engine,
        handler=handler,
        types={kind},
        **kwargs,
    )


async def test_consumer_handles_events_in_order_and_resumes_after_a_restart(engine):
    kind = marker()
    handled: list[int] = []

    async def handler(session, event):
        handled.append(event.seq)

    first = await append_committed(engine, kind, 3)
    consumer = make(engine, kind, handler)
    assert await consumer.catch_up() is True
    assert handled == first

    later = await append_committed(engine, kind, 2)
    restarted = make(engine, kind, handler, name=consumer.name)  # a new process, same consumer
    assert await restarted.catch_up() is True
    assert handled == first + later  # nothing reprocessed, nothing skipped
    assert await restarted.position() >= later[-1]


async def test_a_failing_handler_does_not_advance_the_position_and_rolls_back_its_writes(engine):
    kind = marker()
    seqs = await append_committed(engine, kind, 3)
    handled: list[int] = []
    broken = {seqs[1]}
    fact = f"fact-{uuid.uuid4().hex[:8]}"

    async def handler(session: AsyncSession, event):
        await session.execute(
            text("INSERT INTO gateway.consumer_position (consumer, position) VALUES (:c, :p)"),
            {"c": f"{fact}-{event.seq}", "p": event.seq},
        )
        if event.seq in broken:
            raise RuntimeError("cannot handle this one yet")
        handled.append(event.seq)

    registry = CollectorRegistry()
    consumer = make(engine, kind, handler, registry=registry)
    assert await consumer.catch_up() is False
    assert handled == [seqs[0]]
    assert await consumer.position() == seqs[1] - 1
    assert registry.get_sample_value("footprint_consumer_failures_total", {"consumer": consumer.name}) == 1

    broken.clear()
    assert await consumer.catch_up() is True
    assert handled == seqs
    async with AsyncSession(engine) as session:
        facts = (
            (
                await session.execute(
                    text("SELECT position FROM gateway.consumer_position WHERE consumer LIKE :f ORDER BY position"),
                    {"f": f"{fact}-%"},
                )
            )
            .scalars()
            .all()
        )
        assert facts == seqs  # the failed attempt's write was rolled back; each event wrote once
        await session.execute(text("DELETE FROM gateway.consumer_position WHERE consumer LIKE :f"), {"f": f"{fact}-%"})
        await session.commit()


async def test_an_event_that_keeps_failing_is_set_aside_and_the_consumer_goes_on(engine):
    kind = marker()
    seqs = await append_committed(engine, kind, 3)
    handled: list[int] = []

    async def handler(session, event):
        if event.seq == seqs[0]:
            raise ValueError("poison")
        handled.append(event.seq)

    registry = CollectorRegistry()
    consumer = make(engine, kind, handler, max_attempts=2, registry=registry)
    assert await consumer.process_once() == (0, True)
    passed, failed = await consumer.process_once()
    assert (passed, failed) == (3, False)
    assert handled == seqs[1:]
    async with AsyncSession(engine) as session:
        parked = (
            await session.execute(
                text("SELECT seq, attempts, error FROM gateway.consumer_dead_letter WHERE consumer = :c"),
                {"c": consumer.name},
            )
        ).one()
    assert parked.seq == seqs[0]
    assert parked.attempts == 2
    assert "poison" in parked.error
    assert registry.get_sample_value("footprint_consumer_dead_letters_total", {"consumer": consumer.name}) == 1


async def test_a_running_consumer_is_woken_by_notify(engine, database_url):
    kind = marker()
    handled: list[int] = []
    arrived = asyncio.Event()

    async def handler(session, event):
        handled.append(event.seq)
        arrived.set()

    # The poll interval is far longer than the wait below: only NOTIFY can wake it in time.
    consumer = make(engine, kind, handler, database_url=database_url, poll_interval=120)
    async with consumer.running():
        await asyncio.sleep(0)  # let it start listening
        deadline = time.monotonic() + 10
        while await consumer.position() == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # first pass over the existing log done
        seqs = await append_committed(engine, kind, 1)
        await asyncio.wait_for(arrived.wait(), timeout=10)
    assert handled == seqs
