"""Fixtures of the escalations tests: the app bound to the test's session, a fixed today, and
children made known the way the reviews service makes them known (a `child.registered` event)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalations.main import create_app
from services.escalations.settings import Settings
from shared import footprint
from shared.footprint import Event, events
from tests.conftest import app_client, bind_app_to_session

TODAY = dt.date(2024, 4, 15)  # a Monday
MANAGER = footprint.Actor("manager@council.gov.uk", "manager")


def make_app(database_url: str, session: AsyncSession, *, today: dt.date = TODAY, **settings: Any) -> FastAPI:
    app = create_app(Settings(env="test", database_url=database_url, **settings))
    bind_app_to_session(app, session)
    app.state.clock.fixed = today
    return app


@pytest.fixture
def app(database_url: str, session: AsyncSession) -> FastAPI:
    return make_app(database_url, session)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(app):
        yield client


@pytest.fixture
def iro(auth_header: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth_header("iro", sub="iro.one@council.gov.uk")


async def register_child(session: AsyncSession, la_reference: str | None = None) -> uuid.UUID:
    """A child as the reviews service registers it: a `child.registered` event on the footprint."""
    child_id = uuid.uuid4()
    await footprint.append(
        session,
        event=events.ChildRegistered(
            child_id=child_id,
            la_reference=la_reference or f"LA{child_id.hex[:8]}",
            date_of_birth=dt.date(2012, 1, 1),
            uasc=None,
        ),
        actor=footprint.Actor("reviews-test", "iro"),
        subject=footprint.Subject("child", child_id),
        service="reviews",
        child_id=child_id,
    )
    return child_id


async def register_iro(session: AsyncSession, email: str, iro_id: uuid.UUID | None = None) -> uuid.UUID:
    """An IRO as the reviews service registers it: an `iro.registered` event."""
    iro_id = iro_id or uuid.uuid4()
    await footprint.append(
        session,
        event=events.IroRegistered(iro_id=iro_id, email=email, fte="1.000"),
        actor=MANAGER,
        subject=footprint.Subject("iro", iro_id),
        service="reviews",
        iro_id=iro_id,
    )
    return iro_id


async def allocate(session: AsyncSession, child_id: uuid.UUID, iro_id: uuid.UUID) -> None:
    """The child allocated to the IRO as the reviews service records it: an `iro.allocated` event."""
    await footprint.append(
        session,
        event=events.IroAllocated(
            allocation_id=uuid.uuid4(), child_id=child_id, iro_id=iro_id, allocated_on=TODAY, previous_iro_id=None
        ),
        actor=MANAGER,
        subject=footprint.Subject("child", child_id),
        service="reviews",
        child_id=child_id,
        iro_id=iro_id,
    )


async def head(session: AsyncSession) -> int:
    """The footprint's last seq as this session sees it."""
    return int(await session.scalar(select(func.coalesce(func.max(Event.seq), 0))) or 0)


async def events_after(session: AsyncSession, seq: int, service: str = "escalations") -> list[Event]:
    """The events a service appended after `seq`, in order."""
    query = select(Event).where(Event.seq > seq, Event.service == service).order_by(Event.seq)
    return list((await session.scalars(query)).all())


def body(child_ids: list[uuid.UUID] | None = None, **overrides: Any) -> dict[str, Any]:
    """A request to raise an escalation: an alert about the given children (scope fits their count)."""
    ids = [str(child_id) for child_id in child_ids or []]
    scope = "service" if not ids else "child" if len(ids) == 1 else "children"
    values: dict[str, Any] = {
        "kind": "alert",
        "scope": scope,
        "child_ids": ids,
        "category": "drift_in_care_planning",
        "team": "Children in Care Team 2",
        "summary": "Care plan not updated since the last review.",
        "raised_on": "2024-04-02",
    }
    values.update(overrides)
    return values


async def raise_one(client: httpx.AsyncClient, headers: dict[str, str], **values: Any) -> dict[str, Any]:
    """Raise an escalation through the API; its JSON."""
    response = await client.post("/v1/escalations", json=values, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def act(
    client: httpx.AsyncClient, headers: dict[str, str], escalation_id: str, action: str, **values: Any
) -> httpx.Response:
    """POST an action (`responses`, `escalate`, `resolve`, `withdraw`, `cafcass-referral`)."""
    return await client.post(f"/v1/escalations/{escalation_id}/{action}", json=values, headers=headers)
