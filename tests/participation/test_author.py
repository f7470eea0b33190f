"""A participation record's event is filed under the IRO who records it when an IRO does, and under
the review's chairing IRO when a manager or a case system does (`shared.author.author_iro`)."""

from __future__ import annotations

import datetime as dt

from tests.participation.helpers import child_with_review, events_of, register_iro

BORN = dt.date(2010, 5, 1)
HELD = dt.date(2024, 3, 12)


async def test_an_iro_recording_another_iros_review_writes_on_their_own_footprint(client, session, auth_header):
    alice = await register_iro(session, "alice@council.gov.uk")
    bob = await register_iro(session, "bob@council.gov.uk")
    _, review_id = await child_with_review(session, BORN, HELD, iro_id=alice)
    by_bob = await client.put(
        f"/v1/participation/{review_id}", json={"code": "PN1"}, headers=auth_header("iro", sub="bob@council.gov.uk")
    )
    assert by_bob.status_code == 200, by_bob.text
    by_manager = await client.put(
        f"/v1/participation/{review_id}", json={"code": "PN6"}, headers=auth_header("manager")
    )
    assert by_manager.status_code == 200, by_manager.text
    by_stranger = await client.put(
        f"/v1/participation/{review_id}", json={"code": "PN7"}, headers=auth_header("iro", sub="new@council.gov.uk")
    )
    assert by_stranger.status_code == 200, by_stranger.text
    events = await events_of(session, review_id)
    assert [(e.type, e.iro_id) for e in events] == [
        ("participation.recorded", bob),  # Bob's work, though Alice chaired the review
        ("participation.replaced", alice),  # a manager's entry: the chairing IRO's
        ("participation.replaced", None),  # an IRO matching no registered IRO: never Alice's
    ]


async def test_age_on_after_today_is_refused(client, auth_header):
    # The test app's today is Fri 28 Jun 2024: ages on 1 Sep 2024 have not been reached.
    got = await client.get(
        "/v1/stats/participation?from=2023-04-01&to=2024-03-31&age_on=2024-09-01", headers=auth_header("manager")
    )
    assert got.status_code == 422
    assert got.json()["errors"][0]["loc"] == ["query", "age_on"]
    on_the_day = await client.get(
        "/v1/stats/participation?from=2023-04-01&to=2024-03-31&age_on=2024-06-28", headers=auth_header("manager")
    )
    assert on_the_day.status_code == 200
    assert on_the_day.json()["age_on"] == "2024-06-28"
