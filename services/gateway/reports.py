"""The annual report's dataset (IRO Handbook para 7.11, DESIGN.md 2.6), gathered at once from the
services' statistics (over HTTP, with the caller's token) and the footprint (SQL, read-only role).

A report is never partial: a service that does not answer makes the whole request a 502/504 problem
naming it, never a report with a theme quietly missing. The figures' definitions: docs/reports.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import report_data as rd
from services.gateway.clients import ServiceClient, ServiceDown
from services.gateway.proxy import ServiceUnavailable
from shared import periods, reference, requestid
from shared.auth import Principal
from shared.clock import LONDON
from shared.errors import InvalidField

T = TypeVar("T")

MIDWAY_REVIEW, CASE_NOTE = "midway_review.held", "case_note.recorded"
SEQUENCES = ("first", "second", "subsequent")


def pct(part: int, whole: int) -> float | None:
    """part / whole x 100 to one decimal place, half up (as the services round); None for 0/0."""
    if whole == 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def rate(numerator: int, denominator: int) -> rd.Rate:
    return rd.Rate(numerator=numerator, denominator=denominator, pct=pct(numerator, denominator))


def shares(counts: dict[str, int], order: list[str] | None = None) -> list[rd.Share]:
    """Each key's count as a share of their total, in `order` (then any other keys, sorted)."""
    total = sum(counts.values())
    keys = [k for k in (order or []) if k in counts] + sorted(k for k in counts if k not in (order or []))
    return [rd.Share(key=key, share=rate(counts[key], total)) for key in keys]


@dataclass(frozen=True)
class Window:
    """One period of the report: `[start, end]`, judged as of `as_of` = min(end, today)."""

    start: dt.date
    end: dt.date
    as_of: dt.date

    @property
    def period(self) -> rd.Period:
        return rd.Period.model_validate({"from": self.start, "to": self.end, "as_of": self.as_of})

    def params(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


# --- the services --------------------------------------------------------------------------------


class Services:
    """The caller's GETs to the services: each answer's JSON, or a 502/504 problem naming the service."""

    def __init__(self, request: Request, principal: Principal) -> None:
        self.clients: dict[str, ServiceClient] = request.app.state.clients
        self.headers = {"Authorization": f"Bearer {principal.token}"}
        rid = requestid.current()
        if rid:
            self.headers["X-Request-ID"] = rid

    async def get(self, service: str, path: str, **params: Any) -> Any:
        try:
            reply = await self.clients[service].get(
                path, params={k: str(v) for k, v in params.items() if v is not None}, headers=self.headers
            )
        except ServiceDown as down:
            status, how = (504, "did not answer in time") if down.timed_out else (502, "is unreachable")
            raise ServiceUnavailable(service, status, f"The {service} service {how}.") from None
        if reply.status != 200 or not isinstance(reply.body, dict):
            detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
            raise ServiceUnavailable(
                service,
                502,
                f"The {service} service answered {reply.status} to {path}" + (f": {detail}" if detail else "."),
            )
        return reply.body


# --- the footprint -------------------------------------------------------------------------------


IMPORTED = "ssda903"  # the actor `source` of the events an SSDA903 backfill causes (services/gateway/backfill.py)


async def platform_from(session: AsyncSession) -> dt.date | None:
    """The day (Europe/London) of the earliest event the platform's own records speak of (what
    happened, `occurred_at`), an SSDA903 backfill's apart: where the themes only the platform records
    begin. None before anything but a backfill is recorded."""
    first = await session.scalar(
        text("SELECT min(occurred_at) FROM footprint.events WHERE (actor ->> 'source') IS DISTINCT FROM :imported"),
        {"imported": IMPORTED},
    )
    return None if first is None else first.astimezone(LONDON).date()


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LONDON)


