"""The async engine, sessions and the metadata every service's models hang from."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Request
from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import idempotency

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


def create_engine(url: str, *, pool_size: int = 10, role: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An asyncpg engine. With `role`, every connection takes that database role from its first
    moment (a startup parameter), so the process holds only that role's privileges."""
    connect_args = {"server_settings": {"role": role}} if role else {}
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
        **kwargs,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request. The route commits once; anything not committed rolls back here.

    Tests override this dependency with a session joined to an outer transaction.
    """
    async with request.app.state.sessions() as session:
        idempotency.attach(session)
        yield session
