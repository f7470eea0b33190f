"""IROs, children and allocation through the reviews service's API, with real tokens."""

import datetime as dt

import pytest


async def test_a_manager_registers_an_iro_and_email_and_fte_are_checked(api):
    iro = await api.iro("Alice@Council.gov.uk", fte=0.6)
    assert iro["email"] == "alice@council.gov.uk"
    assert (iro["fte"], iro["caseload"], iro["caseload_per_fte"], iro["band"]) == (0.6, 0, 0.0, "below")
    duplicate = await api.post("/v1/iros", {"name": "A2", "email": "alice@council.gov.uk", "fte": 1})
    assert duplicate.status_code == 409
    for fte in (0, 1.01, -1):
        bad = await api.post("/v1/iros", {"name": "B", "email": "b@council.gov.uk", "fte": fte})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "fte"]
    found = await api.ok("GET", "/v1/iros?email=ALICE@council.gov.uk")
    assert [i["id"] for i in found["items"]] == [iro["id"]]


@pytest.mark.parametrize("role", ["iro", "auditor", "integration"])
async def test_only_managers_and_admins_register_iros(api, role):
    response = await api.post("/v1/iros", {"name": "X", "email": "x@council.gov.uk", "fte": 1}, role=role)
    assert response.status_code == 403
    assert await api.events(type="iro.registered") == []


async def test_no_token_is_401(api):
    assert (await api.client.get("/v1/children")).status_code == 401


async def test_children_are_registered_with_a_unique_la_reference(api):
    child = await api.child("LA-1", "2010-03-04")
    assert child["la_reference"] == "LA-1"
    assert child["eighteenth_birthday"] == "2028-03-04"
    assert child["current_care_period"] is None
    again = await api.post("/v1/children", {"la_reference": "LA-1", "date_of_birth": "2011-01-01"})
    assert again.status_code == 409
    [event] = await api.events(type="child.registered")
    assert event.payload == {
        "child_id": child["id"],
        "la_reference": "LA-1",
        "date_of_birth": "2010-03-04",
        "uasc": None,
        "schema_version": 1,
    }
    assert str(event.child_id) == child["id"]
    assert event.actor == {"sub": "manager@council.gov.uk", "role": "manager"}
    found = await api.ok("GET", "/v1/children?la_reference=LA-1")
    assert [c["id"] for c in found["items"]] == [child["id"]]
    assert (await api.get("/v1/children/00000000-0000-0000-0000-000000000000")).status_code == 404


async def test_unknown_fields_and_bad_dates_are_422_naming_the_field(api):
    typo = await api.post("/v1/children", {"la_reference": "LA-2", "date_of_birth": "2010-01-01", "nmae": "x"})
    assert typo.status_code == 422
    assert typo.json()["errors"][0]["loc"] == ["body", "nmae"]
    api.today(dt.date(2022, 1, 1))
    future = await api.post("/v1/children", {"la_reference": "LA-3", "date_of_birth": "2023-01-01"})
    assert future.status_code == 422
    assert future.json()["errors"][0]["loc"] == ["body", "date_of_birth"]
    assert await api.events(type="child.registered") == []


async def test_allocation_keeps_history_and_the_footprint_names_the_new_iro(api):
    api.today(dt.date(2022, 6, 1))
    alice, bob = await api.iro("alice@council.gov.uk"), await api.iro("bob@council.gov.uk", name="Bob")
    child = await api.child()
    await api.enter_care(child["id"], "2022-01-10")
    first = await api.ok(
        "PUT", f"/v1/children/{child['id']}/iro", {"iro_id": alice["id"], "allocated_on": "2022-01-10"}
    )
    second = await api.ok("PUT", f"/v1/children/{child['id']}/iro", {"iro_id": bob["id"], "allocated_on": "2022-03-01"})
    history = await api.ok("GET", f"/v1/children/{child['id']}/iro-allocations")
    assert [(a["iro_id"], a["allocated_on"], a["ended_on"]) for a in history["items"]] == [
        (alice["id"], "2022-01-10", "2022-03-01"),
        (bob["id"], "2022-03-01", None),
    ]
    assert second["id"] != first["id"]
    assert (await api.ok("GET", f"/v1/children/{child['id']}"))["iro_id"] == bob["id"]
    events = await api.events(type="iro.allocated")
    assert [str(e.iro_id) for e in events] == [alice["id"], bob["id"]]
    assert (await api.ok("GET", f"/v1/iros/{bob['id']}"))["caseload"] == 1
    assert (await api.ok("GET", f"/v1/iros/{alice['id']}"))["caseload"] == 0
    by_iro = await api.ok("GET", f"/v1/children?iro_id={bob['id']}")
    assert [c["id"] for c in by_iro["items"]] == [child["id"]]
    body = {"iro_id": alice["id"], "allocated_on": "2022-04-01"}
    refused = await api.call("PUT", f"/v1/children/{child['id']}/iro", body, role="iro", sub="alice@council.gov.uk")
    assert refused.status_code == 403


async def test_an_integration_token_may_register_children_but_not_read_them(api):
    created = await api.post("/v1/children", {"la_reference": "M-1", "date_of_birth": "2012-01-01"},
                             role="integration", sub="mosaic", headers={"X-Event-Source": "mosaic"})  # fmt: skip
    assert created.status_code == 201
    [event] = await api.events(type="child.registered")
    assert event.actor == {"sub": "mosaic", "role": "integration", "source": "mosaic"}
    assert (await api.get("/v1/children", role="integration", sub="mosaic")).status_code == 403


async def test_pages_are_keyset_pages(api):
    ids = [(await api.child(f"P-{n}"))["id"] for n in range(5)]
    first = await api.ok("GET", "/v1/children?limit=2")
    second = await api.ok("GET", f"/v1/children?limit=2&cursor={first['next_cursor']}")
    third = await api.ok("GET", f"/v1/children?limit=2&cursor={second['next_cursor']}")
    seen = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert sorted(seen) == sorted(ids)
    assert third["next_cursor"] is None
    assert (await api.get("/v1/children?cursor=garbage")).status_code == 422
    assert (await api.get("/v1/children?limit=501")).status_code == 422


async def test_nul_characters_and_forged_cursors_are_422_not_500(api):
    nul = await api.post("/v1/children", {"la_reference": "N\x00UL", "date_of_birth": "2012-01-01"})
    assert nul.status_code == 422
    assert nul.json()["errors"][0]["loc"] == ["body", "la_reference"]
    from shared.pagination import encode_cursor

    forged = encode_cursor([1], secret=api.settings.cursor_secret.get_secret_value(), scope="/v1/children")  # key: uuid
    assert (await api.get(f"/v1/children?cursor={forged}")).status_code == 422
