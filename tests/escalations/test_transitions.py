"""Responding, escalating up the ladder, resolving, withdrawing and referring to Cafcass, with the
footprint event each writes and none for a refused one."""

from __future__ import annotations

import datetime as dt

from tests.conftest import app_client
from tests.escalations.conftest import act, body, events_after, head, make_app, raise_one, register_child

FOUR_STAGES = [
    {"stage": 0, "name": "Care planning alert", "response_working_days": 5},
    {"stage": 1, "name": "Team Manager", "response_working_days": 5},
    {"stage": 2, "name": "Service Manager", "response_working_days": 10},
    {"stage": 3, "name": "Head of Service", "response_working_days": 10},
    {"stage": 4, "name": "Director", "response_working_days": 15},
]


async def test_overdue_as_of_today_the_due_day_itself_not_yet(app, client, session, iro):
    child = await register_child(session)
    created = await raise_one(client, iro, **body([child], raised_on="2024-03-28"))  # due 2024-04-15
    path = f"/v1/escalations/{created['id']}"

    app.state.clock.fixed = dt.date(2024, 4, 15)
    assert (await client.get(path, headers=iro)).json()["overdue"] is False
    overdue = await client.get("/v1/escalations", params={"overdue": "true"}, headers=iro)
    assert overdue.json()["items"] == []

    app.state.clock.fixed = dt.date(2024, 4, 16)
    shown = (await client.get(path, headers=iro)).json()
    assert (shown["overdue"], shown["stages"][0]["overdue"]) == (True, True)
    overdue = await client.get("/v1/escalations", params={"overdue": "true"}, headers=iro)
    assert [item["id"] for item in overdue.json()["items"]] == [created["id"]]
    not_overdue = await client.get("/v1/escalations", params={"overdue": "false"}, headers=iro)
    assert not_overdue.json()["items"] == []

    answered = await act(client, iro, created["id"], "responses", responded_on="2024-04-16", responder="TM", text="Ok.")
    assert answered.json()["overdue"] is False
    assert answered.json()["stages"][0]["responded_in_time"] is False
    overdue = await client.get("/v1/escalations", params={"overdue": "true"}, headers=iro)
    assert overdue.json()["items"] == []


async def test_a_response_is_recorded_once_per_stage(app, client, session, iro):
    child = await register_child(session)
    created = await raise_one(client, iro, **body([child], kind="formal", raised_on="2024-04-02"))
    before = await head(session)
    response = await act(
        client, iro, created["id"], "responses", responded_on="2024-04-10", responder="A. Manager", text="Plan agreed."
    )
    assert response.status_code == 200
    answered = response.json()
    assert answered["responded_on"] == "2024-04-10"
    assert answered["allowed_actions"] == ["escalate", "resolve", "withdraw", "refer_to_cafcass"]
    stage = answered["stages"][0]
    assert (stage["responder"], stage["response_text"], stage["responded_in_time"]) == (
        "A. Manager",
        "Plan agreed.",
        True,
    )
    [event] = await events_after(session, before)
    assert (event.type, event.child_id) == ("escalation.responded", child)
    assert event.payload["responded_on"] == "2024-04-10"
    assert event.payload["responded_in_time"] is True
    assert "Plan agreed." not in str(event.payload)

    mid = await head(session)
    again = await act(client, iro, created["id"], "responses", responded_on="2024-04-11", responder="B", text="More.")
    assert again.status_code == 409
    assert again.json()["current_state"] == "open"
    assert await events_after(session, mid) == []


