"""The gateway in-process with the real service apps behind in-process transports, all bound to
the test's rolled-back session (so footprint reads see what the test wrote)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from services.escalations.main import create_app as escalations_app
from services.escalations.settings import Settings as EscalationsSettings
from services.gateway.main import create_app as gateway_app
from services.gateway.settings import Settings as GatewaySettings
from services.participation.main import create_app as participation_app
from services.participation.settings import Settings as ParticipationSettings
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from shared.auth import mint_development_token
from tests.conftest import bind_app_to_session

DOWN = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused


class Gateway:
    def __init__(self, client: httpx.AsyncClient, app: Any, settings: GatewaySettings) -> None:
        self.client, self.app, self.settings = client, app, settings

    def auth(self, role: str, sub: str = "manager@council.gov.uk") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_development_token(self.settings, sub=sub, roles=[role])}"}

    async def call(self, method: str, path: str, body: Any = None, *, role: str = "manager",
                   sub: str = "manager@council.gov.uk", headers: dict[str, str] | None = None,
                   **kwargs: Any) -> httpx.Response:  # fmt: skip
        return await self.client.request(
            method, path, json=body, headers={**self.auth(role, sub), **(headers or {})}, **kwargs
        )

    async def ok(self, method: str, path: str, body: Any = None, *, status: int = 200, **kwargs: Any) -> Any:
        response = await self.call(method, path, body, **kwargs)
        assert response.status_code == status, response.text
        return response.json()


@contextlib.asynccontextmanager
async def platform(session: Any, database_url: str, *, down: tuple[str, ...] = (), today: dt.date | None = None,
                   gateway_overrides: dict[str, Any] | None = None) -> AsyncIterator[Gateway]:  # fmt: skip
    services = {
        "reviews": reviews_app(ReviewsSettings(env="test", database_url=database_url, today=today)),
        "escalations": escalations_app(EscalationsSettings(env="test", database_url=database_url, today=today)),
        "participation": participation_app(ParticipationSettings(env="test", database_url=database_url, today=today)),
    }
    turns = asyncio.Lock()  # the gateway calls the services at once; they share the test's session
    async with contextlib.AsyncExitStack() as stack:
        urls = {f"{name}_url": DOWN for name in down}
        for name, app in services.items():
            bind_app_to_session(app, session, lock=turns)
            await stack.enter_async_context(app.router.lifespan_context(app))
            if name not in down:
                urls[f"{name}_url"] = await stack.enter_async_context(serving(app))
        settings = GatewaySettings(
            env="test", database_url=database_url, today=today, **{**urls, **(gateway_overrides or {})}
        )
        gateway = gateway_app(settings)

        @contextlib.asynccontextmanager
        async def audit() -> AsyncIterator[Any]:
            yield session

        gateway.state.audit_sessions = audit
        bind_app_to_session(gateway, session)
        await stack.enter_async_context(gateway.router.lifespan_context(gateway))
        transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
        client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://gateway"))
        yield Gateway(client, gateway, settings)


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve `app` over real TCP on a free loopback port, in this event loop (so it can share the
    test's session); yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the test runner keeps its own
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + 10
    while not server.started:
        if task.done() or asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("the in-loop server did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def gw(session, database_url) -> AsyncIterator[Gateway]:
    async with platform(session, database_url, today=dt.date(2022, 6, 1)) as gateway:
        yield gateway
