"""A review's status is derived in one place (`rules.review_status`): the read model, the `status`
filter and the timeliness figures agree, and nothing due after the as-of date is overdue.

Asked on Sun 29 Nov 2026. First reviews are due 20 working days after entering care (computed by
hand; Mon 31 Aug 2026 is a bank holiday); second reviews 3 months after the first was held.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.reviews import rules

TODAY = dt.date(2026, 11, 29)
STATUSES = ("scheduled", "overdue", "held", "missed", "cancelled")


async def child_in_care(api, ref: str, started_on: str, date_of_birth: str = "2012-01-01") -> tuple[dict, dict]:
    child = await api.child(ref, date_of_birth)
    period = await api.enter_care(child["id"], started_on)
    return child, period


async def build(api) -> dict[str, Any]:
    """The children of the fixture; returns {ref: child} and checks each first review's due date."""
    api.today(TODAY)
    children: dict[str, Any] = {}
    due = {}
    # A care leaver: 18 on Tue 10 Nov 2026, period still open; first review due Tue 29 Sep, never held.
    children["CL"], _ = await child_in_care(api, "CL", "2026-09-01", date_of_birth="2008-11-10")
    due["CL"] = "2026-09-29"
    # Left care on Wed 15 Jul 2026, after the review's statutory date (Mon 29 Jun): missed.
    children["LATE"], period = await child_in_care(api, "LATE", "2026-06-01")
    due["LATE"] = "2026-06-29"
    await api.ok("POST", f"/v1/children/{children['LATE']['id']}/care-periods/{period['id']}/end",
                 {"ended_on": "2026-07-15", "reason": "E13"})  # fmt: skip
    # Left care on Thu 15 Oct 2026, before the statutory date (Thu 29 Oct): cancelled.
    children["GONE"], period = await child_in_care(api, "GONE", "2026-10-01")
    due["GONE"] = "2026-10-29"
    await api.ok("POST", f"/v1/children/{children['GONE']['id']}/care-periods/{period['id']}/end",
                 {"ended_on": "2026-10-15", "reason": "E13"})  # fmt: skip
    # An early review: statutory Mon 30 Nov 2026, brought forward to Fri 20 Nov: overdue today.
    children["EARLY"], _ = await child_in_care(api, "EARLY", "2026-11-02")
    due["EARLY"] = "2026-11-30"
    # Rearranged (stood down and planned for Thu 10 Dec); due Mon 14 Dec: scheduled.
    children["MOVED"], _ = await child_in_care(api, "MOVED", "2026-11-16")
    due["MOVED"] = "2026-12-14"
    # Held in time on Thu 20 Aug (due Tue 1 Sep); the second due Fri 20 Nov 2026, unheld: overdue.
    children["HELD"], _ = await child_in_care(api, "HELD", "2026-08-03")
    due["HELD"] = "2026-09-01"
    # Held on Tue 20 Oct and Tue 10 Nov: second reviews due Wed 20 Jan and Wed 10 Feb 2027.
    children["JAN"], _ = await child_in_care(api, "JAN", "2026-10-01")
    due["JAN"] = "2026-10-29"
    children["FEB"], _ = await child_in_care(api, "FEB", "2026-10-15")
    due["FEB"] = "2026-11-12"
    for ref, child in children.items():
        first = (await api.reviews(child["id"]))[0]
        assert first["statutory_due_on"] == due[ref], ref
        child["first"] = first
    early = children["EARLY"]["first"]["id"]
    await api.ok("POST", f"/v1/reviews/{early}/early", {"due_on": "2026-11-20", "reason": "iro_request"})
    moved = children["MOVED"]["first"]["id"]
    await api.ok("POST", f"/v1/reviews/{moved}/rearrangements", {"planned_on": "2026-12-10", "reason": "sw ill"})
    await api.hold(children["HELD"]["first"]["id"], "2026-08-20")
    await api.hold(children["JAN"]["first"]["id"], "2026-10-20")
    await api.hold(children["FEB"]["first"]["id"], "2026-11-10")
    return children


async def all_reviews(api, children) -> dict[tuple[str, int], dict]:
    out = {}
    for ref, child in children.items():
        for review in await api.reviews(child["id"]):
            out[(ref, review["sequence"])] = review
    return out


async def listed(api, status: str) -> set[str]:
    page = await api.ok("GET", f"/v1/reviews?status={status}&limit=500")
    assert page["next_cursor"] is None
    return {review["id"] for review in page["items"]}


async def test_each_status_filter_returns_exactly_the_reviews_that_read_that_status(api):
    children = await build(api)
    reviews = await all_reviews(api, children)
    assert {key: r["status"] for key, r in reviews.items()} == {
        ("CL", 1): "missed",  # 18 on 10 Nov with the review past its date: closed by s105, missed (not overdue)
        ("LATE", 1): "missed",
        ("GONE", 1): "cancelled",
        ("EARLY", 1): "overdue",  # past its working due date (20 Nov), not its statutory one (30 Nov)
        ("MOVED", 1): "scheduled",
        ("HELD", 1): "held",
        ("HELD", 2): "overdue",
        ("JAN", 1): "held",
        ("JAN", 2): "scheduled",
        ("FEB", 1): "held",
        ("FEB", 2): "scheduled",
    }
    assert (reviews[("JAN", 2)]["due_on"], reviews[("FEB", 2)]["due_on"]) == ("2027-01-20", "2027-02-10")
    for status in STATUSES:
        assert await listed(api, status) == {r["id"] for r in reviews.values() if r["status"] == status}, status


