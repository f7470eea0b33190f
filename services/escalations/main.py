"""The escalations service: the dispute resolution process, stage by stage."""

from __future__ import annotations

from fastapi import FastAPI

from services.escalations import consumers, router
from services.escalations.settings import Settings
from shared import logs
from shared.app import build_app

DESCRIPTION = """The dispute resolution process: informal alerts, formal escalations up a ladder of
stages with response deadlines, collective alerts, Cafcass referral, outcomes and commendations."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(service="escalations")
    app = build_app(
        settings,
        service="escalations",
        title="IRO escalations service",
        description=DESCRIPTION,
        routers=[router.router],
        hooks=[consumers.children_consumer_hook(settings)],
        idempotency_schema="escalations",
    )
    app.state.children_consumer = None
    return app
