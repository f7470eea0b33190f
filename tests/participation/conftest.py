"""The participation app, in process, on the test's session (rolled back after each test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation.main import create_app
from services.participation.settings import Settings
from tests.conftest import app_client, bind_app_to_session
from tests.participation.helpers import TODAY


@pytest.fixture
def app(session: AsyncSession, database_url: str) -> FastAPI:
    app = create_app(Settings(env="test", database_url=database_url, today=TODAY))
    bind_app_to_session(app, session)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(app):
        yield client
