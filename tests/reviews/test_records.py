"""Around a review: record-keeping dates, decisions, midway reviews, case notes, rearrangements;
and whose footprint each write lands in."""

import datetime as dt
import uuid

import pytest

D = dt.date
ALICE = "alice@council.gov.uk"


@pytest.fixture
async def held(api):
    """A child allocated to Alice, first review held by Alice on Wed 19 Jan 2022."""
    api.today(D(2022, 2, 1))
    alice = await api.iro(ALICE)
    child = await api.child()
    await api.enter_care(child["id"], "2021-12-20")
    await api.ok("PUT", f"/v1/children/{child['id']}/iro", {"iro_id": alice["id"], "allocated_on": "2021-12-20"})
    review = (await api.reviews(child["id"]))[0]
    await api.hold(review["id"], "2022-01-19", role="iro", sub=ALICE, venue="Foster home", chaired_by_child="co_chair")
    return {"alice": alice, "child": child, "review": review}


async def test_holding_a_review_records_the_chair_and_the_event_other_services_read(api, held):
    review = await api.ok("GET", f"/v1/reviews/{held['review']['id']}")
    assert review["chaired_by_iro_id"] == held["alice"]["id"]
    assert (review["venue"], review["chaired_by_child"], review["format"]) == ("Foster home", "co_chair", None)
    [event] = await api.events(type="review.held")
    assert event.actor == {"sub": ALICE, "role": "iro"}
    assert (str(event.child_id), str(event.iro_id)) == (held["child"]["id"], held["alice"]["id"])
    assert event.payload == {
        "review_id": review["id"], "care_period_id": review["care_period_id"], "child_id": held["child"]["id"],
        "date_of_birth": "2012-05-01", "held_on": "2022-01-19", "sequence": 1, "kind": "first", "format": None,
        "chaired_by_iro_id": held["alice"]["id"], "chaired_by_child": "co_chair", "in_time": True,
        "statutory_due_on": "2022-01-20", "late_reason": None, "schema_version": 1,
    }  # fmt: skip


async def test_a_managers_write_lands_in_the_allocated_iros_footprint(api, held):
    note = {"recorded_on": "2022-01-31", "text": "Spoke to the foster carer."}
    await api.ok("POST", f"/v1/children/{held['child']['id']}/midway-reviews",
                 {"held_on": "2022-01-31", "outcome": "on_track"}, status=201)  # fmt: skip
    [event] = await api.events(type="midway_review.held")
    assert event.actor["role"] == "manager"
    assert str(event.iro_id) == held["alice"]["id"]
    created = await api.ok("POST", f"/v1/children/{held['child']['id']}/case-notes", note, status=201)
    assert created["iro_id"] is None  # a manager is nobody's author IRO
    [note_event] = await api.events(type="case_note.recorded")
    assert str(note_event.iro_id) == held["alice"]["id"]


async def test_a_case_note_from_a_case_system_names_its_author_iro(api, held):
    body = {"recorded_on": "2022-01-30", "text": "Visit.", "kind": "visit", "iro_id": held["alice"]["id"]}
    note = await api.ok("POST", f"/v1/children/{held['child']['id']}/case-notes", body, status=201,
                        role="integration", sub="mosaic", headers={"X-Event-Source": "mosaic"})  # fmt: skip
    assert note["iro_id"] == held["alice"]["id"]
    [event] = await api.events(type="case_note.recorded")
    assert event.actor == {"sub": "mosaic", "role": "integration", "source": "mosaic"}
    assert str(event.iro_id) == held["alice"]["id"]
    unknown = {**body, "iro_id": str(uuid.uuid4())}
    assert (await api.post(f"/v1/children/{held['child']['id']}/case-notes", unknown)).status_code == 422
    listed = await api.ok("GET", f"/v1/children/{held['child']['id']}/case-notes")
    assert [n["id"] for n in listed["items"]] == [note["id"]]


