"""The async engine, sessions and the metadata every service's models hang from."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import idempotency
from shared.settings import CommonSettings

# Stable constraint names, so migrations can name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


def uuid_pk() -> Mapped[uuid.UUID]:
    """A uuid primary key the server does not choose: the code does (`uuid.uuid4`)."""
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def created_at() -> Mapped[dt.datetime]:
    """A timestamp the database sets when the row is inserted."""
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def async_url(url: str) -> str:
    """`postgresql://...` (as operators write it) to the asyncpg dialect SQLAlchemy needs."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        scheme = "postgresql+asyncpg"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def plain_url(url: str) -> str:
    """The libpq form (`postgresql://`), for tools and asyncpg itself."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    role: str | None = None,
    pool_timeout: float = 5,
    connect_timeout: float = 5,
    **kwargs: Any,
) -> AsyncEngine:
    """An asyncpg engine. With `role`, every connection takes that database role from its first
    moment (a startup parameter), so the process holds only that role's privileges.

    `pool_timeout` (seconds) bounds the wait for a pooled connection and `connect_timeout` (seconds)
    the wait for a new one, so an exhausted pool or a database that is down answers 503 in seconds
    (shared.errors.DatabaseUnavailable) rather than holding the request for SQLAlchemy's default 30 s
    and asyncpg's 60 s."""
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    if role:
        connect_args["server_settings"] = {"role": role}
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args=connect_args,
        **kwargs,
    )


def engine_for(settings: CommonSettings, *, role: str | None) -> AsyncEngine:
    """The engine of a process, sized and bounded by its settings (`IRO_DB_POOL_*`)."""
    assert settings.database_url, "DATABASE_URL is not set"
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        role=role,
        pool_timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def use_session(request: Request, session: AsyncSession) -> None:
    """Make `session` the request's unit of work: `UnitOfWork` commits it (tests bind their own)."""
    request.state.session = session


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed once by its route (`UnitOfWork`); anything not committed
    rolls back here. Tests override this dependency with a session joined to an outer transaction."""
    async with request.app.state.sessions() as session:
        use_session(request, session)
        yield session


class UnitOfWork(APIRoute):
    """A route whose request commits once, after its answer is serialised and before it is sent.

    The route and the service functions only `flush()`; when the route returns, its response is
    rendered, kept on the request's `Idempotency-Key` in the same transaction (shared.idempotency),
    the footprint events the request recorded (shared.context) are appended in one batch, and the
    session commits. A route that raises commits nothing (the session rolls back when the
    request ends); a commit that fails (the database went away) is answered as any error is, so no
    client is told of a change that was not committed. Every service router uses this route class."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        from shared.footprint import batch  # the footprint's models hang from this module's Base

        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            response = await handler(request)
            session: AsyncSession | None = getattr(request.state, "session", None)
            context = getattr(request.state, "context", None)
            recorded = context.recorded if context is not None else []
            if session is not None and (session.in_transaction() or recorded):
                await idempotency.keep_response(session, response)
                if recorded:  # last: the append lock is then held only until the commit
                    await batch.append_many(session, recorded)
                    recorded.clear()
                await session.commit()
            return response

        return handle
