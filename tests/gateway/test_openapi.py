"""The OpenAPI document is enough to build a front-end from: it validates as OpenAPI 3, every
operation lists its problem responses (one Problem schema, `application/problem+json`), every POST
documents `Idempotency-Key`, every request body has a valid example, fixed code lists are enums,
and `/docs` and `/redoc` work without internet."""

from __future__ import annotations

import re
import typing
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from services.escalations import schemas as escalations_schemas
from services.escalations.main import create_app as escalations_app
from services.escalations.settings import Settings as EscalationsSettings
from services.gateway.main import create_app as gateway_app
from services.gateway.routes import views
from services.gateway.settings import Settings as GatewaySettings
from services.participation import schemas as participation_schemas
from services.participation.main import create_app as participation_app
from services.participation.settings import Settings as ParticipationSettings
from services.reviews import schemas as reviews_schemas
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from shared import reference
from shared.openapi import PROBLEM_MEDIA_TYPE, PROBLEM_REF

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
async def document(gw) -> dict[str, Any]:
    response = await gw.client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def problem_ref(response: dict[str, Any]) -> str | None:
    return response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("schema", {}).get("$ref")


async def test_the_merged_document_is_valid_openapi_3_and_covers_every_service(document):
    validate(document)  # raises on any error
    assert document["openapi"].startswith("3.")
    paths = set(document["paths"])
    assert {"/v1/children", "/v1/escalations", "/v1/participation/{review_id}", "/v1/worklist",
            "/v1/reference", "/v1/reference/{list}"} <= paths  # fmt: skip
    assert "Incomplete" not in document["info"]["description"]


async def test_every_operation_documents_its_problems_with_the_one_problem_schema(document):
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status"}
    assert {"type", "title", "status", "detail", "errors", "request_id"} <= set(schemas["Problem"]["properties"])
    assert schemas["ProblemError"]["required"] == ["loc", "msg"]
    v1 = [(path, method, op) for path, method, op in operations(document) if path.startswith("/v1/")]
    assert len(v1) > 50
    for path, method, operation in v1:
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        expected = {"401", "403", "503"}
        if "{" in path:
            expected.add("404")
        if operation.get("parameters") or "requestBody" in operation:
            expected.add("422")
        if "requestBody" in operation:
            expected |= {"400", "413"}
        if method == "post":
            expected |= {"409", "422"}
        assert expected <= set(responses), (where, sorted(expected - set(responses)))
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert problem_ref(response) == PROBLEM_REF, (where, code)
                assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], (where, code)
        assert responses["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer", where
        assert responses["401"]["headers"]["WWW-Authenticate"], where


async def test_fastapis_detail_shape_is_gone(document):
    text = str(document)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError'" not in text
    # the gateway's own routes too
    worklist = document["paths"]["/v1/worklist"]["get"]["responses"]
    assert problem_ref(worklist["422"]) == PROBLEM_REF
    assert problem_ref(worklist["404"]) == PROBLEM_REF


async def test_proxied_paths_document_502_and_504_and_the_gateways_own_views_do_not(document):
    children = document["paths"]["/v1/children"]["post"]["responses"]
    assert {"502", "504"} <= set(children)
    assert "service" in children["502"]["description"]
    overview = document["paths"]["/v1/children/{child_id}/overview"]["get"]["responses"]
    assert "502" not in overview  # a view degrades to 200 with `missing`
    reference_list = document["paths"]["/v1/reference/{list}"]["get"]["responses"]
    assert {"404", "502", "504"} <= set(reference_list)


async def test_every_post_documents_the_idempotency_key_header(document):
    posts = [(path, op) for path, method, op in operations(document) if method == "post"]
    assert len(posts) > 15
    for path, operation in posts:
        [header] = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert header["required"] is False, path
        assert header["schema"] == {
            "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]{1,255}$"
        }  # fmt: skip
        assert "409" in header["description"] and "422" in header["description"], path
        assert re.fullmatch(header["schema"]["pattern"], header["example"])
        success = next(r for code, r in operation["responses"].items() if code.startswith("2"))
        assert success["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"], path
    gets = [op for _, method, op in operations(document) if method == "get"]
    assert not any(p["name"] == "Idempotency-Key" for op in gets for p in op.get("parameters", []))


async def test_every_request_body_has_an_example_that_its_schema_accepts(document):
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(document))
    bodies = 0
    for path, method, operation in operations(document):
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        bodies += 1
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        examples = document["components"]["schemas"][name].get("examples")
        assert examples, f"{method.upper()} {path}: {name} has no example"
        validator = OAS31Validator({"$ref": f"urn:doc#/components/schemas/{name}"}, registry=registry)
        for example in examples:
            errors = [error.message for error in validator.iter_errors(example)]
            assert errors == [], (name, example, errors)
    assert bodies >= 25


