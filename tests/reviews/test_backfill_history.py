"""History from a backfill (issue 13, the SSDA903 return): a care period that began before the data,
whose first review is held but not judged for timeliness; the late reason `not_recorded`, for writes
from a case system or an import only; and whose footprint a dated write is, on its own date.

Asked on Sun 29 Nov 2026. Dates worked out by hand (checked against `shared.calendar`): a period
starting Mon 3 Jun 2024 has its first review due Mon 1 Jul 2024 (20 working days, no bank holiday in
June); one starting Mon 4 Mar 2019, Mon 1 Apr 2019. Three months after Thu 12 Sep 2024 is Thu 12 Dec
2024; six months after Fri 20 Dec 2024 is Fri 20 Jun 2025.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from services.reviews import ingest, rules
from shared.auth import Principal
from shared.context import RequestContext
from shared.footprint import events
from shared.footprint.models import Actor
from shared.ingest.commands import Command
from shared.ingest.data import DATA_MODELS
from shared.logic import PYTHON, SQL

TODAY = dt.date(2026, 11, 29)
STATUSES = ("scheduled", "overdue", "held", "missed", "cancelled")
ALICE, BOB, CAROL = "alice@council.gov.uk", "bob@council.gov.uk", "carol@council.gov.uk"


async def in_care(api, ref: str, started_on: str, *, before_data: bool, date_of_birth: str = "2010-03-01") -> dict:
    child = await api.child(ref, date_of_birth)
    body = {"started_on": started_on, "legal_status": "C2", "placement_type": "U4", "started_before_data": before_data}
    child["period"] = await api.ok("POST", f"/v1/children/{child['id']}/care-periods", body, status=201)
    return child


async def review(api, child: dict, sequence: int) -> dict[str, Any]:
    return next(r for r in await api.reviews(child["id"]) if r["sequence"] == sequence)


async def timeliness(api, start: str, end: str) -> dict[str, Any]:
    result: dict[str, Any] = await api.ok("GET", f"/v1/stats/timeliness?from={start}&to={end}", role="auditor")
    return result


# --- A care period that began before the data ----------------------------------------------------


async def test_a_period_that_began_before_the_data_says_so_and_its_event_carries_the_flag(api):
    api.today(TODAY)
    backfilled = await in_care(api, "BF1", "2024-06-03", before_data=True)
    ordinary = await in_care(api, "ORD1", "2024-06-03", before_data=False)
    assert backfilled["period"]["started_before_data"] is True
    assert ordinary["period"]["started_before_data"] is False
    [listed] = (await api.ok("GET", f"/v1/children/{backfilled['id']}/care-periods"))["items"]
    assert listed["started_before_data"] is True
    child = await api.ok("GET", f"/v1/children/{backfilled['id']}")
    assert child["current_care_period"]["started_before_data"] is True
    # The first review is scheduled as usual: 20 working days from the first day the data shows.
    first = await review(api, backfilled, 1)
    assert (first["statutory_due_on"], first["status"], first["kind"]) == ("2024-07-01", "overdue", "first")

    started = {str(e.child_id): e.payload for e in await api.events(type="care_period.started")}
    assert started[backfilled["id"]]["started_before_data"] is True
    assert "started_before_data" not in started[ordinary["id"]]  # omitted when false: old payloads read the same


def test_a_care_period_started_payload_without_the_flag_reads_as_not_before_the_data():
    payload = {"care_period_id": str(uuid.uuid4()), "child_id": str(uuid.uuid4()), "started_on": "2019-03-04",
               "legal_status": "C2", "placement_type": None, "schema_version": 1}  # fmt: skip
    parsed = events.parse("care_period.started", payload)
    assert isinstance(parsed, events.CarePeriodStarted) and parsed.started_before_data is False
    assert "started_before_data" not in parsed.to_payload()


# --- Its first review is not judged ---------------------------------------------------------------


async def test_the_first_review_of_such_a_period_is_held_but_not_judged_and_the_next_is_judged(api):
    api.today(TODAY)
    child = await in_care(api, "BF1", "2024-06-03", before_data=True)
    first = await review(api, child, 1)
    # Held on Thu 12 Sep 2024, after the 1 Jul date the platform computed: not late, not judged.
    held = await api.hold(first["id"], "2024-09-12")
    assert (held["status"], held["in_time"], held["late_reason"]) == ("held", None, None)
    [event] = await api.events(type="review.held")
    assert (event.payload["in_time"], event.payload["late_reason"]) == (None, None)
    assert event.payload["statutory_due_on"] == "2024-07-01"
    # The next is scheduled from the date held and judged; it is reckoned as after a later review
    # (6 months, not 3): a period that began before the data has had its first review already.
    second = await review(api, child, 2)
    assert (second["statutory_due_on"], second["kind"]) == ("2025-03-12", "second")
    late = await api.post(f"/v1/reviews/{second['id']}/held", {"held_on": "2025-03-20"})
    assert late.status_code == 422 and late.json()["type"] == "/problems/review-late-without-reason"
    held = await api.hold(second["id"], "2025-03-20", late_reason="key_people_unavailable")
    assert (held["in_time"], held["late_reason"]) == (False, "key_people_unavailable")
    assert (await review(api, child, 3))["statutory_due_on"] == "2025-09-20"


@pytest.mark.parametrize("late_reason", ["key_people_unavailable", "not_recorded"])
async def test_a_late_reason_for_a_review_not_judged_is_refused(api, late_reason):
    api.today(TODAY)
    child = await in_care(api, "BF1", "2024-06-03", before_data=True)
    first = await review(api, child, 1)
    headers = {"X-Event-Source": "ssda903"}  # even from an import: there is nothing to be late for
    refused = await api.post(f"/v1/reviews/{first['id']}/held", {"held_on": "2024-09-12", "late_reason": late_reason},
                             role="integration", sub="ssda903-import", headers=headers)  # fmt: skip
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"] == "/problems/review-not-judged"
    assert problem["errors"][0]["loc"] == ["body", "late_reason"]
    assert (await review(api, child, 1))["status"] == "overdue"  # nothing written


async def test_an_ordinary_period_judges_the_same_first_review_late(api):
    api.today(TODAY)
    child = await in_care(api, "ORD1", "2024-06-03", before_data=False)
    first = await review(api, child, 1)
    refused = await api.post(f"/v1/reviews/{first['id']}/held", {"held_on": "2024-09-12"})
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/review-late-without-reason"


async def test_timeliness_counts_a_review_not_judged_apart_and_in_no_other_figure(api):
    api.today(TODAY)
    backfilled = await in_care(api, "BF1", "2024-06-03", before_data=True)
    await api.hold((await review(api, backfilled, 1))["id"], "2024-09-12")  # not judged
    await api.hold((await review(api, backfilled, 2))["id"], "2025-03-20", late_reason="iro_unavailable")  # late
    ordinary = await in_care(api, "ORD1", "2024-06-03", before_data=False)
    await api.hold((await review(api, ordinary, 1))["id"], "2024-06-28")  # in time (due 1 Jul)
    # April 2024 to March 2025: held BF1.1 (not judged), BF1.2 (second, late), ORD1.1 (first, in time).
    # ORD1.2 is due 28 Sep 2024 and unheld: overdue. BF1.2 was due 12 Mar 2025 (6 months after the
    # unjudged BF1.1); BF1.3 (20 Sep 2025) is due after the year.
    got = await timeliness(api, "2024-04-01", "2025-03-31")
    assert got == {
        "reviews_held": 2,
        "held_in_time": 1,
        "pct_in_time": 50.0,
        "overdue_unheld": 1,
        "by_sequence": {
            "first": {"held": 1, "in_time": 1},  # ORD1.1 only: BF1.1 is not judged
            "second": {"held": 1, "in_time": 0},
            "subsequent": {"held": 0, "in_time": 0},
        },
        "late_by_reason": {"iro_unavailable": 1},
        "children_reviewed": 2,
        "children_all_in_time": 0,  # BF1 (its second review late), ORD1 (its second overdue)
        "pct_children_all_in_time": 0.0,
        "not_judged": 1,
        "as_of": "2025-03-31",
    }
    # September 2024: BF1.1 is the only review held, and ORD1.2 (28 Sep) is overdue by 30 Sep.
    september = await timeliness(api, "2024-09-01", "2024-09-30")
    assert (september["reviews_held"], september["not_judged"], september["overdue_unheld"]) == (0, 1, 1)
    # BF1 is not a child reviewed in September: a review not judged makes no child all in time, or not.
    assert (september["children_reviewed"], september["children_all_in_time"]) == (1, 0)
    assert september["by_sequence"]["first"] == {"held": 0, "in_time": 0}


async def test_an_unheld_review_not_judged_is_never_missed_and_never_overdue_unheld(api):
    api.today(TODAY)
    backfilled = await in_care(api, "BF3", "2024-06-03", before_data=True)
    ordinary = await in_care(api, "ORD3", "2024-06-03", before_data=False)
    # Both first reviews are due 1 Jul 2024. On 10 Jul both are on the worklist as overdue (a prompt:
    # the platform's timetable, not a verdict on the statutory date).
    api.today(dt.date(2024, 7, 10))
    assert (await review(api, backfilled, 1))["status"] == (await review(api, ordinary, 1))["status"] == "overdue"
    # Both children leave care on 15 Aug 2024 with the review unheld.
    api.today(TODAY)
    for child in (backfilled, ordinary):
        await api.ok("POST", f"/v1/children/{child['id']}/care-periods/{child['period']['id']}/end",
                     {"ended_on": "2024-08-15", "reason": "E13"})  # fmt: skip
    assert (await review(api, backfilled, 1))["status"] == "cancelled"  # no known due date: never missed
    assert (await review(api, ordinary, 1))["status"] == "missed"
    closed = {e.type: str(e.child_id) for e in await api.events() if e.type in ("review.missed", "review.cancelled")}
    assert closed == {"review.cancelled": backfilled["id"], "review.missed": ordinary["id"]}
    got = await timeliness(api, "2024-04-01", "2025-03-31")
    assert (got["overdue_unheld"], got["children_reviewed"], got["not_judged"]) == (1, 1, 0)  # ORD3 only


async def listed(api, status: str) -> set[str]:
    page = await api.ok("GET", f"/v1/reviews?status={status}&limit=500")
    assert page["next_cursor"] is None
    return {r["id"] for r in page["items"]}


@pytest.mark.parametrize(
    ("day", "care_leaver"),
    [
        (dt.date(2024, 7, 1), "scheduled"),  # due that day
        (dt.date(2024, 7, 2), "overdue"),
        (dt.date(2024, 7, 15), "cancelled"),  # 18 that day, the review unheld: cancelled, never missed
        (TODAY, "cancelled"),
    ],
)
async def test_the_status_filter_and_the_read_agree_for_reviews_not_judged(api, day, care_leaver):
    api.today(TODAY)
    # A care leaver 18 on Mon 15 Jul 2024, its period begun before the data, its first review unheld.
    leaver = await in_care(api, "BF18", "2024-06-03", before_data=True, date_of_birth="2006-07-15")
    twin = await in_care(api, "ORD18", "2024-06-03", before_data=False, date_of_birth="2006-07-15")
    held = await in_care(api, "BFH", "2024-06-03", before_data=True)
    await api.hold((await review(api, held, 1))["id"], "2024-06-20")
    api.today(day)
    assert (await review(api, leaver, 1))["status"] == care_leaver
    if day >= dt.date(2024, 7, 15):
        assert (await review(api, twin, 1))["status"] == "missed"  # the ordinary one is judged
    reviews = {r["id"]: r["status"] for c in (leaver, twin, held) for r in await api.reviews(c["id"])}
    for status in STATUSES:
        assert await listed(api, status) == {i for i, s in reviews.items() if s == status}, status


def test_timeliness_judged_is_one_rule_in_python_and_sql():
    assert rules.timeliness_judged(True, 1) is False
    assert rules.timeliness_judged(True, 2) is True
    assert rules.timeliness_judged(False, 1) is True
    assert rules.in_time_if_judged(dt.date(2024, 9, 12), dt.date(2024, 7, 1), judged=False) is None
    assert rules.in_time_if_judged(dt.date(2024, 9, 12), dt.date(2024, 7, 1)) is False
    assert not rules.needs_late_reason(dt.date(2024, 9, 12), dt.date(2024, 7, 1), judged=False)
    assert rules.outcome_when_leaving_care(dt.date(2024, 7, 1), dt.date(2024, 8, 15), PYTHON, judged=False) == (
        "cancelled"
    )
    from services.reviews import review_service

    compiled = str(review_service.judged_sql().compile(compile_kwargs={"literal_binds": True}))
    assert "started_before_data" in compiled and "sequence = 1" in compiled
    assert "started_before_data" in str(review_service.status_sql(TODAY).compile())
    assert rules.timeliness_judged(True, 1, SQL) is not None


# --- `not_recorded`: only for imported records -----------------------------------------------------


async def late_first_review(api, ref: str) -> dict[str, Any]:
    child = await in_care(api, ref, "2024-06-03", before_data=False)
    return await review(api, child, 1)


NOT_RECORDED = {"held_on": "2024-07-10", "late_reason": "not_recorded"}  # due 1 Jul: late


@pytest.mark.parametrize(("role", "sub"), [("manager", "manager@council.gov.uk"), ("iro", ALICE),
                                           ("integration", "mosaic")])  # fmt: skip
async def test_a_persons_write_cannot_give_not_recorded(api, role, sub):
    api.today(TODAY)
    await api.iro(ALICE)
    first = await late_first_review(api, "NR1")
    # Without a source (the integration role calling without the gateway's X-Event-Source) it is a person's write.
    refused = await api.post(f"/v1/reviews/{first['id']}/held", NOT_RECORDED, role=role, sub=sub)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"] == "/problems/code-not-on-list"
    assert problem["errors"][0]["loc"] == ["body", "late_reason"]
    assert "not_recorded" not in problem["valid"]


async def test_a_case_systems_write_may_give_not_recorded(api):
    api.today(TODAY)
    first = await late_first_review(api, "NR2")
    held = await api.ok("POST", f"/v1/reviews/{first['id']}/held", NOT_RECORDED, role="integration", sub="mosaic",
                        headers={"X-Event-Source": "mosaic"})  # fmt: skip
    assert (held["in_time"], held["late_reason"]) == (False, "not_recorded")
    [event] = await api.events(type="review.held")
    assert event.actor == {"sub": "mosaic", "role": "integration", "source": "mosaic"}


def import_context(api, session) -> RequestContext[Any]:
    """The context the import's command path gives a write: the uploader (a manager) as the actor, with
    `source: ssda903`, and the row's date as when it happened (shared.ingest.runner)."""
    principal = Principal(
        sub="manager@council.gov.uk", roles=frozenset({"manager"}), iro_identity="manager@council.gov.uk"
    )
    state = api.app.state
    return RequestContext(
        session=session, principal=principal, actor=Actor(sub=principal.sub, role="manager", source="ssda903"),
        today=TODAY, calendar=state.calendar, settings=state.settings, service=state.service,
        occurred_at=dt.datetime(2024, 7, 10, tzinfo=dt.UTC),
    )  # fmt: skip


