"""The error shapes every app shares (RFC 9457), request IDs and the body limit."""

import logging

import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.app import build_app
from shared.auth import Principal, require_roles
from shared.errors import Conflict, NotFound
from shared.settings import CommonSettings
from tests.conftest import app_client

router = APIRouter()


class Thing(BaseModel):
    name: str = Field(min_length=1)
    count: int


@router.post("/v1/things", status_code=201)
async def create_thing(thing: Thing, _: Principal = Depends(require_roles("manager"))) -> Thing:
    if thing.name == "taken":
        raise Conflict("A thing with that name exists.")
    return thing


@router.get("/v1/things/{name}")
async def read_thing(name: str) -> Thing:
    raise NotFound(f"No thing {name}.")


@router.get("/v1/boom")
async def boom() -> Thing:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture
async def client(settings):
    limited = settings.model_copy(update={"max_body_bytes": 200})
    app = build_app(limited, service="test", title="t", description="d", routers=[router], use_database=False)
    async for client in app_client(app):
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    return body


async def test_malformed_json_is_400(client, auth_header):
    response = await client.post(
        "/v1/things",
        content=b'{"name": ',
        headers={**auth_header("manager"), "content-type": "application/json"},
    )
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]


async def test_missing_token_is_401_with_bearer_challenge(client):
    response = await client.post("/v1/things", json={"name": "a", "count": 1})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_wrong_role_is_403(client, auth_header):
    response = await client.post("/v1/things", json={"name": "a", "count": 1}, headers=auth_header("auditor"))
    body = assert_problem(response, 403)
    assert "manager" in body["detail"]


async def test_unknown_id_is_404(client):
    body = assert_problem(await client.get("/v1/things/nope"), 404)
    assert body["detail"] == "No thing nope."


async def test_unknown_path_is_404_problem(client):
    assert_problem(await client.get("/v1/nowhere"), 404)


async def test_conflict_is_409(client, auth_header):
    response = await client.post("/v1/things", json={"name": "taken", "count": 1}, headers=auth_header("manager"))
    body = assert_problem(response, 409)
    assert body["type"] == "/problems/conflict"


async def test_invalid_fields_are_422_naming_each_field(client, auth_header):
    response = await client.post("/v1/things", json={"name": "", "count": "many"}, headers=auth_header("manager"))
    body = assert_problem(response, 422)
    locs = {tuple(error["loc"]) for error in body["errors"]}
    assert locs == {("body", "name"), ("body", "count")}
    assert all(error["msg"] for error in body["errors"])
    assert "input" not in body["errors"][0]  # submitted values are not echoed back


async def test_body_over_the_configured_limit_is_413(client, auth_header):
    response = await client.post("/v1/things", json={"name": "x" * 500, "count": 1}, headers=auth_header("manager"))
    body = assert_problem(response, 413)
    assert body["limit_bytes"] == 200


async def test_chunked_body_over_the_limit_is_413(client, auth_header):
    async def chunks():
        for _ in range(10):
            yield b"x" * 50

    response = await client.post(
        "/v1/things", content=chunks(), headers={**auth_header("manager"), "content-type": "application/json"}
    )
    assert_problem(response, 413)


async def test_unexpected_exception_is_500_without_internals_and_logged_with_request_id(client, caplog):
    with caplog.at_level(logging.ERROR):
        response = await client.get("/v1/boom", headers={"X-Request-ID": "req-boom-1"})
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert body["request_id"] == "req-boom-1"
    assert response.headers["x-request-id"] == "req-boom-1"
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "hunter2" in str(logged[0].exc_info[1])


async def test_request_id_is_echoed_or_made(client):
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 36
    insane = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert insane.headers["x-request-id"] != "bad id with spaces"


def test_production_refuses_development_secrets():
    with pytest.raises(ValueError, match="IRO_JWT_DEV_KEY"):
        CommonSettings(
            env="production",
            jwt_dev_key="anything",
            oidc_jwks_url="https://login.example/jwks",
            jwt_issuer="https://login.example/",
            jwt_audience="api://iro",
        )
    with pytest.raises(ValueError, match="IRO_OIDC_JWKS_URL"):
        CommonSettings(env="production", jwt_issuer="https://login.example/", jwt_audience="api://iro")
