"""The annual report's dataset over a fixture worked out by hand: three children, two IROs, every theme
touched, through the gateway and the real services (tests/gateway/conftest.py).

The period is 1 April 2022 to 31 March 2023 (today 20 April 2023); the platform went live on 1 April
2022 (`GATEWAY_REPORT_PLATFORM_FROM`), so the year earlier has records only for the themes a 903
backfill or case system brings (children, reviews, timeliness, participation codes).

The story (each review held early is in time; the statutory due date of each is asserted first):

- A, born 2010-01-01, looked after from 2021-06-01, IRO Alice. Held: 1 on 2021-06-15, 2 on 2021-09-10
  (due 09-15), 3 on 2022-03-08 (due 03-10), 4 on 2022-09-01 (due 09-08); 5, due 2023-03-01, not held:
  overdue.
- B, born 2020-06-01, looked after from 2022-05-02, IRO Bob. Held: 1 on 2022-05-20; 2 on 2022-08-24
  (due 08-20: late, key people unavailable); 3 on 2023-02-20 (due 2023-02-24).
- C, born 2008-03-01, looked after 2021-09-01 to 2022-09-30, IRO Alice, Bob from 2022-07-01. Held: 1
  on 2021-09-20; 2 on 2021-12-22 (due 12-20: late); 3 on 2022-06-20 (due 06-22).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.gateway.conftest import Gateway, platform

TODAY = dt.date(2023, 4, 20)
PERIOD = {"from": "2022-04-01", "to": "2023-03-31"}
ALICE, BOB = "alice@council.gov.uk", "bob@council.gov.uk"


def rate(numerator: int, denominator: int, pct: float | None) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "pct": pct}


async def hold(gw: Gateway, child_id: str, sequence: int, held_on: str, due: str, **fields: Any) -> str:
    """Hold the child's review `sequence` on `held_on`, after checking its statutory due date is `due`."""
    reviews = (await gw.ok("GET", f"/v1/children/{child_id}/reviews"))["items"]
    review = next(r for r in reviews if r["sequence"] == sequence)
    assert review["statutory_due_on"] == due, (child_id, sequence, review)
    await gw.ok("POST", f"/v1/reviews/{review['id']}/held", {"held_on": held_on, **fields})
    return str(review["id"])


async def code(gw: Gateway, review_id: str, participation_code: str, **fields: Any) -> None:
    await gw.ok("PUT", f"/v1/participation/{review_id}", {"code": participation_code, **fields})