async def footprint_activity(
    session: AsyncSession, window: Window, names: dict[uuid.UUID, str], services: Services
) -> rd.Footprint:
    """Midway reviews (`midway_review.held`) and case notes (`case_note.recorded`) per IRO (the event's
    `iro_id`) per calendar month of `[start, as_of]`, by the day the work is about (the payload's
    `held_on`, `recorded_on`), so a note entered late counts in its own month; and the footprint's
    events that occurred in the period (`occurred_at`, Europe/London days: a backfill's by their own dates)."""
    months = [month for month, first, _ in periods.months(window.start, window.as_of) if first <= window.as_of]
    rows = (
        await session.execute(
            text(
                "SELECT iro_id, type, left(coalesce(payload ->> 'held_on', payload ->> 'recorded_on'), 7) AS month, "
                "count(*) AS n FROM footprint.events "
                "WHERE type IN ('midway_review.held', 'case_note.recorded') "
                "AND coalesce(payload ->> 'held_on', payload ->> 'recorded_on') BETWEEN :start AND :end "
                "GROUP BY 1, 2, 3"
            ),
            {"start": window.start.isoformat(), "end": window.as_of.isoformat()},
        )
    ).all()
    recorded = await session.scalar(
        text("SELECT count(*) FROM footprint.events WHERE occurred_at >= :start AND occurred_at < :stop"),
        {"start": _midnight(window.start), "stop": _midnight(window.as_of + dt.timedelta(days=1))},
    )
    for iro_id in {row.iro_id for row in rows if row.iro_id and row.iro_id not in names}:  # left before as_of
        names[iro_id] = (await services.get("reviews", f"/v1/iros/{iro_id}"))["name"]
    index = {month: i for i, month in enumerate(months)}
    per_iro: dict[uuid.UUID | None, rd.IroActivity] = {}
    for row in rows:
        activity = per_iro.setdefault(
            row.iro_id,
            rd.IroActivity(
                iro_id=row.iro_id, name=names.get(row.iro_id) if row.iro_id else None,
                midway_reviews=[0] * len(months), case_notes=[0] * len(months),
            ),
        )  # fmt: skip
        counts = activity.midway_reviews if row.type == MIDWAY_REVIEW else activity.case_notes
        counts[index[row.month]] += int(row.n)
    ordered = sorted(per_iro.values(), key=lambda a: (a.iro_id is None, a.name or "", str(a.iro_id)))
    return rd.Footprint(
        months=months,
        midway_reviews=sum(sum(a.midway_reviews) for a in ordered),
        case_notes=sum(sum(a.case_notes) for a in ordered),
        events_recorded=int(recorded or 0),
        per_iro=ordered,
    )


# --- each theme from its statistics --------------------------------------------------------------


def children_figures(stats: dict[str, Any]) -> rd.ChildrenLookedAfter:
    return rd.ChildrenLookedAfter.model_validate(stats)


def continuity_figures(stats: dict[str, Any]) -> rd.Continuity:
    kept = stats["continuity"]
    return rd.Continuity(
        looked_after_throughout=kept["looked_after_throughout"],
        kept_one_iro=rate(kept["kept_one_iro"], kept["looked_after_throughout"]),
    )


def staffing_figures(caseloads: dict[str, Any]) -> rd.Staffing:
    items = caseloads["items"]
    bands = {band: sum(1 for i in items if i["band"] == band) for band in ("below", "within", "above")}
    fte = float(caseloads["fte"])
    allocated = int(caseloads["children_allocated"])
    return rd.Staffing(
        as_of=caseloads["as_of"],
        iros=len(items),
        fte=fte,
        children_allocated=allocated,
        unallocated=caseloads["unallocated"],
        caseload_per_fte=rd.Ratio(value=caseloads["caseload_per_fte"], numerator=allocated, denominator=fte),
        within_guidance=rate(sum(1 for i in items if i["within_guidance"]), len(items)),
        by_band=bands,
        guidance_lower=caseloads["guidance_lower"],
        guidance_upper=caseloads["guidance_upper"],
        per_iro=[
            rd.IroCaseload(
                iro_id=i["iro_id"], name=i["name"], fte=i["fte"], caseload=i["caseload"],
                caseload_per_fte=i["caseload_per_fte"], band=i["band"],
            )
            for i in items
        ],
    )  # fmt: skip


def reviews_figures(timeliness: dict[str, Any]) -> rd.Reviews:
    by_sequence = timeliness["by_sequence"]
    return rd.Reviews(
        held=timeliness["reviews_held"],
        not_judged=timeliness["not_judged"],
        by_sequence=[
            rd.SequenceFigures(
                sequence=name, held=by_sequence[name]["held"],
                in_time=rate(by_sequence[name]["in_time"], by_sequence[name]["held"]),
            )
            for name in SEQUENCES
        ],
    )  # fmt: skip


def timeliness_figures(timeliness: dict[str, Any], by_month: dict[str, Any]) -> rd.Timeliness:
    late = timeliness["late_by_reason"]
    late_total = sum(late.values())
    return rd.Timeliness(
        as_of=timeliness["as_of"],
        reviews_in_time=rate(timeliness["held_in_time"], timeliness["reviews_held"]),
        children_all_in_time=rate(timeliness["children_all_in_time"], timeliness["children_reviewed"]),
        overdue_unheld=timeliness["overdue_unheld"],
        late_by_reason=[rd.ReasonCount(reason=reason, share=rate(n, late_total)) for reason, n in late.items()],
        by_month=[
            rd.MonthTimeliness.model_validate(
                {
                    "month": m["month"], "from": m["from"], "to": m["to"], "as_of": m["as_of"],
                    "held": m["reviews_held"], "in_time": rate(m["held_in_time"], m["reviews_held"]),
                    "overdue_unheld": m["overdue_unheld"],
                }
            )
            for m in by_month["months"]
        ],
    )  # fmt: skip


