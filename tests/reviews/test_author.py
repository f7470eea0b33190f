"""An IRO writes as themselves (`shared.author.author_iro`): a body field naming an IRO (a case note's
`iro_id`) may name another IRO only for a manager, an admin or a case system."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from services.reviews.models import CaseNote

ALICE, BOB = "alice@council.gov.uk", "bob@council.gov.uk"


async def setup(api):
    api.today(dt.date(2026, 11, 29))
    alice = (await api.iro(ALICE, name="Alice"))["id"]
    bob = (await api.iro(BOB, name="Bob"))["id"]
    child = (await api.child("C1"))["id"]
    await api.enter_care(child, "2026-09-01")
    await api.ok("PUT", f"/v1/children/{child}/iro", {"iro_id": alice, "allocated_on": "2026-09-01"})
    return child, alice, bob


def note(**fields):
    return {"recorded_on": "2026-11-27", "text": "Spoke to the carer.", **fields}


async def notes_and_events(api, child) -> tuple[int, list]:
    rows = await api.session.scalar(select(func.count()).select_from(CaseNote).where(CaseNote.child_id == child))
    return int(rows or 0), [e.iro_id for e in await api.events(type="case_note.recorded")]


async def test_an_iro_naming_their_own_id_writes_as_themselves(api):
    child, alice, _ = await setup(api)
    got = await api.ok(
        "POST", f"/v1/children/{child}/case-notes", note(iro_id=alice), status=201, role="iro", sub=ALICE
    )
    assert got["iro_id"] == alice
    assert [str(i) for i in (await notes_and_events(api, child))[1]] == [alice]


async def test_an_iro_omitting_the_author_writes_as_the_iro_their_token_identifies(api):
    child, _, bob = await setup(api)
    # Bob is not the child's allocated IRO (Alice is): the note and its event are still Bob's.
    got = await api.ok("POST", f"/v1/children/{child}/case-notes", note(), status=201, role="iro", sub=BOB)
    assert got["iro_id"] == bob
    assert [str(i) for i in (await notes_and_events(api, child))[1]] == [bob]


async def test_an_iro_naming_another_iro_is_403_and_nothing_is_written(api):
    child, alice, _ = await setup(api)
    before = await notes_and_events(api, child)
    refused = await api.post(f"/v1/children/{child}/case-notes", note(iro_id=alice), role="iro", sub=BOB)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "/problems/another-iro-named"
    assert (refused.json()["status"], refused.json()["field"]) == (403, "iro_id")
    assert await notes_and_events(api, child) == before == (0, [])


async def test_a_manager_or_a_case_system_may_file_a_note_under_another_iro(api):
    child, alice, bob = await setup(api)
    by_manager = await api.ok("POST", f"/v1/children/{child}/case-notes", note(iro_id=bob), status=201)
    by_system = await api.ok(
        "POST", f"/v1/children/{child}/case-notes", note(iro_id=alice), status=201, role="integration", sub="mosaic"
    )
    assert (by_manager["iro_id"], by_system["iro_id"]) == (bob, alice)
    assert [str(i) for i in (await notes_and_events(api, child))[1]] == [bob, alice]


async def test_an_iro_whose_token_matches_no_iro_never_writes_onto_the_allocated_iros_footprint(api):
    child, alice, _ = await setup(api)
    got = await api.ok(
        "POST", f"/v1/children/{child}/case-notes", note(), status=201, role="iro", sub="new@council.gov.uk"
    )
    assert got["iro_id"] is None
    # The event is not filed under Alice (the allocated IRO): an IRO acted, and it was not Alice.
    assert (await notes_and_events(api, child))[1] == [None]
    midway = await api.ok(
        "POST", f"/v1/children/{child}/midway-reviews", {"held_on": "2026-11-27", "outcome": "on_track"},
        status=201, role="iro", sub="new@council.gov.uk",
    )  # fmt: skip
    assert midway["iro_id"] is None
    by_manager = await api.ok(
        "POST", f"/v1/children/{child}/midway-reviews", {"held_on": "2026-11-27", "outcome": "on_track"}, status=201
    )
    assert by_manager["iro_id"] == alice  # a manager's entry is the allocated IRO's work


async def test_a_review_held_by_an_iro_is_chaired_by_that_iro(api):
    child, _, bob = await setup(api)
    review = (await api.reviews(child))[0]
    held = await api.hold(review["id"], "2026-09-25", role="iro", sub=BOB)
    assert held["chaired_by_iro_id"] == bob
    [event] = await api.events(type="review.held")
    assert str(event.iro_id) == bob