def command(event_type: str, data: dict[str, Any]) -> tuple[Any, Command]:
    command = Command(key=f"ssda903:{uuid.uuid4()}:1", type=event_type, data=data)
    return DATA_MODELS[event_type].model_validate(data), command


async def test_an_import_applied_by_a_manager_may_give_not_recorded_and_start_a_period_before_the_data(api, session):
    api.today(TODAY)
    await api.child("IMP1", "2010-03-01")
    ctx = import_context(api, session)
    handlers = ingest.HANDLERS
    # The episodes' first row is not a new period (RNE `L`): the import starts the period before the data.
    data, cmd = command("care_period.started", {"la_reference": "IMP1", "started_on": "2024-06-03",
                                                "legal_status": "C2", "started_before_data": True})  # fmt: skip
    applied = await handlers["care_period.started"](ctx, data, cmd)
    period = await api.ok("GET", f"/v1/children/{applied.target['child_id']}/care-periods")
    assert period["items"][0]["started_before_data"] is True
    # Its first review is not judged: no late reason needed, however late.
    data, cmd = command("review.held", {"la_reference": "IMP1", "held_on": "2024-09-12"})
    applied = await handlers["review.held"](ctx, data, cmd)
    first = await api.ok("GET", f"/v1/reviews/{applied.target['review_id']}")
    assert (first["in_time"], first["late_reason"]) == (None, None)
    # The second (due 12 Mar 2025), held late on 20 Mar: `not_recorded`, which the import may give.
    data, cmd = command("review.held", {"la_reference": "IMP1", "held_on": "2025-03-20", "late_reason": "not_recorded"})
    applied = await handlers["review.held"](ctx, data, cmd)
    second = await api.ok("GET", f"/v1/reviews/{applied.target['review_id']}")
    assert (second["sequence"], second["in_time"], second["late_reason"]) == (2, False, "not_recorded")
    assert {e.actor.source for e in ctx.recorded} == {"ssda903"}
    started = next(e for e in ctx.recorded if e.type == "care_period.started")
    assert started.payload["started_before_data"] is True


