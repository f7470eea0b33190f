"""One pooled HTTP client per service, made in the app's lifespan, with explicit timeouts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from services.gateway.access import SERVICES
from services.gateway.settings import Settings


def service_urls(settings: Settings) -> dict[str, str]:
    return {
        "reviews": settings.reviews_url,
        "escalations": settings.escalations_url,
        "participation": settings.participation_url,
    }


def make_client(
    base_url: str, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(settings.service_timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
        ),
        transport=transport,
        follow_redirects=False,
    )


@contextlib.asynccontextmanager
async def lifespan_clients(app: FastAPI) -> AsyncIterator[None]:
    """`app.state.clients[service]`. Tests may put their own (in-process) transports in
    `app.state.transports` before the app starts."""
    settings: Settings = app.state.settings
    transports: dict[str, Any] = getattr(app.state, "transports", {}) or {}
    urls = service_urls(settings)
    app.state.clients = {name: make_client(urls[name], settings, transports.get(name)) for name in SERVICES}
    try:
        yield
    finally:
        for client in app.state.clients.values():
            await client.aclose()