def record_keeping_figures(stats: dict[str, Any]) -> rd.RecordKeeping:
    def of(name: str) -> rd.Rate:
        return rate(stats[name]["numerator"], stats[name]["denominator"])

    return rd.RecordKeeping(
        as_of=stats["as_of"],
        sw_report_on_time=of("sw_report_on_time"),
        decisions_on_time=of("decisions_on_time"),
        record_on_time=of("record_on_time"),
        letter_to_child_on_time=of("letter_to_child_on_time"),
        letter_to_child_sent=of("letter_to_child_sent"),
    )


def participation_figures(stats: dict[str, Any]) -> rd.Participation:
    labels = {row["code"]: row["meaning"] for row in reference.rows("participation_codes")}
    by_code = stats["by_code"]
    coded = sum(by_code.values())
    four_plus = stats["aged_4_plus"]
    return rd.Participation(
        age_on=stats.get("age_on"),
        reviews=stats["reviews"],
        uncoded=stats["uncoded"],
        by_code=[rd.CodeShare(code=c, label=labels.get(c, c), share=rate(n, coded)) for c, n in by_code.items()],
        aged_4_plus=rate(four_plus["participated"], four_plus["reviews"]),
        by_age=[
            rd.AgeParticipation(age=a["age"], participated=rate(a["participated"], a["reviews"]))
            for a in stats["by_age"]
        ],
    )


def participation_detail_figures(stats: dict[str, Any], record_keeping: dict[str, Any]) -> rd.ParticipationDetail:
    recorded = int(stats["recorded"])
    parents = stats["parents"]
    chaired = record_keeping["chaired_by_child"]
    chair_recorded = sum(v["numerator"] for k, v in chaired.items() if k != "not_recorded")

    def yes_of(counts: dict[str, int]) -> rd.Rate:
        return rate(counts.get("yes", 0), counts.get("yes", 0) + counts.get("no", 0))

    return rd.ParticipationDetail(
        recorded=recorded,
        methods=[rd.Share(key=m, share=rate(n, recorded)) for m, n in sorted(stats["methods"].items())],
        # Of the reviews whose chair was recorded: an unrecorded one is not a "no".
        chaired_by_child=[
            rd.Share(key=key, share=rate(chaired[key]["numerator"], chair_recorded))
            for key in chaired
            if key != "not_recorded"
        ],
        parents_taking_part=rate(
            parents["reviews_with_a_parent_taking_part"], parents["reviews_with_parents_recorded"]
        ),
        interpreter_used=yes_of(stats["interpreter_used"]),
        met_iro_before=yes_of(stats["met_iro_before"]),
    )


def escalation_figures(stats: dict[str, Any]) -> rd.Escalations:
    return rd.Escalations(
        alerts=stats["alerts"],
        formal=stats["formal"],
        escalated_alerts=stats["escalated_alerts"],
        by_stage_reached=[rd.StageReached.model_validate(s) for s in stats["by_stage_reached"]],
        by_category=[rd.CategoryKind.model_validate(c) for c in stats["by_category"]],
        by_team=[rd.TeamCount.model_validate(t) for t in stats["by_team"]],
        resolved_at_stage_1=rate(stats["resolved_at_stage_1"], stats["formal_resolved"]),
        working_days_to_resolution=rd.Median(
            median=stats["median_working_days_to_resolution"], count=stats["resolved_with_working_days"]
        ),
        overdue_now=stats["overdue_now"],
        overdue_as_of=stats["as_of"],
        cafcass_referrals=stats["cafcass_referrals"],
        children_with_repeat_escalations=stats["children_with_repeat_escalations"],
        commendations=stats["commendations"],
    )


def feedback_figures(stats: dict[str, Any]) -> rd.Feedback:
    return rd.Feedback(
        forms=stats["forms"],
        anonymous=stats["anonymous"],
        by_respondent=shares(stats["by_respondent"]),
        questions=[
            rd.QuestionSummary(key=q["key"], text=q["text"], answers=shares(q["answers"])) for q in stats["questions"]
        ],
    )


def advocacy_figures(stats: dict[str, Any]) -> rd.Advocacy:
    return rd.Advocacy(
        referrals=stats["referrals"],
        by_quarter=[
            rd.QuarterCount.model_validate(
                {"quarter": q["quarter"], "from": q["start"], "to": q["end"], "referrals": q["referrals"]}
            )
            for q in stats["by_quarter"]
        ],
    )


# --- the whole dataset ---------------------------------------------------------------------------


def has_data(window: Window, data_from: dt.date | None) -> bool:
    """A period has data for a theme unless it ends before the theme's first records (or there are none)."""
    return data_from is not None and window.as_of >= data_from


