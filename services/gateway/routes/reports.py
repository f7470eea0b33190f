"""The IRO service's evidence: the annual report (dataset and page) and the DfE return's reviews table.

- `GET /v1/reports/annual`: the dataset (services/gateway/report_data.py), exact figures, for the
  service and its analysts.
- `GET /v1/reports/annual.html`: the same as one self-contained page for publication, small numbers
  suppressed (services/gateway/report_page.py).
- `GET /v1/exports/ssda903/reviews.csv` and `/problems`: the SSDA903 reviews table for a collection
  year, and the held reviews that cannot go in it yet (services/gateway/ssda903_export.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from services.gateway import report_data as rd
from services.gateway import report_page, reports, ssda903_export
from services.gateway.routes.footprint import AuditSession
from services.gateway.settings import Settings
from shared import periods, roles
from shared.auth import Principal
from shared.clock import today
from shared.errors import InvalidField
from shared.periods import CollectionYear, From, To
from shared.types import Date

router = APIRouter(prefix="/v1", tags=["reports"])


AgeOn = Annotated[
    Date | None,
    Query(description="Participation by age on this day (Croydon's CLA 12 table); default: age on each review's date."),
]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def dataset(
    request: Request, principal: Principal, session: AuditSession, start: dt.date, end: dt.date,
    day: dt.date, age_on: dt.date | None,
) -> rd.AnnualReport:  # fmt: skip
    return await reports.annual_report(
        request, principal, session, start=start, end=end, today=day, age_on=age_on,
        live_from=settings_of(request).report_platform_from,
    )  # fmt: skip


@router.get("/reports/annual", response_model=rd.AnnualReport, response_model_by_alias=True)
async def annual_report(
    request: Request,
    start: From,
    end: To,
    session: AuditSession,
    day: Annotated[dt.date, Depends(today)],
    age_on: AgeOn = None,
    principal: Principal = Depends(roles.caller),
) -> rd.AnnualReport:
    """The annual report's dataset (IRO Handbook para 7.11) for `[from, to]` and the same period a year
    earlier: every theme's figures with their numerators and denominators (docs/reports.md)."""
    return await dataset(request, principal, session, start, end, day, age_on)


@router.get("/reports/annual.html", response_class=HTMLResponse)
async def annual_report_page(
    request: Request,
    start: From,
    end: To,
    session: AuditSession,
    day: Annotated[dt.date, Depends(today)],
    age_on: AgeOn = None,
    principal: Principal = Depends(roles.caller),
) -> HTMLResponse:
    """The annual report as one self-contained HTML page for publication (no external resources; prints
    to A4); counts from 1 to the suppression threshold less one shown as "fewer than N"."""
    report = await dataset(request, principal, session, start, end, day, age_on)
    settings = settings_of(request)
    page = await asyncio.to_thread(
        report_page.render, report, suppress_below=settings.report_suppress_below,
        authority=settings.report_authority, template_dir=settings.report_templates,
    )  # fmt: skip
    return HTMLResponse(page)


# --- the DfE return ------------------------------------------------------------------------------


async def export_for(request: Request, principal: Principal, year: int) -> ssda903_export.Export:
    """The export of collection year `year`; 422 naming `collection_year` for one that has not begun."""
    first_day = periods.collection_year(year)[0]
    if first_day > await today(request):
        raise InvalidField(("query", "collection_year"), f"Collection year {year} begins on {first_day}, after today.")
    services = reports.Services(request, principal)
    held, coded = await asyncio.gather(
        services.get("reviews", "/v1/ssda903/reviews", collection_year=year),
        services.get("participation", "/v1/ssda903/participation", collection_year=year),
    )
    return await asyncio.to_thread(ssda903_export.build, held["items"], coded["items"])


@router.get(
    "/exports/ssda903/reviews.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The reviews table."}},
)
async def ssda903_reviews(
    request: Request, collection_year: CollectionYear, principal: Principal = Depends(roles.caller)
) -> Response:
    """The SSDA903 return's reviews table for a collection year: `CHILD,DOB,REVIEW,REVIEW_CODE`, dates
    `dd/mm/yyyy`, CRLF line ends, one row per review held in the year, by CHILD then REVIEW. Every row
    passes the DfE's rules 166, 167, 440 and 441; children whose legal statuses in the year were all
    short breaks (V3/V4) are left out (rule 399); a held review that would fail a rule is left out and
    listed by `/v1/exports/ssda903/problems`."""
    export = await export_for(request, principal, collection_year)
    return Response(
        ssda903_export.to_csv(export.rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="ssda903_{collection_year}_reviews.csv"',
            "X-Rows": str(len(export.rows)),
            "X-Problems": str(len(export.problems)),
        },
    )


class ExportProblem(BaseModel):
    review_id: uuid.UUID
    child_id: uuid.UUID
    la_reference: str
    review_date: dt.date = Field(description="The day the review was held.")
    problem: str = Field(description="What is wrong, e.g. `no_participation_code`, `code_invalid_for_age`.")
    detail: str


class ExportProblems(BaseModel):
    collection_year: int
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    exported: int = Field(description="Rows in the reviews table.")
    short_breaks_only: int = Field(
        description="Held reviews left out: the child's legal statuses were all V3/V4 (rule 399)."
    )
    reviews_with_problems: int
    items: list[ExportProblem]


@router.get("/exports/ssda903/problems", response_model=ExportProblems, response_model_by_alias=True)
async def ssda903_problems(
    request: Request, collection_year: CollectionYear, principal: Principal = Depends(roles.caller)
) -> ExportProblems:
    """Held reviews of the collection year that cannot be exported yet (no participation code, a code
    or date flagged after a date-of-birth correction ...), each with the child, the date and what is
    wrong, so a data officer can fix them before the return's deadline."""
    export = await export_for(request, principal, collection_year)
    start, end = periods.collection_year(collection_year)
    return ExportProblems(
        collection_year=collection_year,
        from_=start,
        to=end,
        exported=len(export.rows),
        short_breaks_only=export.short_breaks_only,
        reviews_with_problems=len({p.review_id for p in export.problems}),
        items=[ExportProblem(**vars(p)) for p in export.problems],
    )
