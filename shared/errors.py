"""One error shape everywhere: RFC 9457 problem details, from the fastapi-problem library.

Service code raises the domain errors below (never `HTTPException`); `install_error_handlers`
turns them, FastAPI's validation errors and anything unexpected into `application/problem+json`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_problem.error import (
    BadRequestProblem,
    ConflictProblem,
    ForbiddenProblem,
    NotFoundProblem,
    Problem,
    ServerProblem,
    StatusProblem,
    UnauthorisedProblem,
    UnprocessableProblem,
)
from fastapi_problem.handler import add_exception_handler, new_exception_handler
from sqlalchemy.exc import DBAPIError

from shared import requestid

logger = logging.getLogger("iro.errors")

PROBLEM_TYPE_URI = "/problems/{type}"

__all__ = [
    "BadRequest",
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidField",
    "NotFound",
    "Problem",
    "Unauthorised",
    "ValidationFailed",
    "install_error_handlers",
]


class DomainError(StatusProblem):
    """Base of every service's domain errors: a status, a stable `type` and a title."""

    status = 422
    type_ = "domain-rule"
    title = "A domain rule was broken."


class BadRequest(BadRequestProblem):
    type_ = "bad-request"
    title = "Bad request."


class Unauthorised(UnauthorisedProblem):
    type_ = "unauthorised"
    title = "Authentication required."
    headers_ = {"WWW-Authenticate": "Bearer"}


class Forbidden(ForbiddenProblem):
    type_ = "forbidden"
    title = "Your role may not do this."


class NotFound(NotFoundProblem):
    type_ = "not-found"
    title = "Not found."


class Conflict(ConflictProblem):
    type_ = "conflict"
    title = "Conflict with the current state."


class InvalidField(UnprocessableProblem):
    """A field that is well-formed but breaks a rule; `errors` names it as validation errors do."""

    type_ = "invalid-field"
    title = "Invalid field."

    def __init__(self, loc: Sequence[str | int], msg: str, **extras: Any) -> None:
        super().__init__(msg, errors=[{"loc": list(loc), "msg": msg, "type": "domain_rule"}], **extras)


class ValidationFailed(UnprocessableProblem):
    """Fields that failed the request schema; `errors` lists each with its `loc` and `msg`."""

    type_ = "validation-failed"
    title = "Invalid request."


class InternalError(ServerProblem):
    """What a client sees of an unexpected exception: no internals, only the request ID."""

    type_ = "internal-error"
    title = "Internal server error."

    def __init__(self, _message: str | None = None, **_: Any) -> None:
        super().__init__("The server could not complete the request; quote the request ID when reporting it.")


def validation_errors(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors without the submitted input (it may be personal data)."""
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": error.get("type", "")}
        for error in errors
    ]


def _request_validation(_eh: Any, _request: Request, exc: RequestValidationError) -> Problem:
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return BadRequest("The request body is not valid JSON.", errors=validation_errors(errors))
    return ValidationFailed("One or more fields are invalid.", errors=validation_errors(errors))


def _tag_request_id(content: dict[str, Any], request: Request, response: Any) -> tuple[dict[str, Any], Any]:
    # A 500 is answered outside the request-ID middleware, so read the ID the middleware left on the scope.
    rid = requestid.current() or request.scope.get("state", {}).get("request_id")
    if rid:
        content["request_id"] = rid
        response.body = response.render(content)
        response.headers[requestid.HEADER] = rid
    return content, response


def _database_refused_value(_eh: Any, _request: Request, exc: DBAPIError) -> Problem | None:
    """A value the database cannot store (out of range, untranslatable text) is the client's 422;
    any other database error stays a 500."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith("22"):  # class 22: data exception
        return ValidationFailed("A value could not be stored (out of range or not valid text).", errors=[])
    return None


def install_error_handlers(app: FastAPI) -> None:
    handler = new_exception_handler(
        handlers={DBAPIError: _database_refused_value},  # type: ignore[dict-item]  # None falls through to 500
        logger=logger,
        unhandled_wrappers={"default": InternalError},
        request_validation_handler=_request_validation,
        post_hooks=[_tag_request_id],
        documentation_uri_template=PROBLEM_TYPE_URI,
    )
    add_exception_handler(app, handler, generic_swagger_defaults=False)


async def send_problem(send: Any, problem: Problem) -> None:
    """Answer with a problem straight from ASGI middleware (outside FastAPI's handlers)."""
    body = json.dumps(problem_body(problem)).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    for name, value in (problem.headers or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def problem_body(problem: Problem) -> dict[str, Any]:
    """The JSON body of a problem, for code that must answer outside the handlers (middleware)."""
    content = problem.marshal(uri=PROBLEM_TYPE_URI)
    rid = requestid.current()
    if rid:
        content["request_id"] = rid
    return content
