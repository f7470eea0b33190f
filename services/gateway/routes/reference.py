"""The code lists a front-end builds its pick-lists from (CONTRACT.md: GET `/v1/reference`,
`/v1/reference/{list}`; every role may read them, integration included).

The fixed lists come from `shared/reference/*.csv`; the escalation categories and stages are the
ones the authority configured (`ESCALATIONS_CATEGORIES`, `ESCALATIONS_LADDER`), so they are read
from the escalations service over HTTP with the caller's token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from services.gateway.clients import ServiceClient, ServiceDown
from services.gateway.proxy import ServiceUnavailable
from shared import reference, requestid, roles
from shared.auth import Principal
from shared.errors import NotFound
from shared.types import Date

router = APIRouter(prefix="/v1/reference", tags=["reference"])

OTHER = "other"  # the reason that needs its detail given


class ReferenceListEntry(BaseModel):
    name: str = Field(description="The list's name in `/v1/reference/{list}`.", examples=["placement-types"])
    title: str
    source: str = Field(description="Where the list comes from.")
    href: str = Field(examples=["/v1/reference/placement-types"])


class ReferenceLists(BaseModel):
    items: list[ReferenceListEntry]
    next_cursor: str | None = Field(None, description="Always null: one page.")


class ReferenceItem(BaseModel):
    """A code and its label; the other members appear only on the lists named beside them."""

    code: str = Field(examples=["U4"])
    label: str | None = Field(examples=["Foster placement with other foster carers: long-term fostering"])
    first_collection_year: int | None = Field(
        None,
        description="`placement-types`: the first collection year the code is valid for (2022 = Apr 2021-Mar 2022).",
    )
    last_collection_year: int | None = Field(
        None, description="`placement-types`: the last collection year the code is valid for; null while in use."
    )
    for_iro_input: bool | None = Field(
        None, description="`late-review-reasons`: false for a code kept for imported records only (`not_recorded`)."
    )
    needs_detail: bool | None = Field(
        None, description="`late-review-reasons`, `early-review-reasons`: the detail must be given (`other`)."
    )
    source: str | None = Field(None, description="`early-review-reasons`: the regulation.")
    for_ages: str | None = Field(None, description="`participation-codes`: `under 4` (PN0) or `4 and over`.")
    attends: bool | None = Field(None, description="`participation-codes`: the child attends (null for PN0).")
    views_conveyed: bool | None = Field(None, description="`participation-codes`: the child's views are conveyed.")
    counts_as_participation: bool | None = Field(
        None, description="`participation-codes`: counted as participating (PN1-PN6)."
    )
    stage: int | None = Field(None, description="`escalation-stages`: 0 (informal alert) to the top formal stage.")
    response_working_days: int | None = Field(
        None, description="`escalation-stages`: working days the addressee has to respond."
    )


class ReferenceList(BaseModel):
    name: str
    title: str
    source: str
    on: dt.date | None = Field(None, description="`placement-types` asked for `on` a day: the codes in use then.")
    items: list[ReferenceItem]
    next_cursor: str | None = Field(None, description="Always null: one page.")


Builder = Callable[[Request, Principal, dt.date | None], Awaitable[list[ReferenceItem]]]


@dataclass(frozen=True)
class Source:
    title: str
    source: str
    build: Builder


def _simple(name: str) -> Builder:
    async def build(_request: Request, _principal: Principal, _on: dt.date | None) -> list[ReferenceItem]:
        return [ReferenceItem(code=code, label=label) for code, label in reference.labels(name).items()]

    return build


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


async def _placement_types(_request: Request, _principal: Principal, on: dt.date | None) -> list[ReferenceItem]:
    labels = reference.labels("placement_type_codes")
    in_use = set(reference.placement_types_on(on)) if on else None
    return [
        ReferenceItem(code=code, label=labels[code], first_collection_year=first, last_collection_year=last)
        for code, (first, last) in reference.placement_type_years().items()
        if in_use is None or code in in_use
    ]


async def _late_reasons(_request: Request, _principal: Principal, _on: dt.date | None) -> list[ReferenceItem]:
    for_input = set(reference.input_codes("late_review_reasons"))
    return [
        ReferenceItem(code=code, label=label, for_iro_input=code in for_input, needs_detail=code == OTHER)
        for code, label in reference.labels("late_review_reasons").items()
    ]


async def _early_reasons(_request: Request, _principal: Principal, _on: dt.date | None) -> list[ReferenceItem]:
    return [
        ReferenceItem(
            code=row["key"], label=row["label"], source=row["source"] or None, needs_detail=row["key"] == OTHER
        )
        for row in reference.rows("early_review_reasons")
    ]


async def _participation_codes(_request: Request, _principal: Principal, _on: dt.date | None) -> list[ReferenceItem]:
    return [
        ReferenceItem(
            code=row["code"],
            label=row["meaning"],
            for_ages="under 4" if row["code"] == "PN0" else "4 and over",
            attends=_yes_no(row["attends"]),
            views_conveyed=_yes_no(row["views_conveyed"]),
            counts_as_participation=_yes_no(row["counts_as_participation"]),
        )
        for row in reference.rows("participation_codes")
    ]


async def _configured(request: Request, principal: Principal, path: str) -> list[dict[str, Any]]:
    """A list the escalations service is configured with, read with the caller's token."""
    client: ServiceClient = request.app.state.clients["escalations"]
    headers = {"Authorization": f"Bearer {principal.token}"}
    rid = requestid.current()
    if rid:
        headers["X-Request-ID"] = rid
    try:
        reply = await client.get(path, headers=headers)
    except ServiceDown as down:
        status, how = (504, "did not answer in time") if down.timed_out else (502, "is unreachable")
        raise ServiceUnavailable("escalations", status, f"The escalations service {how}.") from None
    if reply.status != 200 or not isinstance(reply.body, dict):
        raise ServiceUnavailable("escalations", 502, f"The escalations service answered {reply.status}.")
    return list(reply.body.get("items", []))


