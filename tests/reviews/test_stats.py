"""Timeliness (DESIGN 2.1) and caseloads (DESIGN 2.5), through the API, against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.reviews import stats
from services.reviews.main import create_app
from services.reviews.models import CarePeriod, Child, Review
from services.reviews.settings import Settings
from tests.conftest import app_client, bind_app_to_session
from tests.reviews.conftest import Api

D = dt.date.fromisoformat
YEAR = "from=2022-04-01&to=2023-03-31"  # the period P of the fixture

# --- The fixture: 11 children, 12 care periods, 40 reviews ---------------------------------------
#
# Children: key -> date of birth (18th birthday where it matters).
CHILDREN = {
    "A": "2010-03-14",
    "B": "2011-07-02",
    "C": "2015-01-20",
    "D": "2009-05-05",
    "E": "2008-09-09",
    "F": "2004-11-15",  # 18 on 2022-11-15
    "G": "2005-01-10",  # 18 on 2023-01-10
    "H": "2004-12-01",  # 18 on 2022-12-01
    "J": "2012-02-29",
    "K": "2013-06-06",
    "L": "2014-08-08",
}
# Care periods: (child, index) -> (started_on, ended_on, end_reason).
PERIODS = {
    ("A", 1): ("2021-12-01", None, None),
    ("B", 1): ("2022-03-01", None, None),
    ("C", 1): ("2022-10-03", None, None),
    ("D", 1): ("2021-06-01", "2022-05-15", "E13"),
    ("D", 2): ("2023-02-20", None, None),
    ("E", 1): ("2022-01-10", "2022-12-01", "E13"),
    ("F", 1): ("2021-10-01", "2022-11-15", "E17"),  # ended by the 18th birthday
    ("G", 1): ("2022-06-01", None, None),  # still open in the table; G turned 18 on 2023-01-10
    ("H", 1): ("2022-02-01", None, None),  # still open in the table; H turned 18 on 2022-12-01
    ("J", 1): ("2021-09-01", None, None),
    ("K", 1): ("2022-12-05", None, None),
    ("L", 1): ("2022-06-15", None, None),
}
# Reviews. in_time = held_on <= statutory_due_on (None when unheld). P = [2022-04-01, 2023-03-31].
#
#  # rev per seq statutory  status    held_on    in?  late_reason            closed_on  counts in P
#  1 A1  A.1   1 2021-12-30 held      2021-12-20 yes                                    no: held before P
#  2 A2  A.1   2 2022-04-05 held      2022-03-31 yes                                    no: held day before `from`
#  3 A3  A.1   3 2022-09-30 held      2022-09-20 yes                                    held, subsequent, in time
#  4 A4  A.1   4 2023-03-20 held      2023-03-10 yes                                    held, subsequent, in time
#  5 A5  A.1   5 2023-09-10 scheduled                                                   no: due after P
#  6 B1  B.1   1 2022-03-29 held      2022-03-28 yes                                    no: held before P
#  7 B2  B.1   2 2022-06-28 held      2022-06-20 yes                                    held, second, in time
#  8 B3  B.1   3 2022-12-20 held      2023-01-10 no   child_missing                     held, subsequent, LATE
#  9 B4  B.1   4 2023-07-10 scheduled                                                   no: due after P
# 10 C1  C.1   1 2022-10-31 scheduled                                                   OVERDUE_UNHELD (C: only this)
# 11 D1  D.1   1 2021-06-29 held      2021-06-25 yes                                    no: held before P
# 12 D2  D.1   2 2021-09-25 held      2021-09-20 yes                                    no: held before P
# 13 D3  D.1   3 2022-03-20 held      2022-03-18 yes                                    no: held before P
# 14 D4  D.1   4 2022-09-18 cancelled                                        2022-05-15 no: cancelled (left care)
# 15 D5  D.2   1 2023-03-20 held      2023-04-05 no   key_people_unavailable            OVERDUE_UNHELD: held after `to`
# 16 E1  E.1   1 2022-02-07 held      2022-02-01 yes                                    no: held before P
# 17 E2  E.1   2 2022-05-01 held      2022-05-10 no   iro_unavailable                   held, second, LATE
# 18 E3  E.1   3 2022-11-10 missed                                           2022-12-01 OVERDUE_UNHELD (missed)
# 19 F1  F.1   1 2021-10-29 held      2021-10-28 yes                                    no: held before P
# 20 F2  F.1   2 2022-01-28 held      2022-01-25 yes                                    no: held before P
# 21 F3  F.1   3 2022-07-25 held      2022-07-20 yes                                    held, subsequent, in time
# 22 F4  F.1   4 2023-01-20 cancelled                                        2022-11-15 no: cancelled, F was 18 (a)
# 23 G1  G.1   1 2022-06-29 held      2022-06-28 yes                                    held, first, in time
# 24 G2  G.1   2 2022-09-28 held      2022-09-27 yes                                    held, second, in time
# 25 G3  G.1   3 2023-03-27 scheduled                                                   no: G was 18 first (b)
# 26 H1  H.1   1 2022-03-01 held      2022-02-25 yes                                    no: held before P
# 27 H2  H.1   2 2022-05-25 held      2022-05-20 yes                                    held, second, in time
# 28 H3  H.1   3 2022-11-20 scheduled                                                   OVERDUE_UNHELD (c)
# 29 J1  J.1   1 2021-09-29 held      2021-09-29 yes                                    no (held on its due date)
# 30 J2  J.1   2 2021-12-29 held      2022-01-05 no   iro_unavailable                   no: held before P
# 31 J3  J.1   3 2022-07-05 held      2022-04-01 yes                                    held on `from`, subsequent (d)
# 32 J4  J.1   4 2022-10-01 held      2022-10-03 no   child_missing                     held, subsequent, LATE
# 33 J5  J.1   5 2023-04-03 held      2023-03-31 yes                                    held on `to`, subsequent
# 34 J6  J.1   6 2023-09-30 scheduled                                                   no: due after P
# 35 K1  K.1   1 2023-01-05 held      2023-01-04 yes                                    held, first, in time
# 36 K2  K.1   2 2023-04-04 held      2023-04-01 yes                                    no: held day after `to`
# 37 K3  K.1   3 2023-10-01 scheduled                                                   no: due after P
# 38 L1  L.1   1 2022-07-13 held      2022-07-20 no   late_notification                 held, first, LATE
# 39 L2  L.1   2 2022-10-20 held      2022-10-18 yes                                    held, second, in time
# 40 L3  L.1   3 2023-04-18 scheduled                                                   no: due after P
#
# (a) F turned 18 on 2022-11-15, before F4's due date: F4 closed then, cancelled.
# (b) G3 was left scheduled, but G turned 18 on 2023-01-10, before its due date: closed then as cancelled.
# (c) H3 was due before H's 18th birthday (2022-12-01) and never held: missed.
# (d) J3 was an early review (due_on 2022-04-01, reason iro_request); in time is judged on statutory_due_on.
REVIEWS: list[tuple[str, str, int, str, str, str | None, str | None, str | None]] = [
    # (name, child.period, seq, statutory_due_on, status, held_on, late_reason, closed_on)
    ("A1", "A.1", 1, "2021-12-30", "held", "2021-12-20", None, None),
    ("A2", "A.1", 2, "2022-04-05", "held", "2022-03-31", None, None),
    ("A3", "A.1", 3, "2022-09-30", "held", "2022-09-20", None, None),
    ("A4", "A.1", 4, "2023-03-20", "held", "2023-03-10", None, None),
    ("A5", "A.1", 5, "2023-09-10", "scheduled", None, None, None),
    ("B1", "B.1", 1, "2022-03-29", "held", "2022-03-28", None, None),
    ("B2", "B.1", 2, "2022-06-28", "held", "2022-06-20", None, None),
    ("B3", "B.1", 3, "2022-12-20", "held", "2023-01-10", "child_missing", None),
    ("B4", "B.1", 4, "2023-07-10", "scheduled", None, None, None),
    ("C1", "C.1", 1, "2022-10-31", "scheduled", None, None, None),
    ("D1", "D.1", 1, "2021-06-29", "held", "2021-06-25", None, None),
    ("D2", "D.1", 2, "2021-09-25", "held", "2021-09-20", None, None),
    ("D3", "D.1", 3, "2022-03-20", "held", "2022-03-18", None, None),
    ("D4", "D.1", 4, "2022-09-18", "cancelled", None, None, "2022-05-15"),
    ("D5", "D.2", 1, "2023-03-20", "held", "2023-04-05", "key_people_unavailable", None),
    ("E1", "E.1", 1, "2022-02-07", "held", "2022-02-01", None, None),
    ("E2", "E.1", 2, "2022-05-01", "held", "2022-05-10", "iro_unavailable", None),
    ("E3", "E.1", 3, "2022-11-10", "missed", None, None, "2022-12-01"),
    ("F1", "F.1", 1, "2021-10-29", "held", "2021-10-28", None, None),
    ("F2", "F.1", 2, "2022-01-28", "held", "2022-01-25", None, None),
    ("F3", "F.1", 3, "2022-07-25", "held", "2022-07-20", None, None),
    ("F4", "F.1", 4, "2023-01-20", "cancelled", None, None, "2022-11-15"),
    ("G1", "G.1", 1, "2022-06-29", "held", "2022-06-28", None, None),
    ("G2", "G.1", 2, "2022-09-28", "held", "2022-09-27", None, None),
    ("G3", "G.1", 3, "2023-03-27", "scheduled", None, None, None),
    ("H1", "H.1", 1, "2022-03-01", "held", "2022-02-25", None, None),
    ("H2", "H.1", 2, "2022-05-25", "held", "2022-05-20", None, None),
    ("H3", "H.1", 3, "2022-11-20", "scheduled", None, None, None),
    ("J1", "J.1", 1, "2021-09-29", "held", "2021-09-29", None, None),
    ("J2", "J.1", 2, "2021-12-29", "held", "2022-01-05", "iro_unavailable", None),
    ("J3", "J.1", 3, "2022-07-05", "held", "2022-04-01", None, None),
    ("J4", "J.1", 4, "2022-10-01", "held", "2022-10-03", "child_missing", None),
    ("J5", "J.1", 5, "2023-04-03", "held", "2023-03-31", None, None),
    ("J6", "J.1", 6, "2023-09-30", "scheduled", None, None, None),
    ("K1", "K.1", 1, "2023-01-05", "held", "2023-01-04", None, None),
    ("K2", "K.1", 2, "2023-04-04", "held", "2023-04-01", None, None),
    ("K3", "K.1", 3, "2023-10-01", "scheduled", None, None, None),
    ("L1", "L.1", 1, "2022-07-13", "held", "2022-07-20", "late_notification", None),
    ("L2", "L.1", 2, "2022-10-20", "held", "2022-10-18", None, None),
    ("L3", "L.1", 3, "2023-04-18", "scheduled", None, None, None),
]
EARLY = {"J3": ("2022-04-01", "iro_request")}  # review -> (due_on, early_reason)


async def insert_fixture(session: Any) -> None:
    """The children, care periods and reviews above, straight into the tables."""
    run = uuid.uuid4().hex[:8]
    children = {
        key: Child(id=uuid.uuid4(), la_reference=f"STATS-{run}-{key}", date_of_birth=D(dob), display_name=key)
        for key, dob in CHILDREN.items()
    }
    periods = {
        f"{child}.{index}": CarePeriod(
            id=uuid.uuid4(),
            child_id=children[child].id,
            started_on=D(started),
            legal_status="C2",
            placement_type="U4",
            ended_on=D(ended) if ended else None,
            end_reason=reason,
        )
        for (child, index), (started, ended, reason) in PERIODS.items()
    }
    session.add_all(children.values())
    await session.flush()
    session.add_all(periods.values())
    await session.flush()
    for name, period, seq, statutory, status, held, late_reason, closed in REVIEWS:
        assert (status == "held") == (held is not None), name
        assert (status in ("missed", "cancelled")) == (closed is not None), name
        in_time = None if held is None else D(held) <= D(statutory)
        assert (late_reason is not None) == (in_time is False), name
        due_on, early_reason = EARLY.get(name, (statutory, None))
        session.add(
            Review(
                id=uuid.uuid4(), child_id=periods[period].child_id, care_period_id=periods[period].id,
                sequence=seq, due_on=D(due_on), statutory_due_on=D(statutory), early_reason=early_reason,
                status=status, held_on=D(held) if held else None, in_time=in_time, late_reason=late_reason,
                closed_on=D(closed) if closed else None,
            )
        )  # fmt: skip
    await session.flush()
    assert len(REVIEWS) == 40


# --- Timeliness ----------------------------------------------------------------------------------


async def test_timeliness_over_a_year_matches_the_figures_worked_out_by_hand(api, session):
    await insert_fixture(session)
    got = await api.ok("GET", f"/v1/stats/timeliness?{YEAR}", role="auditor", sub="auditor@council.gov.uk")
    # Held in P (held_on in [2022-04-01, 2023-03-31]): A3 A4 B2 B3 E2 F3 G1 G2 H2 J3 J4 J5 K1 L1 L2 = 15;
    #   late among them: B3 E2 J4 L1 = 4, so in time 11; 11/15 = 73.33.. -> 73.3.
    # By sequence: first G1 K1 L1 (3, in time 2: L1 late); second B2 E2 G2 H2 L2 (5, in time 4: E2 late);
    #   subsequent A3 A4 B3 F3 J3 J4 J5 (7, in time 5: B3, J4 late).  3+5+7 = 15, 2+4+5 = 11.
    # Late by reason (held in P only; J2 and D5 are late but not held in P): child_missing B3 J4,
    #   iro_unavailable E2, late_notification L1.
    # Overdue unheld (statutory due in P, not held by `to`, not cancelled): C1 (scheduled), D5 (held after
    #   `to`), E3 (missed), H3 (scheduled, due before the 18th birthday: missed) = 4. Not: D4, F4 (cancelled),
    #   G3 (due after the 18th birthday: cancelled then), A2 (held before `from`), J5 K2 (due after P).
    # Children reviewed: held in P A B E F G H J K L (9) + overdue-only C D = 11.
    #   With a late or overdue review: B E J L (late) + C D E H (overdue) = B C D E H J L (7).
    #   All in time: A F G K = 4; 4/11 = 36.36.. -> 36.4.
    assert got == {
        "reviews_held": 15,
        "held_in_time": 11,
        "pct_in_time": 73.3,
        "overdue_unheld": 4,
        "by_sequence": {
            "first": {"held": 3, "in_time": 2},
            "second": {"held": 5, "in_time": 4},
            "subsequent": {"held": 7, "in_time": 5},
        },
        "late_by_reason": {"child_missing": 2, "iro_unavailable": 1, "late_notification": 1},
        "children_reviewed": 11,
        "children_all_in_time": 4,
        "pct_children_all_in_time": 36.4,
        "not_judged": 0,
        "as_of": "2023-03-31",
    }


async def test_timeliness_over_one_quarter(api, session):
    await insert_fixture(session)
    got = await api.ok("GET", "/v1/stats/timeliness?from=2022-10-01&to=2022-12-31", role="auditor")
    # Held in Q3 [2022-10-01, 2022-12-31]: J4 (late, child_missing, subsequent), L2 (in time, second) = 2.
    #   B3 is due in Q3 but held on 2023-01-10, after this `to`.
    # Overdue unheld: B3 (held after `to`), C1 (scheduled), E3 (missed), H3 (scheduled; H turned 18 on
    #   2022-12-01, inside the quarter, after its due date) = 4.
    # Children reviewed: J L (held) + B C E H (overdue) = 6; all in time: L only (L1 is outside Q3) -> 1/6 = 16.7.
    assert got == {
        "reviews_held": 2,
        "held_in_time": 1,
        "pct_in_time": 50.0,
        "overdue_unheld": 4,
        "by_sequence": {
            "first": {"held": 0, "in_time": 0},
            "second": {"held": 1, "in_time": 1},
            "subsequent": {"held": 1, "in_time": 0},
        },
        "late_by_reason": {"child_missing": 1},
        "children_reviewed": 6,
        "children_all_in_time": 1,
        "pct_children_all_in_time": 16.7,
        "not_judged": 0,
        "as_of": "2022-12-31",
    }


async def test_timeliness_over_a_summer_quarter_and_a_single_day(api, session):
    await insert_fixture(session)
    summer = await api.ok("GET", "/v1/stats/timeliness?from=2022-07-01&to=2022-09-30", role="auditor")
    # Held in [2022-07-01, 2022-09-30]: F3 (07-20), L1 (07-20, late), A3 (09-20), G2 (09-27) = 4, 3 in time.
    # Due in it: J3 L1 F3 D4 G2 A3 - all held by `to` except D4, which is cancelled: overdue 0.
    # Children: A F G L = 4, all in time A F G = 3 -> 75.0.
    assert summer["reviews_held"] == 4
    assert summer["held_in_time"] == 3
    assert summer["pct_in_time"] == 75.0
    assert summer["overdue_unheld"] == 0
    assert summer["late_by_reason"] == {"late_notification": 1}
    assert (summer["children_reviewed"], summer["children_all_in_time"]) == (4, 3)
    assert summer["pct_children_all_in_time"] == 75.0

    # One day, `from` = `to` = 2023-03-31: J5 held that day (in time); nothing due that day.
    day = await api.ok("GET", "/v1/stats/timeliness?from=2023-03-31&to=2023-03-31", role="auditor")
    assert (day["reviews_held"], day["held_in_time"], day["overdue_unheld"]) == (1, 1, 0)
    assert (day["children_reviewed"], day["children_all_in_time"], day["pct_children_all_in_time"]) == (1, 1, 100.0)


async def test_timeliness_of_an_empty_period_has_no_percentages(api, session):
    await insert_fixture(session)
    got = await api.ok("GET", "/v1/stats/timeliness?from=2019-01-01&to=2019-12-31", role="auditor")
    assert got["reviews_held"] == got["overdue_unheld"] == got["children_reviewed"] == 0
    assert got["pct_in_time"] is None
    assert got["pct_children_all_in_time"] is None
    assert got["late_by_reason"] == {}


async def test_timeliness_needs_to_on_or_after_from(api):
    response = await api.get("/v1/stats/timeliness?from=2023-03-31&to=2022-04-01", role="auditor")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "to"]
    missing = await api.get("/v1/stats/timeliness?from=2022-04-01", role="auditor")
    assert missing.status_code == 422


def test_percentages_round_half_up_to_one_decimal():
    assert stats.pct(1, 16) == 6.3  # 6.25 -> 6.3 (half up, not half even)
    assert stats.pct(1, 8) == 12.5
    assert stats.pct(2, 3) == 66.7
    assert stats.pct(0, 5) == 0.0
    assert stats.pct(0, 0) is None


# --- Caseloads -----------------------------------------------------------------------------------


@pytest.fixture
async def small_api(session, database_url) -> AsyncIterator[Api]:
    """The reviews app with caseload guidance of 2 to 3 children per FTE, so a handful shows every band."""
    settings = Settings(env="test", database_url=database_url, caseload_lower=2, caseload_upper=3)
    app = create_app(settings)
    bind_app_to_session(app, session)
    async for client in app_client(app):
        yield Api(client, app, settings, session)


def row(
    iro: dict[str, Any], caseload: int, per_fte: float, within: bool, band: str, active: bool = True
) -> dict[str, Any]:
    return {
        "iro_id": iro["id"],
        "name": iro["name"],
        "fte": iro["fte"],
        "active": active,
        "caseload": caseload,
        "caseload_per_fte": per_fte,
        "within_guidance": within,
        "band": band,
    }


async def test_caseloads_per_fte_with_a_part_time_iro(small_api):
    api = small_api
    api.today(D("2024-01-02"))  # registered (active) from 2024-01-02, so the tables below list them
    run = uuid.uuid4().hex[:8]
    # Names sort as the table is ordered (by name).
    pat = await api.iro(f"pat-{run}@council.gov.uk", fte=0.5, name=f"{run} Pat")
    fay = await api.iro(f"fay-{run}@council.gov.uk", fte=1.0, name=f"{run} Fay")
    wes = await api.iro(f"wes-{run}@council.gov.uk", fte=1.0, name=f"{run} Wes")
    zed = await api.iro(f"zed-{run}@council.gov.uk", fte=1.0, name=f"{run} Zed")
    assert pat["fte"] == 0.5 and pat["caseload"] == 0 and pat["band"] == "below"
    api.today(D("2024-01-15"))

    children = {}
    for n in range(1, 12):
        dob = "2006-02-01" if n == 10 else "2012-05-01"  # c10 turns 18 on 2024-02-01
        children[n] = await api.child(f"CL-{run}-{n}", dob)
    periods = {}
    for n in range(1, 11):  # c11 never enters care
        periods[n] = await api.enter_care(children[n]["id"], "2024-01-02")

    async def allocate(n: int, iro: dict[str, Any], on: str) -> None:
        await api.ok("PUT", f"/v1/children/{children[n]['id']}/iro", {"iro_id": iro["id"], "allocated_on": on})

    for n, iro in [(1, fay), (2, pat), (3, fay), (4, fay), (5, fay), (6, fay), (7, wes), (8, wes), (9, zed),
                   (10, zed), (11, wes)]:  # fmt: skip
        await allocate(n, iro, "2024-01-03")
    await allocate(1, pat, "2024-01-10")  # c1 moves from Fay to Pat
    await api.ok(
        "POST", f"/v1/children/{children[6]['id']}/care-periods/{periods[6]['id']}/end",
        {"ended_on": "2024-01-12", "reason": "E13"},
    )  # fmt: skip
    history = (await api.ok("GET", f"/v1/children/{children[1]['id']}/iro-allocations"))["items"]
    assert [(a["iro_id"], a["allocated_on"], a["ended_on"]) for a in history] == [
        (fay["id"], "2024-01-03", "2024-01-10"),
        (pat["id"], "2024-01-10", None),
    ]

    async def table(query: str = "") -> list[dict[str, Any]]:
        items = (await api.ok("GET", f"/v1/stats/caseloads{query}", role="auditor"))["items"]
        mine = {pat["id"], fay["id"], wes["id"], zed["id"]}
        return [item for item in items if item["iro_id"] in mine]

    api.today(D("2024-02-05"))  # after c10's 18th birthday
    # Pat (0.5 FTE): c1 (reallocated to her), c2 = 2 -> 4.0 per FTE > 3: above, outside guidance.
    # Fay: c3 c4 c5 = 3 (c1 moved away, c6's period ended) -> 3.0: within (upper bound inclusive).
    # Wes: c7 c8 = 2 (c11 is allocated but never looked after) -> 2.0: within (lower bound inclusive).
    # Zed: c9 = 1 (c10 turned 18 on 2024-02-01) -> 1.0: below, within guidance (fewer is no breach).
    expected_today = [
        row(fay, 3, 3.0, True, "within"),
        row(pat, 2, 4.0, False, "above"),
        row(wes, 2, 2.0, True, "within"),
        row(zed, 1, 1.0, True, "below"),
    ]
    assert await table() == expected_today
    assert await table("?on=2024-02-05") == expected_today

    # On 2024-01-05: c1 was Fay's, c6 and c10 still counted.
    # Fay: c1 c3 c4 c5 c6 = 5 -> above; Pat: c2 = 1 -> 2.0 within; Wes 2; Zed: c9 c10 = 2 -> within.
    assert await table("?on=2024-01-05") == [
        row(fay, 5, 5.0, False, "above"),
        row(pat, 1, 2.0, True, "within"),
        row(wes, 2, 2.0, True, "within"),
        row(zed, 2, 2.0, True, "within"),
    ]
    # On 2024-01-10 the reallocation takes effect (the old allocation ends that day, exclusive).
    on_10 = {item["iro_id"]: item["caseload"] for item in await table("?on=2024-01-10")}
    assert (on_10[fay["id"]], on_10[pat["id"]]) == (4, 2)
    # On 2024-01-12 c6's period has ended: it no longer counts.
    on_12 = {item["iro_id"]: item["caseload"] for item in await table("?on=2024-01-12")}
    assert on_12[fay["id"]] == 3
    # Before anyone was allocated: all zero, below.
    assert await table("?on=2024-01-02") == [
        row(fay, 0, 0.0, True, "below"),
        row(pat, 0, 0.0, True, "below"),
        row(wes, 0, 0.0, True, "below"),
        row(zed, 0, 0.0, True, "below"),
    ]

    # Each IRO's own record agrees with the table today.
    for iro, expected in zip([fay, pat, wes, zed], expected_today, strict=True):
        got = await api.ok("GET", f"/v1/iros/{iro['id']}", role="auditor")
        assert {k: got[k] for k in ("caseload", "caseload_per_fte", "within_guidance", "band")} == {
            k: expected[k] for k in ("caseload", "caseload_per_fte", "within_guidance", "band")
        }
    children_of_pat = (await api.ok("GET", f"/v1/children?iro_id={pat['id']}"))["items"]
    assert {c["id"] for c in children_of_pat} == {children[1]["id"], children[2]["id"]}

    # An IRO made inactive stays in the table while children are still allocated to him (his record
    # shows them too); with none, he leaves it.
    await api.ok("PATCH", f"/v1/iros/{wes['id']}", {"active": False})
    wes_inactive = row(wes, 2, 2.0, True, "within", active=False)
    assert await table() == [expected_today[0], expected_today[1], wes_inactive, expected_today[3]]
    assert (await api.ok("GET", f"/v1/iros/{wes['id']}", role="auditor"))["caseload"] == 2
    for n in (7, 8):
        await allocate(n, fay, "2024-02-05")
    fay_with_wes_children = row(fay, 5, 5.0, False, "above")
    assert await table() == [fay_with_wes_children, expected_today[1], expected_today[3]]


async def test_the_caseload_guidance_defaults_to_50_to_70_per_fte(api):
    api.today(D("2024-01-15"))
    run = uuid.uuid4().hex[:8]
    iro = await api.iro(f"half-{run}@council.gov.uk", fte=0.5, name=f"{run} Half")
    child = await api.child(f"CD-{run}", "2012-05-01")
    await api.enter_care(child["id"], "2024-01-02")
    await api.ok("PUT", f"/v1/children/{child['id']}/iro", {"iro_id": iro["id"], "allocated_on": "2024-01-03"})
    got = await api.ok("GET", f"/v1/iros/{iro['id']}")
    assert (got["caseload"], got["caseload_per_fte"], got["within_guidance"], got["band"]) == (1, 2.0, True, "below")
