"""Participation keeps and flags, never drops (docs/participation.md, "Problems"): a corrected date of
birth (`child.updated`) reaches the service's view of children and held reviews through its consumer; a
stored code the new date makes wrong for the child's age, or a review now on or after the 18th birthday,
is kept and flagged, listed by `?problem=true`, and `participation.flagged` says so on the footprint."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.participation.consumers import consumer_of
from services.participation.models import Child, HeldReview
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from shared import footprint
from shared.footprint import events
from shared.footprint.models import Event
from tests.conftest import app_client, bind_app_to_session
from tests.participation.helpers import child_with_review, events_of, hold_review, record
from tests.reviews.conftest import Api

D = dt.date
MOSAIC = footprint.Actor(sub="mosaic-bot", role="integration", source="mosaic")


async def correct(
    session, child_id: uuid.UUID, *, date_of_birth: dt.date | None = None, previous: dt.date | None = None,
    request_id: str | None = None, **fields: Any,
) -> None:  # fmt: skip
    """Append `child.updated` as the reviews service writes it for a case system's correction."""
    values: dict[str, Any] = dict(fields)
    changed = [name for name in ("date_of_birth", "display_name", "sex", "uasc") if name in fields]
    if date_of_birth is not None:
        values |= {"date_of_birth": date_of_birth, "previous_date_of_birth": previous}
        changed.insert(0, "date_of_birth")
    values.pop("display_name", None)
    await footprint.append(
        session,
        event=events.ChildUpdated(child_id=child_id, changed=changed, **values),
        actor=MOSAIC,
        subject=footprint.Subject("child", child_id),
        service="reviews",
        child_id=child_id,
        request_id=request_id,
    )


async def caught_up(app, session) -> None:
    assert await consumer_of(app).catch_up(session) is True


async def held_row(session, review_id: uuid.UUID) -> HeldReview:
    query = select(HeldReview).where(HeldReview.review_id == review_id).execution_options(populate_existing=True)
    return (await session.scalars(query)).one()


async def flagged(session, review_id: uuid.UUID) -> list[Event]:
    return [e for e in await events_of(session, review_id) if e.type == "participation.flagged"]


async def test_a_correction_that_makes_a_stored_pn0_wrong_keeps_it_and_flags_it(app, client, session, auth_header):
    iro = uuid.uuid4()
    child_id, review_id = await child_with_review(session, D(2018, 1, 10), D(2021, 6, 1), iro_id=iro)  # 3 then
    put = await client.put(f"/v1/participation/{review_id}", json=record("PN0"), headers=auth_header("iro"))
    assert (put.status_code, put.json()["problems"]) == (200, [])

    await correct(session, child_id, date_of_birth=D(2017, 1, 10), previous=D(2018, 1, 10), request_id="req-42")
    await caught_up(app, session)

    # The view follows the correction.
    assert (await session.get(Child, child_id, populate_existing=True)).date_of_birth == D(2017, 1, 10)
    assert (await held_row(session, review_id)).date_of_birth == D(2017, 1, 10)
    # The record is kept as it was, readable, and flagged: the child was 4 on the review date.
    got = await client.get(f"/v1/participation/{review_id}", headers=auth_header("auditor"))
    assert got.status_code == 200
    assert (got.json()["code"], got.json()["problems"]) == ("PN0", ["code_invalid_for_age"])
    listed = await client.get("/v1/participation", params={"problem": "true"}, headers=auth_header("manager"))
    assert [(i["review_id"], i["problems"]) for i in listed.json()["items"]] == [
        (str(review_id), ["code_invalid_for_age"])
    ]
    child_ok = await client.get(
        "/v1/participation", params={"child_id": str(child_id), "problem": "false"}, headers=auth_header("iro")
    )
    assert child_ok.json()["items"] == []
    # The footprint says so, as the correction's actor and request, filed under the chairing IRO.
    [event] = await flagged(session, review_id)
    assert event.payload == {
        "review_id": str(review_id),
        "problems": ["code_invalid_for_age"],
        "previous_problems": [],
        "schema_version": 1,
    }
    assert (event.actor, event.request_id) == (
        {"sub": "mosaic-bot", "role": "integration", "source": "mosaic"},
        "req-42",
    )
    assert (event.service, event.child_id, event.iro_id, event.subject_type) == (
        "participation",
        child_id,
        iro,
        "review",
    )


