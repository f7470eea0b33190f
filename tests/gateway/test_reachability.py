"""Every path the gateway's OpenAPI document lists answers through the gateway (with the real
services behind it), a method a path does not take is 405 with `Allow`, an unknown path is a 404
problem, proxied answers carry one `date` and one `server`, and CORS refusals are problems."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import httpx
import pytest

import shared
from services.escalations.main import create_app as escalations_app
from services.escalations.settings import Settings as EscalationsSettings
from services.gateway.main import create_app as gateway_app
from services.gateway.settings import Settings as GatewaySettings
from services.participation.main import create_app as participation_app
from services.participation.settings import Settings as ParticipationSettings
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from tests.gateway.conftest import serving

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SOME_ID = "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f"
CATEGORIES_CSV = Path(shared.__file__).parent / "reference" / "escalation_categories.csv"
CATEGORIES = len(list(csv.DictReader(CATEGORIES_CSV.open(encoding="utf-8"))))


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", SOME_ID, path)


def documented(document: dict) -> list[tuple[str, str, set[str]]]:
    return [
        (path, concrete(path), {method.upper() for method in operations})
        for path, operations in sorted(document["paths"].items())
    ]


async def gateway_document(gw) -> dict:
    document = (await gw.client.get("/openapi.json")).json()
    assert "Incomplete" not in document["info"]["description"]  # every service's paths are in it
    return document


async def test_every_path_of_the_gateways_document_is_reachable_with_each_method_it_lists(gw):
    document = await gateway_document(gw)
    unreachable = []
    for path, url, methods in documented(document):
        for method in sorted(methods):
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = await gw.call(method, url, body, role="admin", sub="admin@council.gov.uk")
            problem = response.json() if response.headers["content-type"].startswith("application/problem") else {}
            if (
                response.status_code == 405
                or str(problem.get("detail", "")).startswith("No route")
                or problem.get("type") == "/problems/http-not-found"
            ):
                unreachable.append((method, path, response.status_code, problem.get("detail")))
    assert unreachable == []
    walked = {path for path, _, _ in documented(document)}
    assert {"/v1/escalation-categories", "/v1/worklist", "/v1/footprint", "/v1/children/{child_id}"} <= walked
    categories = await gw.ok("GET", "/v1/escalation-categories", role="iro")
    assert {"key", "label"} == set(categories["items"][0])
    assert len(categories["items"]) == CATEGORIES


async def test_a_method_a_path_does_not_take_is_405_with_the_paths_allow(gw):
    document = await gateway_document(gw)
    wrong = []
    for path, url, methods in documented(document):
        method = next(m for m in METHODS if m not in methods)
        response = await gw.call(method, url, {} if method != "GET" else None, role="admin")
        allow = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
        if (
            response.status_code != 405
            or allow != methods
            or not response.headers["content-type"].startswith("application/problem+json")
            or response.json()["type"] != "/problems/http-method-not-allowed"
        ):
            wrong.append((method, path, response.status_code, sorted(allow), sorted(methods)))
    assert wrong == []


async def test_the_wrong_method_is_405_before_the_token_is_looked_at(gw):
    proxied = await gw.client.delete("/v1/children")
    assert (proxied.status_code, proxied.headers["allow"]) == (405, "GET, POST")
    assert proxied.json() == {
        "type": "/problems/http-method-not-allowed",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "/v1/children takes GET, POST, not DELETE.",
        "request_id": proxied.headers["x-request-id"],
    }
    own = await gw.client.post("/v1/worklist")
    assert (own.status_code, own.headers["allow"], own.json()["detail"]) == (
        405,
        "GET",
        "/v1/worklist takes GET, not POST.",
    )


async def test_unknown_paths_are_404_problems_at_the_gateway(gw):
    under_v1 = await gw.call("GET", "/v1/nowhere")
    assert (under_v1.status_code, under_v1.headers["content-type"]) == (404, "application/problem+json")
    assert (under_v1.json()["type"], under_v1.json()["detail"]) == ("/problems/not-found", "No route /v1/nowhere.")
    outside = await gw.client.get("/nowhere")
    assert (outside.status_code, outside.headers["content-type"]) == (404, "application/problem+json")
    assert outside.json()["type"] == "/problems/http-not-found"
    # A path under a service's prefix that the service does not document: the service's own 404.
    deeper = await gw.call("GET", f"/v1/children/{SOME_ID}/nothing-here")
    assert (deeper.status_code, deeper.json()["type"]) == (404, "/problems/http-not-found")


SERVICE_APPS = [
    (reviews_app, ReviewsSettings, "/v1/children"),
    (escalations_app, EscalationsSettings, "/v1/escalations"),
    (participation_app, ParticipationSettings, "/v1/feedback"),
]


@pytest.mark.parametrize(("create", "settings", "listing"), SERVICE_APPS)
async def test_each_service_answers_unknown_paths_and_methods_with_problems(create, settings, listing):
    app = create(settings(env="test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        unknown = await client.get("/v1/nowhere")
        assert (unknown.status_code, unknown.headers["content-type"]) == (404, "application/problem+json")
        assert unknown.json()["type"] == "/problems/http-not-found"
        wrong = await client.delete(listing)
        assert (wrong.status_code, wrong.headers["content-type"]) == (405, "application/problem+json")
        assert wrong.json()["type"] == "/problems/http-method-not-allowed"
        assert wrong.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(("create", "settings", "listing"), SERVICE_APPS)
async def test_each_services_405_allows_every_method_of_the_path(create, settings, listing):
    app = create(settings(env="test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        wrong = await client.delete(listing)
    assert {m.strip() for m in wrong.headers["allow"].split(",")} == {"GET", "POST"}


async def test_a_proxied_answer_over_tcp_has_one_date_and_one_server_header(gw):
    async with serving(gw.app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/v1/children", headers=gw.auth("manager"))
    assert response.status_code == 200
    names = [name.lower() for name, _ in response.headers.multi_items()]
    assert (names.count("date"), names.count("server")) == (1, 1)
    assert names.count("content-type") == 1


def cors_gateway(env: str, origins: tuple[str, ...] = ()) -> httpx.AsyncClient:
    app = gateway_app(GatewaySettings(env=env, cors_origins=origins))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def preflight(origin: str, method: str = "GET") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization",
    }


async def test_in_development_a_localhost_front_end_may_call_the_gateway():
    async with cors_gateway("development") as client:
        allowed = await client.options("/v1/children", headers=preflight("http://localhost:3000"))
        refused = await client.options("/v1/children", headers=preflight("https://elsewhere.example"))
    assert (allowed.status_code, allowed.headers["access-control-allow-origin"]) == (200, "http://localhost:3000")
    assert (refused.status_code, refused.headers["content-type"]) == (403, "application/problem+json")
    assert refused.json() == {
        "type": "/problems/cors-refused",
        "title": "Cross-origin request refused.",
        "status": 403,
        "detail": "Not allowed: the origin https://elsewhere.example (GATEWAY_CORS_ORIGINS lists those allowed).",
    }
    assert "access-control-allow-origin" not in refused.headers


async def test_outside_development_only_the_configured_origins_are_allowed():
    async with cors_gateway("test", ("https://app.council.gov.uk",)) as client:
        configured = await client.options("/v1/children", headers=preflight("https://app.council.gov.uk"))
        localhost = await client.options("/v1/children", headers=preflight("http://localhost:3000"))
        bad_method = await client.options("/v1/children", headers=preflight("https://app.council.gov.uk", "TRACE"))
    assert (configured.status_code, configured.headers["access-control-allow-origin"]) == (
        200,
        "https://app.council.gov.uk",
    )
    assert (localhost.status_code, localhost.json()["type"]) == (403, "/problems/cors-refused")
    assert (bad_method.status_code, bad_method.json()["detail"]) == (403, "Not allowed: the method TRACE.")
