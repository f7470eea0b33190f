"""What every app has: lifespan with its engine, request IDs, body limits, RFC 9457 errors, auth,
`/healthz`, `/readyz`, `/metrics`. A service's `create_app(settings)` calls `build_app` and adds
its routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from pydantic import BaseModel
from sqlalchemy import text

from shared import db, errors, migrate, openapi
from shared.auth import Authenticator
from shared.calendar import WorkingCalendar
from shared.clock import Clock
from shared.idempotency import IdempotencyMiddleware
from shared.limits import BodyLimitMiddleware
from shared.requestid import RequestIdMiddleware
from shared.settings import CommonSettings

logger = logging.getLogger("iro.app")

LifespanHook = Callable[[FastAPI], Any]  # returns an async context manager


class Health(BaseModel):
    status: str
    service: str


class Readiness(BaseModel):
    status: str
    service: str
    database: str
    migrations: str
    checks: dict[str, str] = {}


def build_app(
    settings: CommonSettings,
    *,
    service: str,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    hooks: Sequence[LifespanHook] = (),
    readiness_checks: dict[str, Callable[[FastAPI], Awaitable[bool]]] | None = None,
    use_database: bool = True,
    idempotency_schema: str | None = None,
    idempotency_paths: Callable[[str], bool] | None = None,
    upload_limits: dict[str, int] | None = None,
) -> FastAPI:
    """The app shell. `hooks` are extra async context managers entered in the lifespan (consumers,
    HTTP clients); `readiness_checks` add named checks to `/readyz`; `idempotency_schema` keeps
    `Idempotency-Key`s in that schema, for the POSTs `idempotency_paths` picks (default: all);
    `upload_limits` gives streamed upload paths their own body limit (shared.limits)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if use_database and getattr(app.state, "engine", None) is None:
                if not settings.database_url:
                    raise RuntimeError(f"{service}: DATABASE_URL is not set")
                role = settings.db_role(service) if settings.db_use_service_roles else None
                app.state.engine = db.engine_for(settings, role=role)
                app.state.sessions = db.session_factory(app.state.engine)
                stack.push_async_callback(app.state.engine.dispose)
            if idempotency_schema and getattr(app.state, "lock_engine", None) is None:
                # Idempotency claims hold a connection each while their request runs: a pool of
                # their own, so claims can never starve the requests of connections.
                role = settings.db_role(service) if settings.db_use_service_roles else None
                app.state.lock_engine = db.engine_for(settings, role=role)
                stack.push_async_callback(app.state.lock_engine.dispose)
            for hook in hooks:
                await stack.enter_async_context(hook(app))
            yield

    app = openapi.offline_app(  # /docs and /redoc served without a CDN
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=[{"name": "operational", "description": "Health, readiness and metrics."}],
    )
    app.state.settings = settings
    app.state.service = service
    app.state.engine = None
    app.state.lock_engine = None
    app.state.authenticator = Authenticator(settings)
    app.state.clock = Clock(settings.today)
    app.state.calendar = WorkingCalendar(settings.local_closure_days)

    errors.install_error_handlers(app)
    if idempotency_schema:
        app.add_middleware(IdempotencyMiddleware, schema=idempotency_schema, only=idempotency_paths)
    app.add_middleware(
        BodyLimitMiddleware, default_limit=settings.max_body_bytes, batch_limit=settings.max_batch_body_bytes,
        uploads=upload_limits,
    )  # fmt: skip
    app.add_middleware(RequestIdMiddleware)

    checks = dict(readiness_checks or {})

    @app.get("/healthz", tags=["operational"], response_model=Health)
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok", service=service)

    @app.get("/readyz", tags=["operational"], response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz() -> Any:
        """The database answers and its migrations are at head (and any service-specific checks pass)."""
        database, migrations = "not used", "not used"
        ok = True
        if use_database:
            try:
                async with app.state.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                    database = "ok"
                    current = await migrate.current_revision(connection)
                head = migrate.head_revision()
                migrations = "ok" if current == head else f"at {current}, head is {head}"
                ok = current == head
            except Exception as exc:  # readiness reports; it never raises
                logger.warning("readiness: database check failed: %s", type(exc).__name__)
                database, ok = "unreachable", False
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                passed = await check(app)
            except Exception:
                passed = False
            results[name] = "ok" if passed else "failing"
            ok = ok and passed
        body = Readiness(
            status="ok" if ok else "unavailable",
            service=service,
            database=database,
            migrations=migrations,
            checks=results,
        )
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    app.state.metrics_registry = CollectorRegistry()
    Instrumentator(registry=app.state.metrics_registry, excluded_handlers=["/metrics"]).instrument(app).expose(
        app, endpoint="/metrics", include_in_schema=False, tags=["operational"]
    )

    for router in routers:
        app.include_router(router)
    openapi.install(app)  # problem responses, Idempotency-Key (shared/openapi.py)
    return app
