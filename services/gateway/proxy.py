"""The proxy: every contract path the gateway does not answer itself, streamed to its service."""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from services.gateway import access
from shared import requestid
from shared.auth import Principal, current_principal
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


async def authorised(request: Request, principal: Principal = Depends(current_principal)) -> access.Route:
    """The door: a good token with a role the matrix allows for this method and path."""
    target = target_of(request)
    allowed = access.allowed_roles(request.method, target)
    if not principal.has_any(allowed):
        needs, has = sorted(allowed), sorted(principal.roles)
        raise Forbidden(f"{request.method} {request.url.path} needs one of {needs}; the token has {has}.")
    return target


def forward_headers(request: Request) -> list[tuple[str, str]]:
    headers = [(name, value) for name, value in request.headers.items() if name.lower() not in NOT_FROM_CLIENT]
    rid = requestid.current()
    if rid:
        headers.append(("x-request-id", rid))
    if "content-length" in request.headers:
        headers.append(("content-length", request.headers["content-length"]))
    return headers


async def forward(request: Request, target: access.Route) -> Response:
    client: httpx.AsyncClient = request.app.state.clients[target.service]
    outgoing = client.build_request(
        request.method,
        httpx.URL(path=request.url.path, query=request.url.query.encode("latin-1")),
        headers=forward_headers(request),
        content=request.stream() if request.method not in ("GET", "HEAD", "DELETE") else None,
    )
    try:
        upstream = await client.send(outgoing, stream=True)
    except httpx.TimeoutException:
        raise ServiceUnavailable(target.service, 504, f"The {target.service} service did not answer in time.") from None
    except httpx.TransportError as exc:
        logger.warning("proxy: %s unreachable: %s", target.service, type(exc).__name__)
        raise ServiceUnavailable(target.service, 502, f"The {target.service} service is unreachable.") from None
    headers = {name: value for name, value in upstream.headers.items() if name.lower() not in NOT_TO_CLIENT}
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )


PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/v1/{path:path}", methods=PROXIED_METHODS, include_in_schema=False)
async def proxy(request: Request, target: access.Route = Depends(authorised)) -> Response:
    return await forward(request, target)
