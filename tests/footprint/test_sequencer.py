"""The pending table and the single sequencer (migration 0018; docs/footprint.md, "Order").

Committed connections throughout: what is under test is what other transactions see."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from shared.footprint import sequencer, verify
from shared.footprint.append import APPEND_LOCK_KEY
from shared.footprint.batch import PendingEvent, append_many
from shared.footprint.models import Event, Pending, Subject
from tests.footprint.helpers import ACTOR, append_one, marker


@contextlib.asynccontextmanager
async def lock_held(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Another transaction holding the footprint's lock (as a request sequencing, before its commit)."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
        try:
            yield connection
        finally:
            await transaction.rollback()


async def pending_ids(engine: AsyncEngine) -> set[uuid.UUID]:
    async with AsyncSession(engine) as session:
        return set((await session.scalars(select(Pending.id))).all())


async def stored(engine: AsyncEngine, event_id: uuid.UUID) -> Event | None:
    async with AsyncSession(engine) as session:
        found: Event | None = await session.scalar(select(Event).where(Event.id == event_id))
        return found


async def test_when_the_lock_is_free_the_append_chains_its_event_before_the_commit(engine):
    async with AsyncSession(engine) as session, session.begin():
        event = await append_one(session, marker())
        assert event.seq is not None
        assert event.hash is not None
    row = await stored(engine, event.id)
    assert row is not None and (row.seq, row.hash) == (event.seq, event.hash)
    assert event.id not in await pending_ids(engine)


async def test_an_append_while_another_sequences_commits_pending_without_waiting_then_a_reader_chains_it(engine):
    sessions = async_sessionmaker(engine)
    async with lock_held(engine):
        async with AsyncSession(engine) as session, session.begin():
            event = await asyncio.wait_for(append_one(session, marker()), timeout=5)  # no waiting for the lock
        assert (event.seq, event.recorded_at, event.prev_hash, event.hash) == (None, None, None, None)
        assert event.id in await pending_ids(engine)
        assert await stored(engine, event.id) is None
        # A reader waits for the holder at most lock_timeout, then reads what is chained.
        assert await sequencer.sequence_pending(sessions=sessions, lock_timeout=0.2) == 0
    async with AsyncSession(engine) as session:
        head_before = await session.scalar(select(func.max(Event.seq)))
    moved = await sequencer.sequence_pending(sessions=sessions)
    assert moved >= 1
    row = await stored(engine, event.id)
    assert row is not None and row.seq <= (head_before or 0) + moved
    assert event.id not in await pending_ids(engine)
    async with AsyncSession(engine) as session:
        report = await verify.verify(session)
    assert report.ok, report


async def test_the_next_append_chains_what_others_left_pending_in_the_order_they_entered(engine):
    kind = marker()
    async with lock_held(engine):
        left = []
        for n in range(3):
            async with AsyncSession(engine) as session, session.begin():
                left.append(await append_one(session, kind, payload={"n": n}))
    assert all(event.seq is None for event in left)
    async with AsyncSession(engine) as session, session.begin():
        last = await append_one(session, kind, payload={"n": 3})
    rows = [await stored(engine, event.id) for event in left]
    seqs = [row.seq for row in rows if row is not None]
    assert seqs == list(range(last.seq - 3, last.seq)), "consecutive, in the order they entered, before the winner"


async def test_a_reader_whose_own_transaction_holds_the_lock_chains_in_it_instead_of_waiting_for_itself(engine):
    kind = marker()
    async with AsyncSession(engine) as session, session.begin():
        mine = await append_one(session, kind)  # won the lock: held to this transaction's end
        assert mine.seq is not None
        async with AsyncSession(engine) as other, other.begin():
            theirs = await append_one(other, kind)
        assert theirs.seq is None
        # In another connection this would wait for the lock this very transaction holds.
        assert await asyncio.wait_for(sequencer.sequence_pending(session), timeout=5) >= 1
        row = await session.scalar(select(Event).where(Event.id == theirs.id))
        assert row is not None and row.seq > mine.seq
    assert theirs.id not in await pending_ids(engine)


async def test_an_event_id_already_in_the_log_is_refused_in_the_request(engine):
    async with AsyncSession(engine) as session, session.begin():
        first = await append_one(session, marker())
    again = PendingEvent(
        type=marker(), actor=ACTOR, subject=Subject("thing", uuid.uuid4()), payload={}, service="reviews", id=first.id
    )
    with pytest.raises(IntegrityError, match="already in the log"):
        async with AsyncSession(engine) as session, session.begin():
            await append_many(session, [again])
    assert first.id not in await pending_ids(engine)


async def test_a_pending_row_the_log_would_refuse_never_stops_the_chain(engine):
    """A duplicate id slipped into pending (a race, or a hand-written row): the sequencer leaves it
    there for an operator and chains everything else."""
    async with AsyncSession(engine) as session, session.begin():
        first = await append_one(session, marker())
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO footprint.pending (id, type, occurred_at, service, actor, subject_type, subject_id,"
                " payload, canonical_before_recorded_at, canonical_before_seq, canonical_after_seq)"
                " VALUES (:id, 'test.duplicate', now(), 'reviews', '{\"sub\": \"x\", \"role\": \"iro\"}', 't', '1',"
                " '{}', '', '', '')"
            ),
            {"id": first.id},
        )
    try:
        async with AsyncSession(engine) as session, session.begin():
            after = await append_one(session, marker())
        assert after.seq is not None
        assert first.id in await pending_ids(engine)
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM footprint.pending WHERE type = 'test.duplicate'"))


async def test_the_sequencer_process_chains_what_is_pending_within_its_interval(engine, database_url):
    async with lock_held(engine), AsyncSession(engine) as session, session.begin():
        event = await append_one(session, marker())
    assert event.seq is None
    stop = asyncio.Event()
    running = asyncio.create_task(sequencer.run(database_url, interval=0.01, vacuum_every=0.05, stop=stop))
    try:
        for _ in range(500):
            if await stored(engine, event.id) is not None:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    row = await stored(engine, event.id)
    assert row is not None and row.seq > 0
    assert event.id not in await pending_ids(engine)


async def test_no_service_role_reads_or_writes_the_pending_table(engine, settings):
    async with engine.connect() as connection:
        for name in ("reviews", "escalations", "participation", "gateway", "auditor"):
            role = settings.db_role(name)
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                allowed = await connection.scalar(
                    text("SELECT has_table_privilege(:role, 'footprint.pending', :p)"), {"role": role, "p": privilege}
                )
                assert allowed is False, (role, privilege)
        for name, allowed in (("reviews", True), ("gateway", True), ("auditor", False)):
            may = await connection.scalar(
                text("SELECT has_function_privilege(:role, 'footprint.sequence(boolean, integer)', 'EXECUTE')"),
                {"role": settings.db_role(name)},
            )
            assert may is allowed, name