# --- Whose footprint, on the event's date ---------------------------------------------------------


async def allocated_over_time(api, ref: str) -> tuple[dict, dict[str, str]]:
    """A child allocated to Alice from Mon 7 Jan 2019, Bob from Mon 6 Jan 2020 and Carol (today's IRO)
    from Mon 2 Nov 2026."""
    iros = {name: (await api.iro(email, name=name))["id"] for name, email in
            (("Alice", ALICE), ("Bob", BOB), ("Carol", CAROL))}  # fmt: skip
    child = await api.child(ref, "2010-01-10")
    for name, on in (("Alice", "2019-01-07"), ("Bob", "2020-01-06"), ("Carol", "2026-11-02")):
        await api.ok("PUT", f"/v1/children/{child['id']}/iro", {"iro_id": iros[name], "allocated_on": on})
    return child, iros


async def test_each_dated_write_is_filed_under_the_iro_allocated_on_its_own_date(api):
    api.today(TODAY)
    child, iros = await allocated_over_time(api, "FP1")
    alice, bob, carol = iros["Alice"], iros["Bob"], iros["Carol"]
    cid = child["id"]
    # All written today by a manager (no IRO acting), about 2019 and 2020.
    period = await api.ok("POST", f"/v1/children/{cid}/care-periods",
                          {"started_on": "2019-03-04", "legal_status": "C2"}, status=201)  # fmt: skip
    await api.ok("POST", f"/v1/children/{cid}/placement-changes",
                 {"changed_on": "2019-06-03", "placement_type": "U4"}, status=201)  # fmt: skip
    await api.ok("POST", f"/v1/children/{cid}/legal-status-changes",
                 {"changed_on": "2020-02-03", "legal_status": "C1"}, status=201)  # fmt: skip
    first = await review(api, {"id": cid}, 1)
    assert first["statutory_due_on"] == "2019-04-01"
    held = await api.hold(first["id"], "2019-03-28")
    assert held["chaired_by_iro_id"] == alice
    await api.ok("PATCH", f"/v1/reviews/{first['id']}", {"record_issued_on": "2019-04-20"})
    await api.ok("PATCH", f"/v1/reviews/{first['id']}", {"letter_to_child_sent_on": "2020-01-10"})
    note = await api.ok("POST", f"/v1/children/{cid}/case-notes",
                        {"recorded_on": "2019-05-01", "text": "Spoke to the carer."}, status=201)  # fmt: skip
    midway = await api.ok("POST", f"/v1/children/{cid}/midway-reviews",
                          {"held_on": "2020-03-01", "outcome": "on_track"}, status=201)  # fmt: skip
    assert (note["iro_id"], midway["iro_id"]) == (None, bob)
    decision = await api.ok("POST", f"/v1/reviews/{first['id']}/decisions",
                            {"text": "Life-story work.", "owner": "Social worker", "due_on": "2019-06-01"},
                            status=201)  # fmt: skip
    await api.ok("PATCH", f"/v1/decisions/{decision['id']}", {"status": "done", "completed_on": "2020-02-10"})
    await api.ok("POST", f"/v1/children/{cid}/care-periods/{period['id']}/end",
                 {"ended_on": "2020-03-02", "reason": "E13"})  # fmt: skip

    filed = [(e.type, str(e.iro_id) if e.iro_id else None) for e in await api.events(child_id=uuid.UUID(cid))
             if not e.type.startswith(("child.", "iro."))]  # fmt: skip
    assert filed == [
        ("care_period.started", alice),  # 4 Mar 2019
        ("review.scheduled", alice),  # the first review, scheduled when the period started
        ("placement.changed", alice),  # 3 Jun 2019
        ("legal_status.changed", bob),  # 3 Feb 2020
        ("review.held", alice),  # 28 Mar 2019, chaired by Alice
        ("review.scheduled", alice),  # the second, scheduled when the first was held
        ("review.record_keeping_updated", alice),  # record issued 20 Apr 2019
        ("review.record_keeping_updated", bob),  # letter sent 10 Jan 2020
        ("case_note.recorded", alice),  # 1 May 2019
        ("midway_review.held", bob),  # 1 Mar 2020
        ("decision.recorded", carol),  # undated: recorded today
        ("decision.updated", bob),  # completed 10 Feb 2020
        ("care_period.ended", bob),  # 2 Mar 2020
        ("review.missed", bob),  # the second (due 28 Jun 2019), closed when the period ended
    ]


