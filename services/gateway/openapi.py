"""One OpenAPI document for the whole platform: the gateway's own paths plus every service's `/v1`
paths, fetched from the services over HTTP (at start-up, and again while one was missing), completed
by `shared.openapi` (problem responses, `Idempotency-Key`; 502 and 504 on the proxied paths)."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.gateway.access import SERVICES
from services.gateway.clients import ServiceClient, ServiceDown
from shared import openapi as shared_openapi
from shared import roles

logger = logging.getLogger("iro.gateway.openapi")


async def fetch(app: FastAPI) -> None:
    """Fetch each missing service document; keep what was fetched before."""
    documents: dict[str, dict[str, Any]] = app.state.service_openapi
    missing = [name for name in SERVICES if name not in documents]

    async def one(name: str) -> None:
        client: ServiceClient = app.state.clients[name]
        try:
            reply = await client.get("/openapi.json", time_limit=min(5.0, app.state.settings.service_timeout))
        except ServiceDown:
            logger.warning("openapi: %s did not answer", name)
            return
        if reply.status == 200 and isinstance(reply.body, dict):
            documents[name] = reply.body
        else:
            logger.warning("openapi: %s answered %s", name, reply.status)

    await asyncio.gather(*(one(name) for name in missing))
    if missing:
        app.openapi_schema = None  # rebuild with what is now known


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.rsplit("/", 1)[1]
                out[key] = f"#/components/schemas/{renames.get(name, name)}"
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge(own: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The gateway's document with each service's `/v1` paths and schemas. A schema name two
    services define differently is prefixed with the service's name."""
    merged = copy.deepcopy(own)
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    tags = {tag["name"] for tag in merged.get("tags", [])}
    for name in SERVICES:
        document = services.get(name)
        if not document:
            continue
        theirs = document.get("components", {}).get("schemas", {})
        renames = {
            schema: f"{name}_{schema}"
            for schema, body in theirs.items()
            if schema in schemas and json.dumps(schemas[schema], sort_keys=True) != json.dumps(body, sort_keys=True)
        }
        for schema, body in theirs.items():
            schemas[renames.get(schema, schema)] = _rename_refs(body, renames)
        for scheme, body in document.get("components", {}).get("securitySchemes", {}).items():
            merged["components"].setdefault("securitySchemes", {}).setdefault(scheme, body)
        for path, operations in roles.without_internal(document.get("paths", {})).items():  # published only
            if path.startswith("/v1/") and path not in merged["paths"]:
                merged["paths"][path] = _rename_refs(operations, renames)
        for tag in document.get("tags", []):
            if tag["name"] not in tags:
                merged.setdefault("tags", []).append(tag)
                tags.add(tag["name"])
    missing = [name for name in SERVICES if name not in services]
    if missing:
        merged["info"]["description"] += (
            f"\n\n**Incomplete:** the {', '.join(missing)} service(s) could not be reached; their paths appear"
            " once they answer."
        )
    return merged


def install(app: FastAPI) -> None:
    app.state.service_openapi = {}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            own = shared_openapi.complete(
                get_openapi(
                    title=app.title, version=app.version, description=app.description, routes=app.routes,
                    tags=app.openapi_tags,
                )
            )  # fmt: skip
            # The services' paths are answered behind the proxy: 502 and 504 as well.
            app.openapi_schema = shared_openapi.complete(
                merge(own, app.state.service_openapi), upstream=lambda path: path not in own["paths"]
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class RefreshMiddleware:
    """Before serving the document, fetch the service documents still missing."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/openapi.json":
            app = scope["app"]
            if len(app.state.service_openapi) < len(SERVICES) and getattr(app.state, "clients", None):
                await fetch(app)
        await self.app(scope, receive, send)