async def test_an_alert_climbs_the_whole_ladder_then_escalating_past_the_last_stage_is_409(app, client, session, iro):
    app.state.clock.fixed = dt.date(2024, 6, 3)
    child = await register_child(session)
    created = await raise_one(client, iro, **body([child], raised_on="2024-01-02"))
    before = await head(session)
    # Each stage entered on a Monday; the due dates skip Good Friday, Easter Monday and early May.
    climbs = [
        ("2024-01-15", 1, "Team Manager", "2024-01-29"),
        ("2024-02-05", 2, "Service Manager", "2024-02-19"),
        ("2024-03-25", 3, "Head of Service", "2024-04-10"),
        ("2024-04-29", 4, "Assistant Director", "2024-05-14"),
        ("2024-05-13", 5, "Director of Children's Services", "2024-05-28"),
    ]
    for escalated_on, stage, name, due in climbs:
        response = await act(client, iro, created["id"], "escalate", escalated_on=escalated_on, reason="No answer.")
        assert response.status_code == 200, response.text
        now = response.json()
        assert (now["stage"], now["stage_name"], now["response_due_on"], now["kind"]) == (stage, name, due, "formal")
    assert now["raised_as_alert"] is True
    assert "escalate" not in now["allowed_actions"]
    assert [s["stage"] for s in now["stages"]] == [0, 1, 2, 3, 4, 5]
    assert [s["ended_how"] for s in now["stages"]] == ["escalated"] * 5 + [None]
    assert [s["ended_on"] for s in now["stages"][:5]] == [c[0] for c in climbs]
    assert now["stages"][1]["entry_reason"] == "No answer."

    events = await events_after(session, before)
    assert [e.type for e in events] == ["escalation.escalated"] * 5
    assert [(e.payload["from_stage"], e.payload["stage"]) for e in events] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert events[0].payload["kind"] == "formal" and events[0].payload["escalated_on"] == "2024-01-15"
    assert [e.payload["response_due_on"] for e in events] == [c[3] for c in climbs]

    mid = await head(session)
    past = await act(client, iro, created["id"], "escalate", escalated_on="2024-05-20", reason="Still nothing.")
    assert past.status_code == 409
    assert past.json()["current_state"] == "open"
    assert "last stage" in past.json()["detail"]
    assert await events_after(session, mid) == []
    assert (await client.get(f"/v1/escalations/{created['id']}", headers=iro)).json()["stage"] == 5


async def test_a_four_stage_ladder_stops_at_stage_4(database_url, session, auth_header):
    app = make_app(database_url, session, ladder=FOUR_STAGES)
    iro = auth_header("iro")
    async for client in app_client(app):
        ladder = (await client.get("/v1/escalation-stages", headers=iro)).json()["items"]
        assert [(s["stage"], s["name"]) for s in ladder] == [(s["stage"], s["name"]) for s in FOUR_STAGES]
        child = await register_child(session)
        alert = await raise_one(client, iro, **body([child], raised_on="2024-04-08"))
        assert (alert["stage_name"], alert["response_due_on"]) == ("Care planning alert", "2024-04-15")
        created = await raise_one(client, iro, **body([child], kind="formal", raised_on="2024-04-01"))
        for day in ("2024-04-02", "2024-04-03", "2024-04-04"):
            assert (await act(client, iro, created["id"], "escalate", escalated_on=day, reason="x")).status_code == 200
        top = (await client.get(f"/v1/escalations/{created['id']}", headers=iro)).json()
        assert (top["stage"], top["stage_name"], top["response_due_on"]) == (4, "Director", "2024-04-25")
        past = await act(client, iro, created["id"], "escalate", escalated_on="2024-04-05", reason="x")
        assert past.status_code == 409


