"""The gateway: the one door for front-ends, integrators and auditors."""

from __future__ import annotations

from fastapi import FastAPI

from services.gateway.settings import Settings
from shared import logs
from shared.app import build_app

DESCRIPTION = """The one door of the IRO Footprint Platform: auth, the services' APIs, the child
overview, the worklist, reports, the DfE 903 export, the auditors' footprint API and the ingest
endpoint for case systems."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(service="gateway")
    return build_app(settings, service="gateway", title="IRO Footprint Platform", description=DESCRIPTION)