async def test_an_iros_own_dated_write_stays_theirs(api):
    api.today(TODAY)
    child, iros = await allocated_over_time(api, "FP2")
    await api.ok("POST", f"/v1/children/{child['id']}/care-periods",
                 {"started_on": "2019-03-04", "legal_status": "C2"}, status=201)  # fmt: skip
    note = await api.ok("POST", f"/v1/children/{child['id']}/case-notes",
                        {"recorded_on": "2019-05-01", "text": "Spoke to the carer."}, status=201, role="iro",
                        sub=BOB)  # fmt: skip
    assert note["iro_id"] == iros["Bob"]  # Alice was allocated then; Bob wrote it
    [event] = await api.events(type="case_note.recorded")
    assert str(event.iro_id) == iros["Bob"]


async def test_a_review_held_before_any_allocation_is_filed_under_no_iro_not_todays(api):
    api.today(TODAY)
    carol = (await api.iro(CAROL, name="Carol"))["id"]
    child = await api.child("FP3", "2010-01-10")
    await api.ok("PUT", f"/v1/children/{child['id']}/iro", {"iro_id": carol, "allocated_on": "2026-11-02"})
    await api.ok("POST", f"/v1/children/{child['id']}/care-periods",
                 {"started_on": "2019-03-04", "legal_status": "C2"}, status=201)  # fmt: skip
    held = await api.hold((await review(api, child, 1))["id"], "2019-03-28")
    assert held["chaired_by_iro_id"] is None
    filed = {e.type: e.iro_id for e in await api.events(child_id=uuid.UUID(child["id"]))}
    assert filed["review.held"] is None and filed["care_period.started"] is None


