"""Append-only by the database itself: the trigger refuses everyone, the grants refuse services."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import db
from tests.footprint.helpers import append_committed, append_one, marker

STATEMENTS = {
    "update": "UPDATE footprint.events SET payload = '{}' WHERE type = :kind",
    "delete": "DELETE FROM footprint.events WHERE type = :kind",
    "truncate": "TRUNCATE footprint.events",
}


@pytest.fixture(scope="module")
async def kind(engine):
    event_type = marker()
    await append_committed(engine, event_type, 2)
    return event_type


@pytest.fixture
async def role_engine(database_url, settings):
    engines = {}

    def make(name: str):
        engines[name] = db.create_engine(database_url, pool_size=1, role=settings.db_role(name))
        return engines[name]

    yield make
    for engine in engines.values():
        await engine.dispose()


@pytest.mark.parametrize("statement", sorted(STATEMENTS))
async def test_the_table_owner_cannot_change_or_remove_events(engine, kind, statement):
    async with AsyncSession(engine) as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(STATEMENTS[statement]), {"kind": kind})
        await session.rollback()
        assert (
            await session.scalar(text("SELECT count(*) FROM footprint.events WHERE type = :kind"), {"kind": kind}) == 2
        )


@pytest.mark.parametrize("service", ["reviews", "escalations", "participation", "gateway"])
@pytest.mark.parametrize("statement", sorted(STATEMENTS))
async def test_a_service_role_cannot_change_or_remove_events(role_engine, kind, service, statement):
    async with AsyncSession(role_engine(service)) as session:
        with pytest.raises(DBAPIError, match=r"permission denied|append-only"):
            await session.execute(text(STATEMENTS[statement]), {"kind": kind})
        await session.rollback()


@pytest.mark.parametrize("service", ["reviews", "escalations", "participation", "gateway"])
async def test_a_service_role_cannot_insert_an_event_past_the_append_function(role_engine, service):
    forged = (
        "INSERT INTO footprint.events (seq, id, type, occurred_at, recorded_at, service, actor, subject_type,"
        " subject_id, payload, prev_hash, hash) VALUES (999999999, gen_random_uuid(), 'x.forged', now(), now(),"
        " :service, '{\"sub\": \"a\", \"role\": \"iro\"}', 't', 'i', '{}', repeat('0', 64), repeat('f', 64))"
    )
    async with AsyncSession(role_engine(service)) as session:
        with pytest.raises(DBAPIError, match="permission denied for table events"):
            await session.execute(text(forged), {"service": service})
        await session.rollback()
        granted = await session.scalar(
            text("SELECT has_function_privilege(current_user, 'footprint.append_event(uuid, text, timestamptz, text,"
                 " jsonb, uuid, uuid, text, text, jsonb, text, text, text, text)', 'EXECUTE')")
        )  # fmt: skip
        assert granted is True


@pytest.mark.parametrize("service", ["reviews", "escalations", "participation", "gateway"])
async def test_a_service_role_may_append_and_read(role_engine, service):
    async with AsyncSession(role_engine(service)) as session:
        event = await append_one(session, marker(), service=service)
        assert event.seq > 0
        assert await session.scalar(text("SELECT count(*) FROM footprint.events WHERE seq = :s"), {"s": event.seq}) == 1
        await session.rollback()


async def test_the_auditor_role_may_only_read(role_engine, kind):
    async with AsyncSession(role_engine("auditor")) as session:
        assert (
            await session.scalar(text("SELECT count(*) FROM footprint.events WHERE type = :kind"), {"kind": kind}) == 2
        )
        with pytest.raises(DBAPIError, match="permission denied"):
            await append_one(session, marker())
        await session.rollback()


@pytest.mark.parametrize(
    ("service", "other"), [("reviews", "escalations"), ("participation", "reviews"), ("gateway", "participation")]
)
async def test_a_service_role_cannot_touch_another_services_schema(role_engine, service, other):
    async with AsyncSession(role_engine(service)) as session:
        own = await session.scalar(text(f"SELECT count(*) FROM {service}.consumer_position"))
        assert own >= 0
        with pytest.raises(DBAPIError, match="permission denied"):
            await session.execute(text(f"SELECT count(*) FROM {other}.consumer_position"))
        await session.rollback()
