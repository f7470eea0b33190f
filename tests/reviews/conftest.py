"""The reviews app in-process, bound to the test's rolled-back session, with a fixed today."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.reviews.main import create_app
from services.reviews.settings import Settings
from shared.auth import mint_development_token
from shared.footprint.models import Event
from tests.conftest import app_client, bind_app_to_session

MANAGER = "manager@council.gov.uk"


class Api:
    """Calls as a role: `await api.post("/v1/children", {...}, role="iro", sub="alice@council.gov.uk")`."""

    def __init__(self, client: httpx.AsyncClient, app: Any, settings: Settings, session: Any) -> None:
        self.client, self.app, self.settings, self.session = client, app, settings, session

    def headers(self, role: str, sub: str) -> dict[str, str]:
        token = mint_development_token(self.settings, sub=sub, roles=[role])
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None, *, role: str = "manager", sub: str = MANAGER,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:  # fmt: skip
        headers = {**self.headers(role, sub), **(headers or {})}
        return await self.client.request(method, path, json=body, headers=headers, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.call("POST", path, body, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.call("GET", path, **kwargs)

    async def ok(self, method: str, path: str, body: Any = None, *, status: int = 200, **kwargs: Any) -> Any:
        response = await self.call(method, path, body, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def today(self, day: dt.date) -> None:
        self.app.state.clock.fixed = day

    async def events(self, **where: Any) -> list[Event]:
        query = select(Event).order_by(Event.seq)
        for field, value in where.items():
            query = query.where(getattr(Event, field) == value)
        return list((await self.session.scalars(query)).all())

    # Shortcuts for the common set-up.
    async def iro(self, email: str = "alice@council.gov.uk", fte: float = 1.0, name: str = "Alice") -> dict[str, Any]:
        return await self.ok("POST", "/v1/iros", {"name": name, "email": email, "fte": fte}, status=201)

    async def child(self, la_reference: str = "C1", date_of_birth: str = "2012-05-01") -> dict[str, Any]:
        body = {"la_reference": la_reference, "date_of_birth": date_of_birth}
        return await self.ok("POST", "/v1/children", body, status=201)

    async def enter_care(self, child_id: str, started_on: str, legal_status: str = "C2") -> dict[str, Any]:
        body = {"started_on": started_on, "legal_status": legal_status, "placement_type": "U4"}
        return await self.ok("POST", f"/v1/children/{child_id}/care-periods", body, status=201)

    async def reviews(self, child_id: str) -> list[dict[str, Any]]:
        return (await self.ok("GET", f"/v1/children/{child_id}/reviews"))["items"]

    async def hold(
        self, review_id: str, held_on: str, *, role: str = "manager", sub: str = MANAGER, **fields: Any
    ) -> dict[str, Any]:
        body = {"held_on": held_on, **fields}
        return await self.ok("POST", f"/v1/reviews/{review_id}/held", body, role=role, sub=sub)


@pytest.fixture
def reviews_settings(database_url: str) -> Settings:
    return Settings(env="test", database_url=database_url)


@pytest.fixture
async def api(session, reviews_settings) -> AsyncIterator[Api]:
    app = create_app(reviews_settings)
    bind_app_to_session(app, session)
    async for client in app_client(app):
        yield Api(client, app, reviews_settings, session)
