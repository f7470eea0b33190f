"""A database that is down or out of connections is not a fault of ours: 503 `database-unavailable`
with `Retry-After`, after a bounded wait (IRO_DB_POOL_TIMEOUT, IRO_DB_CONNECT_TIMEOUT)."""

from __future__ import annotations

import httpx
import pytest

from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from tests.conftest import app_client

NOBODY = "postgresql://postgres@127.0.0.1:9/iro"  # the discard port: connections are refused


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["type"] == "/problems/database-unavailable"
    assert "password" not in body["detail"]


async def test_every_read_and_write_is_503_while_the_database_refuses_connections(auth_header):
    app = reviews_app(ReviewsSettings(env="test", database_url=NOBODY, db_connect_timeout=2))
    async for client in app_client(app):
        assert_unavailable(await client.get("/v1/children", headers=auth_header("manager")))
        assert_unavailable(
            await client.post(
                "/v1/children",
                json={"la_reference": "U1", "date_of_birth": "2015-01-01"},
                headers=auth_header("manager"),
            )
        )
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable"


async def test_an_exhausted_pool_is_503_after_the_pool_timeout(database_url, auth_header):
    settings = ReviewsSettings(env="test", database_url=database_url, db_pool_size=1, db_pool_timeout=0.2)
    app = reviews_app(settings)
    async for client in app_client(app):
        engine = app.state.engine
        held = [await engine.connect(), await engine.connect()]  # pool_size 1 plus 1 overflow: all of it
        try:
            assert_unavailable(await client.get("/v1/children", headers=auth_header("manager")))
        finally:
            for connection in held:
                await connection.close()
        recovered = await client.get("/v1/children", headers=auth_header("manager"))
        assert recovered.status_code == 200
        assert isinstance(recovered.json()["items"], list)


@pytest.mark.parametrize("variable", ["IRO_DB_POOL_TIMEOUT", "IRO_DB_CONNECT_TIMEOUT"])
def test_the_waits_are_seconds_by_default_and_settable(monkeypatch, variable):
    assert ReviewsSettings(env="test").db_pool_timeout == 5
    assert ReviewsSettings(env="test").db_connect_timeout == 5
    monkeypatch.setenv(variable, "1.5")
    settings = ReviewsSettings(env="test")
    assert (settings.db_pool_timeout, settings.db_connect_timeout).count(1.5) == 1
