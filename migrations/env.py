"""Alembic environment: one history for every schema, run over asyncpg.

`target_metadata` is every model (tables, indexes, constraints, server defaults); the functions and
triggers are alembic-utils entities (shared/footprint/ddl.py and beside the models). Autogenerate
(`alembic revision --autogenerate`, `alembic check`) compares both with the database, in our schemas
only; tests/test_schema_agreement.py fails when it would propose anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger
from alembic_utils.replaceable_entity import register_entities
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

# Every service's models hang their tables from shared.db.metadata: import them all.
import services.escalations.models
import services.gateway.models
import services.participation.models
import services.reviews.models
import shared.footprint.models  # noqa: F401
from shared.db import async_url, metadata
from shared.footprint import ddl

config = context.config
target_metadata = metadata

SCHEMAS = frozenset({"reviews", "escalations", "participation", "gateway", "footprint"})

# Functions and triggers. Only these kinds are compared: grants depend on the settings (role names)
# and stay in the migrations.
register_entities(
    [*ddl.ENTITIES, services.reviews.models.EIGHTEENTH_BIRTHDAY],
    entity_types=[PGFunction, PGTrigger],
)


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Our schemas only (not `public`, where Alembic keeps `alembic_version`)."""
    if type_ == "schema":
        return name in SCHEMAS
    return parent_names.get("schema_name") in SCHEMAS


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name == "alembic_version")


COMPARE: dict[str, Any] = {
    "target_metadata": target_metadata,
    "include_schemas": True,
    "include_name": include_name,
    "include_object": include_object,
    "compare_type": True,
    "compare_server_default": True,
}


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **COMPARE)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True, **COMPARE)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