async def test_record_keeping_dates_are_timed_against_working_day_deadlines(api, held):
    # Held Wed 19 Jan 2022: report due Wed 12 Jan; decisions by Wed 26 Jan; record by Wed 16 Feb.
    dates = {
        "sw_report_received_on": "2022-01-13",
        "decisions_issued_on": "2022-01-26",
        "record_issued_on": "2022-01-31",
    }
    review = await api.ok("PATCH", f"/v1/reviews/{held['review']['id']}", dates)
    keeping = review["record_keeping"]
    assert (keeping["sw_report_due_on"], keeping["sw_report_on_time"]) == ("2022-01-12", False)
    assert (keeping["decisions_due_on"], keeping["decisions_on_time"]) == ("2022-01-26", True)
    assert (keeping["record_due_on"], keeping["record_on_time"]) == ("2022-02-16", True)
    assert (keeping["letter_to_child_due_on"], keeping["letter_to_child_on_time"]) == ("2022-02-16", None)
    early = await api.call("PATCH", f"/v1/reviews/{held['review']['id']}", {"record_issued_on": "2022-01-18"})
    assert early.status_code == 422
    [event] = await api.events(type="review.record_keeping_updated")
    assert event.payload["decisions_issued_on"] == "2022-01-26"


async def test_decisions_have_an_owner_a_due_date_and_a_status(api, held):
    body = {"text": "Arrange contact with sibling.", "owner": "Social worker", "due_on": "2022-02-28"}
    decision = await api.ok("POST", f"/v1/reviews/{held['review']['id']}/decisions", body, status=201)
    assert decision["status"] == "open"
    second = (await api.reviews(held["child"]["id"]))[1]
    not_held = await api.post(f"/v1/reviews/{second['id']}/decisions", body)
    assert not_held.status_code == 409
    api.today(D(2022, 3, 5))
    past_due = await api.ok("GET", "/v1/decisions?status=open&due_before=2022-03-05")
    assert [d["id"] for d in past_due["items"]] == [decision["id"]]
    by_iro = await api.ok("GET", f"/v1/decisions?iro_id={held['alice']['id']}")
    assert [d["id"] for d in by_iro["items"]] == [decision["id"]]
    done = await api.ok("PATCH", f"/v1/decisions/{decision['id']}", {"status": "done", "completed_on": "2022-03-01"})
    assert (done["status"], done["completed_on"]) == ("done", "2022-03-01")
    assert (await api.call("PATCH", f"/v1/decisions/{decision['id']}", {"status": "finished"})).status_code == 422
    assert [e.type for e in await api.events() if e.type.startswith("decision.")] == [
        "decision.recorded",
        "decision.updated",
    ]


async def test_a_rearranged_review_keeps_its_history(api, held):
    second = (await api.reviews(held["child"]["id"]))[1]
    await api.ok(
        "POST", f"/v1/reviews/{second['id']}/rearrangements", {"planned_on": "2022-04-05", "reason": "School trip"}
    )
    moved = await api.ok("POST", f"/v1/reviews/{second['id']}/rearrangements",
                         {"planned_on": "2022-04-12", "reason": "Carer ill"})  # fmt: skip
    assert (moved["planned_on"], moved["due_on"]) == ("2022-04-12", "2022-04-19")
    history = await api.ok("GET", f"/v1/reviews/{second['id']}/rearrangements")
    assert [(h["previous_planned_on"], h["planned_on"], h["reason"]) for h in history["items"]] == [
        (None, "2022-04-05", "School trip"),
        ("2022-04-05", "2022-04-12", "Carer ill"),
    ]


async def test_auditors_read_but_do_not_write(api, held):
    assert (
        await api.get(f"/v1/reviews/{held['review']['id']}", role="auditor", sub="qa@council.gov.uk")
    ).status_code == 200
    body = {"held_on": "2022-01-31", "outcome": "concerns"}
    path = f"/v1/children/{held['child']['id']}/midway-reviews"
    refused = await api.post(path, body, role="auditor", sub="qa@council.gov.uk")
    assert refused.status_code == 403
    assert await api.events(type="midway_review.held") == []


async def test_an_integration_token_may_hold_a_review_but_not_bring_one_forward(api, held):
    second = (await api.reviews(held["child"]["id"]))[1]
    early = await api.post(f"/v1/reviews/{second['id']}/early", {"due_on": "2022-03-01", "reason": "iro_request"},
                           role="integration", sub="mosaic")  # fmt: skip
    assert early.status_code == 403
    api.today(D(2022, 4, 20))
    held_by_mosaic = await api.post(f"/v1/reviews/{second['id']}/held", {"held_on": "2022-04-19"}, role="integration",
                                    sub="mosaic", headers={"X-Event-Source": "mosaic"})  # fmt: skip
    assert held_by_mosaic.status_code == 200
    event = (await api.events(type="review.held"))[-1]
    assert str(event.iro_id) == held["alice"]["id"]  # the allocated IRO's work, posted by Mosaic
    assert event.actor["source"] == "mosaic"
