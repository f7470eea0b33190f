"""The OpenAPI document a front-end can build from alone, and API docs served without internet.

FastAPI documents only each operation's success and a 422 in its own `{"detail": [...]}` shape,
although every error here is an RFC 9457 problem (`shared.errors`). `complete` post-processes a
generated document once, generically, instead of every route declaring its errors:

- one `Problem` component schema, as `application/problem+json`, for every problem response;
  FastAPI's `HTTPValidationError` is replaced by it everywhere;
- each operation lists the problems it can answer: 401 and 403 where it takes a bearer token,
  404 where the path names an id, 400 where a JSON body or an `Idempotency-Key` can be malformed,
  409 on writes (a conflict with the current state, or the same `Idempotency-Key` in flight),
  413 where there is a body, 422 where there are parameters or a body, 503 with `Retry-After`
  everywhere (the database or a service is unavailable), and 502/504 where `upstream(path)` says a
  service answers behind the gateway. A status a route declares itself (`responses={404: ...}`)
  gets the Problem content too, unless it declared a model of its own (as `/readyz` does for 503);
- every POST documents the `Idempotency-Key` header (shared/idempotency.py) and the
  `Idempotent-Replayed` header of a replayed answer.

`complete` is idempotent, so the gateway can run it again over the merged document.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

__all__ = [
    "IDEMPOTENCY_KEY",
    "PROBLEM_SCHEMAS",
    "PROBLEM_STATUSES",
    "complete",
    "install",
    "offline_app",
]

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_MEDIA_TYPE = "application/problem+json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WRITE_METHODS = ("post", "put", "patch", "delete")

# Paths that can never answer 503: the process answers them itself.
ALWAYS_UP = frozenset({"/healthz"})

PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "type": "object",
        "description": (
            "An RFC 9457 problem: every error of every service and of the gateway. `type` is stable "
            "(docs/errors.md lists them all): branch on it; show `detail`; highlight the fields named in "
            "`errors[].loc`. Other members may follow a type (`valid`, `current_state`, `service`, `limit_bytes`)."
        ),
        "required": ["type", "title", "status"],
        "properties": {
            "type": {
                "type": "string",
                "format": "uri-reference",
                "description": "The problem type, `/problems/<type>`.",
                "examples": ["/problems/invalid-field"],
            },
            "title": {"type": "string", "description": "Fixed per type.", "examples": ["Invalid field."]},
            "status": {"type": "integer", "minimum": 400, "maximum": 599, "examples": [422]},
            "detail": {
                "type": "string",
                "description": "What happened this time.",
                "examples": ["'Q1' is not an SSDA903 placement code in use on 2022-01-03."],
            },
            "errors": {
                "type": "array",
                "description": "For a 422 (and a 400 for malformed JSON): each bad field.",
                "items": {"$ref": "#/components/schemas/ProblemError"},
            },
            "request_id": {"type": "string", "description": "The `X-Request-ID` of the request: quote it."},
            "valid": {
                "type": "array",
                "items": {"type": "string"},
                "description": "For a code not on its list: the valid codes (GET /v1/reference/{list}).",
            },
        },
        "additionalProperties": True,
    },
    "ProblemError": {
        "title": "ProblemError",
        "type": "object",
        "required": ["loc", "msg"],
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "description": 'Where the error is, e.g. `["body", "parents", 0, "relationship"]`.',
            },
            "msg": {"type": "string"},
            "type": {"type": "string", "description": "The kind of error, e.g. `missing`, `domain_rule`."},
        },
    },
}

RETRY_AFTER = {
    "description": "Seconds to wait before retrying (with the same `Idempotency-Key` for a POST).",
    "schema": {"type": "integer", "minimum": 0},
}

PROBLEM_STATUSES: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Malformed: the body is not valid JSON, or a header (e.g. `Idempotency-Key`) is malformed.", {}),
    401: (
        "No bearer token, or a bad or expired one.",
        {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    ),
    403: ("The token's roles may not do this (CONTRACT.md, who may do what).", {}),
    404: ("No such id (or path).", {}),
    409: (
        "Conflict with the current state (a duplicate, a wrong status), or a request with the same "
        "`Idempotency-Key` is still being processed.",
        {},
    ),
    413: ("The body is over the limit (1 MiB by default, 10 MiB for event batches).", {}),
    422: (
        "A field is invalid or a domain rule was broken: `errors` names each field; a code not on its list "
        "also gets `valid`.",
        {},
    ),
    502: ("A service behind the gateway is unreachable (`service` names it).", {}),
    503: (
        "A dependency (the database, a service) is unavailable; retry after `Retry-After`.",
        {"Retry-After": RETRY_AFTER},
    ),
    504: ("A service behind the gateway did not answer in time (`service` names it).", {}),
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retried POST safe (IETF idempotency-key draft): the same key and body replay the first "
        "response (same status and body, with `Idempotent-Replayed: true`); the same key with another body "
        "is a 422; a retry while the first is still being processed is a 409. 1-255 visible ASCII "
        "characters (a UUID is a good key), else 400. Scoped to the token's subject, the method and the "
        "path; kept at least 24 hours."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]{1,255}$"},
    "example": "6f1c2a9e-3b4d-4c8e-9a51-2d7e0b1f4c3a",
}

IDEMPOTENT_REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
    "schema": {"type": "string", "enum": ["true"]},
}

IDEMPOTENCY_422 = "The same `Idempotency-Key` sent with another body is a 422 too."

FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """A response of the Problem schema, with the status's documented headers."""
    default, headers = PROBLEM_STATUSES.get(status, ("A problem.", {}))
    response: dict[str, Any] = {
        "description": description or default,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if headers:
        response["headers"] = copy.deepcopy(headers)
    return response


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    for media in (response.get("content") or {}).values():
        ref = (media.get("schema") or {}).get("$ref", "")
        if ref.rsplit("/", 1)[-1] in FASTAPI_VALIDATION_SCHEMAS:
            return True
    return False


def _declared_without_model(response: dict[str, Any]) -> bool:
    """A status a route declared with a description only (FastAPI then adds no content, or an
    empty JSON schema)."""
    content = response.get("content")
    if not content:
        return True
    return all(not (media.get("schema") or {}) for media in content.values())


def statuses_for(path: str, method: str, operation: dict[str, Any], *, upstream: bool) -> list[int]:
    """The problem statuses an operation can answer (see the module's docstring)."""
    has_body = "requestBody" in operation
    wanted: list[int] = []
    if has_body or method == "post":
        wanted.append(400)
    if operation.get("security"):
        wanted += [401, 403]
    if "{" in path:
        wanted.append(404)
    if method in WRITE_METHODS:
        wanted.append(409)
    if has_body:
        wanted.append(413)
    if has_body or operation.get("parameters") or method == "post":
        wanted.append(422)
    if upstream:
        wanted.append(502)
    if path not in ALWAYS_UP:
        wanted.append(503)
    if upstream:
        wanted.append(504)
    return wanted


def _complete_operation(path: str, method: str, operation: dict[str, Any], *, upstream: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code, response in list(responses.items()):
        if not code.isdigit() or int(code) < 400 or "$ref" in response:
            continue
        if _is_fastapi_validation(response) or _declared_without_model(response):
            description = response.get("description")
            if description in (None, "", "Validation Error"):
                description = None
            responses[code] = problem_response(int(code), description)
    for status in statuses_for(path, method, operation, upstream=upstream):
        responses.setdefault(str(status), problem_response(status))
    if method == "post" and IDEMPOTENCY_422 not in responses["422"].get("description", ""):
        responses["422"]["description"] = f"{responses['422'].get('description', '')} {IDEMPOTENCY_422}".strip()
    if method == "post":
        parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
        if not any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in parameters):
            parameters.append(copy.deepcopy(IDEMPOTENCY_KEY))
        for code, response in responses.items():
            if code.startswith("2") and "$ref" not in response:
                response.setdefault("headers", {}).setdefault("Idempotent-Replayed", copy.deepcopy(IDEMPOTENT_REPLAYED))
    operation["responses"] = dict(sorted(responses.items()))


def _referenced(node: Any, names: tuple[str, ...]) -> bool:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in names:
            return True
        return any(_referenced(value, names) for value in node.values())
    if isinstance(node, list):
        return any(_referenced(item, names) for item in node)
    return False


def complete(document: dict[str, Any], *, upstream: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Complete `document` in place (and return it): problem responses on every operation, the
    `Idempotency-Key` header on every POST, one Problem schema (see the module's docstring)."""
    for path, item in document.get("paths", {}).items():
        behind = bool(upstream and upstream(path))
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                _complete_operation(path, method, operation, upstream=behind)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(copy.deepcopy(PROBLEM_SCHEMAS))
    for name in FASTAPI_VALIDATION_SCHEMAS:
        body = schemas.pop(name, None)
        if body is not None and _referenced(document, (name,)):
            schemas[name] = body  # still used somewhere else: keep it
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document as the app's `/openapi.json` (generated once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def offline_app(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose `/docs` (Swagger UI) and `/redoc` load their scripts, styles and icon
    from the app itself (the fastapi-offline package ships them, under `/static-offline-docs`),
    so they work on a network without internet. Swagger UI's online validator badge is off: it
    would send the document to validator.swagger.io."""
    parameters = {"validatorUrl": None, **(kwargs.pop("swagger_ui_parameters", None) or {})}
    return FastAPIOffline(swagger_ui_parameters=parameters, **kwargs)