async def test_a_valid_code_put_after_the_correction_clears_the_flag(app, client, session, auth_header):
    child_id, review_id = await child_with_review(session, D(2018, 1, 10), D(2021, 6, 1))
    await client.put(f"/v1/participation/{review_id}", json=record("PN0"), headers=auth_header("iro"))
    await correct(session, child_id, date_of_birth=D(2017, 1, 10), previous=D(2018, 1, 10))
    await caught_up(app, session)

    # The code is checked against the corrected date of birth, as any PUT is.
    again = await client.put(f"/v1/participation/{review_id}", json=record("PN0"), headers=auth_header("iro"))
    assert (again.status_code, again.json()["type"]) == (422, "/problems/participation-code-contradicts-age")
    fixed = await client.put(f"/v1/participation/{review_id}", json=record("PN1"), headers=auth_header("iro"))
    assert (fixed.status_code, fixed.json()["code"], fixed.json()["problems"]) == (200, "PN1", [])
    assert (await held_row(session, review_id)).problems == []
    types = [e.type for e in await events_of(session, review_id)]
    assert types == [
        "participation.recorded",
        "participation.flagged",
        "participation.flagged",
        "participation.replaced",
    ]
    cleared = (await flagged(session, review_id))[-1]
    assert (cleared.payload["problems"], cleared.payload["previous_problems"]) == ([], ["code_invalid_for_age"])
    assert cleared.actor["role"] == "iro"
    listed = await client.get("/v1/participation", params={"problem": "true"}, headers=auth_header("iro"))
    assert listed.json()["items"] == []


async def test_a_review_now_on_or_after_the_18th_birthday_is_flagged(app, client, session, auth_header):
    child_id, review_id = await child_with_review(session, D(2004, 1, 1), D(2021, 6, 1))  # 17 then
    await client.put(f"/v1/participation/{review_id}", json=record("PN1"), headers=auth_header("iro"))
    await correct(session, child_id, date_of_birth=D(2003, 6, 1), previous=D(2004, 1, 1))  # 18 that day
    await caught_up(app, session)
    got = (await client.get(f"/v1/participation/{review_id}", headers=auth_header("iro"))).json()
    assert (got["code"], got["problems"]) == ("PN1", ["review_on_or_after_18th_birthday"])
    # Correcting it back clears the flag, on the footprint too.
    await correct(session, child_id, date_of_birth=D(2004, 1, 1), previous=D(2003, 6, 1))
    await caught_up(app, session)
    got = (await client.get(f"/v1/participation/{review_id}", headers=auth_header("iro"))).json()
    assert got["problems"] == []
    assert [e.payload["problems"] for e in await flagged(session, review_id)] == [
        ["review_on_or_after_18th_birthday"],
        [],
    ]


async def test_an_uncoded_review_is_flagged_by_its_date_only_and_a_later_put_shows_it(
    app, client, session, auth_header
):
    child_id, review_id = await child_with_review(session, D(2004, 1, 1), D(2021, 6, 1))
    await correct(session, child_id, date_of_birth=D(2003, 5, 1), previous=D(2004, 1, 1))
    await caught_up(app, session)
    assert (await held_row(session, review_id)).problems == ["review_on_or_after_18th_birthday"]
    put = await client.put(f"/v1/participation/{review_id}", json=record("PN6"), headers=auth_header("iro"))
    assert (put.status_code, put.json()["problems"]) == (200, ["review_on_or_after_18th_birthday"])
    # The PUT does not change the problems: one flag event, the consumer's.
    assert len(await flagged(session, review_id)) == 1