@pytest.mark.parametrize(
    ("day", "care_leaver"),
    [
        (dt.date(2026, 9, 29), "scheduled"),  # due that day: not yet overdue
        (dt.date(2026, 9, 30), "overdue"),
        (dt.date(2026, 11, 9), "overdue"),  # the day before the 18th birthday
        (dt.date(2026, 11, 10), "missed"),
        (dt.date(2027, 3, 1), "missed"),
    ],
)
async def test_read_and_filter_agree_on_any_day(api, day, care_leaver):
    children = await build(api)
    api.today(day)
    reviews = await all_reviews(api, children)
    assert reviews[("CL", 1)]["status"] == care_leaver
    for status in STATUSES:
        assert await listed(api, status) == {r["id"] for r in reviews.values() if r["status"] == status}, status


async def test_timeliness_asked_mid_year_counts_nothing_not_yet_due(api):
    await build(api)
    got = await api.ok("GET", "/v1/stats/timeliness?from=2026-04-01&to=2027-03-31", role="auditor")
    # As of Sun 29 Nov 2026 (today, before `to`). Held in the year: HELD1 (20 Aug), JAN1 (20 Oct),
    # FEB1 (10 Nov), all in time. Overdue unheld, statutory due on or before 29 Nov and neither held
    # nor cancelled: CL1 (29 Sep, the care leaver), LATE1 (29 Jun, missed), HELD2 (20 Nov) = 3. Not:
    # GONE1 (cancelled), EARLY1 (statutory 30 Nov), MOVED1 (14 Dec), JAN2 (20 Jan 2027), FEB2 (10 Feb 2027).
    # Children reviewed: HELD JAN FEB CL LATE = 5; all in time: JAN, FEB -> 2/5 = 40%.
    assert got == {
        "reviews_held": 3,
        "held_in_time": 3,
        "pct_in_time": 100.0,
        "overdue_unheld": 3,
        "by_sequence": {
            "first": {"held": 3, "in_time": 3},
            "second": {"held": 0, "in_time": 0},
            "subsequent": {"held": 0, "in_time": 0},
        },
        "late_by_reason": {},
        "children_reviewed": 5,
        "children_all_in_time": 2,
        "pct_children_all_in_time": 40.0,
        "not_judged": 0,
        "as_of": "2026-11-29",
    }


async def test_timeliness_of_a_past_period_is_as_of_its_end(api):
    await build(api)
    got = await api.ok("GET", "/v1/stats/timeliness?from=2026-04-01&to=2026-10-31", role="auditor")
    # As of Sat 31 Oct 2026 (`to`): CL1 (due 29 Sep) was overdue then (18 only on 10 Nov), LATE1 missed;
    # HELD2 (20 Nov) not yet due. Held: HELD1, JAN1 (FEB1 on 10 Nov is after `to`).
    # Children: HELD JAN CL LATE = 4; all in time: HELD, JAN = 2 -> 50%.
    assert (got["as_of"], got["reviews_held"], got["overdue_unheld"]) == ("2026-10-31", 2, 2)
    assert (got["children_reviewed"], got["children_all_in_time"], got["pct_children_all_in_time"]) == (4, 2, 50.0)


async def test_a_period_wholly_after_today_has_nothing_overdue(api):
    await build(api)
    got = await api.ok("GET", "/v1/stats/timeliness?from=2027-01-01&to=2027-03-31", role="auditor")
    assert (got["as_of"], got["overdue_unheld"], got["children_reviewed"]) == ("2026-11-29", 0, 0)
    assert got["pct_children_all_in_time"] is None


async def test_decisions_past_due_filter_matches_the_read_field(api):
    children = await build(api)
    held = children["HELD"]["first"]["id"]
    made = {}
    for key, due_on in {"yesterday": "2026-11-28", "today": "2026-11-29", "next_week": "2026-12-07"}.items():
        made[key] = await api.ok(
            "POST", f"/v1/reviews/{held}/decisions", {"text": key, "owner": "Social worker", "due_on": due_on},
            status=201,
        )  # fmt: skip
    done = await api.ok("POST", f"/v1/reviews/{held}/decisions",
                        {"text": "done", "owner": "Social worker", "due_on": "2026-11-02"}, status=201)  # fmt: skip
    await api.ok("PATCH", f"/v1/decisions/{done['id']}", {"status": "done", "completed_on": "2026-11-03"})
    page = await api.ok("GET", "/v1/decisions?limit=500")
    read = {d["text"]: d["past_due"] for d in page["items"]}
    # Past due: open and due before today (Sun 29 Nov 2026); the due day itself is not.
    assert read == {"yesterday": True, "today": False, "next_week": False, "done": False}
    past = await api.ok("GET", "/v1/decisions?past_due=true&limit=500")
    assert [d["text"] for d in past["items"]] == ["yesterday"]
    not_past = await api.ok("GET", "/v1/decisions?past_due=false&limit=500")
    assert sorted(d["text"] for d in not_past["items"]) == ["done", "next_week", "today"]
    api.today(dt.date(2026, 12, 8))
    past = await api.ok("GET", "/v1/decisions?past_due=true&limit=500")
    assert sorted(d["text"] for d in past["items"]) == ["next_week", "today", "yesterday"]


def test_the_sql_status_rule_is_the_python_one():
    # The same function gives both; a row-free check that the SQL form covers every status.
    from services.reviews import review_service

    compiled = str(review_service.status_sql(TODAY).compile(compile_kwargs={"literal_binds": True}))
    for status in STATUSES:
        assert f"'{status}'" in compiled
    assert rules.STATUSES == STATUSES
