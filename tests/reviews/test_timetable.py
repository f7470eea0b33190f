"""The statutory review timetable through the API, with concrete dates (DESIGN.md 2.1)."""

import datetime as dt
import uuid

import pytest

D = dt.date


async def test_first_review_due_20_working_days_after_entering_care_across_christmas_2021(api):
    api.today(D(2022, 1, 5))
    child = await api.child()
    period = await api.enter_care(child["id"], "2021-12-20")
    [review] = await api.reviews(child["id"])
    assert (review["sequence"], review["kind"], review["status"]) == (1, "first", "scheduled")
    assert review["due_on"] == review["statutory_due_on"] == "2022-01-20"
    assert review["care_period_id"] == period["id"]
    child_now = await api.ok("GET", f"/v1/children/{child['id']}")
    assert child_now["current_care_period"]["id"] == period["id"]
    types = [e.type for e in await api.events(child_id=uuid.UUID(child["id"]))]
    assert types == ["child.registered", "care_period.started", "review.scheduled"]


async def test_first_review_across_easter_and_the_jubilee_2022(api):
    api.today(D(2022, 6, 1))
    easter, jubilee = await api.child("E1"), await api.child("J1")
    await api.enter_care(easter["id"], "2022-04-11")  # Good Friday 15 Apr, Easter Monday 18 Apr, May Day 2 May
    await api.enter_care(jubilee["id"], "2022-05-20")  # 2 and 3 June
    assert (await api.reviews(easter["id"]))[0]["due_on"] == "2022-05-12"
    assert (await api.reviews(jubilee["id"]))[0]["due_on"] == "2022-06-21"


async def test_second_review_three_months_after_the_first_is_held_clamped_to_month_end(api):
    api.today(D(2024, 1, 10))
    child = await api.child(date_of_birth="2010-01-01")
    await api.enter_care(child["id"], "2022-11-02")  # first due Wed 30 Nov 2022
    first = (await api.reviews(child["id"]))[0]
    assert first["due_on"] == "2022-11-30"
    held = await api.hold(first["id"], "2022-11-30", format="in_person")
    assert (held["status"], held["in_time"]) == ("held", True)
    second = (await api.reviews(child["id"]))[1]
    assert (second["sequence"], second["kind"], second["due_on"]) == (2, "second", "2023-02-28")
    await api.hold(second["id"], "2023-02-28")
    third = (await api.reviews(child["id"]))[2]
    assert (third["kind"], third["due_on"]) == ("subsequent", "2023-08-28")


async def test_second_review_after_a_first_held_on_30_november_2023_is_due_29_february_2024(api):
    api.today(D(2024, 1, 10))
    child = await api.child(date_of_birth="2010-01-01")
    await api.enter_care(child["id"], "2023-11-02")  # first due Thu 30 Nov 2023
    first = (await api.reviews(child["id"]))[0]
    assert first["due_on"] == "2023-11-30"
    await api.hold(first["id"], "2023-11-30")
    assert (await api.reviews(child["id"]))[1]["due_on"] == "2024-02-29"


async def test_a_later_review_after_one_held_on_31_august_2022_is_due_28_february_2023(api):
    api.today(D(2022, 10, 1))
    child = await api.child(date_of_birth="2010-01-01")
    await api.enter_care(child["id"], "2022-04-04")
    first = (await api.reviews(child["id"]))[0]  # due 5 May 2022 (2 May bank holiday)
    assert first["due_on"] == "2022-05-05"
    await api.hold(first["id"], "2022-05-04")
    second = (await api.reviews(child["id"]))[1]
    assert second["due_on"] == "2022-08-04"
    await api.hold(second["id"], "2022-08-31", late_reason="key_people_unavailable")
    third = (await api.reviews(child["id"]))[2]
    assert third["due_on"] == "2023-02-28"


