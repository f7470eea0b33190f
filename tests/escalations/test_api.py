"""Raising escalations, reading and listing them, and what is refused (services/escalations)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

from sqlalchemy import func, select

from services.escalations.models import Escalation
from tests.escalations.conftest import body, events_after, head, raise_one, register_child


async def test_an_alert_starts_at_stage_0_due_ten_working_days_later_across_easter(client, session, iro):
    child = await register_child(session)
    response = await client.post(
        "/v1/escalations", json=body([child], kind="alert", raised_on="2024-03-28"), headers=iro
    )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/v1/escalations/{created['id']}"
    # Thursday 28 March 2024 + 10 working days, skipping Good Friday (29 Mar) and Easter Monday (1 Apr).
    assert created["response_due_on"] == "2024-04-15"
    assert {k: created[k] for k in ("kind", "raised_as_alert", "scope", "status", "stage", "stage_name")} == {
        "kind": "alert",
        "raised_as_alert": True,
        "scope": "child",
        "status": "open",
        "stage": 0,
        "stage_name": "Informal alert (social worker and team manager)",
    }
    assert created["child_ids"] == [str(child)]
    assert created["raised_by"] == "iro.one@council.gov.uk"
    assert created["overdue"] is False
    assert created["outcome"] is None and created["closed_on"] is None
    assert created["allowed_actions"] == ["respond", "escalate", "resolve", "withdraw", "refer_to_cafcass"]
    assert created["stages"] == [
        {
            "stage": 0,
            "name": "Informal alert (social worker and team manager)",
            "entered_on": "2024-03-28",
            "entry_reason": None,
            "response_due_on": "2024-04-15",
            "responded_on": None,
            "responder": None,
            "response_text": None,
            "responded_in_time": None,
            "overdue": False,
            "ended_on": None,
            "ended_how": None,
            "end_reason": None,
        }
    ]
    fetched = await client.get(f"/v1/escalations/{created['id']}", headers=iro)
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_a_formal_escalation_starts_at_stage_1_due_across_the_may_bank_holiday(app, client, session, iro):
    app.state.clock.fixed = dt.date(2024, 5, 31)
    child = await register_child(session)
    created = await raise_one(client, iro, **body([child], kind="formal", raised_on="2024-05-03"))
    # Friday 3 May 2024 + 10 working days, skipping the early May bank holiday (Monday 6 May).
    assert created["response_due_on"] == "2024-05-20"
    assert (created["kind"], created["raised_as_alert"], created["stage"]) == ("formal", False, 1)
    assert created["stage_name"] == "Team Manager"


async def test_raising_writes_one_event_with_the_child_the_actor_and_no_free_text(client, session, auth_header):
    child = await register_child(session)
    before = await head(session)
    created = await raise_one(
        client, auth_header("manager", sub="manager@council.gov.uk"), **body([child], raised_on="2024-03-28")
    )
    [event] = await events_after(session, before)
    assert event.type == "escalation.raised"
    assert event.child_id == child
    assert event.iro_id is None
    assert event.actor == {"sub": "manager@council.gov.uk", "role": "manager"}
    assert (event.subject_type, event.subject_id) == ("escalation", created["id"])
    assert event.payload == {
        "escalation_id": created["id"],
        "kind": "alert",
        "raised_as_alert": True,
        "scope": "child",
        "children": 1,
        "category": "drift_in_care_planning",
        "team": "Children in Care Team 2",
        "raised_on": "2024-03-28",
        "status": "open",
        "stage": 0,
        "stage_name": "Informal alert (social worker and team manager)",
        "response_due_on": "2024-04-15",
        "schema_version": 1,
    }


async def test_a_collective_alert_on_three_children_writes_one_event_per_child(client, session, iro):
    children = [await register_child(session) for _ in range(3)]
    before = await head(session)
    created = await raise_one(client, iro, **body(children))
    assert created["scope"] == "children"
    assert created["child_ids"] == [str(child) for child in children]
    events = await events_after(session, before)
    assert [event.type for event in events] == ["escalation.raised"] * 3
    assert [event.child_id for event in events] == children
    assert {event.payload["children"] for event in events} == {3}
    assert {event.subject_id for event in events} == {created["id"]}
    for child in children:
        listed = await client.get("/v1/escalations", params={"child_id": str(child)}, headers=iro)
        assert [item["id"] for item in listed.json()["items"]] == [created["id"]]


async def test_a_service_wide_alert_names_no_child_and_writes_one_event_without_one(client, session, iro):
    before = await head(session)
    created = await raise_one(client, iro, **body([], summary="Social worker turnover across the service."))
    assert (created["scope"], created["child_ids"]) == ("service", [])
    [event] = await events_after(session, before)
    assert (event.type, event.child_id, event.payload["children"]) == ("escalation.raised", None, 0)


async def test_an_unknown_child_is_422_naming_it_and_nothing_is_written(client, session, iro):
    known = await register_child(session)
    stranger = uuid.uuid4()
    before = await head(session)
    response = await client.post("/v1/escalations", json=body([known, stranger]), headers=iro)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "child_ids"]
    assert problem["unknown"] == [str(stranger)]
    assert str(stranger) in problem["detail"]
    assert await events_after(session, before) == []
    assert await session.scalar(select(func.count()).select_from(Escalation)) == 0


async def test_a_child_registered_moment_ago_is_found_by_catching_up_the_consumer(client, session, iro):
    first = await register_child(session)
    await raise_one(client, iro, **body([first]))  # the consumer has now seen `first`
    second = await register_child(session)  # appended after: only a catch-up in the request finds it
    created = await raise_one(client, iro, **body([second]))
    assert created["child_ids"] == [str(second)]


async def test_scope_must_fit_the_child_ids(client, session, iro):
    one, two = await register_child(session), await register_child(session)
    before = await head(session)
    cases = [
        body([one, two], scope="child"),
        body([one], scope="children"),
        body([one, one], scope="children"),
        body([one], scope="service"),
        body([], scope="child"),
    ]
    for case in cases:
        response = await client.post("/v1/escalations", json=case, headers=iro)
        assert response.status_code == 422, case
        assert response.json()["errors"][0]["loc"] == ["body", "child_ids"]
    assert await events_after(session, before) == []


async def test_a_category_not_in_the_list_is_422_listing_the_valid_ones(client, session, iro):
    child = await register_child(session)
    before = await head(session)
    response = await client.post("/v1/escalations", json=body([child], category="weather"), headers=iro)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "category"]
    assert problem["valid"][:3] == ["care_plan_not_completed", "permanence_delay", "drift_in_care_planning"]
    assert len(problem["valid"]) == 24
    assert "permanence_delay" in problem["detail"]
    assert await events_after(session, before) == []


async def test_raised_in_the_future_is_422_and_writes_nothing(client, session, iro):
    child = await register_child(session)
    before = await head(session)
    response = await client.post("/v1/escalations", json=body([child], raised_on="2024-04-16"), headers=iro)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "raised_on"]
    assert await events_after(session, before) == []


async def test_bad_shapes_are_422_naming_the_field(client, session, iro):
    child = await register_child(session)
    cases = {
        "kind": body([child], kind="informal"),
        "scope": body([child], scope="team"),
        "summary": body([child], summary="   "),
        "team": body([child], team="Team\x00"),
        "raised_on": body([child], raised_on="2024-02-30"),
        "colour": {**body([child]), "colour": "red"},
    }
    for field, case in cases.items():
        response = await client.post("/v1/escalations", json=case, headers=iro)
        assert response.status_code == 422, field
        assert ["body", field] in [error["loc"] for error in response.json()["errors"]], field


async def test_unknown_ids_are_404(client, iro):
    missing = uuid.uuid4()
    assert (await client.get(f"/v1/escalations/{missing}", headers=iro)).status_code == 404
    actions = {
        "responses": {"responded_on": "2024-04-10", "responder": "TM", "text": "Done."},
        "escalate": {"escalated_on": "2024-04-10", "reason": "No answer."},
        "resolve": {"resolved_on": "2024-04-10", "outcome": "Plan updated."},
        "withdraw": {"withdrawn_on": "2024-04-10", "reason": "Raised in error."},
        "cafcass-referral": {"referred_on": "2024-04-10", "reason": "Drift."},
    }
    for action, values in actions.items():
        response = await client.post(f"/v1/escalations/{missing}/{action}", json=values, headers=iro)
        assert response.status_code == 404, action
    assert (await client.get("/v1/escalations/not-a-uuid", headers=iro)).status_code == 422


async def test_lists_filter_and_page_by_keyset(client, session, iro):
    child = await register_child(session)
    first = await raise_one(client, iro, **body([child], raised_on="2024-04-01", team="North"))
    second = await raise_one(client, iro, **body([child], kind="formal", raised_on="2024-04-02", team="South"))
    third = await raise_one(client, iro, **body([], raised_on="2024-04-03", category="other", team="North"))

    page = (await client.get("/v1/escalations", params={"limit": 2}, headers=iro)).json()
    assert [item["id"] for item in page["items"]] == [first["id"], second["id"]]
    rest = (await client.get("/v1/escalations", params={"limit": 2, "cursor": page["next_cursor"]}, headers=iro)).json()
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == ([third["id"]], None)

    async def ids(**params):
        response = await client.get("/v1/escalations", params=params, headers=iro)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(stage=1) == [second["id"]]
    assert await ids(stage=0, team="North") == [first["id"], third["id"]]
    assert await ids(category="other") == [third["id"]]
    assert await ids(child_id=str(child)) == [first["id"], second["id"]]
    assert await ids(status="open") == [first["id"], second["id"], third["id"]]
    assert await ids(status="resolved") == []

    for params in ({"limit": 501}, {"limit": 0}, {"status": "closed"}, {"cursor": "rubbish"}, {"stage": -1}):
        response = await client.get("/v1/escalations", params=params, headers=iro)
        assert response.status_code == 422, params


async def test_the_ladder_and_the_categories_are_listed(client, auth_header):
    auditor = auth_header("auditor")
    stages = (await client.get("/v1/escalation-stages", headers=auditor)).json()
    assert stages["items"] == [
        {"stage": 0, "name": "Informal alert (social worker and team manager)", "response_working_days": 10},
        {"stage": 1, "name": "Team Manager", "response_working_days": 10},
        {"stage": 2, "name": "Service Manager", "response_working_days": 10},
        {"stage": 3, "name": "Head of Service", "response_working_days": 10},
        {"stage": 4, "name": "Assistant Director", "response_working_days": 10},
        {"stage": 5, "name": "Director of Children's Services", "response_working_days": 10},
    ]
    assert stages["next_cursor"] is None
    categories = (await client.get("/v1/escalation-categories", headers=auditor)).json()["items"]
    assert categories[0] == {
        "key": "care_plan_not_completed",
        "label": "Care plan, pathway plan or social worker report not completed",
    }
    assert categories[-1] == {"key": "other", "label": "Other"}


async def test_a_cursor_not_given_out_by_the_api_is_422(client, iro):
    # Right length, wrong types: the values would reach SQL as an integer and a string.
    forged = base64.urlsafe_b64encode(json.dumps([1, "x"]).encode()).decode().rstrip("=")
    for path in ("/v1/escalations", "/v1/commendations"):
        response = await client.get(path, params={"cursor": forged}, headers=iro)
        assert response.status_code == 422, path
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