async def _escalation_categories(request: Request, principal: Principal, _on: dt.date | None) -> list[ReferenceItem]:
    rows = await _configured(request, principal, "/v1/escalation-categories")
    return [ReferenceItem(code=row["key"], label=row.get("label")) for row in rows]


async def _escalation_stages(request: Request, principal: Principal, _on: dt.date | None) -> list[ReferenceItem]:
    rows = await _configured(request, principal, "/v1/escalation-stages")
    return [
        ReferenceItem(
            code=str(row["stage"]),
            label=row["name"],
            stage=row["stage"],
            response_working_days=row["response_working_days"],
        )
        for row in rows
    ]


SSDA903 = "DfE SSDA903 children looked after return"
PRACTICE = "The platform's practice list (shared/reference)"
CONFIGURED = "The authority's configuration of the escalations service (default: published IRO annual reports)"

LISTS: dict[str, Source] = {
    "legal-statuses": Source("Legal statuses (LS)", SSDA903, _simple("legal_status_codes")),
    "placement-types": Source("Placement types (PLACE), by collection year", SSDA903, _placement_types),
    "reasons-new-episode": Source("Reasons for a new episode (RNE)", SSDA903, _simple("reason_new_episode_codes")),
    "reasons-episode-ceased": Source("Reasons an episode ceased (REC)", SSDA903, _simple("reason_ceased_codes")),
    "late-review-reasons": Source("Reasons a review was late", "IRO annual reports; IRO Handbook", _late_reasons),
    "early-review-reasons": Source(
        "Reasons a review is brought forward",
        "Care Planning, Placement and Case Review Regulations 2010 reg 33(3)",
        _early_reasons,
    ),
    "participation-codes": Source("Participation codes (PN0-PN7)", SSDA903, _participation_codes),
    "participation-methods": Source("How the child took part", PRACTICE, _simple("participation_methods")),
    "parent-relationships": Source("A parent's or carer's relationship", PRACTICE, _simple("parent_relationships")),
    "parent-participation": Source("How a parent or carer took part", PRACTICE, _simple("parent_participation")),
    "feedback-respondents": Source("Who filled in a feedback form", PRACTICE, _simple("feedback_respondents")),
    "feedback-channels": Source("How a feedback form came in", PRACTICE, _simple("feedback_channels")),
    "escalation-categories": Source("Escalation categories", CONFIGURED, _escalation_categories),
    "escalation-stages": Source("The escalation ladder", CONFIGURED, _escalation_stages),
}


@router.get("", response_model=ReferenceLists)
async def lists(_: roles.Caller) -> ReferenceLists:
    """The code lists, by name: each is at `/v1/reference/{name}`."""
    return ReferenceLists(
        items=[
            ReferenceListEntry(name=name, title=source.title, source=source.source, href=f"/v1/reference/{name}")
            for name, source in LISTS.items()
        ]
    )


@router.get(
    "/{list}",
    response_model=ReferenceList,
    response_model_exclude_unset=True,
    responses={
        404: {"description": "No list of that name (GET /v1/reference lists them)."},
        502: {"description": "`escalation-categories`, `escalation-stages`: the escalations service is unreachable."},
        504: {"description": "`escalation-categories`, `escalation-stages`: the escalations service did not answer."},
    },
)
async def one_list(
    name: Annotated[str, Path(alias="list", description="A list's name, e.g. `placement-types`.")],
    request: Request,
    principal: roles.Caller,
    on: Annotated[
        Date | None, Query(description="`placement-types` only: just the codes in use on this day (YYYY-MM-DD).")
    ] = None,
) -> ReferenceList:
    """One code list: `code` and `label` for each entry, and what else that list carries (see the
    item's members). `legal-statuses`, `placement-types`, `reasons-new-episode`,
    `reasons-episode-ceased`, `late-review-reasons`, `early-review-reasons`, `participation-codes`,
    `participation-methods`, `parent-relationships`, `parent-participation`, `feedback-respondents`,
    `feedback-channels`, `escalation-categories`, `escalation-stages`."""
    source = LISTS.get(name)
    if source is None:
        raise NotFound(f"No reference list {name!r}; the lists are: {', '.join(LISTS)}.", valid=list(LISTS))
    items = await source.build(request, principal, on if name == "placement-types" else None)
    answer = ReferenceList(name=name, title=source.title, source=source.source, items=items, next_cursor=None)
    if on is not None and name == "placement-types":
        answer.on = on
    return answer
