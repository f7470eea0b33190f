"""The participation service: PN codes, how children took part, feedback and advocacy."""

from __future__ import annotations

from fastapi import FastAPI

from services.participation import ingest
from services.participation.consumers import consumer_hook
from services.participation.router import router
from services.participation.settings import Settings
from shared import logs
from shared.app import build_app

DESCRIPTION = """Each review's DfE participation code (PN0-PN7, checked against the child's age),
how the child took part, feedback forms and advocacy referrals."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(service="participation")
    return build_app(
        settings,
        service="participation",
        title="IRO participation service",
        description=DESCRIPTION,
        routers=[router, ingest.router],
        hooks=[consumer_hook(settings)],
        idempotency_schema="participation",
    )
