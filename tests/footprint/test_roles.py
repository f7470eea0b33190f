"""Database roles are cluster-wide: a second database on the same server, a rerun, and a DBA who
made the roles beforehand must all work. (Sync tests: Alembic runs its own event loop.)"""

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command

from shared import migrate
from shared.db import plain_url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(plain_url(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin(url: str, *statements: str, database: str = "postgres") -> list:
    """Run statements on the server of `url`, in `database` (default: the maintenance database)."""

    async def run():
        connection = await asyncpg.connect(with_database(url, database))
        try:
            return [await connection.fetch(statement) for statement in statements]
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.fixture
def scratch_database(database_url):
    name = f"iro_scratch_{uuid.uuid4().hex[:8]}"
    admin(database_url, f'CREATE DATABASE "{name}"')
    yield with_database(database_url, name)
    admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_second_database_on_the_same_server_migrates_with_the_existing_roles(scratch_database):
    migrate.upgrade(scratch_database)  # the roles already exist: made by the test database's migration
    command.downgrade(migrate.alembic_config(scratch_database), "0001")
    migrate.upgrade(scratch_database)  # and a rerun of the role-making migration
    rows = admin(scratch_database, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'iro\\_%' ORDER BY 1")[0]
    assert {"iro_reviews", "iro_escalations", "iro_participation", "iro_gateway", "iro_auditor"} <= {
        r["rolname"] for r in rows
    }


def test_a_deployment_whose_dba_makes_the_roles(scratch_database, database_url, monkeypatch):
    prefix = f"dba{uuid.uuid4().hex[:6]}"
    roles = [f"{prefix}_{name}" for name in ("reviews", "escalations", "participation", "gateway", "auditor")]
    monkeypatch.setenv("IRO_DB_ROLE_PREFIX", prefix)
    monkeypatch.setenv("IRO_DB_CREATE_ROLES", "false")
    try:
        with pytest.raises(Exception, match="database roles missing"):
            migrate.upgrade(scratch_database)
        admin(scratch_database, *(f"CREATE ROLE {role} NOLOGIN" for role in roles))
        migrate.upgrade(scratch_database)
        privileges = (
            f"SELECT has_table_privilege('{prefix}_reviews', 'footprint.events', 'INSERT') AS insert,"
            f" has_table_privilege('{prefix}_reviews', 'footprint.events', 'UPDATE') AS update,"
            f" has_table_privilege('{prefix}_auditor', 'footprint.events', 'INSERT') AS auditor_insert"
        )
        granted = admin(scratch_database, privileges, database=urlsplit(scratch_database).path[1:])[0][0]
        # Appends go only through footprint.append_event (EXECUTE), never a plain INSERT.
        assert (granted["insert"], granted["update"], granted["auditor_insert"]) == (False, False, False)
    finally:
        # The roles hold privileges in the scratch database: it goes first, then they can.
        admin(database_url, f'DROP DATABASE IF EXISTS "{urlsplit(scratch_database).path[1:]}" WITH (FORCE)')
        admin(database_url, *(f"DROP ROLE IF EXISTS {role}" for role in roles))