async def test_every_held_review_of_the_child_is_recomputed_and_only_changes_are_written(
    app, client, session, auth_header
):
    child_id, early = await child_with_review(session, D(2018, 1, 10), D(2021, 6, 1))  # 3
    late = await hold_review(session, child_id, D(2018, 1, 10), D(2022, 6, 1), sequence=2)  # 4
    for review_id, code in ((early, "PN0"), (late, "PN1")):
        response = await client.put(f"/v1/participation/{review_id}", json=record(code), headers=auth_header("iro"))
        assert response.status_code == 200, response.text
    # Born a month later: the early review is still under 4, the late one is now under 4 too.
    await correct(session, child_id, date_of_birth=D(2018, 7, 10), previous=D(2018, 1, 10))
    await caught_up(app, session)
    assert (await held_row(session, early)).problems == []
    assert (await held_row(session, late)).problems == ["code_invalid_for_age"]
    assert (await flagged(session, early), len(await flagged(session, late))) == ([], 1)


async def test_corrections_without_a_date_of_birth_change_nothing_here(app, client, session, auth_header):
    child_id, review_id = await child_with_review(session, D(2018, 1, 10), D(2021, 6, 1))
    await client.put(f"/v1/participation/{review_id}", json=record("PN0"), headers=auth_header("iro"))
    await correct(session, child_id, sex="female", uasc=True, display_name="Sam")
    await caught_up(app, session)
    assert (await held_row(session, review_id)).problems == []
    assert await flagged(session, review_id) == []


async def test_a_correction_for_a_child_not_seen_yet_makes_it_known(app, client, session):
    child_id = uuid.uuid4()
    await correct(session, child_id, date_of_birth=D(2015, 3, 1), previous=D(2015, 2, 1))
    await caught_up(app, session)
    child = await session.get(Child, child_id, populate_existing=True)
    assert (child.la_reference, child.date_of_birth) == (None, D(2015, 3, 1))


async def test_a_review_held_again_with_another_date_is_flagged_too(app, client, session, auth_header):
    child_id, review_id = await child_with_review(session, D(2018, 1, 10), D(2021, 6, 1))
    await client.put(f"/v1/participation/{review_id}", json=record("PN0"), headers=auth_header("iro"))
    # The reviews service delivers it again, held a year later (the child was 4 by then).
    await hold_review(session, child_id, D(2018, 1, 10), D(2022, 6, 1), review_id=review_id)
    await caught_up(app, session)
    assert (await held_row(session, review_id)).problems == ["code_invalid_for_age"]


async def test_listing_needs_a_child_or_the_problem_filter(client, auth_header):
    response = await client.get("/v1/participation", headers=auth_header("iro"))
    assert (response.status_code, response.json()["type"]) == (422, "/problems/invalid-field")
    assert response.json()["errors"][0]["loc"] == ["query", "child_id"]


# --- Through the reviews service's own events ---------------------------------------------------


@pytest.fixture
async def reviews(session, database_url) -> AsyncIterator[Api]:
    settings = ReviewsSettings(env="test", database_url=database_url)
    app = reviews_app(settings)
    bind_app_to_session(app, session)
    async for reviews_client in app_client(app):
        api = Api(reviews_client, app, settings, session)
        api.today(D(2024, 6, 28))
        yield api


async def test_a_patch_on_the_reviews_service_flags_the_stored_code_here(
    app, client: httpx.AsyncClient, session, auth_header, reviews
):
    child = await reviews.child(date_of_birth="2020-03-01")
    await reviews.enter_care(child["id"], "2023-11-01")
    first = (await reviews.reviews(child["id"]))[0]
    await reviews.hold(first["id"], "2023-11-29")  # the child was 3
    put = await client.put(f"/v1/participation/{first['id']}", json=record("PN0"), headers=auth_header("iro"))
    assert put.status_code == 200, put.text

    await reviews.ok("PATCH", f"/v1/children/{child['id']}", {"date_of_birth": "2019-11-01"})  # 4 on the day
    await caught_up(app, session)
    got = (await client.get(f"/v1/participation/{first['id']}", headers=auth_header("iro"))).json()
    assert (got["code"], got["problems"]) == ("PN0", ["code_invalid_for_age"])
    listed = await client.get("/v1/participation", params={"problem": "true"}, headers=auth_header("auditor"))
    assert [item["review_id"] for item in listed.json()["items"]] == [first["id"]]
