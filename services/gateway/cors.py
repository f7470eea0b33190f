"""CORS for browser front-ends: the origins in `GATEWAY_CORS_ORIGINS`, plus any `localhost` or
`127.0.0.1` origin when `IRO_ENV=development` (a front-end dev server on its own port works without
configuration; test and production allow only the list). A refused preflight is a 403
`cors-refused` problem, not Starlette's bare `text/plain` 400."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

from services.gateway.settings import Settings
from shared import errors
from shared.requestid import HEADER as REQUEST_ID

DEVELOPMENT_ORIGINS = r"http://(localhost|127\.0\.0\.1)(:\d+)?"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", REQUEST_ID, "Accept"]
EXPOSED = [REQUEST_ID, "Idempotent-Replayed"]


class CorsRefused(errors.Problem):
    def __init__(self, detail: str) -> None:
        super().__init__("Cross-origin request refused.", type_="cors-refused", status=403, detail=detail)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, answering a refused preflight with an RFC 9457 problem."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = []
        if not self.is_allowed_origin(origin=request_headers["origin"]):
            refused.append(f"the origin {request_headers['origin']} (GATEWAY_CORS_ORIGINS lists those allowed)")
        if request_headers["access-control-request-method"] not in self.allow_methods:
            refused.append(f"the method {request_headers['access-control-request-method']}")
        if not refused:
            refused.append("a requested header")
        problem = CorsRefused(f"Not allowed: {'; '.join(refused)}.")
        keep = {
            name: value for name, value in response.headers.items() if name not in ("content-length", "content-type")
        }
        return JSONResponse(
            errors.problem_body(problem), status_code=403, headers=keep, media_type="application/problem+json"
        )


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_origin_regex=DEVELOPMENT_ORIGINS if settings.env == "development" else None,
        allow_methods=METHODS,
        allow_headers=HEADERS,
        expose_headers=EXPOSED,
    )
