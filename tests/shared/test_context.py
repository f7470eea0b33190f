"""The request context: events recorded during a request are appended in one batch with its
changes at the single commit, or not at all when the request fails."""

from __future__ import annotations

import uuid

import pytest
from fastapi import APIRouter
from sqlalchemy import select

from shared.app import build_app
from shared.context import Ctx
from shared.db import UnitOfWork
from shared.errors import Conflict
from shared.footprint import Subject
from shared.footprint.models import Event
from tests.conftest import app_client, bind_app_to_session
from tests.footprint.helpers import probe

router = APIRouter(route_class=UnitOfWork)


# A real path of the role table (POST /v1/commendations: iro, manager, admin) on a throwaway app.
@router.post("/v1/commendations", status_code=201)
async def make_things(kind: str, ctx: Ctx, fail: bool = False) -> dict[str, str]:
    thing = uuid.uuid4()
    for n in range(3):
        ctx.record(probe(kind, {"n": n, "thing": str(thing)}), subject=Subject("thing", thing))
    if fail:
        raise Conflict("Refused after recording.")
    return {"thing": str(thing), "today": ctx.today.isoformat(), "actor": ctx.actor.sub}


@pytest.fixture
async def client(settings, session):
    app = build_app(settings.model_copy(update={"today": None}), service="reviews", title="t", description="d",
                    routers=[router])  # fmt: skip
    bind_app_to_session(app, session)
    async for client in app_client(app):
        yield client


async def stored(session, kind: str) -> list[Event]:
    return list((await session.scalars(select(Event).where(Event.type == kind).order_by(Event.seq))).all())


async def test_recorded_events_are_appended_in_order_at_the_commit(client, session, auth_header):
    kind = f"test.ctx{uuid.uuid4().hex[:8]}"
    headers = {**auth_header("iro", sub="ida@council.gov.uk"), "X-Request-ID": "ctx-1"}
    response = await client.post(f"/v1/commendations?kind={kind}", headers=headers)
    assert response.status_code == 201, response.text
    events = await stored(session, kind)
    assert [e.payload["n"] for e in events] == [0, 1, 2]
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 3))
    assert {e.payload["thing"] for e in events} == {response.json()["thing"]}
    assert {(e.service, e.request_id, e.actor["sub"], e.actor["role"]) for e in events} == {
        ("reviews", "ctx-1", "ida@council.gov.uk", "iro")
    }
    assert response.json()["actor"] == "ida@council.gov.uk"


async def test_a_request_that_fails_after_recording_appends_nothing(client, session, auth_header):
    kind = f"test.ctx{uuid.uuid4().hex[:8]}"
    response = await client.post(f"/v1/commendations?kind={kind}&fail=true", headers=auth_header("iro"))
    assert response.status_code == 409
    assert await stored(session, kind) == []


async def test_no_token_is_a_401_before_anything_is_recorded(client, session):
    kind = f"test.ctx{uuid.uuid4().hex[:8]}"
    response = await client.post(f"/v1/commendations?kind={kind}")
    assert response.status_code == 401
    assert await stored(session, kind) == []


async def test_a_role_the_table_does_not_allow_is_a_403_before_anything_is_recorded(client, session, auth_header):
    kind = f"test.ctx{uuid.uuid4().hex[:8]}"
    response = await client.post(f"/v1/commendations?kind={kind}", headers=auth_header("auditor"))
    assert response.status_code == 403
    assert await stored(session, kind) == []
