"""Past dates are judged on their own day, not today (docs/reviews.md, "Past dates"): events arrive from
case systems, and from an SSDA903 backfill, for things that happened years ago, often for a child who is
18 now. Each change must have been valid on its own date: in a care period then, before the 18th
birthday, and not in the future."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.reviews.main import create_app
from services.reviews.settings import Settings
from tests.conftest import app_client, bind_app_to_session
from tests.reviews.conftest import Api

D = dt.date
TODAY = D(2026, 11, 29)
BORN = "2007-03-15"  # 18 on Sat 15 Mar 2025: a care leaver today


async def care_leaver(api) -> tuple[str, dict[str, Any]]:
    """A child who came into care on Tue 2 May 2023 and turned 18 on 15 Mar 2025, the period never ended
    on the platform (it reads as ended on the 18th birthday): the child's id and the care period."""
    api.today(TODAY)
    child = await api.child(date_of_birth=BORN)
    period = await api.enter_care(child["id"], "2023-05-02")
    return child["id"], period


def refusal(response, status: int, type_: str, loc: list[str] | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{type_}"
    if loc is not None:
        assert problem["errors"][0]["loc"] == loc
    assert "2007-03-15" not in str(problem)  # never the date of birth
    return problem


async def test_a_past_placement_change_of_a_child_now_18_is_accepted(api):
    child, period = await care_leaver(api)
    change = {"changed_on": "2024-06-03", "placement_type": "U5", "unplanned": True}
    got = await api.ok("POST", f"/v1/children/{child}/placement-changes", change, status=201)
    assert (got["care_period_id"], got["changed_on"]) == (period["id"], "2024-06-03")
    [event] = await api.events(type="placement.changed")
    assert event.payload["changed_on"] == "2024-06-03" and event.child_id == uuid.UUID(child)
    periods = (await api.ok("GET", f"/v1/children/{child}/care-periods"))["items"]
    assert (periods[0]["placement_type"], periods[0]["ended_on"]) == ("U5", "2025-03-15")


async def test_a_past_legal_status_change_of_a_child_now_18_is_accepted(api):
    child, period = await care_leaver(api)
    change = {"changed_on": "2024-07-01", "legal_status": "C1"}
    got = await api.ok("POST", f"/v1/children/{child}/legal-status-changes", change, status=201)
    assert (got["care_period_id"], got["legal_status"]) == (period["id"], "C1")
    [event] = await api.events(type="legal_status.changed")
    assert (event.payload["legal_status"], event.payload["previous_legal_status"]) == ("C1", "C2")


async def test_a_change_on_or_after_the_18th_birthday_or_still_to_come_is_refused(api):
    child, _ = await care_leaver(api)
    placement = f"/v1/children/{child}/placement-changes"
    on_birthday = await api.post(placement, {"changed_on": "2025-03-15", "placement_type": "U5"})
    refusal(on_birthday, 422, "past-eighteenth-birthday", ["body", "changed_on"])
    day_before = await api.post(placement, {"changed_on": "2025-03-14", "placement_type": "U5"})
    assert day_before.status_code == 201, day_before.text
    legal = f"/v1/children/{child}/legal-status-changes"
    refusal(await api.post(legal, {"changed_on": "2026-11-30", "legal_status": "C1"}), 422, "date-in-future",
            ["body", "changed_on"])  # fmt: skip
    refusal(await api.post(legal, {"changed_on": "2023-05-01", "legal_status": "C1"}), 422, "before-care-period",
            ["body", "changed_on"])  # fmt: skip


async def test_a_change_is_judged_in_the_care_period_of_its_own_date(api):
    api.today(D(2024, 6, 1))
    child = (await api.child(date_of_birth="2012-05-01"))["id"]
    first = await api.enter_care(child, "2022-01-10")
    await api.ok("POST", f"/v1/children/{child}/care-periods/{first['id']}/end", {"ended_on": "2022-08-01",
                                                                                  "reason": "E4A"})  # fmt: skip
    second = await api.enter_care(child, "2023-02-01")
    placement = f"/v1/children/{child}/placement-changes"
    in_first = await api.ok("POST", placement, {"changed_on": "2022-03-01", "placement_type": "U6"}, status=201)
    in_second = await api.ok("POST", placement, {"changed_on": "2023-03-01", "placement_type": "U3"}, status=201)
    assert (in_first["care_period_id"], in_second["care_period_id"]) == (first["id"], second["id"])
    periods = {p["id"]: p for p in (await api.ok("GET", f"/v1/children/{child}/care-periods"))["items"]}
    assert (periods[first["id"]]["placement_type"], periods[second["id"]]["placement_type"]) == ("U6", "U3")
    # The day it ended, and the gap between the periods: not looked after.
    for day in ("2022-08-01", "2022-12-01"):
        gap = await api.post(placement, {"changed_on": day, "placement_type": "U6"})
        assert refusal(gap, 409, "child-not-looked-after")["current_state"] == "not_looked_after"


async def test_changes_are_recorded_in_date_order_within_a_care_period(api):
    child, _ = await care_leaver(api)
    legal = f"/v1/children/{child}/legal-status-changes"
    await api.ok("POST", legal, {"changed_on": "2024-07-01", "legal_status": "C1"}, status=201)
    before = await api.events()
    refusal(await api.post(legal, {"changed_on": "2024-06-30", "legal_status": "E1"}), 422, "change-before-latest",
            ["body", "changed_on"])  # fmt: skip
    assert await api.events() == before
    same_day = await api.ok("POST", legal, {"changed_on": "2024-07-01", "legal_status": "E1"}, status=201)
    assert same_day["legal_status"] == "E1"
    latest = (await api.events(type="legal_status.changed"))[-1]
    assert (latest.payload["previous_legal_status"], latest.payload["legal_status"]) == ("C1", "E1")
    # A placement change is not a legal status change: its own order.
    placement = f"/v1/children/{child}/placement-changes"
    assert (await api.post(placement, {"changed_on": "2024-01-02", "placement_type": "U5"})).status_code == 201


async def test_a_past_end_of_care_for_a_child_now_18_is_accepted(api):
    child, period = await care_leaver(api)
    end = f"/v1/children/{child}/care-periods/{period['id']}/end"
    after_18 = await api.post(end, {"ended_on": "2025-03-16", "reason": "E4A"})
    refusal(after_18, 422, "past-eighteenth-birthday", ["body", "ended_on"])
    ended = await api.ok("POST", end, {"ended_on": "2024-12-01", "reason": "E4A"})
    assert ended["ended_on"] == "2024-12-01"
    [review] = [r for r in await api.reviews(child) if r["status"] != "held"]
    assert review["status"] in ("missed", "cancelled")


async def test_a_past_review_held_for_a_child_now_18_is_accepted_and_the_next_scheduled(api):
    child, _ = await care_leaver(api)
    first = (await api.reviews(child))[0]
    held = await api.hold(first["id"], first["due_on"])
    assert (held["status"], held["in_time"], held["problems"]) == ("held", True, [])
    second = (await api.reviews(child))[1]
    assert second["kind"] == "second"
    await api.hold(second["id"], "2023-08-30")
    third = (await api.reviews(child))[2]
    assert third["due_on"] == "2024-02-29"  # six months from 30 Aug 2023, in a leap year
    await api.hold(third["id"], "2024-02-28")
    # The fourth, due 28 Aug 2024, is before the 18th birthday: scheduled, and missed by it, as read today.
    fourth = (await api.reviews(child))[3]
    assert (fourth["due_on"], fourth["status"]) == ("2024-08-28", "missed")
    refusal(await api.post(f"/v1/reviews/{fourth['id']}/held", {"held_on": "2025-03-15", "late_reason": "other",
                                                                 "late_reason_detail": "x"}),
            422, "past-eighteenth-birthday", ["body", "held_on"])  # fmt: skip
    late = {"held_on": "2025-03-14", "late_reason": "child_missing"}
    assert (await api.ok("POST", f"/v1/reviews/{fourth['id']}/held", late))["status"] == "held"


async def test_a_past_case_note_and_midway_review_for_a_child_now_18_are_accepted(api):
    child, _ = await care_leaver(api)
    note = {"recorded_on": "2024-02-01", "text": "Visited the placement.", "kind": "visit"}
    assert (await api.ok("POST", f"/v1/children/{child}/case-notes", note, status=201))["recorded_on"] == "2024-02-01"
    midway = {"held_on": "2024-05-01", "outcome": "on_track"}
    got = await api.ok("POST", f"/v1/children/{child}/midway-reviews", midway, status=201)
    assert got["held_on"] == "2024-05-01"
    on_birthday = await api.post(f"/v1/children/{child}/midway-reviews", {**midway, "held_on": "2025-03-15"})
    refusal(on_birthday, 422, "past-eighteenth-birthday", ["body", "held_on"])
    future_note = await api.post(f"/v1/children/{child}/case-notes", {**note, "recorded_on": "2026-11-30"})
    refusal(future_note, 422, "date-in-future", ["body", "recorded_on"])


@pytest.fixture
async def policy_api(session, database_url) -> AsyncIterator[Api]:
    """The reviews app with the local policy `REVIEWS_PLACEMENT_CHANGE_REVIEW` on."""
    settings = Settings(env="test", database_url=database_url, placement_change_review=True)
    app = create_app(settings)
    bind_app_to_session(app, session)
    async for client in app_client(app):
        yield Api(client, app, settings, session)


async def test_an_old_unplanned_change_does_not_bring_forward_a_review_after_a_later_one_was_held(policy_api):
    api = policy_api
    child, _ = await care_leaver(api)
    api.today(D(2023, 9, 1))
    first = (await api.reviews(child))[0]
    await api.hold(first["id"], first["due_on"])
    second = (await api.reviews(child))[1]
    placement = f"/v1/children/{child}/placement-changes"
    # Before the first review was held: that review's business, not the second's.
    assert first["due_on"] > "2023-05-15"
    await api.ok("POST", placement, {"changed_on": "2023-05-15", "placement_type": "U5", "unplanned": True},
                 status=201)  # fmt: skip
    assert (await api.reviews(child))[1]["due_on"] == second["due_on"]
    # After it: the second is brought forward to within 20 working days (Fri 4 Aug 2023 + 20).
    await api.ok("POST", placement, {"changed_on": "2023-07-07", "placement_type": "U6", "unplanned": True},
                 status=201)  # fmt: skip
    brought = (await api.reviews(child))[1]
    assert (brought["due_on"], brought["early_reason"]) == ("2023-08-04", "placement_change")