@pytest.fixture
async def story(session, database_url):
    overrides = {"report_platform_from": dt.date(2022, 4, 1)}
    async with platform(session, database_url, today=TODAY, gateway_overrides=overrides) as gw:
        alice = await gw.ok("POST", "/v1/iros", {"name": "Alice", "email": ALICE, "fte": 1}, status=201)
        bob = await gw.ok("POST", "/v1/iros", {"name": "Bob", "email": BOB, "fte": 0.5}, status=201)
        # Registered at go-live, each IRO's FTE dated from when they started; Bob goes up to 0.8 FTE
        # after the period: the report shows the 0.5 of 31 March.
        await gw.ok("PATCH", f"/v1/iros/{alice['id']}", {"fte": 1, "changes_from": "2021-04-01"})
        await gw.ok("PATCH", f"/v1/iros/{bob['id']}", {"fte": 0.5, "changes_from": "2021-04-01"})
        await gw.ok("PATCH", f"/v1/iros/{bob['id']}", {"fte": 0.8, "changes_from": "2023-04-10"})

        children = {}
        for name, born, started, iro in (
            ("A", "2010-01-01", "2021-06-01", alice),
            ("B", "2020-06-01", "2022-05-02", bob),
            ("C", "2008-03-01", "2021-09-01", alice),
        ):
            child = await gw.ok("POST", "/v1/children", {"la_reference": name, "date_of_birth": born}, status=201)
            began = {"started_on": started, "legal_status": "C2"}
            await gw.ok("POST", f"/v1/children/{child['id']}/care-periods", began, status=201)
            await gw.ok("PUT", f"/v1/children/{child['id']}/iro", {"iro_id": iro["id"], "allocated_on": started})
            children[name] = child["id"]
        a, b, c = children["A"], children["B"], children["C"]

        a1 = await hold(gw, a, 1, "2021-06-15", "2021-06-29")
        a2 = await hold(gw, a, 2, "2021-09-10", "2021-09-15")
        a3 = await hold(gw, a, 3, "2022-03-08", "2022-03-10")
        a4 = await hold(gw, a, 4, "2022-09-01", "2022-09-08", chaired_by_child="co_chair", format="in_person")
        c1 = await hold(gw, c, 1, "2021-09-20", "2021-09-29")
        c2 = await hold(gw, c, 2, "2021-12-22", "2021-12-20", late_reason="key_people_unavailable")
        c3 = await hold(gw, c, 3, "2022-06-20", "2022-06-22", chaired_by_child="no", format="virtual")
        await gw.ok("PUT", f"/v1/children/{c}/iro", {"iro_id": bob["id"], "allocated_on": "2022-07-01"})
        period = (await gw.ok("GET", f"/v1/children/{c}/care-periods"))["items"][0]
        await gw.ok("POST", f"/v1/children/{c}/care-periods/{period['id']}/end",
                    {"ended_on": "2022-09-30", "reason": "E11"})  # fmt: skip
        b1 = await hold(gw, b, 1, "2022-05-20", "2022-05-30")
        b2 = await hold(gw, b, 2, "2022-08-24", "2022-08-20", late_reason="key_people_unavailable")
        await hold(gw, b, 3, "2023-02-20", "2023-02-24")  # left uncoded

        for review_id, pn in (
            (a1, "PN1"),
            (a2, "PN1"),
            (a3, "PN1"),
            (c1, "PN5"),
            (c2, "PN7"),
            (b1, "PN0"),
            (b2, "PN0"),
        ):
            await code(gw, review_id, pn)
        await code(gw, a4, "PN1", methods=["in_person"], met_iro_before=True, interpreter_used=False,
                   parents=[{"relationship": "mother", "participation": "attended"}])  # fmt: skip
        await code(gw, c3, "PN6", methods=["consultation_form"], interpreter_used=True,
                   parents=[{"relationship": "father", "participation": "not_invited"}])  # fmt: skip
        # A4's paperwork: the social worker's report exactly 5 working days before (29 August 2022 is a
        # bank holiday), decisions in 2 working days, the record late (over 20 working days), the letter.
        await gw.ok("PATCH", f"/v1/reviews/{a4}", {
            "sw_report_received_on": "2022-08-24", "decisions_issued_on": "2022-09-05",
            "record_issued_on": "2022-10-20", "letter_to_child_sent_on": "2022-09-20",
        })  # fmt: skip

        await gw.ok("POST", f"/v1/children/{a}/midway-reviews", {"held_on": "2022-12-01", "outcome": "on_track"},
                    role="iro", sub=ALICE, status=201)  # fmt: skip
        for day in ("2022-12-05", "2023-01-09"):
            await gw.ok("POST", f"/v1/children/{a}/case-notes", {"recorded_on": day, "text": "Visited."},
                        role="iro", sub=ALICE, status=201)  # fmt: skip

        formal = await gw.ok("POST", "/v1/escalations", {
            "kind": "formal", "scope": "child", "child_ids": [c], "category": "care_plan_not_completed",
            "team": "Team 2", "summary": "No updated care plan.", "raised_on": "2022-07-04",
        }, role="iro", sub=ALICE, status=201)  # fmt: skip
        await gw.ok("POST", f"/v1/escalations/{formal['id']}/resolve",
                    {"resolved_on": "2022-07-11", "outcome": "Care plan shared."}, role="iro", sub=ALICE)  # fmt: skip
        await gw.ok("POST", "/v1/escalations", {
            "kind": "alert", "scope": "child", "child_ids": [a], "category": "permanence_delay",
            "team": "Team 1", "summary": "Matching delayed.", "raised_on": "2022-10-03",
        }, role="iro", sub=ALICE, status=201)  # fmt: skip
        commended = {"child_id": b, "team": "Fostering", "summary": "Great carers.", "raised_on": "2022-11-01"}
        await gw.ok("POST", "/v1/commendations", commended, role="iro", sub=BOB, status=201)
        await gw.ok("POST", "/v1/feedback", {"respondent": "child", "channel": "paper", "review_id": b1,
                                             "answers": {}, "received_on": "2022-06-01"}, status=201)  # fmt: skip
        await gw.ok("POST", "/v1/advocacy-referrals", {"child_id": a, "referred_on": "2022-10-10",
                                                       "provider": "Coram Voice"}, status=201)  # fmt: skip
        yield gw, {"alice": alice["id"], "bob": bob["id"], **children}


