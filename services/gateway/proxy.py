"""The proxy: every contract path the gateway does not answer itself, streamed to its service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import fastapi.routing
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.routing import Match

from services.gateway import access
from services.gateway.clients import ServiceClient, ServiceDown
from shared import requestid
from shared.auth import bearer_scheme, current_principal
from shared.errors import Forbidden, NotFound, Problem
from shared.footprint import SOURCE_HEADER

logger = logging.getLogger("iro.gateway.proxy")

router = APIRouter()

# RFC 9110 7.6.1 hop-by-hop headers, and those the gateway sets itself.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade", "host"}
)  # fmt: skip
NOT_FROM_CLIENT = HOP_BY_HOP | {SOURCE_HEADER.lower(), "x-request-id", "content-length"}
# `date` and `server`: the gateway's own server adds one of each; the service's would make two.
NOT_TO_CLIENT = HOP_BY_HOP | {"content-length", "x-request-id", "date", "server"}


class ServiceUnavailable(Problem):
    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(
            "A service behind the gateway did not answer.",
            type_="service-unavailable" if status == 502 else "service-timeout",
            status=status,
            detail=detail,
            service=service,
        )


class MethodNotAllowed(Problem):
    """405 with `Allow`, the same type and title the services' own 405s have (Starlette's, through
    fastapi-problem)."""

    def __init__(self, method: str, path: str, methods: frozenset[str]) -> None:
        allow = access.allow_header(methods)
        super().__init__(
            "Method Not Allowed",
            type_="http-method-not-allowed",
            status=405,
            detail=f"{path} takes {allow}, not {method}.",
            headers={"Allow": allow},
        )


def path_table(app: FastAPI) -> access.PathTable:
    """The services' documented paths, rebuilt when another service's document has been fetched."""
    documents = getattr(app.state, "service_openapi", {})
    known = tuple(sorted(documents))
    cached: tuple[tuple[str, ...], access.PathTable] | None = getattr(app.state, "path_table", None)
    if cached is None or cached[0] != known:
        for service, path in access.unrouted(documents):
            logger.error("proxy: %s documents %s but access.ROUTES sends it elsewhere; add it there", service, path)
        cached = (known, access.PathTable.from_documents(documents))
        app.state.path_table = cached
    return cached[1]


def own_routes(app: FastAPI) -> list[Any]:
    """The gateway's routes but the proxy, those of included routers too (FastAPI 0.16x wraps
    those); listed once, as the routes are fixed once the app serves."""
    routes: list[Any] | None = getattr(app.state, "own_routes", None)
    if routes is None:
        flatten = getattr(fastapi.routing, "iter_route_contexts", None)
        every = flatten(app.router.routes) if flatten else app.router.routes
        routes = [r for r in every if hasattr(r, "matches") and getattr(r, "endpoint", None) is not proxy]
        app.state.own_routes = routes
    return routes


def own_methods(request: Request) -> frozenset[str]:
    """The methods of the gateway's own routes on this path (the proxy is only reached with another)."""
    methods: set[str] = set()
    for candidate in own_routes(request.app):
        match, _ = candidate.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(candidate, "methods", None) or set()
    return frozenset(methods)


def target_of(request: Request) -> access.Route:
    """The service behind the path; 404 for a path nobody serves, 405 with `Allow` for a method the
    path does not take (before the token is looked at, as on the services themselves)."""
    path = request.url.path
    own = own_methods(request)
    if own:
        raise MethodNotAllowed(request.method, path, own)
    target = access.resolve(path, path_table(request.app))
    if target is None:
        raise NotFound(f"No route {path}.")
    if target.methods is not None and request.method not in target.methods:
        raise MethodNotAllowed(request.method, path, target.methods)
    return target


async def authorised(request: Request) -> access.Route:
    """The door: a good token with a role the role table (shared/roles.py) allows for this method
    and path; an internal route, which only the gateway calls, is a 404 as if it were not there.
    (Called directly rather than as a FastAPI dependency: this is the hot path of every proxied
    request.)"""
    target = target_of(request)
    allowed = access.allowed_roles(request.method, target)
    if not allowed:
        raise NotFound(f"No route {request.url.path}.")
    principal = await current_principal(request, await bearer_scheme(request))
    if not principal.has_any(allowed):
        needs, has = sorted(allowed), sorted(principal.roles)
        raise Forbidden(f"{request.method} {request.url.path} needs one of {needs}; the token has {has}.")
    return target


def forward_headers(request: Request) -> list[tuple[str, str]]:
    """The caller's headers less hop-by-hop ones (the body is re-sent chunked), plus the request ID."""
    headers = [(name, value) for name, value in request.headers.items() if name.lower() not in NOT_FROM_CLIENT]
    rid = requestid.current()
    if rid:
        headers.append(("x-request-id", rid))
    return headers


async def forward(request: Request, target: access.Route) -> Response:
    client: ServiceClient = request.app.state.clients[target.service]
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = request.stream() if request.method not in ("GET", "HEAD", "DELETE") else None
    try:
        upstream = await client.open(request.method, path, headers=forward_headers(request), body=body)
    except ServiceDown as down:
        if down.timed_out:
            raise ServiceUnavailable(down.service, 504, f"The {down.service} service did not answer in time.") from None
        logger.warning("proxy: %s unreachable", down.service)
        raise ServiceUnavailable(down.service, 502, f"The {down.service} service is unreachable.") from None
    headers = [(name, value) for name, value in upstream.headers.items() if name.lower() not in NOT_TO_CLIENT]

    async def relay() -> AsyncIterator[bytes]:
        async for chunk in upstream.content.iter_any():
            yield chunk

    async def release() -> None:  # async, so Starlette does not hand it to a worker thread
        upstream.release()

    response = StreamingResponse(relay(), status_code=upstream.status, background=BackgroundTask(release))
    response.raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return response


# Every method, so that one a path does not take is answered here: 405 with the path's `Allow`.
PROXIED_METHODS = list(access.HTTP_METHODS)


@router.api_route("/v1/{path:path}", methods=PROXIED_METHODS, include_in_schema=False)
async def proxy(request: Request) -> Response:
    return await forward(request, await authorised(request))