async def test_a_late_first_review_needs_a_reason_and_pushes_the_second(api):
    api.today(D(2022, 3, 1))
    child = await api.child()
    await api.enter_care(child["id"], "2021-12-20")
    first = (await api.reviews(child["id"]))[0]
    refused = await api.post(f"/v1/reviews/{first['id']}/held", {"held_on": "2022-02-03"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "late_reason"]
    unknown = await api.post(f"/v1/reviews/{first['id']}/held", {"held_on": "2022-02-03", "late_reason": "busy"})
    assert unknown.status_code == 422
    assert [e.type for e in await api.events(type="review.held")] == []
    held = await api.hold(first["id"], "2022-02-03", late_reason="late_notification")
    assert (held["in_time"], held["late_reason"]) == (False, "late_notification")
    assert (await api.reviews(child["id"]))[1]["due_on"] == "2022-05-03"  # from the date held, not due


async def test_an_overdue_review_is_derived_from_today(api):
    child = await api.child()
    api.today(D(2022, 1, 20))
    await api.enter_care(child["id"], "2021-12-20")
    assert (await api.reviews(child["id"]))[0]["status"] == "scheduled"
    api.today(D(2022, 1, 21))
    review = (await api.reviews(child["id"]))[0]
    assert review["status"] == "overdue"
    overdue = await api.ok("GET", "/v1/reviews?status=overdue")
    assert [r["id"] for r in overdue["items"]] == [review["id"]]
    assert (await api.ok("GET", "/v1/reviews?status=scheduled"))["items"] == []


async def test_an_early_review_moves_due_on_but_in_time_is_judged_on_the_statutory_date(api):
    api.today(D(2022, 1, 12))
    child = await api.child()
    await api.enter_care(child["id"], "2021-12-20")
    review = (await api.reviews(child["id"]))[0]
    early = await api.ok("POST", f"/v1/reviews/{review['id']}/early", {"due_on": "2022-01-10", "reason": "iro_request"})
    assert (early["due_on"], early["statutory_due_on"], early["early_reason"]) == (
        "2022-01-10",
        "2022-01-20",
        "iro_request",
    )
    assert early["status"] == "overdue"  # past the working due date
    later = await api.post(f"/v1/reviews/{review['id']}/early", {"due_on": "2022-01-25", "reason": "iro_request"})
    assert later.status_code == 422
    bad = await api.post(f"/v1/reviews/{review['id']}/early", {"due_on": "2022-01-05", "reason": "because"})
    assert bad.status_code == 422
    held = await api.hold(review["id"], "2022-01-12")
    assert held["in_time"] is True
    [event] = await api.events(type="review.brought_forward")
    assert event.payload["reason"] == "iro_request"


@pytest.mark.parametrize(("setting", "expected_due"), [(True, "2022-03-16"), (False, "2022-04-18")])
async def test_an_unplanned_placement_change_brings_the_review_forward_only_with_the_setting(
    api, setting, expected_due
):
    api.app.state.settings = api.settings.model_copy(update={"placement_change_review": setting})
    api.today(D(2022, 2, 20))
    child = await api.child()
    await api.enter_care(child["id"], "2021-12-20")
    await api.hold((await api.reviews(child["id"]))[0]["id"], "2022-01-18")  # second due 18 Apr 2022
    change = {"changed_on": "2022-02-16", "placement_type": "U6", "unplanned": True}
    await api.ok("POST", f"/v1/children/{child['id']}/placement-changes", change, status=201)
    second = (await api.reviews(child["id"]))[1]
    assert (second["due_on"], second["statutory_due_on"]) == (expected_due, "2022-04-18")
    assert len(await api.events(type="review.brought_forward")) == (1 if setting else 0)
    period = (await api.ok("GET", f"/v1/children/{child['id']}"))["current_care_period"]
    assert period["placement_type"] == "U6"


async def test_leaving_care_misses_an_overdue_review_and_cancels_one_not_yet_due(api):
    api.today(D(2022, 3, 1))
    overdue, not_due = await api.child("O1"), await api.child("N1")
    overdue_period = await api.enter_care(overdue["id"], "2021-12-20")  # due 20 Jan 2022
    not_due_period = await api.enter_care(not_due["id"], "2022-02-14")  # due 14 Mar 2022
    end = {"ended_on": "2022-02-28", "reason": "E4A"}
    await api.ok("POST", f"/v1/children/{overdue['id']}/care-periods/{overdue_period['id']}/end", end)
    await api.ok("POST", f"/v1/children/{not_due['id']}/care-periods/{not_due_period['id']}/end", end)
    assert (await api.reviews(overdue["id"]))[0]["status"] == "missed"
    assert (await api.reviews(not_due["id"]))[0]["status"] == "cancelled"
    assert sorted(
        e.type for e in await api.events() if e.type.startswith("review.") and e.type != "review.scheduled"
    ) == ["review.cancelled", "review.missed"]
    held = await api.post(f"/v1/reviews/{(await api.reviews(not_due['id']))[0]['id']}/held", {"held_on": "2022-02-20"})
    assert held.status_code == 409
    assert held.json()["current_state"] == "cancelled"


async def test_re_entering_care_restarts_the_cycle_at_a_first_review(api):
    api.today(D(2022, 9, 1))
    child = await api.child()
    period = await api.enter_care(child["id"], "2021-12-20")
    await api.hold((await api.reviews(child["id"]))[0]["id"], "2022-01-18")
    again = await api.post(
        f"/v1/children/{child['id']}/care-periods", {"started_on": "2022-02-01", "legal_status": "C2"}
    )
    assert again.status_code == 409  # one open period at a time
    await api.ok("POST", f"/v1/children/{child['id']}/care-periods/{period['id']}/end",
                 {"ended_on": "2022-03-01", "reason": "E13"})  # fmt: skip
    before = await api.post(
        f"/v1/children/{child['id']}/care-periods", {"started_on": "2022-02-15", "legal_status": "C2"}
    )
    assert before.status_code == 422
    second_period = await api.enter_care(child["id"], "2022-08-01")
    reviews = await api.reviews(child["id"])
    latest = [r for r in reviews if r["care_period_id"] == second_period["id"]]
    assert [(r["sequence"], r["kind"], r["due_on"]) for r in latest] == [(1, "first", "2022-08-30")]
    assert [r["status"] for r in reviews if r["care_period_id"] == period["id"]] == ["held", "cancelled"]


async def test_a_short_break_child_is_reviewed_within_3_months_then_6(api):
    api.today(D(2022, 9, 1))
    child = await api.child()
    period = await api.enter_care(child["id"], "2022-01-31", legal_status="V3")
    assert period["short_break"] is True
    first = (await api.reviews(child["id"]))[0]
    assert first["due_on"] == "2022-04-30"
    await api.hold(first["id"], "2022-04-28")
    assert (await api.reviews(child["id"]))[1]["due_on"] == "2022-10-28"


async def test_no_review_is_scheduled_or_held_on_or_after_the_18th_birthday(api):
    api.today(D(2022, 6, 1))
    child = await api.child(date_of_birth="2004-08-15")  # 18 on 15 Aug 2022
    await api.enter_care(child["id"], "2021-12-20")
    first = (await api.reviews(child["id"]))[0]
    await api.hold(first["id"], "2022-01-19")
    second = (await api.reviews(child["id"]))[1]
    assert second["due_on"] == "2022-04-19"
    await api.hold(second["id"], "2022-04-19")
    assert len(await api.reviews(child["id"])) == 2  # the third would be due 19 Oct 2022, after the birthday
    late_starter = await api.child("L18", date_of_birth="2004-06-20")  # 18 on 20 Jun 2022
    await api.enter_care(late_starter["id"], "2022-05-30")  # first would be due 29 Jun 2022
    assert await api.reviews(late_starter["id"]) == []
    api.today(D(2022, 8, 16))
    assert (await api.ok("GET", f"/v1/children/{child['id']}"))["current_care_period"] is None


async def test_a_review_still_scheduled_on_the_18th_birthday_is_closed_by_it(api):
    api.today(D(2022, 6, 1))
    child = await api.child(date_of_birth="2004-07-01")  # 18 on 1 Jul 2022
    await api.enter_care(child["id"], "2022-05-30")  # first due Wed 29 Jun 2022 (2 and 3 June holidays)
    review = (await api.reviews(child["id"]))[0]
    assert review["due_on"] == "2022-06-29"
    api.today(D(2022, 7, 2))
    refused = await api.post(f"/v1/reviews/{review['id']}/held", {"held_on": "2022-07-01", "late_reason": "other",
                                                                  "late_reason_detail": "x"})  # fmt: skip
    assert refused.status_code == 422  # held on the 18th birthday
    assert (await api.reviews(child["id"]))[0]["status"] == "missed"  # its statutory date had passed


async def test_a_series_of_meetings_is_timed_by_its_first_meeting(api):
    api.today(D(2022, 2, 10))
    child = await api.child()
    await api.enter_care(child["id"], "2021-12-20")
    review = (await api.reviews(child["id"]))[0]
    mismatch = await api.post(f"/v1/reviews/{review['id']}/held",
                              {"held_on": "2022-01-25", "meeting_dates": ["2022-01-19", "2022-01-25"]})  # fmt: skip
    assert mismatch.status_code == 422
    held = await api.hold(review["id"], "2022-01-19", meeting_dates=["2022-01-25", "2022-01-19"], format="hybrid")
    assert (held["held_on"], held["in_time"], held["meeting_dates"]) == (
        "2022-01-19",
        True,
        ["2022-01-19", "2022-01-25"],
    )


async def test_impossible_held_dates_are_refused_and_change_nothing(api):
    api.today(D(2022, 1, 15))
    child = await api.child()
    await api.enter_care(child["id"], "2021-12-20")
    review = (await api.reviews(child["id"]))[0]
    for held_on in ("2021-12-19", "2022-01-16"):  # before entering care; still to come
        refused = await api.post(f"/v1/reviews/{review['id']}/held", {"held_on": held_on})
        assert refused.status_code == 422, held_on
        assert refused.json()["errors"][0]["loc"] == ["body", "held_on"]
    await api.hold(review["id"], "2022-01-14")
    twice = await api.post(f"/v1/reviews/{review['id']}/held", {"held_on": "2022-01-14"})
    assert twice.status_code == 409
    assert len(await api.events(type="review.held")) == 1
    assert (
        await api.post("/v1/reviews/00000000-0000-0000-0000-000000000000/held", {"held_on": "2022-01-14"})
    ).status_code == 404


async def test_codes_not_in_the_reference_lists_are_refused(api):
    api.today(D(2022, 1, 15))
    child = await api.child()
    bad_status = await api.post(
        f"/v1/children/{child['id']}/care-periods", {"started_on": "2022-01-03", "legal_status": "Z9"}
    )
    assert bad_status.status_code == 422
    assert bad_status.json()["errors"][0]["loc"] == ["body", "legal_status"]
    bad_place = await api.post(f"/v1/children/{child['id']}/care-periods",
                               {"started_on": "2022-01-03", "legal_status": "C2", "placement_type": "Q1"})  # fmt: skip
    assert bad_place.status_code == 422
    period = await api.enter_care(child["id"], "2022-01-03")
    bad_reason = await api.post(f"/v1/children/{child['id']}/care-periods/{period['id']}/end",
                                {"ended_on": "2022-01-10", "reason": "E99"})  # fmt: skip
    assert bad_reason.status_code == 422
    assert [e.type for e in await api.events(type="care_period.ended")] == []
