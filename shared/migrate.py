"""Alembic, driven from code: `iro migrate`, the test fixtures and `/readyz` all use this."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import plain_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates '%': escape it so passwords with '%' survive.
    config.set_main_option("sqlalchemy.url", plain_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply the migrations (synchronously: alembic's env.py runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://unused/x")).get_current_head()


async def current_revision(connection: AsyncConnection) -> str | None:
    exists = await connection.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL"))
    if not exists:
        return None
    revision = await connection.scalar(text("SELECT version_num FROM public.alembic_version"))
    return str(revision) if revision is not None else None


def execute_script(execute: Callable[[str], object], script: str) -> None:
    """Run a migration's SQL script statement by statement (a prepared statement holds one).
    Statements end with a semicolon at the end of a line."""
    for statement in script.split(";\n"):
        if statement.strip():
            execute(statement)
