"""`PATCH /v1/children/{id}`: case systems correct children's details, dates of birth above all. A new
date of birth moves the 18th birthday (Children Act 1989 s105), so the timetable of unheld reviews is
recomputed against it; held reviews are kept and flagged (docs/reviews.md, "Correcting a child")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

D = dt.date


async def patch(api, child_id: str, body: Any, **kwargs: Any):
    return await api.call("PATCH", f"/v1/children/{child_id}", body, **kwargs)


async def corrected(api, child_id: str, body: Any, **kwargs: Any) -> dict[str, Any]:
    return await api.ok("PATCH", f"/v1/children/{child_id}", body, **kwargs)


async def payloads(api, type_: str, child_id: str) -> list[dict[str, Any]]:
    return [e.payload for e in await api.events(type=type_, child_id=uuid.UUID(child_id))]


def problem_of(response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{type_}"
    return problem


# --- Each field ---------------------------------------------------------------------------------


async def test_a_corrected_date_of_birth_is_stored_and_written_with_the_previous_one(api):
    api.today(D(2025, 3, 3))
    child = await api.child(date_of_birth="2012-05-01")
    got = await corrected(api, child["id"], {"date_of_birth": "2012-06-01"}, role="integration", sub="mosaic")
    assert (got["id"], got["date_of_birth"], got["eighteenth_birthday"]) == (child["id"], "2012-06-01", "2030-06-01")
    assert (await api.ok("GET", f"/v1/children/{child['id']}"))["date_of_birth"] == "2012-06-01"
    [event] = await api.events(type="child.updated")
    assert event.payload == {
        "child_id": child["id"],
        "changed": ["date_of_birth"],
        "date_of_birth": "2012-06-01",
        "previous_date_of_birth": "2012-05-01",
        "schema_version": 1,
    }
    assert (event.subject_type, event.subject_id, event.actor["role"]) == ("child", child["id"], "integration")
    # No care period, no timetable to recompute.
    assert await api.events(type="review.timetable_recomputed") == []


async def test_a_name_is_listed_as_changed_but_never_written_to_the_footprint(api):
    api.today(D(2025, 3, 3))
    child = await api.child()
    got = await corrected(api, child["id"], {"display_name": "Samira"})
    assert got["display_name"] == "Samira"
    [payload] = await payloads(api, "child.updated", child["id"])
    assert payload == {"child_id": child["id"], "changed": ["display_name"], "schema_version": 1}
    assert "Samira" not in str(payload)


async def test_sex_and_uasc_are_written_with_their_new_values_and_may_be_cleared(api):
    api.today(D(2025, 3, 3))
    child = await api.child()
    got = await corrected(api, child["id"], {"sex": "female", "uasc": True})
    assert (got["sex"], got["uasc"]) == ("female", True)
    cleared = await corrected(api, child["id"], {"sex": None, "display_name": None, "uasc": False})
    assert (cleared["sex"], cleared["uasc"], cleared["display_name"]) == (None, False, None)
    assert await payloads(api, "child.updated", child["id"]) == [
        {"child_id": child["id"], "changed": ["sex", "uasc"], "sex": "female", "uasc": True, "schema_version": 1},
        # display_name was already null: unchanged, not listed.
        {"child_id": child["id"], "changed": ["sex", "uasc"], "sex": None, "uasc": False, "schema_version": 1},
    ]


async def test_the_same_values_change_nothing_and_write_no_event(api):
    api.today(D(2025, 3, 3))
    child = await api.child(date_of_birth="2012-05-01")
    await corrected(api, child["id"], {"display_name": "Sam", "sex": "male", "uasc": False})
    before = await api.events(child_id=uuid.UUID(child["id"]))
    same = {"date_of_birth": "2012-05-01", "display_name": "Sam", "sex": "male", "uasc": False}
    got = await corrected(api, child["id"], same)
    assert (got["date_of_birth"], got["display_name"], got["sex"], got["uasc"]) == ("2012-05-01", "Sam", "male", False)
    assert await api.events(child_id=uuid.UUID(child["id"])) == before


async def test_refused_corrections_change_nothing(api):
    api.today(D(2025, 3, 3))
    child = await api.child(date_of_birth="2012-05-01")
    await api.enter_care(child["id"], "2024-09-02")
    before = await api.events()

    problem = problem_of(await patch(api, child["id"], {}), 422, "nothing-to-update")
    assert problem["errors"][0]["loc"] == ["body"]
    problem = problem_of(await patch(api, child["id"], {"date_of_birth": None}), 422, "null-not-allowed")
    assert problem["errors"][0]["loc"] == ["body", "date_of_birth"]
    problem = problem_of(await patch(api, child["id"], {"date_of_birth": "2025-03-04"}), 422, "date-in-future")
    assert problem["errors"][0]["loc"] == ["body", "date_of_birth"]
    assert "2025-03-04" not in problem["detail"]
    after_care = await patch(api, child["id"], {"date_of_birth": "2024-09-03"})
    problem = problem_of(after_care, 422, "date-of-birth-after-care")
    assert problem["errors"][0]["loc"] == ["body", "date_of_birth"]
    assert "2024-09-02" in problem["detail"] and "2024-09-03" not in problem["detail"]
    unknown_field = await patch(api, child["id"], {"la_reference": "NEW"})
    assert unknown_field.status_code == 422
    bad_sex = await patch(api, child["id"], {"sex": "x"})
    assert bad_sex.status_code == 422
    assert (await patch(api, str(uuid.uuid4()), {"sex": "male"})).status_code == 404

    assert (await api.ok("GET", f"/v1/children/{child['id']}"))["date_of_birth"] == "2012-05-01"
    assert await api.events() == before


async def test_a_date_of_birth_after_a_review_held_is_refused(api):
    api.today(D(2025, 3, 3))
    child = await api.child(date_of_birth="2012-05-01")
    await api.enter_care(child["id"], "2024-09-02")
    first = (await api.reviews(child["id"]))[0]
    await api.hold(first["id"], "2024-09-30")
    # The care period's start is the first date it breaks; the birth may be on the day care began.
    problem_of(await patch(api, child["id"], {"date_of_birth": "2024-10-01"}), 422, "date-of-birth-after-care")
    assert (await corrected(api, child["id"], {"date_of_birth": "2024-09-02"}))["date_of_birth"] == "2024-09-02"


async def test_roles_follow_the_role_table(api):
    api.today(D(2025, 3, 3))
    child = await api.child()
    for role, status in (("iro", 200), ("manager", 200), ("admin", 200), ("integration", 200), ("auditor", 403)):
        response = await patch(api, child["id"], {"display_name": f"Sam {role}"}, role=role, sub=f"{role}@x.gov.uk")
        assert response.status_code == status, (role, response.text)


# --- The timetable of unheld reviews ------------------------------------------------------------


async def care_with_two_held(api, date_of_birth: str) -> tuple[str, list[dict[str, Any]]]:
    """A child in care from Mon 2 Sep 2024: the first review (due 30 Sep) held on 30 Sep, the second
    (due 30 Dec) held on 20 Dec, so a third is due 20 Jun 2025 when the 18th birthday allows it."""
    api.today(D(2025, 3, 3))
    child = await api.child(date_of_birth=date_of_birth)
    await api.enter_care(child["id"], "2024-09-02")
    first = (await api.reviews(child["id"]))[0]
    assert first["due_on"] == "2024-09-30"
    await api.hold(first["id"], "2024-09-30")
    second = (await api.reviews(child["id"]))[1]
    assert second["due_on"] == "2024-12-30"
    await api.hold(second["id"], "2024-12-20")
    return child["id"], await api.reviews(child["id"])


async def test_a_correction_moving_the_18th_birthday_before_the_next_review_cancels_it(api):
    child, reviews = await care_with_two_held(api, "2008-01-10")  # 18 on 10 Jan 2026
    third = reviews[2]
    assert (third["sequence"], third["due_on"], third["status"]) == (3, "2025-06-20", "scheduled")

    got = await corrected(api, child, {"date_of_birth": "2007-05-01"})  # 18 on 1 May 2025
    assert got["eighteenth_birthday"] == "2025-05-01"
    after = await api.reviews(child)
    assert [r["status"] for r in after] == ["held", "held", "cancelled"]
    assert (after[2]["id"], after[2]["closed_on"], after[2]["due_on"]) == (third["id"], "2025-03-03", "2025-06-20")

    types = [e.type for e in await api.events(child_id=uuid.UUID(child))]
    assert types[-3:] == ["child.updated", "review.cancelled", "review.timetable_recomputed"]
    [cancelled] = await payloads(api, "review.cancelled", child)
    assert (cancelled["review_id"], cancelled["closed_on"]) == (third["id"], "2025-03-03")
    [recomputed] = await payloads(api, "review.timetable_recomputed", child)
    assert recomputed == {
        "child_id": child,
        "reason": "date_of_birth_corrected",
        "eighteenth_birthday": "2025-05-01",
        "reviews": [
            {
                "review_id": third["id"],
                "care_period_id": third["care_period_id"],
                "sequence": 3,
                "previous_status": "scheduled",
                "status": "cancelled",
                "previous_due_on": "2025-06-20",
                "due_on": "2025-06-20",
            }
        ],
        "schema_version": 1,
    }
    # The cancelled review is no longer due: it cannot be held, and it is neither overdue nor missed.
    api.today(D(2025, 7, 1))
    assert (await api.reviews(child))[2]["status"] == "cancelled"
    assert (await api.post(f"/v1/reviews/{third['id']}/held", {"held_on": "2025-04-01"})).status_code == 409


async def test_a_correction_whose_18th_birthday_has_passed_closes_the_review_on_that_day(api):
    child, _ = await care_with_two_held(api, "2008-01-10")
    await corrected(api, child, {"date_of_birth": "2007-01-21"})  # 18 on 21 Jan 2025, before today (3 Mar)
    third = (await api.reviews(child))[2]
    assert (third["status"], third["closed_on"]) == ("cancelled", "2025-01-21")


async def test_a_correction_moving_the_18th_birthday_later_schedules_the_next_review(api):
    child, reviews = await care_with_two_held(api, "2007-05-01")  # 18 on 1 May 2025
    assert len(reviews) == 2  # the third would be due 20 Jun 2025, after the 18th birthday

    await corrected(api, child, {"date_of_birth": "2008-01-10"})  # 18 on 10 Jan 2026
    after = await api.reviews(child)
    assert [(r["sequence"], r["status"], r["due_on"], r["statutory_due_on"]) for r in after] == [
        (1, "held", "2024-09-30", "2024-09-30"),
        (2, "held", "2024-12-30", "2024-12-30"),
        (3, "scheduled", "2025-06-20", "2025-06-20"),  # six months from the second, as holding it computes
    ]
    third = after[2]
    [scheduled] = [p for p in await payloads(api, "review.scheduled", child) if p["sequence"] == 3]
    assert (scheduled["review_id"], scheduled["kind"], scheduled["due_on"]) == (third["id"], "subsequent", "2025-06-20")
    [recomputed] = await payloads(api, "review.timetable_recomputed", child)
    assert (recomputed["eighteenth_birthday"], recomputed["reviews"]) == (
        "2026-01-10",
        [
            {
                "review_id": third["id"],
                "care_period_id": third["care_period_id"],
                "sequence": 3,
                "previous_status": None,
                "status": "scheduled",
                "previous_due_on": None,
                "due_on": "2025-06-20",
            }
        ],
    )
    # It is the real next review: holding it schedules the fourth.
    await api.hold(third["id"], "2025-03-01")
    assert [(r["sequence"], r["due_on"]) for r in await api.reviews(child)][3] == (4, "2025-09-01")


async def test_a_first_review_kept_off_by_the_old_birthday_is_scheduled_from_the_start(api):
    api.today(D(2022, 6, 1))
    child = await api.child(date_of_birth="2004-06-20")  # 18 on 20 Jun 2022
    await api.enter_care(child["id"], "2022-05-30")  # the first would be due 29 Jun 2022
    assert await api.reviews(child["id"]) == []
    await corrected(api, child["id"], {"date_of_birth": "2004-09-20"})
    [first] = await api.reviews(child["id"])
    assert (first["sequence"], first["kind"], first["due_on"], first["status"]) == (
        1,
        "first",
        "2022-06-29",
        "scheduled",
    )


async def test_correcting_back_schedules_the_cancelled_review_again(api):
    child, reviews = await care_with_two_held(api, "2008-01-10")
    third = reviews[2]
    await corrected(api, child, {"date_of_birth": "2007-05-01"})
    await corrected(api, child, {"date_of_birth": "2008-01-10"})
    after = await api.reviews(child)
    assert len(after) == 3
    assert (after[2]["id"], after[2]["status"], after[2]["closed_on"], after[2]["due_on"]) == (
        third["id"],
        "scheduled",
        None,
        "2025-06-20",
    )
    recomputed = await payloads(api, "review.timetable_recomputed", child)
    assert [(r["previous_status"], r["status"]) for r in recomputed[1]["reviews"]] == [("cancelled", "scheduled")]


async def test_a_correction_that_leaves_the_timetable_as_it_was_still_says_it_was_recomputed(api):
    child, reviews = await care_with_two_held(api, "2008-01-10")
    await corrected(api, child, {"date_of_birth": "2008-02-10"})
    assert await api.reviews(child) == reviews
    [recomputed] = await payloads(api, "review.timetable_recomputed", child)
    assert (recomputed["eighteenth_birthday"], recomputed["reviews"]) == ("2026-02-10", [])
    assert await api.events(type="review.cancelled") == await api.events(type="review.missed") == []


async def test_an_early_review_still_due_before_the_new_18th_birthday_stays(api):
    child, reviews = await care_with_two_held(api, "2008-01-10")
    third = reviews[2]
    await api.ok("POST", f"/v1/reviews/{third['id']}/early", {"due_on": "2025-04-01", "reason": "iro_request"})
    await corrected(api, child, {"date_of_birth": "2007-05-01"})  # 18 on 1 May 2025, after the early due date
    after = (await api.reviews(child))[2]
    assert (after["status"], after["due_on"], after["statutory_due_on"]) == ("scheduled", "2025-04-01", "2025-06-20")


async def test_an_ended_care_period_is_left_as_it_ended(api):
    child, reviews = await care_with_two_held(api, "2007-05-01")
    period = reviews[0]["care_period_id"]
    await api.ok("POST", f"/v1/children/{child}/care-periods/{period}/end", {"ended_on": "2025-01-15", "reason": "E4A"})
    await corrected(api, child, {"date_of_birth": "2008-01-10"})
    assert len(await api.reviews(child)) == 2  # no review is scheduled in a period that has ended
    [recomputed] = await payloads(api, "review.timetable_recomputed", child)
    assert recomputed["reviews"] == []


# --- Held reviews are kept and flagged ----------------------------------------------------------


async def test_a_held_review_now_on_or_after_the_18th_birthday_is_flagged_not_dropped(api):
    child, reviews = await care_with_two_held(api, "2007-01-10")  # 18 on 10 Jan 2025: no third review
    assert [r["problems"] for r in reviews] == [[], []]
    await corrected(api, child, {"date_of_birth": "2006-12-20"})  # 18 on 20 Dec 2024: the second held that day
    first, second = await api.reviews(child)
    assert (first["problems"], second["problems"]) == ([], ["held_on_or_after_18th_birthday"])
    assert (second["status"], second["held_on"]) == ("held", "2024-12-20")
    one = await api.ok("GET", f"/v1/reviews/{second['id']}")
    assert one["problems"] == ["held_on_or_after_18th_birthday"]
    listed = await api.ok("GET", "/v1/reviews", params={"child_id": child, "status": "held"})
    assert [r["problems"] for r in listed["items"]] == [[], ["held_on_or_after_18th_birthday"]]
    # Correcting it back clears the flag: it is read from the date of birth, never stored.
    await corrected(api, child, {"date_of_birth": "2007-01-10"})
    assert [r["problems"] for r in await api.reviews(child)] == [[], []]
