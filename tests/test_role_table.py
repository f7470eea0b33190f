"""One role table (shared/roles.py) for every app: every route of every app has a row and every row
a route; each route, and the gateway's door, admits exactly the roles its row names (driven with a
token of each role and with none); internal routes are left out of what the gateway publishes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from services.escalations.main import create_app as escalations_app
from services.escalations.settings import Settings as EscalationsSettings
from services.gateway import access, proxy
from services.gateway.main import create_app as gateway_app
from services.gateway.openapi import merge
from services.gateway.settings import Settings as GatewaySettings
from services.participation.main import create_app as participation_app
from services.participation.settings import Settings as ParticipationSettings
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from shared import roles
from shared.auth import ROLES, Authenticator, mint_development_token
from shared.errors import install_error_handlers
from shared.openapi import offline_app
from tests.conftest import app_client, bind_app_to_session
from tests.gateway.conftest import platform

SOME_ID = "0b7f3c1e-5a2d-4c8e-9f10-2a3b4c5d6e7f"
NO_TOKEN = "no token"
SERVICE_APPS = {
    "reviews": (reviews_app, ReviewsSettings),
    "escalations": (escalations_app, EscalationsSettings),
    "participation": (participation_app, ParticipationSettings),
}
DOWN = "http://127.0.0.1:9"


def build(service: str, **settings: Any) -> FastAPI:
    if service == "gateway":
        urls = {f"{name}_url": DOWN for name in SERVICE_APPS}
        return gateway_app(GatewaySettings(env="test", **{**urls, **settings}))
    create, settings_class = SERVICE_APPS[service]
    return create(settings_class(env="test", **settings))


def declared_routes(app: FastAPI) -> set[tuple[str, str]]:
    """`(method, path)` for every route of `app` (included routers too), but the operational ones
    and the gateway's proxy catch-all (which forwards to the services' routes)."""
    found = set()
    for route in iter_route_contexts(app.router.routes):
        path = route.path_format
        if path is None or roles.is_operational(path) or route.endpoint is proxy.proxy:
            continue
        found |= {(method, path) for method in route.methods or ()}
    return found


@pytest.mark.parametrize("service", [*SERVICE_APPS, "gateway"])
def test_every_route_has_a_row_and_every_row_a_route(service):
    routes = declared_routes(build(service))
    rows = {(rule.method, rule.path) for rule in roles.TABLE if rule.service == service}
    assert sorted(routes - rows) == [], "a route without a row in shared/roles.py"
    assert sorted(rows - routes) == [], "a row in shared/roles.py without a route"
    assert {
        "reviews": ("PUT", "/v1/children/{child_id}/iro"),
        "escalations": ("GET", "/v1/escalation-stages"),
        "participation": ("PUT", "/v1/participation/{review_id}"),
        "gateway": ("GET", "/v1/footprint/export"),
    }[service] in routes  # the walk reaches into the included routers


@pytest.mark.parametrize("service", [*SERVICE_APPS, "gateway"])
def test_only_the_operational_paths_are_outside_the_table(service):
    outside = set()
    for route in iter_route_contexts(build(service).router.routes):
        if route.path_format and roles.is_operational(route.path_format):
            outside.add(route.path_format)
    assert outside == {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/static-offline-docs/{path}",
    }


def test_the_rows_that_differ_behind_the_gateway_are_the_ingested_writes_the_reference_reads_and_the_export():
    behind = {(rule.method, rule.path): rule.behind for rule in roles.TABLE if rule.behind}
    assert behind == {
        ("POST", "/v1/children"): {"integration"},
        ("POST", "/v1/children/{child_id}/care-periods"): {"integration"},
        ("POST", "/v1/children/{child_id}/care-periods/{period_id}/end"): {"integration"},
        ("POST", "/v1/children/{child_id}/placement-changes"): {"integration"},
        ("PUT", "/v1/children/{child_id}/iro"): {"integration"},
        ("POST", "/v1/children/{child_id}/case-notes"): {"integration"},
        ("POST", "/v1/reviews/{review_id}/held"): {"integration"},
        ("PUT", "/v1/participation/{review_id}"): {"integration"},
        ("PATCH", "/v1/children/{child_id}"): {"integration"},
        ("POST", "/v1/children/{child_id}/legal-status-changes"): {"integration"},
        ("GET", "/v1/escalation-stages"): {"integration"},
        ("GET", "/v1/escalation-categories"): {"integration"},
        ("POST", "/v1/ingest/reviews"): {"integration", "manager", "admin"},
        ("POST", "/v1/ingest/participation"): {"integration", "manager", "admin"},
        ("GET", "/v1/ssda903/reviews"): {"manager", "auditor", "admin"},
        ("GET", "/v1/ssda903/participation"): {"manager", "auditor", "admin"},
    }
    # At the gateway, integration reaches only the reference lists, the events door and the inbox.
    assert {rule.path for rule in roles.TABLE if "integration" in rule.gateway_roles} == {
        "/v1/reference",
        "/v1/reference/{list}",
        "/v1/events",
        "/v1/inbox",
        "/v1/inbox/{inbox_id}",
    }
    # Internal, the gateway alone calls them: the services' batch command paths, and the DfE export's rows
    # (read with the caller's token by `/v1/exports/ssda903/*`).
    assert {rule.path for rule in roles.TABLE if rule.internal} == {
        "/v1/ingest/reviews", "/v1/ingest/participation", "/v1/ssda903/reviews", "/v1/ssda903/participation",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ([roles.Rule("GET", "/v1/x", "reviews", roles.READ)] * 2, "GET /v1/x: two rows"),
        ([roles.Rule("GET", "/v1/x", "reviews", frozenset({"root"}))], "GET /v1/x: unknown roles ['root']"),
        ([roles.Rule("GET", "/v1/x", "billing", roles.READ)], "GET /v1/x: unknown service 'billing'"),
        ([roles.Rule("GET", "/v1/x", "reviews", frozenset())], "GET /v1/x: nobody may call it"),
        (
            [roles.Rule("POST", "/v1/x", "reviews", roles.WRITE, roles.INGEST, internal=True)],
            "POST /v1/x: an internal route has no `roles` and is called with a `behind` role",
        ),
        (
            [roles.Rule("GET", "/v1/x", "gateway", roles.READ, roles.INGEST)],
            "GET /v1/x: the gateway's own routes have no `behind` roles and are not internal",
        ),
    ],
)
def test_a_malformed_row_is_refused_when_the_table_is_built(rules, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        roles.Table(rules)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/children", "/v1/children"),
        (f"/v1/children/{SOME_ID}", "/v1/children/{child_id}"),
        (f"/v1/children/{SOME_ID}/overview", "/v1/children/{child_id}/overview"),
        (f"/v1/children/{SOME_ID}/care-periods/{SOME_ID}/end", "/v1/children/{child_id}/care-periods/{period_id}/end"),
        ("/v1/footprint/export", "/v1/footprint/export"),
        ("/v1/reference/placement-types", "/v1/reference/{list}"),
        ("/v1/children//care-periods", None),  # a parameter is one non-empty segment, as in Starlette
        ("/v1/children/", None),
        ("/v1/nowhere", None),
    ],
)
def test_a_request_path_matches_the_template_of_its_route(path, template):
    assert roles.TABLE.template_of(path) == template


# --- Each route and the door admit exactly their row's roles --------------------------------------


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", SOME_ID, path)


async def outcomes(client: httpx.AsyncClient, settings: Any, rule: roles.Rule) -> dict[str, tuple[int, str]]:
    """Each role's (and no token's) status and problem detail for one call of the rule's route; a
    write gets an empty body, so a call that passes the role check stops at 404 or 422."""
    answers = {}
    for role in (*ROLES, NO_TOKEN):
        headers = {}
        if role != NO_TOKEN:
            token = mint_development_token(settings, sub=f"{role}@council.gov.uk", roles=[role])
            headers["Authorization"] = f"Bearer {token}"
        body = {} if rule.method in ("POST", "PUT", "PATCH") else None
        response = await client.request(rule.method, concrete(rule.path), json=body, headers=headers)
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        answers[role] = (response.status_code, response.json().get("detail", "") if problem else "")
    return answers


def refusals(answers: dict[str, tuple[int, str]], allowed: frozenset[str]) -> list[str]:
    """What differs from: no token 401; a role in `allowed` past the role check (200, or 404 for
    the made-up id, or 422 for the empty body or missing query, or 415 for a JSON body where
    `POST /v1/events` takes CloudEvents); any other role 403 with a problem naming `allowed`."""
    wrong = []
    if answers[NO_TOKEN][0] != 401:
        wrong.append(f"no token: {answers[NO_TOKEN][0]}")
    for role in ROLES:
        status, detail = answers[role]
        if role in allowed and status not in (200, 404, 415, 422):
            wrong.append(f"{role}: {status} {detail}")
        if role not in allowed and (status != 403 or str(sorted(allowed)) not in detail):
            wrong.append(f"{role}: {status} {detail}")
    return wrong


@pytest.fixture
async def service_clients(session, database_url) -> AsyncIterator[dict[str, tuple[httpx.AsyncClient, Any]]]:
    clients = {}
    generators = []
    for name in SERVICE_APPS:
        app = build(name, database_url=database_url)
        bind_app_to_session(app, session)
        generator = app_client(app)
        clients[name] = (await anext(generator), app.state.settings)
        generators.append(generator)
    yield clients
    for generator in generators:
        await generator.aclose()


async def test_each_service_route_admits_exactly_its_rows_service_roles(service_clients):
    wrong = {}
    walked = 0
    for rule in roles.TABLE:
        if rule.service == "gateway":
            continue
        client, settings = service_clients[rule.service]
        found = refusals(await outcomes(client, settings, rule), rule.service_roles)
        walked += 1
        if found:
            wrong[(rule.method, rule.path)] = found
    assert wrong == {}
    assert walked == sum(1 for rule in roles.TABLE if rule.service != "gateway") > 0


async def test_the_gateway_admits_exactly_each_rows_gateway_roles(session, database_url):
    """The gateway's own routes check their rows; the door checks the services' rows (and the
    service checks again behind it, with roles that include the door's)."""
    wrong = {}
    async with platform(session, database_url) as gw:
        for rule in roles.TABLE:
            answers = await outcomes(gw.client, gw.settings, rule)
            if rule.internal:  # the door does not know it: 404 for everyone, as for no path at all
                found = [f"{role}: {status}" for role, (status, _) in answers.items() if status != 404]
            else:
                found = refusals(answers, rule.gateway_roles)
            if found:
                wrong[(rule.method, rule.path)] = found
        integration = await outcomes(gw.client, gw.settings, roles.TABLE.rule("GET", "/v1/escalation-stages"))
    assert wrong == {}
    assert integration["integration"] == (
        403,
        "GET /v1/escalation-stages needs one of ['admin', 'auditor', 'iro', 'manager']; the token has ['integration'].",
    )


async def test_a_route_without_a_row_admits_nobody(settings, database_url):
    app = offline_app()
    app.state.authenticator = Authenticator(settings)
    install_error_handlers(app)

    @app.get("/v1/unlisted")
    async def unlisted(_: roles.Caller) -> dict[str, str]:
        return {}

    token = mint_development_token(settings, sub="admin@council.gov.uk", roles=["admin"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        anonymous = await client.get("/v1/unlisted")
        admin = await client.get("/v1/unlisted", headers={"Authorization": f"Bearer {token}"})
    assert anonymous.status_code == 401
    assert (admin.status_code, admin.json()["detail"]) == (
        403,
        "GET /v1/unlisted has no row in the role table: nobody may call it.",
    )


# --- Internal routes --------------------------------------------------------------------------------


def throwaway_service() -> FastAPI:
    """A service with one published route and one only the gateway calls."""
    app = offline_app(title="throwaway", version="1")

    @app.get("/v1/children/{child_id}/notes")
    async def notes(child_id: str, _: roles.Caller) -> dict[str, str]:
        return {"child_id": child_id}

    @app.post("/v1/children/{child_id}/notes")
    async def apply_notes(child_id: str, _: roles.Caller) -> dict[str, str]:
        return {"child_id": child_id}

    @app.post("/v1/children/{child_id}/merge")
    async def merge_child(child_id: str, _: roles.Caller) -> dict[str, str]:
        return {"child_id": child_id}

    return app


THROWAWAY = roles.Table(
    [
        *roles.TABLE,
        roles.Rule("GET", "/v1/children/{child_id}/notes", "reviews", roles.READ),
        roles.Rule("POST", "/v1/children/{child_id}/notes", "reviews", frozenset(), roles.INGEST, internal=True),
        roles.Rule("POST", "/v1/children/{child_id}/merge", "reviews", frozenset(), roles.INGEST, internal=True),
    ]
)


def test_internal_operations_are_left_out_of_the_published_paths():
    document = throwaway_service().openapi()
    assert set(document["paths"]) == {"/v1/children/{child_id}/notes", "/v1/children/{child_id}/merge"}
    published = roles.without_internal(document["paths"], THROWAWAY)
    assert list(published) == ["/v1/children/{child_id}/notes"]
    assert list(published["/v1/children/{child_id}/notes"]) == ["get"]
    assert roles.without_internal(document["paths"]) == document["paths"]  # the real table has none yet


def test_the_gateways_merged_document_and_path_table_leave_internal_operations_out(monkeypatch):
    monkeypatch.setattr(roles, "TABLE", THROWAWAY)
    document = throwaway_service().openapi()
    own = {"openapi": "3.1.0", "info": {"title": "gw", "version": "1", "description": ""}, "paths": {}}
    merged = merge(own, {"reviews": document})
    assert list(merged["paths"]) == ["/v1/children/{child_id}/notes"]
    assert list(merged["paths"]["/v1/children/{child_id}/notes"]) == ["get"]
    table = access.PathTable.from_documents({"reviews": document})
    notes = table.find(f"/v1/children/{SOME_ID}/notes")
    assert (notes.template, notes.methods) == ("/v1/children/{child_id}/notes", {"GET"})
    assert table.find(f"/v1/children/{SOME_ID}/merge") is None


async def test_the_door_answers_an_internal_route_404_before_looking_at_the_token(monkeypatch, settings):
    monkeypatch.setattr(roles, "TABLE", THROWAWAY)
    gateway = build("gateway")
    admin = mint_development_token(settings, sub="admin@council.gov.uk", roles=["admin"])
    integration = mint_development_token(settings, sub="mosaic", roles=["integration"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gateway") as client:
        anonymous = await client.post(f"/v1/children/{SOME_ID}/merge")
        as_admin = await client.post(f"/v1/children/{SOME_ID}/merge", headers={"Authorization": f"Bearer {admin}"})
        as_integration = await client.post(
            f"/v1/children/{SOME_ID}/merge", headers={"Authorization": f"Bearer {integration}"}
        )
    for response in (anonymous, as_admin, as_integration):
        assert (response.status_code, response.json()["type"], response.json()["detail"]) == (
            404,
            "/problems/not-found",
            f"No route /v1/children/{SOME_ID}/merge.",
        )
