"""The composed views answer typed records (the services' fields, and any they add), and a
worklist for an IRO that does not exist is a 404, never a worklist that looks empty."""

from __future__ import annotations

import uuid

from tests.gateway.test_gateway import ALICE, set_up_child


async def test_a_worklist_for_an_id_that_is_no_iro_is_a_404_problem(gw):
    await set_up_child(gw)
    nobody = uuid.uuid4()
    for role in ("manager", "auditor", "admin"):
        response = await gw.call("GET", f"/v1/worklist?iro_id={nobody}", role=role)
        assert response.status_code == 404, role
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert (problem["type"], problem["detail"]) == ("/problems/not-found", f"No IRO {nobody}.")


async def test_a_worklist_for_an_iro_with_nothing_due_is_empty_not_missing(gw):
    quiet = await gw.ok("POST", "/v1/iros", {"name": "Bea", "email": "bea@council.gov.uk", "fte": 1}, status=201)
    await set_up_child(gw)  # Alice's child, not Bea's
    named = await gw.ok("GET", f"/v1/worklist?iro_id={quiet['id']}")
    assert named["iro_id"] == quiet["id"]
    assert named["reviews_due"] == named["overdue_reviews"] == named["decisions_past_due"] == []
    assert named["missing"] == []


async def test_the_views_relay_the_services_records_whole(gw):
    iro, child = await set_up_child(gw)
    record = await gw.ok("GET", f"/v1/children/{child['id']}")
    view = await gw.ok("GET", f"/v1/children/{child['id']}/overview", role="iro", sub=ALICE)
    assert view["child"] == record  # every field, typed and untyped, as the reviews service answered
    assert view["current_care_period"] == record["current_care_period"]
    assert view["iro"] == await gw.ok("GET", f"/v1/iros/{iro['id']}")
    reviews = (await gw.ok("GET", f"/v1/children/{child['id']}/reviews"))["items"]
    assert view["next_review"] == reviews[0]
    worklist = await gw.ok("GET", "/v1/worklist", role="iro", sub=ALICE)
    assert worklist["overdue_reviews"] == [reviews[0]]
    event = view["recent_footprint"][0]
    assert set(event) == {"seq", "id", "type", "occurred_at", "recorded_at", "service", "actor", "child_id", "iro_id",
                          "subject_type", "subject_id", "payload", "request_id", "prev_hash", "hash"}  # fmt: skip
