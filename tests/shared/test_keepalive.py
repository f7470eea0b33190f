"""A refused request ends cleanly: the keep-alive connection it came on carries the next request.

Starlette's outermost error middleware sends its 500 and re-raises, and uvicorn closes the
connection on an exception; through the gateway's connection pool that showed as a false 502 for
the next request. These tests speak HTTP/1.1 over one real TCP connection (h11) to uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import h11
import pytest
from fastapi import APIRouter, Depends, Request
from sqlalchemy import text

from shared.app import build_app
from shared.settings import CommonSettings
from tests.gateway.conftest import serving

router = APIRouter()


@router.get("/v1/ok")
async def ok() -> dict[str, str]:
    return {"status": "fine"}


@router.get("/v1/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("an unexpected fault")


async def session_of(request: Request) -> AsyncIterator[object]:
    async with request.app.state.sessions() as session:
        yield session


@router.get("/v1/count")
async def count(value: str, session: object = Depends(session_of)) -> dict[str, int]:
    # A value the database refuses (class 22 data exception), standing for any that slips past a type check.
    number = await session.scalar(text("SELECT CAST(:value AS integer)"), {"value": value})  # type: ignore[attr-defined]
    return {"value": int(number)}


class Connection:
    """One HTTP/1.1 connection; `get` fails if the server has closed it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    async def get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        if self.h11.our_state is h11.DONE:
            self.h11.start_next_cycle()
        request = h11.Request(method="GET", target=target, headers=[("host", "test")])
        self.writer.write(self.h11.send(request) + self.h11.send(h11.EndOfMessage()))
        await self.writer.drain()
        status, headers, body = 0, {}, b""
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(self.reader.read(65536), timeout=10)
                assert data, "the server closed the connection"
                self.h11.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {name.decode(): value.decode() for name, value in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, body
            elif isinstance(event, h11.ConnectionClosed):
                raise AssertionError("the server closed the connection")


@pytest.fixture
async def connection(settings: CommonSettings) -> AsyncIterator[Connection]:
    plain = settings.model_copy(update={"db_use_service_roles": False})  # "test" has no database role
    app = build_app(plain, service="test", title="t", description="d", routers=[router])
    async with app.router.lifespan_context(app), serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            yield Connection(reader, writer)
        finally:
            writer.close()


@pytest.mark.parametrize(
    ("target", "status", "type_"),
    [
        ("/v1/boom", 500, "internal-error"),
        ("/v1/count?value=seven", 422, "validation-failed"),
        ("/v1/count?value=99999999999", 422, "validation-failed"),  # out of integer range
        ("/v1/nowhere", 404, None),
        ("/v1/count", 422, "validation-failed"),  # missing parameter
    ],
)
async def test_a_refused_request_leaves_its_connection_usable(connection, target, status, type_):
    for _ in range(3):  # refused, then good, on the same connection, more than once
        got, headers, body = await connection.get(target)
        assert got == status, body
        assert headers["content-type"].startswith("application/problem+json")
        assert headers.get("connection") != "close"
        if type_:
            assert f'"/problems/{type_}"' in body.decode()
        got, _, body = await connection.get("/v1/ok")
        assert (got, body) == (200, b'{"status":"fine"}')


async def test_a_database_data_error_names_the_parameter_it_came_from(connection):
    got, _, body = await connection.get("/v1/count?value=seven")
    assert got == 422
    assert b'"loc":["query","value"]' in body