async def gather_window(services: Services, window: Window, *, age_on: dt.date | None) -> dict[str, Any]:
    """Every statistic of one period, asked for at once."""
    calls: dict[str, Awaitable[Any]] = {
        "children": services.get("reviews", "/v1/stats/children", **window.params()),
        "caseloads": services.get("reviews", "/v1/stats/caseloads", as_of=window.as_of.isoformat()),
        "timeliness": services.get("reviews", "/v1/stats/timeliness", **window.params()),
        "record_keeping": services.get("reviews", "/v1/stats/record-keeping", **window.params()),
        "participation": services.get(
            "participation", "/v1/stats/participation", **window.params(), age_on=age_on.isoformat() if age_on else None
        ),
        "escalations": services.get("escalations", "/v1/stats/escalations", **window.params()),
        "feedback": services.get("participation", "/v1/stats/feedback", **window.params()),
        "advocacy": services.get("participation", "/v1/stats/advocacy", **window.params()),
    }
    calls["by_month"] = services.get("reviews", "/v1/stats/timeliness/by-month", **window.params())
    answers = await asyncio.gather(*calls.values())
    return dict(zip(calls, answers, strict=True))


async def annual_report(
    request: Request, principal: Principal, session: AsyncSession, *, start: dt.date, end: dt.date,
    today: dt.date, age_on: dt.date | None, live_from: dt.date | None = None,
) -> rd.AnnualReport:  # fmt: skip
    """The dataset for `[start, end]` and the same period a year earlier, as of min(end, today).

    Raises `InvalidField` (422 naming `to`) for a period that ends before it starts or spans 10
    years or more (`shared.periods`), and (naming `from`) for one that has not begun;
    `ServiceUnavailable` (502/504 naming the service) when a service does not answer: a report is
    whole or not at all. `live_from` (the setting
    `GATEWAY_REPORT_PLATFORM_FROM`) overrides the day the platform's own records begin."""
    periods.check_period(start, end)
    if start > today:
        raise InvalidField(("query", "from"), f"The period has not begun: from ({start}) is after today ({today}).")
    current = Window(start, end, min(end, today))
    earlier_start, earlier_end = periods.year_earlier(start, end)
    previous = Window(earlier_start, earlier_end, min(earlier_end, today))
    services = Services(request, principal)
    earlier_age_on = periods.add_years(age_on, -1) if age_on else None
    now, then, first_recorded = await asyncio.gather(
        gather_window(services, current, age_on=age_on),
        gather_window(services, previous, age_on=earlier_age_on),
        platform_from(session) if live_from is None else asyncio.sleep(0, live_from),
    )
    names = {uuid.UUID(i["iro_id"]): i["name"] for found in (now, then) for i in found["caseloads"]["items"]}
    backfilled = now["children"].get("data_from")
    records = [d for d in (dt.date.fromisoformat(backfilled) if backfilled else None, first_recorded) if d]
    records_from = min(records) if records else None

    async def theme(data_from: dt.date | None, build: Any) -> Any:
        figures: list[Any] = []
        for window, stats in ((current, now), (previous, then)):
            if not has_data(window, data_from):
                figures.append(None)
                continue
            made = build(window, stats)
            figures.append(await made if asyncio.iscoroutine(made) else made)
        return {"data_from": data_from, "current": figures[0], "previous": figures[1]}

    platform = first_recorded
    return rd.AnnualReport.model_validate(
        {
            "period": current.period,
            "previous_period": previous.period,
            "generated_at": dt.datetime.now(dt.UTC),
            "records_from": records_from,
            "platform_from": platform,
            "children": await theme(records_from, lambda w, s: children_figures(s["children"])),
            "staffing": await theme(platform, lambda w, s: staffing_figures(s["caseloads"])),
            "continuity": await theme(platform, lambda w, s: continuity_figures(s["children"])),
            "reviews": await theme(records_from, lambda w, s: reviews_figures(s["timeliness"])),
            "timeliness": await theme(records_from, lambda w, s: timeliness_figures(s["timeliness"], s["by_month"])),
            "record_keeping": await theme(platform, lambda w, s: record_keeping_figures(s["record_keeping"])),
            "participation": await theme(records_from, lambda w, s: participation_figures(s["participation"])),
            "participation_detail": await theme(
                platform, lambda w, s: participation_detail_figures(s["participation"], s["record_keeping"])
            ),
            "escalations": await theme(platform, lambda w, s: escalation_figures(s["escalations"])),
            "footprint": await theme(platform, lambda w, s: footprint_activity(session, w, names, services)),
            "feedback": await theme(platform, lambda w, s: feedback_figures(s["feedback"])),
            "advocacy": await theme(platform, lambda w, s: advocacy_figures(s["advocacy"])),
        }
    )
