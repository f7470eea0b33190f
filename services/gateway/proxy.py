"""The proxy: every contract path the gateway does not answer itself, streamed to its service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

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
NOT_TO_CLIENT = HOP_BY_HOP | {"content-length", "x-request-id"}


class ServiceUnavailable(Problem):
    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(
            "A service behind the gateway did not answer.",
            type_="service-unavailable" if status == 502 else "service-timeout",
            status=status,
            detail=detail,
            service=service,
        )


def target_of(request: Request) -> access.Route:
    target = access.route(request.url.path)
    if target is None:
        raise NotFound(f"No route {request.url.path}.")
    return target


async def authorised(request: Request) -> access.Route:
    """The door: a good token with a role the matrix allows for this method and path. (Called
    directly rather than as a FastAPI dependency: this is the hot path of every proxied request.)"""
    principal = await current_principal(request, await bearer_scheme(request))
    target = target_of(request)
    allowed = access.allowed_roles(request.method, target)
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


PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/v1/{path:path}", methods=PROXIED_METHODS, include_in_schema=False)
async def proxy(request: Request) -> Response:
    return await forward(request, await authorised(request))