async def test_fixed_code_lists_are_enums_and_configurable_ones_are_not(document):
    schemas = document["components"]["schemas"]
    assert schemas["ParticipationIn"]["properties"]["code"]["enum"] == [f"PN{n}" for n in range(8)]
    assert schemas["CarePeriodEnd"]["properties"]["reason"]["enum"] == [
        row["code"] for row in reference.rows("reason_ceased_codes")
    ]
    assert "enum" not in str(schemas["EscalationCreate"]["properties"]["category"])  # configured per authority
    assert "enum" not in str(schemas["PlacementChangeCreate"]["properties"]["placement_type"])  # changes by year


def test_the_enums_are_the_reference_lists():
    assert list(typing.get_args(participation_schemas.ParticipationCode)) == [
        row["code"] for row in reference.rows("participation_codes")
    ]
    assert list(typing.get_args(reviews_schemas.ReasonEpisodeCeased)) == [
        row["code"] for row in reference.rows("reason_ceased_codes")
    ]


@pytest.mark.parametrize(
    ("view", "service"),
    [
        (views.ChildView, reviews_schemas.ChildRead),
        (views.CarePeriodView, reviews_schemas.CarePeriodRead),
        (views.IroView, reviews_schemas.IroRead),
        (views.ReviewView, reviews_schemas.ReviewRead),
        (views.DecisionView, reviews_schemas.DecisionRead),
        (views.ParticipationView, participation_schemas.ParticipationOut),
        (views.EscalationView, escalations_schemas.EscalationRead),
        (views.EscalationStageView, escalations_schemas.StageRead),
    ],
)
def test_the_views_relay_fields_the_services_answer(view, service):
    assert set(view.model_fields) <= set(service.model_fields), set(view.model_fields) - set(service.model_fields)


async def test_the_overview_and_worklist_are_typed(document):
    schemas = document["components"]["schemas"]
    overview = schemas["Overview"]["properties"]
    assert overview["open_escalations"]["items"]["$ref"] == "#/components/schemas/EscalationView"
    assert overview["recent_footprint"]["items"]["$ref"] == "#/components/schemas/EventRead"
    worklist = schemas["Worklist"]["properties"]
    assert worklist["reviews_due"]["items"]["$ref"] == "#/components/schemas/ReviewView"
    assert worklist["decisions_past_due"]["items"]["$ref"] == "#/components/schemas/DecisionView"
    assert "due_on" in schemas["ReviewView"]["required"]


def all_apps(database_url: str) -> dict[str, Any]:
    return {
        "gateway": gateway_app(GatewaySettings(env="test", database_url=database_url)),
        "reviews": reviews_app(ReviewsSettings(env="test", database_url=database_url)),
        "escalations": escalations_app(EscalationsSettings(env="test", database_url=database_url)),
        "participation": participation_app(ParticipationSettings(env="test", database_url=database_url)),
    }


URL = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'|spec-url=["']([^"']+)["']""")


@pytest.mark.parametrize("name", ["gateway", "reviews", "escalations", "participation"])
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_need_no_internet(database_url, name, page):
    app = all_apps(database_url)[name]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://docs.local") as client:
        html = (await client.get(page)).text
        assert "http://" not in html and "https://" not in html and "//cdn" not in html
        urls = [next(group for group in match if group) for match in URL.findall(html)]
        assert "/openapi.json" in urls
        assets = [url for url in urls if url.startswith("/static-offline-docs/")]
        assert len(assets) == (3 if page == "/docs" else 2)  # js, css, icon / js, icon
        for url in assets:
            served = await client.get(url)
            assert served.status_code == 200, url
            assert len(served.content) > 100, url
        if page == "/docs":
            assert '"validatorUrl": null' in html  # no call to validator.swagger.io
