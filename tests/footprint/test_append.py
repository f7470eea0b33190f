"""Appending: inside the caller's transaction, chained, atomic with the change it records."""

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import footprint
from shared.footprint import canonical, events
from shared.footprint.models import Event
from tests.footprint.helpers import ACTOR, append_one, marker


async def test_append_chains_each_event_to_the_one_before(session):
    first = await append_one(session, "thing.created", payload={"a": 1})
    second = await append_one(session, "thing.changed", payload={"a": 2})
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    stored = await session.get(Event, second.seq)
    assert stored.hash == second.hash
    assert stored.payload == {"a": 2}


async def test_append_records_every_field_it_is_given(session):
    child, iro, subject = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    occurred = dt.datetime(2022, 1, 20, 10, 30, tzinfo=dt.UTC)
    held = events.ReviewBroughtForward(
        review_id=subject, due_on=dt.date(2022, 1, 20), statutory_due_on=dt.date(2022, 2, 1), reason="iro_request"
    )
    event = await footprint.append(
        session,
        event=held,
        actor=footprint.Actor(sub="mosaic-bot", role="integration", source="mosaic"),
        subject=footprint.Subject("review", subject),
        service="reviews",
        child_id=child,
        iro_id=iro,
        occurred_at=occurred,
        request_id="req-42",
    )
    row = (await session.execute(select(Event).where(Event.seq == event.seq))).scalar_one()
    assert row.type == "review.brought_forward"
    assert row.actor == {"sub": "mosaic-bot", "role": "integration", "source": "mosaic"}
    assert (row.child_id, row.iro_id) == (child, iro)
    assert (row.subject_type, row.subject_id) == ("review", str(subject))
    assert row.payload == {
        "review_id": str(subject), "due_on": "2022-01-20", "statutory_due_on": "2022-02-01", "reason": "iro_request",
        "schema_version": 1,
    }  # fmt: skip
    assert event.payload == row.payload == held.to_payload()
    assert row.occurred_at == occurred
    assert row.request_id == "req-42"
    assert row.recorded_at.tzinfo is not None


async def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_encoding(session):
    event = await append_one(session, "thing.created", payload={"b": [1, "é"], "a": None})
    row = (await session.execute(select(Event).where(Event.seq == event.seq))).scalar_one()
    encoded = canonical.canonical(
        seq=row.seq, id=row.id, type=row.type, occurred_at=row.occurred_at, recorded_at=row.recorded_at,
        service=row.service, actor=row.actor, child_id=row.child_id, iro_id=row.iro_id,
        subject_type=row.subject_type, subject_id=row.subject_id, payload=row.payload, request_id=row.request_id,
    )  # fmt: skip
    assert b'"payload":{"a":null,"b":[1,"\xc3\xa9"]}' in encoded  # sorted keys, no spaces, raw UTF-8
    import hashlib

    assert row.hash == hashlib.sha256(row.prev_hash.encode() + encoded).hexdigest()


async def test_a_change_that_fails_after_appending_leaves_neither_the_row_nor_the_event(engine):
    kind = marker()
    consumer = f"atomic-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError, match="after the append"):
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(text("INSERT INTO gateway.consumer_position (consumer) VALUES (:c)"), {"c": consumer})
            await append_one(session, kind)
            raise RuntimeError("something failed after the append")
    async with AsyncSession(engine) as session:
        rows = await session.scalar(
            text("SELECT count(*) FROM gateway.consumer_position WHERE consumer = :c"), {"c": consumer}
        )
        events = await session.scalar(select(Event.seq).where(Event.type == kind))
    assert rows == 0
    assert events is None

    # And the same change without the failure commits both.
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(text("INSERT INTO gateway.consumer_position (consumer) VALUES (:c)"), {"c": consumer})
        await append_one(session, kind)
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(Event.seq).where(Event.type == kind)) is not None
        await session.execute(text("DELETE FROM gateway.consumer_position WHERE consumer = :c"), {"c": consumer})
        await session.commit()


async def test_append_refuses_a_transaction_that_is_not_read_committed(engine):
    async with AsyncSession(engine) as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        with pytest.raises(footprint.append.__globals__["FootprintError"]):
            await append_one(session, marker())
        await session.rollback()


async def test_actor_role_is_required_by_the_table(session):
    with pytest.raises(Exception, match="ck_events_actor_shape"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO footprint.events (seq, id, type, occurred_at, recorded_at, service, actor,"
                    " subject_type, subject_id, payload, prev_hash, hash) VALUES (999999999, gen_random_uuid(),"
                    " 'x.y', now(), now(), 's', '{\"sub\": \"a\"}', 't', 'i', '{}', repeat('0', 64), repeat('0', 64))"
                )
            )
    assert ACTOR.as_json() == {"sub": "tester@council.gov.uk", "role": "iro"}


def test_the_three_parts_sent_to_the_database_are_the_canonical_encoding_around_recorded_at_and_seq():
    fields = {
        "id": uuid.uuid4(), "type": "review.held", "occurred_at": dt.datetime(2022, 1, 20, 9, 30, tzinfo=dt.UTC),
        "service": "reviews", "actor": {"sub": "ålice@council.gov.uk", "role": "iro"}, "child_id": uuid.uuid4(),
        "iro_id": None, "subject_type": "review", "subject_id": "r-1", "request_id": None,
        "payload": {"z": [1, {"b": "ü", "a": None}], "a": "\x01 \" quoted \\ back"},
    }  # fmt: skip
    recorded = dt.datetime(2022, 1, 20, 9, 30, 1, 123456, tzinfo=dt.UTC)
    before_recorded_at, before_seq, after_seq = canonical.canonical_parts(**fields)
    joined = before_recorded_at + "2022-01-20T09:30:01.123456Z" + before_seq + "42" + after_seq
    assert joined.encode() == canonical.canonical(**fields, seq=42, recorded_at=recorded)
