"""The participation record API: PUT/GET one review's record, list a child's, the code against the
child's age to the day, and the footprint events of recording and replacing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, text

from services.participation.models import HeldReview, Participation
from tests.participation.helpers import child_with_review, events_of, hold_review, register_child, register_iro

BORN = dt.date(2010, 5, 1)
HELD = dt.date(2021, 1, 10)


async def test_put_records_the_code_and_how_the_child_and_parents_took_part(client, session, auth_header):
    iro_id = await register_iro(session, "iro@x.gov.uk")  # the chair records it: their footprint
    child_id, review_id = await child_with_review(session, BORN, HELD, iro_id=iro_id)
    body = {
        "code": "PN1",
        "methods": ["in_person", "advocate", "in_person"],
        "met_iro_before": True,
        "interpreter_used": False,
        "parents": [
            {"relationship": "mother", "participation": "attended"},
            {"relationship": "father", "participation": "not_invited"},
        ],
    }
    put = await client.put(f"/v1/participation/{review_id}", json=body, headers=auth_header("iro", sub="iro@x.gov.uk"))
    assert put.status_code == 200
    expected = {
        "review_id": str(review_id),
        "child_id": str(child_id),
        "review_date": "2021-01-10",
        "code": "PN1",
        "methods": ["in_person", "advocate"],  # de-duplicated, in first order
        "met_iro_before": True,
        "interpreter_used": False,
        "parents": body["parents"],
        "recorded_by": "iro@x.gov.uk",
        "problems": [],
    }
    assert {k: v for k, v in put.json().items() if k != "recorded_at"} == expected
    get = await client.get(f"/v1/participation/{review_id}", headers=auth_header("auditor"))
    assert get.status_code == 200
    assert get.json() == put.json()

    [event] = await events_of(session, review_id)
    assert event.type == "participation.recorded"
    assert event.service == "participation"
    assert (event.child_id, event.iro_id) == (child_id, iro_id)
    assert event.actor == {"sub": "iro@x.gov.uk", "role": "iro"}
    assert (event.subject_type, event.subject_id) == ("review", str(review_id))
    assert event.payload == {
        "review_id": str(review_id),
        "review_date": "2021-01-10",
        "version": 1,
        "code": "PN1",
        "methods": ["in_person", "advocate"],
        "met_iro_before": True,
        "interpreter_used": False,
        "parents": body["parents"],
        "schema_version": 1,
    }


async def test_a_review_held_a_moment_ago_is_caught_up_within_the_request(client, session, auth_header):
    _, review_id = await child_with_review(session, BORN, HELD)
    assert await session.get(HeldReview, review_id) is None  # only on the footprint so far
    put = await client.put(f"/v1/participation/{review_id}", json={"code": "PN6"}, headers=auth_header("iro"))
    assert put.status_code == 200
    held = await session.get(HeldReview, review_id)
    assert held is not None
    assert (held.review_date, held.date_of_birth, held.format) == (HELD, BORN, "in_person")


async def test_a_review_never_held_is_404_and_nothing_is_written(client, session, auth_header):
    review_id = uuid.uuid4()
    put = await client.put(f"/v1/participation/{review_id}", json={"code": "PN1"}, headers=auth_header("iro"))
    assert put.status_code == 404
    assert put.headers["content-type"] == "application/problem+json"
    assert put.json()["type"] == "/problems/not-found"
    assert await events_of(session, review_id) == []
    assert (await client.get(f"/v1/participation/{review_id}", headers=auth_header("iro"))).status_code == 404


async def test_a_held_review_with_no_record_yet_is_404_on_get(client, session, auth_header):
    child_id, review_id = await child_with_review(session, BORN, HELD)
    await client.put(f"/v1/participation/{uuid.uuid4()}", json={"code": "PN1"}, headers=auth_header("iro"))  # catch up
    get = await client.get(f"/v1/participation/{review_id}", headers=auth_header("iro"))
    assert get.status_code == 404
    listed = await client.get("/v1/participation", params={"child_id": str(child_id)}, headers=auth_header("iro"))
    assert listed.json() == {"items": [], "next_cursor": None}


async def _no_record(session, review_id: uuid.UUID) -> bool:
    count = await session.scalar(select(func.count()).where(Participation.review_id == review_id))
    return count == 0 and await events_of(session, review_id) == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"code": "PN9"}, ["body", "code"]),
        ({"code": "pn1"}, ["body", "code"]),
        ({"code": "PN0"}, ["body", "code"]),  # the child is 10
        ({"code": "PN1", "methods": ["video", "carrier_pigeon"]}, ["body", "methods", 1]),
        (
            {"code": "PN1", "parents": [{"relationship": "aunt", "participation": "attended"}]},
            ["body", "parents", 0, "relationship"],
        ),
        (
            {"code": "PN1", "parents": [{"relationship": "mother", "participation": "maybe"}]},
            ["body", "parents", 0, "participation"],
        ),
        ({"code": "PN1", "parents": [{"relationship": "mother"}]}, ["body", "parents", 0, "participation"]),
        ({"code": "PN1", "chaired_by_child": True}, ["body", "chaired_by_child"]),  # unknown field
        ({"methods": ["video"]}, ["body", "code"]),
        ({"code": "PN1", "met_iro_before": "perhaps"}, ["body", "met_iro_before"]),
    ],
)
async def test_refused_input_is_422_naming_the_field_and_changes_nothing(client, session, auth_header, body, loc):
    _, review_id = await child_with_review(session, BORN, HELD)
    put = await client.put(f"/v1/participation/{review_id}", json=body, headers=auth_header("iro"))
    assert put.status_code == 422
    assert put.headers["content-type"] == "application/problem+json"
    assert [error["loc"] for error in put.json()["errors"]] == [loc]
    assert await _no_record(session, review_id)


async def test_the_age_rule_error_names_the_code_and_the_rule(client, session, auth_header):
    _, review_id = await child_with_review(session, dt.date(2018, 6, 1), dt.date(2021, 6, 1))
    put = await client.put(f"/v1/participation/{review_id}", json={"code": "PN1"}, headers=auth_header("iro"))
    assert put.status_code == 422
    assert put.json()["errors"] == [
        {
            "loc": ["body", "code"],
            "msg": "PN1 is only for a child aged 4 or over on the review date; "
            "the child was 3 on 2021-06-01, so the code is PN0.",
            "type": "domain_rule",
        }
    ]


# The 4th birthday to the day: 3 the day before (PN0 only), 4 on it and after (PN1-PN7 only).
FOURTH_BIRTHDAY_CASES = [
    (dt.date(2016, 3, 10), dt.date(2020, 3, 9), "PN0", "PN1"),
    (dt.date(2016, 3, 10), dt.date(2020, 3, 10), "PN1", "PN0"),
    (dt.date(2016, 3, 10), dt.date(2020, 3, 11), "PN7", "PN0"),
    # Born 29 February: the 4th birthday is always 29 February itself (a leap year).
    (dt.date(2016, 2, 29), dt.date(2020, 2, 28), "PN0", "PN6"),
    (dt.date(2016, 2, 29), dt.date(2020, 2, 29), "PN6", "PN0"),
    (dt.date(2016, 2, 29), dt.date(2020, 3, 1), "PN2", "PN0"),
]


@pytest.mark.parametrize(("born", "held_on", "fits", "contradicts"), FOURTH_BIRTHDAY_CASES)
async def test_the_code_is_checked_against_the_age_on_the_review_date_to_the_day(
    client, session, auth_header, born, held_on, fits, contradicts
):
    _, review_id = await child_with_review(session, born, held_on)
    refused = await client.put(f"/v1/participation/{review_id}", json={"code": contradicts}, headers=auth_header("iro"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "code"]
    assert await _no_record(session, review_id)
    accepted = await client.put(f"/v1/participation/{review_id}", json={"code": fits}, headers=auth_header("iro"))
    assert accepted.status_code == 200
    assert accepted.json()["code"] == fits


async def test_replacing_a_record_keeps_the_earlier_one_on_the_footprint(client, session, auth_header):
    _, review_id = await child_with_review(session, BORN, HELD)
    first = {"code": "PN1", "methods": ["in_person"], "met_iro_before": True}
    second = {"code": "PN7", "interpreter_used": True}
    assert (
        await client.put(f"/v1/participation/{review_id}", json=first, headers=auth_header("iro"))
    ).status_code == 200
    put = await client.put(f"/v1/participation/{review_id}", json=second, headers=auth_header("manager", sub="m@x"))
    assert put.status_code == 200
    # A PUT replaces the whole record: what the second body leaves out is cleared.
    assert {k: put.json()[k] for k in ("code", "methods", "met_iro_before", "interpreter_used", "recorded_by")} == {
        "code": "PN7",
        "methods": [],
        "met_iro_before": None,
        "interpreter_used": True,
        "recorded_by": "m@x",
    }
    recorded, replaced = await events_of(session, review_id)
    assert (recorded.type, replaced.type) == ("participation.recorded", "participation.replaced")
    assert recorded.payload["code"] == "PN1"
    assert replaced.actor == {"sub": "m@x", "role": "manager"}
    assert replaced.payload["version"] == 2
    assert replaced.payload["previous"] == {
        "code": "PN1",
        "methods": ["in_person"],
        "met_iro_before": True,
        "interpreter_used": None,
        "parents": [],
    }
    assert replaced.payload["new"] == {
        "code": "PN7",
        "methods": [],
        "met_iro_before": None,
        "interpreter_used": True,
        "parents": [],
    }
    assert (await client.get(f"/v1/participation/{review_id}", headers=auth_header("iro"))).json()["code"] == "PN7"


async def test_putting_the_same_record_again_writes_no_event(client, session, auth_header):
    _, review_id = await child_with_review(session, BORN, HELD)
    body = {"code": "PN3", "methods": ["app"]}
    first = await client.put(f"/v1/participation/{review_id}", json=body, headers=auth_header("iro"))
    again = await client.put(f"/v1/participation/{review_id}", json=body, headers=auth_header("admin"))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert [event.type for event in await events_of(session, review_id)] == ["participation.recorded"]


async def test_a_refused_replacement_leaves_the_record_and_writes_no_event(client, session, auth_header):
    _, review_id = await child_with_review(session, BORN, HELD)
    await client.put(f"/v1/participation/{review_id}", json={"code": "PN4"}, headers=auth_header("iro"))
    refused = await client.put(f"/v1/participation/{review_id}", json={"code": "PN0"}, headers=auth_header("iro"))
    assert refused.status_code == 422
    assert (await client.get(f"/v1/participation/{review_id}", headers=auth_header("iro"))).json()["code"] == "PN4"
    assert [event.type for event in await events_of(session, review_id)] == ["participation.recorded"]


async def test_a_case_system_puts_participation_with_the_integration_role(client, session, auth_header):
    _, review_id = await child_with_review(session, BORN, HELD)
    headers = {**auth_header("integration", sub="gateway"), "X-Event-Source": "mosaic"}
    put = await client.put(f"/v1/participation/{review_id}", json={"code": "PN5"}, headers=headers)
    assert put.status_code == 200
    [event] = await events_of(session, review_id)
    assert event.actor == {"sub": "gateway", "role": "integration", "source": "mosaic"}


async def test_the_event_source_header_counts_only_for_the_integration_role(client, session, auth_header):
    _, review_id = await child_with_review(session, BORN, HELD)
    headers = {**auth_header("iro", sub="iro@x"), "X-Event-Source": "mosaic"}
    await client.put(f"/v1/participation/{review_id}", json={"code": "PN5"}, headers=headers)
    [event] = await events_of(session, review_id)
    assert event.actor == {"sub": "iro@x", "role": "iro"}


async def test_a_childs_records_are_listed_oldest_first_in_keyset_pages(client, session, auth_header):
    child_id = await register_child(session, BORN)
    days = [dt.date(2021, 3, 1), dt.date(2020, 9, 1), dt.date(2021, 9, 1), dt.date(2020, 3, 1)]
    reviews = {day: await hold_review(session, child_id, BORN, day) for day in days}
    _, other_review = await child_with_review(session, BORN, dt.date(2020, 1, 1))  # another child's
    uncoded = await hold_review(session, child_id, BORN, dt.date(2022, 3, 1))  # held, not coded yet
    for review_id in [*reviews.values(), other_review]:
        await client.put(f"/v1/participation/{review_id}", json={"code": "PN1"}, headers=auth_header("iro"))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"child_id": str(child_id), "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/participation", params=params, headers=auth_header("auditor"))
        assert page.status_code == 200
        seen += [item["review_date"] for item in page.json()["items"]]
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ["2020-03-01", "2020-09-01", "2021-03-01", "2021-09-01"]
    assert pages == 2
    assert str(uncoded) not in seen


async def test_listing_needs_a_child_id_and_a_cursor_this_api_gave(client, auth_header):
    assert (await client.get("/v1/participation", headers=auth_header("iro"))).status_code == 422
    bad = await client.get(
        "/v1/participation", params={"child_id": str(uuid.uuid4()), "cursor": "nonsense"}, headers=auth_header("iro")
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_review_held_again_with_a_new_date_updates_the_view(client, session, auth_header):
    child_id = await register_child(session, BORN)
    review_id = await hold_review(session, child_id, BORN, dt.date(2021, 1, 10))
    await hold_review(session, child_id, BORN, dt.date(2021, 1, 12), review_id=review_id)  # corrected
    put = await client.put(f"/v1/participation/{review_id}", json={"code": "PN2"}, headers=auth_header("iro"))
    assert put.json()["review_date"] == "2021-01-12"
    count = await session.scalar(
        text("SELECT count(*) FROM participation.held_review WHERE review_id = :r"), {"r": review_id}
    )
    assert count == 1
