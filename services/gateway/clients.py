"""One pooled HTTP client per service, made in the app's lifespan, with explicit timeouts.

aiohttp, chosen by the numbers (bench/RESULTS.md, "Gateway hop"): a bare proxy on aiohttp's pooled
client passed 1.24x the requests of one on httpx's at 16 clients, at a quarter of the CPU."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from fastapi import FastAPI

from services.gateway.access import SERVICES
from services.gateway.settings import Settings

KEEPALIVE_SECONDS = 4.0


class ServiceDown(Exception):
    """The service refused the connection (502) or did not answer in time (504)."""

    def __init__(self, service: str, timed_out: bool) -> None:
        super().__init__(service)
        self.service, self.timed_out = service, timed_out


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or None


class ServiceClient:
    """A service's base URL and one pooled aiohttp session."""

    def __init__(self, name: str, base_url: str, settings: Settings) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(
            # Idle pooled connections are dropped before uvicorn's own keep-alive timeout (5 s by
            # default) closes them, so the gateway never sends on a connection the service closed.
            connector=aiohttp.TCPConnector(limit=settings.max_connections, keepalive_timeout=KEEPALIVE_SECONDS),
            timeout=aiohttp.ClientTimeout(total=settings.service_timeout, connect=settings.connect_timeout),
            auto_decompress=False,  # pass bodies through as the service sent them
            skip_auto_headers=("User-Agent",),
        )

    async def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
        time_limit: float | None = None,
    ) -> Reply:  # fmt: skip
        """A GET whose JSON answer is read whole (views, documents, readiness)."""
        kwargs: dict[str, Any] = {"params": dict(params or {}), "headers": dict(headers or {})}
        if time_limit is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=time_limit)
        return await self._whole("GET", path, **kwargs)

    async def post(self, path: str, *, json_body: Any, headers: Mapping[str, str] | None = None) -> Reply:
        """A POST of a JSON body whose JSON answer is read whole (the batch command paths)."""
        return await self._whole("POST", path, json=json_body, headers=dict(headers or {}))

    async def _whole(self, method: str, path: str, **kwargs: Any) -> Reply:
        """A request whose answer is read whole and parsed as JSON (None when it is not JSON);
        `ServiceDown` when the service refuses the connection or does not answer in time."""
        try:
            async with self.session.request(method, f"{self.base_url}{path}", **kwargs) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise ServiceDown(self.name, timed_out=True) from None
        except aiohttp.ClientError:
            raise ServiceDown(self.name, timed_out=False) from None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return Reply(status, body)

    async def open(
        self, method: str, path_and_query: str, *, headers: list[tuple[str, str]], body: AsyncIterator[bytes] | None
    ) -> aiohttp.ClientResponse:
        """Start a request whose answer is streamed back; the caller releases the response.

        A request without a body that finds its pooled connection closed by the service
        (`ServerDisconnectedError` before any answer) is sent once more on a new connection: a
        keep-alive race is not the service being down. A body already streamed cannot be re-sent."""
        url = f"{self.base_url}{path_and_query}"
        for attempt in (1, 2):
            try:
                return await self.session.request(method, url, headers=headers, data=body)
            except TimeoutError:
                raise ServiceDown(self.name, timed_out=True) from None
            except aiohttp.ServerDisconnectedError:
                if body is not None or attempt == 2:
                    raise ServiceDown(self.name, timed_out=False) from None
            except aiohttp.ClientError:
                raise ServiceDown(self.name, timed_out=False) from None
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.session.close()


def service_urls(settings: Settings) -> dict[str, str]:
    return {
        "reviews": settings.reviews_url,
        "escalations": settings.escalations_url,
        "participation": settings.participation_url,
    }


@contextlib.asynccontextmanager
async def lifespan_clients(app: FastAPI) -> AsyncIterator[None]:
    """`app.state.clients[service]`: one pooled client per service for the life of the app."""
    settings: Settings = app.state.settings
    urls = service_urls(settings)
    app.state.clients = {name: ServiceClient(name, urls[name], settings) for name in SERVICES}
    try:
        yield
    finally:
        for client in app.state.clients.values():
            await client.close()