async def test_a_review_brought_forward_by_a_placement_change_is_filed_on_the_changes_date(session, database_url):
    from services.reviews.main import create_app
    from services.reviews.settings import Settings
    from tests.conftest import app_client, bind_app_to_session
    from tests.reviews.conftest import Api

    settings = Settings(env="test", database_url=database_url, placement_change_review=True)
    app = create_app(settings)
    bind_app_to_session(app, session)
    async for client in app_client(app):
        api = Api(client, app, settings, session)
        api.today(TODAY)
        child, iros = await allocated_over_time(api, "FP4")
        await api.ok("POST", f"/v1/children/{child['id']}/care-periods",
                     {"started_on": "2019-03-04", "legal_status": "C2"}, status=201)  # fmt: skip
        await api.hold((await review(api, child, 1))["id"], "2019-03-28")  # the second due 28 Jun 2019
        # Unplanned move on Mon 15 Apr 2019: 20 working days (Good Friday 19 Apr, Easter Monday 22 Apr,
        # early May bank holiday 6 May 2019) is Thu 16 May 2019, earlier than 28 Jun.
        await api.ok("POST", f"/v1/children/{child['id']}/placement-changes",
                     {"changed_on": "2019-04-15", "placement_type": "U4", "unplanned": True}, status=201)  # fmt: skip
        assert (await review(api, child, 2))["due_on"] == "2019-05-16"
        [event] = await api.events(type="review.brought_forward")
        assert str(event.iro_id) == iros["Alice"]