async def test_children_looked_after_and_continuity(story):
    gw, _ = story
    report = await gw.ok("GET", "/v1/reports/annual", params=PERIOD, role="auditor")
    assert report["period"] == {"from": "2022-04-01", "to": "2023-03-31", "as_of": "2023-03-31"}
    assert report["previous_period"] == {"from": "2021-04-01", "to": "2022-03-31", "as_of": "2022-03-31"}
    assert (report["records_from"], report["platform_from"]) == ("2021-06-01", "2022-04-01")
    children = report["children"]
    assert children["data_from"] == "2021-06-01"
    assert children["current"] == {
        "looked_after_at_start": 2, "looked_after_at_end": 2, "looked_after_during": 3, "started": 1, "ceased": 1,
    }  # fmt: skip
    assert children["previous"] == {
        "looked_after_at_start": 0, "looked_after_at_end": 2, "looked_after_during": 2, "started": 2, "ceased": 0,
    }  # fmt: skip
    # Only A was looked after all year, with Alice throughout.
    assert report["continuity"]["current"] == {"looked_after_throughout": 1, "kept_one_iro": rate(1, 1, 100.0)}
    assert report["continuity"]["previous"] is None  # before the platform: no data, never zeros


async def test_staffing_as_it_stood_at_the_periods_end(story):
    gw, _ = story
    staffing = (await gw.ok("GET", "/v1/reports/annual", params=PERIOD))["staffing"]
    assert staffing["previous"] is None
    now = staffing["current"]
    assert (now["as_of"], now["iros"], now["fte"], now["children_allocated"], now["unallocated"]) == (
        "2023-03-31", 2, 1.5, 2, 0,
    )  # fmt: skip
    assert now["caseload_per_fte"] == {"value": 1.3, "numerator": 2, "denominator": 1.5}
    assert now["within_guidance"] == rate(2, 2, 100.0)
    assert now["by_band"] == {"below": 2, "within": 0, "above": 0}
    assert (now["guidance_lower"], now["guidance_upper"]) == (50, 70)
    assert [(i["name"], i["fte"], i["caseload"], i["caseload_per_fte"]) for i in now["per_iro"]] == [
        ("Alice", 1.0, 1, 1.0), ("Bob", 0.5, 1, 2.0),
    ]  # fmt: skip