async def test_resolving_closes_it_and_resolving_again_is_409(client, session, iro):
    children = [await register_child(session) for _ in range(3)]
    created = await raise_one(client, iro, **body(children, kind="formal", raised_on="2024-04-02"))
    before = await head(session)
    response = await act(client, iro, created["id"], "resolve", resolved_on="2024-04-12", outcome="Plan updated.")
    assert response.status_code == 200
    resolved = response.json()
    assert (resolved["status"], resolved["closed_on"], resolved["outcome"]) == (
        "resolved",
        "2024-04-12",
        "Plan updated.",
    )
    assert (resolved["overdue"], resolved["allowed_actions"]) == (False, [])
    assert resolved["stages"][0]["ended_how"] == "resolved"
    events = await events_after(session, before)
    assert [(e.type, e.child_id) for e in events] == [("escalation.resolved", child) for child in children]
    assert events[0].payload["resolved_on"] == "2024-04-12"
    assert events[0].payload["working_days_open"] == 8
    assert events[0].payload["status"] == "resolved"

    mid = await head(session)
    for action, values in {
        "resolve": {"resolved_on": "2024-04-15", "outcome": "Again."},
        "escalate": {"escalated_on": "2024-04-15", "reason": "x"},
        "responses": {"responded_on": "2024-04-15", "responder": "x", "text": "x"},
        "withdraw": {"withdrawn_on": "2024-04-15", "reason": "x"},
        "cafcass-referral": {"referred_on": "2024-04-15", "reason": "x"},
    }.items():
        refused = await act(client, iro, created["id"], action, **values)
        assert refused.status_code == 409, action
        assert refused.json()["current_state"] == "resolved"
    assert await events_after(session, mid) == []


async def test_withdrawing_a_service_wide_alert_writes_one_event_without_a_child(client, session, iro):
    created = await raise_one(client, iro, **body([], raised_on="2024-04-02"))
    before = await head(session)
    response = await act(client, iro, created["id"], "withdraw", withdrawn_on="2024-04-03", reason="Raised twice.")
    assert (response.json()["status"], response.json()["outcome"]) == ("withdrawn", "Raised twice.")
    [event] = await events_after(session, before)
    assert (event.type, event.child_id, event.payload["withdrawn_on"]) == ("escalation.withdrawn", None, "2024-04-03")


async def test_a_cafcass_referral_is_possible_from_an_alert(client, session, auth_header):
    child = await register_child(session)
    admin = auth_header("admin", sub="admin@council.gov.uk")
    created = await raise_one(client, admin, **body([child], raised_on="2024-04-02"))
    before = await head(session)
    response = await act(client, admin, created["id"], "cafcass-referral", referred_on="2024-04-09", reason="Drift.")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["stage"]) == ("referred_to_cafcass", 0)
    [event] = await events_after(session, before)
    assert (event.type, event.child_id) == ("escalation.referred_to_cafcass", child)
    assert event.actor == {"sub": "admin@council.gov.uk", "role": "admin"}
    assert event.payload["referred_on"] == "2024-04-09"
    assert "Drift." not in str(event.payload)


async def test_dates_before_the_stage_began_or_in_the_future_are_422_and_write_nothing(client, session, iro):
    child = await register_child(session)
    created = await raise_one(client, iro, **body([child], raised_on="2024-04-02"))
    await act(client, iro, created["id"], "escalate", escalated_on="2024-04-08", reason="No answer.")
    before = await head(session)
    cases = [
        ("responses", "responded_on", {"responded_on": "2024-04-05", "responder": "x", "text": "x"}),
        ("escalate", "escalated_on", {"escalated_on": "2024-04-05", "reason": "x"}),
        ("resolve", "resolved_on", {"resolved_on": "2024-04-01", "outcome": "x"}),
        ("withdraw", "withdrawn_on", {"withdrawn_on": "2024-04-16", "reason": "x"}),
        ("cafcass-referral", "referred_on", {"referred_on": "2024-05-01", "reason": "x"}),
        ("resolve", "outcome", {"resolved_on": "2024-04-10", "outcome": " "}),
        ("escalate", "reason", {"escalated_on": "2024-04-10"}),
    ]
    for action, field, values in cases:
        response = await act(client, iro, created["id"], action, **values)
        assert response.status_code == 422, (action, values)
        assert response.json()["errors"][0]["loc"] == ["body", field]
    assert await events_after(session, before) == []
    unchanged = (await client.get(f"/v1/escalations/{created['id']}", headers=iro)).json()
    assert (unchanged["status"], unchanged["stage"], unchanged["responded_on"]) == ("open", 1, None)
