"""One error shape everywhere: RFC 9457 problem details, from the fastapi-problem library.

Service code raises the domain errors below (never `HTTPException`); `install_error_handlers`
turns them, FastAPI's validation errors and anything unexpected into `application/problem+json`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

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
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_problem.handler import http_exception_handler_

from shared import requestid

logger = logging.getLogger("iro.errors")

PROBLEM_TYPE_URI = "/problems/{type}"

__all__ = [
    "BadRequest",
    "BeforeDateOfBirth",
    "CodeNotOnList",
    "Conflict",
    "DatabaseUnavailable",
    "DateInFuture",
    "DomainError",
    "Forbidden",
    "InvalidField",
    "NotFound",
    "Problem",
    "TextRequired",
    "Unauthorised",
    "UnknownChild",
    "ValidationFailed",
    "install_error_handlers",
]


class DomainError(StatusProblem):
    """Base of every service's domain errors: a status, a stable `type` and a title.

    The rules raise them knowing the name of the input they refuse, never the request's shape:
    `field` (the class's default, or given when raised: a name, or a path within the body such as
    `("parents", 0, "relationship")`) is placed in the body here, the one place that does it. Code
    that knows the request (a query parameter) gives the whole `loc` instead. A located refusal
    lists its field in `errors`, as validation errors do; other keywords (`valid`, `current_state`,
    ...) become members of the problem."""

    status = 422
    type_ = "domain-rule"
    title = "A domain rule was broken."
    field: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str,
        *,
        field: str | Sequence[str | int] | None = None,
        loc: Sequence[str | int] | None = None,
        **extras: Any,
    ) -> None:
        self.loc = _located(field if field is not None else type(self).field, loc)
        if self.loc is not None:
            extras["errors"] = [{"loc": list(self.loc), "msg": detail, "type": "domain_rule"}]
        super().__init__(detail, **extras)


def _located(field: str | Sequence[str | int] | None, loc: Sequence[str | int] | None) -> tuple[str | int, ...] | None:
    """The `loc` of a refusal: `loc` as given, else `field` in the body (`()` is the body itself)."""
    if loc is not None:
        return tuple(loc)
    if field is None:
        return None
    return ("body", field) if isinstance(field, str) else ("body", *field)


# Refusals every service makes, alike.


class DateInFuture(DomainError):
    type_ = "date-in-future"
    title = "The date has not come yet."


class CodeNotOnList(DomainError):
    """A value not on its code or practice list; `valid` lists those that are."""

    type_ = "code-not-on-list"
    title = "The value is not on its list."

    def __init__(self, detail: str, *, valid: Sequence[str], **kwargs: Any) -> None:
        super().__init__(detail, valid=list(valid), **kwargs)


class TextRequired(DomainError):
    type_ = "text-required"
    title = "The text must not be blank."


class BeforeDateOfBirth(DomainError):
    type_ = "before-date-of-birth"
    title = "The date is before the child's date of birth."


class UnknownChild(DomainError):
    """A body field names a child no `child.registered` event has announced."""

    type_ = "unknown-child"
    title = "No such child has been registered."


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


# SQLSTATE classes of a database that is unavailable rather than refusing a value: 08 connection
# exception, 53 insufficient resources (too many connections, disk full), 57P operator intervention
# (admin shutdown, crash shutdown, cannot connect now). PostgreSQL docs, Appendix A.
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
RETRY_AFTER_SECONDS = 5
# asyncpg's message for an argument it could not encode: `invalid input for query argument $1: 'x' (...)`.
_ARGUMENT = re.compile(r"invalid input for query argument \$\d+: (?P<value>.*?) \((?P<reason>.*)\)$", re.S)


class DatabaseUnavailable(Problem):
    """The database is down, restarting or out of connections: not the client's fault, and
    temporary. 503 with `Retry-After`; the client retries (with its `Idempotency-Key` for a POST)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "The database is unavailable.",
            type_="database-unavailable",
            status=503,
            detail=detail,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, through SQLAlchemy's and asyncpg's wrappers; None if none."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        state = getattr(node, "sqlstate", None)
        if isinstance(state, str):
            return state
        node = getattr(node, "orig", None) or node.__cause__
    return None


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached or used just now (pool exhausted, connection
    refused or lost, server shutting down or starting), as opposed to a fault in a query."""
    if isinstance(exc, sqlalchemy_exc.TimeoutError):  # the pool's wait ran out
        return True
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or exc.statement is None):
        return True  # lost mid-query, or refused while connecting (bad role, server starting)
    state = sqlstate_of(exc)
    if state is not None:
        return state.startswith(UNAVAILABLE_SQLSTATES)
    return isinstance(exc, OSError | TimeoutError) and _raised_by_database_driver(exc)


def _raised_by_database_driver(exc: BaseException) -> bool:
    """Whether the traceback passes through asyncpg or SQLAlchemy (a refused or dropped connection
    surfaces as a plain `OSError` from the driver's connect)."""
    frame = exc.__traceback__
    while frame is not None:
        module = frame.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg", "sqlalchemy")):
            return True
        frame = frame.tb_next
    return False


def _field_of(request: Request, quoted: list[str]) -> list[str | int] | None:
    """The query or path parameter whose value the database quoted back, when exactly one matches."""
    candidates: list[list[str | int]] = []
    params = [("query", name, value) for name, value in request.query_params.multi_items()]
    params += [("path", name, str(value)) for name, value in request.path_params.items()]
    for where, name, value in params:
        if value in quoted or repr(value) in quoted:
            candidates.append([where, name])
    return candidates[0] if len(candidates) == 1 else None


def _quoted_values(message: str) -> list[str]:
    """The values a database error quotes: asyncpg's `invalid input for query argument $1: 'x' (...)`
    (a Python repr) and PostgreSQL's `invalid input syntax for type integer: "x"`,
    `value "x" is out of range for type integer`."""
    values = [match.group("value") for match in _ARGUMENT.finditer(message)]
    values += re.findall(r'"([^"]*)"', message)
    return values


def _database_error(_eh: Any, request: Request, exc: Exception) -> Problem | None:
    """A value the database cannot store (out of range, untranslatable text) is the client's 422,
    naming the field when the value can be traced to one; an unavailable database is a 503; any
    other database error stays a 500. A net: routes validate by type before SQL (shared.types)."""
    if database_unavailable(exc):
        logger.warning("database unavailable: %s", getattr(exc, "orig", None) or exc)
        return DatabaseUnavailable("The database cannot be reached just now; retry after a few seconds.")
    state = sqlstate_of(exc)
    message = str(getattr(exc, "orig", None) or exc).strip()
    first_line = message.splitlines()[0] if message else ""
    if not _ARGUMENT.search(first_line) and not (state or "").startswith("22"):  # class 22: data exception
        return None
    loc = _field_of(request, _quoted_values(first_line))
    reason = "out of range or not valid text"
    errors = [{"loc": loc, "msg": f"The value could not be stored ({reason}).", "type": "value_error"}] if loc else []
    return ValidationFailed(f"A value could not be stored ({reason}).", errors=errors)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _http_exception(eh: Any, request: Request, exc: StarletteHTTPException) -> Problem:
    """Starlette's own errors (404 no route, 405 wrong method) as problems. A 405's `Allow` names
    every method the path takes (FastAPI makes one route per method, and Starlette names only the
    first route's). RFC 9110 15.5.6."""
    if exc.status_code == 405:
        methods: set[str] = set()
        for method in HTTP_METHODS:  # ask the router, whatever its nesting, which methods it would take
            scope = {**request.scope, "method": method}
            if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
                methods.add(method)
        if methods:
            exc = StarletteHTTPException(405, headers={**(exc.headers or {}), "Allow": ", ".join(sorted(methods))})
    problem: Problem = http_exception_handler_(eh, request, exc)
    return problem


class ErrorBoundaryMiddleware:
    """Answers any exception that reaches it with the problem response of `handler`, and does not
    re-raise it, so the server keeps the keep-alive connection open for the next request.
    (Starlette's outermost error middleware sends its 500 and then re-raises, and uvicorn closes
    the connection on an exception.) Once a response has started, nothing can be sent in its place:
    the exception goes on up and the server aborts the response, which is how a client sees that a
    stream is incomplete (docs/errors.md)."""

    def __init__(self, app: ASGIApp, *, handler: Callable[[Request, Exception], Response]) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            response = self.handler(Request(scope, receive), exc)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    handler = new_exception_handler(
        handlers={DBAPIError: _database_error, sqlalchemy_exc.TimeoutError: _database_error, OSError: _database_error},  # type: ignore[dict-item]  # None falls through to 500
        logger=logger,
        unhandled_wrappers={"default": InternalError},
        request_validation_handler=_request_validation,
        http_exception_handler=_http_exception,
        post_hooks=[_tag_request_id],
        documentation_uri_template=PROBLEM_TYPE_URI,
    )
    add_exception_handler(app, handler, generic_swagger_defaults=False)
    app.add_middleware(ErrorBoundaryMiddleware, handler=handler)


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
