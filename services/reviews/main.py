"""The reviews service: children, care periods, IRO allocation and the statutory review timetable."""

from __future__ import annotations

from fastapi import FastAPI

from services.reviews import ingest, router
from services.reviews.settings import Settings
from shared import logs
from shared.app import build_app

DESCRIPTION = """Children, care periods, IRO allocation and caseloads, the statutory review timetable
(reg 33 of the Care Planning, Placement and Case Review (England) Regulations 2010), reviews held,
decisions, midway reviews, case notes and timeliness."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(service="reviews")
    return build_app(
        settings,
        service="reviews",
        title="IRO reviews service",
        description=DESCRIPTION,
        routers=[router.router, ingest.router],
        idempotency_schema="reviews",
    )
