"""The real-PostgreSQL fixture layer.

- `DATABASE_URL` set: the tests use that database. Otherwise one embedded PostgreSQL server is
  started for the run, in a temporary folder, and stopped at the end.
- Migrated once per run with Alembic (the migrations are what is tested).
- Each test that asks for `session` gets an outer transaction on one connection and a session
  joined to it with `join_transaction_mode="create_savepoint"`; everything is rolled back after.
- Tests of ordering and concurrency use `engine` and real separate connections, and clean up.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared import auth, db, migrate
from shared.embedded import EmbeddedPostgres
from shared.settings import CommonSettings

TEST_DATABASE = "iro_test"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        migrate.upgrade(url)
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="iro-test-pg-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg")
        server.start()
        try:
            url = server.ensure_database(TEST_DATABASE)
            migrate.upgrade(url)
            yield url
        finally:
            server.stop()


@pytest.fixture(scope="session")
def settings(database_url: str) -> CommonSettings:
    return CommonSettings(env="test", database_url=database_url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session


def bind_app_to_session(app: FastAPI, session: AsyncSession, lock: asyncio.Lock | None = None) -> None:
    """Make every request of `app` use the test's session (so the test's rollback undoes it).

    With `lock`, requests take turns with the session (one session cannot serve two at once), for
    apps that a composed view calls concurrently."""

    async def _session(request: Request) -> AsyncIterator[AsyncSession]:
        db.use_session(request, session)
        if lock is None:
            yield session
            return
        async with lock:
            yield session

    app.dependency_overrides[db.get_session] = _session


@pytest.fixture
def token(settings: CommonSettings) -> Callable[..., str]:
    """`token("iro", sub="alice@council.gov.uk")`: a development token for these roles."""

    def mint(*roles: str, sub: str = "tester@council.gov.uk", **extra: Any) -> str:
        return auth.mint_development_token(settings, sub=sub, roles=list(roles), extra=extra)

    return mint


@pytest.fixture
def auth_header(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def header(*roles: str, sub: str = "tester@council.gov.uk") -> dict[str, str]:
        return {"Authorization": f"Bearer {token(*roles, sub=sub)}"}

    return header


async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client that runs the app's lifespan."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
