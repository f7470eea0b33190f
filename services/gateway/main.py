"""The gateway: the one door for front-ends, integrators and auditors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from services.gateway import access, backfill, clients, cors, openapi, proxy
from services.gateway.routes import events, footprint, imports, reference, reports, views
from services.gateway.settings import Settings
from shared import db, logs
from shared.app import build_app

DESCRIPTION = """The one door of the IRO Footprint Platform: auth, the services' APIs, the child
overview, the worklist, the auditors' footprint API.

Every `/v1` call needs `Authorization: Bearer <JWT>` (locally: `iro token --role manager --sub
you@council.gov.uk`). Errors are RFC 9457 problems. See docs/gateway.md for a walkthrough."""


@contextlib.asynccontextmanager
async def audit_engine(app: FastAPI) -> AsyncIterator[None]:
    """Footprint reads use the read-only auditor role. (Tests may set `audit_sessions` first.)"""
    if getattr(app.state, "audit_sessions", None) is not None:
        yield
        return
    settings: Settings = app.state.settings
    assert settings.database_url
    role = settings.db_role("auditor") if settings.db_use_service_roles else None
    engine = db.engine_for(settings, role=role)
    app.state.audit_engine = engine
    app.state.audit_sessions = db.session_factory(engine)
    try:
        yield
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def service_documents(app: FastAPI) -> AsyncIterator[None]:
    await openapi.fetch(app)
    yield


def service_ready(name: str) -> Callable[[FastAPI], Awaitable[bool]]:
    async def check(app: FastAPI) -> bool:
        try:
            client: clients.ServiceClient = app.state.clients[name]
            reply = await client.get("/readyz", time_limit=2)
        except clients.ServiceDown:
            return False
        return reply.status == 200

    return check


def own_post(path: str) -> bool:
    """The gateway's own POSTs, whose `Idempotency-Key`s it keeps (the services keep those it proxies)."""
    return path == "/v1/events" or (path.startswith("/v1/inbox/") and path.endswith("/replay"))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(service="gateway")
    app = build_app(
        settings,
        service="gateway",
        title="IRO Footprint Platform",
        description=DESCRIPTION,
        routers=[
            footprint.router,
            views.router,
            reference.router,
            events.router,
            imports.router,
            reports.router,
            proxy.router,
        ],  # the proxy's catch-all last
        hooks=[audit_engine, clients.lifespan_clients, service_documents, backfill.worker],
        readiness_checks={name: service_ready(name) for name in access.SERVICES},
        idempotency_schema="gateway",
        idempotency_paths=own_post,
        upload_limits={"/v1/imports/ssda903": settings.max_import_bytes},
    )
    app.state.audit_sessions = None
    openapi.install(app)
    app.add_middleware(openapi.RefreshMiddleware)
    cors.install(app, settings)
    return app