async def test_reviews_and_timeliness_both_years(story):
    gw, _ = story
    report = await gw.ok("GET", "/v1/reports/annual", params=PERIOD)
    now, then = report["reviews"]["current"], report["reviews"]["previous"]
    assert (now["held"], now["not_judged"]) == (5, 0)
    assert now["by_sequence"] == [
        {"sequence": "first", "held": 1, "in_time": rate(1, 1, 100.0)},
        {"sequence": "second", "held": 1, "in_time": rate(0, 1, 0.0)},
        {"sequence": "subsequent", "held": 3, "in_time": rate(3, 3, 100.0)},
    ]
    assert then["held"] == 5
    assert [s["in_time"] for s in then["by_sequence"]] == [rate(2, 2, 100.0), rate(1, 2, 50.0), rate(1, 1, 100.0)]

    timeliness = report["timeliness"]["current"]
    assert timeliness["reviews_in_time"] == rate(4, 5, 80.0)
    assert timeliness["children_all_in_time"] == rate(1, 3, 33.3)  # C; A has one overdue, B one late
    assert timeliness["overdue_unheld"] == 1
    assert timeliness["late_by_reason"] == [{"reason": "key_people_unavailable", "share": rate(1, 1, 100.0)}]
    months = {m["month"]: m for m in timeliness["by_month"]}
    assert next(iter(months)) == "2022-04" and len(months) == 12
    assert {m: (v["held"], v["in_time"]["numerator"]) for m, v in months.items() if v["held"]} == {
        "2022-05": (1, 1), "2022-06": (1, 1), "2022-08": (1, 0), "2022-09": (1, 1), "2023-02": (1, 1),
    }  # fmt: skip
    assert months["2023-03"]["overdue_unheld"] == 1 and months["2023-03"]["as_of"] == "2023-03-31"
    assert report["timeliness"]["previous"]["reviews_in_time"] == rate(4, 5, 80.0)


async def test_record_keeping(story):
    gw, _ = story
    kept = (await gw.ok("GET", "/v1/reports/annual", params=PERIOD))["record_keeping"]
    assert kept["previous"] is None
    assert kept["current"] == {
        "as_of": "2023-03-31",
        "sw_report_on_time": rate(1, 5, 20.0),
        "decisions_on_time": rate(1, 5, 20.0),
        "record_on_time": rate(0, 5, 0.0),
        "letter_to_child_on_time": rate(1, 5, 20.0),
        "letter_to_child_sent": rate(1, 5, 20.0),
    }


async def test_participation_by_code_age_and_how(story):
    gw, _ = story
    report = await gw.ok("GET", "/v1/reports/annual", params=PERIOD)
    now = report["participation"]["current"]
    assert (now["reviews"], now["uncoded"], now["age_on"]) == (5, 1, None)
    assert {c["code"]: c["share"] for c in now["by_code"] if c["share"]["numerator"]} == {
        "PN0": rate(2, 4, 50.0), "PN1": rate(1, 4, 25.0), "PN6": rate(1, 4, 25.0),
    }  # fmt: skip
    assert now["aged_4_plus"] == rate(2, 2, 100.0)
    assert now["by_age"] == [
        {"age": 12, "participated": rate(1, 1, 100.0)},
        {"age": 14, "participated": rate(1, 1, 100.0)},
    ]
    assert report["participation"]["previous"]["aged_4_plus"] == rate(4, 5, 80.0)  # C2 was PN7

    detail = report["participation_detail"]["current"]
    assert detail["recorded"] == 4
    assert {m["key"]: m["share"] for m in detail["methods"] if m["share"]["numerator"]} == {
        "in_person": rate(1, 4, 25.0), "consultation_form": rate(1, 4, 25.0),
    }  # fmt: skip
    assert detail["parents_taking_part"] == rate(1, 2, 50.0)
    assert detail["interpreter_used"] == rate(1, 2, 50.0)
    assert detail["met_iro_before"] == rate(1, 1, 100.0)
    # Of the reviews whose chair was recorded (A4 co-chaired, C3 not): the three unrecorded are no "no".
    assert {c["key"]: c["share"] for c in detail["chaired_by_child"]} == {
        "chair": rate(0, 2, 0.0), "co_chair": rate(1, 2, 50.0), "no": rate(1, 2, 50.0),
    }  # fmt: skip
    assert report["escalations"]["current"]["overdue_as_of"] == "2023-04-20"
    assert report["participation_detail"]["previous"] is None


