"""Commendations: good practice recorded beside the challenges, for a child or a team."""

from __future__ import annotations

import uuid

from tests.escalations.conftest import events_after, head, register_child


async def test_a_commendation_for_a_child_writes_its_event_with_the_child(client, session, iro):
    child = await register_child(session)
    before = await head(session)
    values = {
        "child_id": str(child),
        "team": "North",
        "summary": "Excellent life story work.",
        "raised_on": "2024-04-12",
    }
    response = await client.post("/v1/commendations", json=values, headers=iro)
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/v1/commendations/{created['id']}"
    assert created == {**values, "id": created["id"], "raised_by": "iro.one@council.gov.uk"}
    [event] = await events_after(session, before)
    assert (event.type, event.child_id, event.subject_type) == ("commendation.recorded", child, "commendation")
    assert event.actor == {"sub": "iro.one@council.gov.uk", "role": "iro"}
    assert event.payload == {
        "commendation_id": created["id"], "team": "North", "raised_on": "2024-04-12", "schema_version": 1,
    }  # fmt: skip
    fetched = await client.get(f"/v1/commendations/{created['id']}", headers=iro)
    assert fetched.json() == created


async def test_a_commendation_for_a_team_names_no_child(client, session, iro):
    before = await head(session)
    values = {"team": "South", "summary": "Timely reports for every review.", "raised_on": "2024-04-15"}
    response = await client.post("/v1/commendations", json=values, headers=iro)
    assert (response.status_code, response.json()["child_id"]) == (201, None)
    [event] = await events_after(session, before)
    assert (event.type, event.child_id) == ("commendation.recorded", None)


async def test_an_unknown_child_or_a_future_date_is_422_and_writes_nothing(client, session, iro):
    stranger = uuid.uuid4()
    before = await head(session)
    cases = [
        ("child_id", {"child_id": str(stranger), "team": "N", "summary": "x", "raised_on": "2024-04-12"}),
        ("raised_on", {"team": "N", "summary": "x", "raised_on": "2024-04-16"}),
        ("team", {"team": "", "summary": "x", "raised_on": "2024-04-12"}),
    ]
    for field, values in cases:
        response = await client.post("/v1/commendations", json=values, headers=iro)
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["loc"] == ["body", field]
    assert await events_after(session, before) == []
    assert (await client.get("/v1/commendations", headers=iro)).json()["items"] == []
    assert (await client.get(f"/v1/commendations/{uuid.uuid4()}", headers=iro)).status_code == 404


async def test_commendations_are_listed_by_child_team_and_date(client, session, iro):
    child = await register_child(session)
    ids = []
    for team, raised_on, with_child in (
        ("North", "2024-04-01", True),
        ("South", "2024-04-05", False),
        ("North", "2024-04-10", False),
    ):
        values = {"team": team, "summary": "Good work.", "raised_on": raised_on}
        if with_child:
            values["child_id"] = str(child)
        ids.append((await client.post("/v1/commendations", json=values, headers=iro)).json()["id"])

    async def listed(**params):
        return [
            item["id"] for item in (await client.get("/v1/commendations", params=params, headers=iro)).json()["items"]
        ]

    assert await listed() == ids
    assert await listed(child_id=str(child)) == [ids[0]]
    assert await listed(team="North") == [ids[0], ids[2]]
    assert await listed(**{"from": "2024-04-02", "to": "2024-04-10"}) == [ids[1], ids[2]]
    page = (await client.get("/v1/commendations", params={"limit": 2}, headers=iro)).json()
    rest = (await client.get("/v1/commendations", params={"cursor": page["next_cursor"]}, headers=iro)).json()
    assert [item["id"] for item in page["items"] + rest["items"]] == ids