async def test_escalations_footprint_feedback_and_advocacy(story):
    gw, ids = story
    report = await gw.ok("GET", "/v1/reports/annual", params=PERIOD)
    escalations = report["escalations"]["current"]
    assert (escalations["alerts"], escalations["formal"], escalations["escalated_alerts"]) == (1, 1, 0)
    assert escalations["resolved_at_stage_1"] == rate(1, 1, 100.0)
    assert escalations["working_days_to_resolution"] == {"median": 5.0, "count": 1}
    assert escalations["by_category"] == [
        {"category": "care_plan_not_completed", "alerts": 0, "formal": 1},
        {"category": "permanence_delay", "alerts": 1, "formal": 0},
    ]
    assert (escalations["commendations"], escalations["cafcass_referrals"]) == (1, 0)
    assert report["escalations"]["previous"] is None

    footprint = report["footprint"]["current"]
    assert (footprint["midway_reviews"], footprint["case_notes"]) == (1, 2)
    alice = next(i for i in footprint["per_iro"] if i["iro_id"] == ids["alice"])
    december, january = footprint["months"].index("2022-12"), footprint["months"].index("2023-01")
    assert (alice["name"], alice["midway_reviews"][december], alice["case_notes"][december]) == ("Alice", 1, 1)
    assert alice["case_notes"][january] == 1

    feedback = report["feedback"]["current"]
    assert (feedback["forms"], feedback["anonymous"]) == (1, 0)
    assert [r for r in feedback["by_respondent"] if r["share"]["numerator"]] == [
        {"key": "child", "share": rate(1, 1, 100.0)}
    ]
    advocacy = report["advocacy"]["current"]
    assert advocacy["referrals"] == 1
    assert [q["referrals"] for q in advocacy["by_quarter"]] == [0, 0, 1, 0]


async def test_a_period_not_yet_begun_and_a_collection_year_not_yet_begun_are_refused(story):
    gw, _ = story  # today is 2023-04-20
    for path in ("/v1/reports/annual", "/v1/reports/annual.html"):
        response = await gw.call("GET", path, params={"from": "2023-04-21", "to": "2024-03-31"})
        assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["query", "from"], path
    assert (
        await gw.call("GET", "/v1/reports/annual", params={"from": "2023-04-20", "to": "2024-03-31"})
    ).status_code == 200
    for path in ("/v1/exports/ssda903/reviews.csv", "/v1/exports/ssda903/problems"):
        response = await gw.call("GET", path, params={"collection_year": 2025})  # begins 2024-04-01
        assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["query", "collection_year"]
        assert (await gw.call("GET", path, params={"collection_year": 2024})).status_code == 200  # 2023-04-01 on


async def test_a_service_down_is_a_problem_naming_it_never_a_partial_report(session, database_url):
    async with platform(session, database_url, today=TODAY, down=("escalations",)) as gw:
        response = await gw.call("GET", "/v1/reports/annual", params=PERIOD)
    assert response.status_code == 502
    assert response.json()["service"] == "escalations"


async def test_the_page_is_the_same_dataset_rendered(story):
    gw, _ = story
    response = await gw.call("GET", "/v1/reports/annual.html", params=PERIOD, role="manager")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "1 April 2022 to 31 March 2023" in page
    # Published, so the small numbers are suppressed: 4 of 5 reviews in time is neither a count nor a rate.
    assert "fewer than 5" in page and "withheld" in page
    assert "(4 of 5)" not in page, page[page.find("(4 of 5)") - 400 : page.find("(4 of 5)") + 20]


async def test_with_suppression_off_the_page_shows_the_exact_figures(session, database_url):
    overrides = {"report_platform_from": dt.date(2022, 4, 1), "report_suppress_below": 1}
    async with platform(session, database_url, today=TODAY, gateway_overrides=overrides) as gw:
        await gw.ok("POST", "/v1/iros", {"name": "Alice", "email": ALICE, "fte": 1}, status=201)
        response = await gw.call("GET", "/v1/reports/annual.html", params=PERIOD)
    assert response.status_code == 200 and "fewer than" not in response.text
