"""The children looked after in a period and continuity of IRO (DESIGN 2.5, 2.6), through
`GET /v1/stats/children`, against figures worked out by hand. "Looked after on day D" is the caseloads'
definition: a care period started on or before D, not ended by D (`ended_on` is the first day out of
care), and the child under 18 on D."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from services.reviews.models import Allocation, CarePeriod, Child, Iro

D = dt.date.fromisoformat
YEAR = "from=2022-04-01&to=2023-03-31"

# Children: key -> date of birth. D turns 18 on 2022-11-15, inside the year.
CHILDREN = {key: "2010-01-01" for key in "ABCLMNQ"} | {key: "2012-01-01" for key in "EFGHJK"} | {"D": "2004-11-15"}
# Care periods: (child, started_on, ended_on, started_before_data).
PERIODS = [
    ("A", "2021-06-01", None, False),
    ("B", "2021-06-01", None, False),
    ("C", "2021-06-01", "2022-04-01", False),  # ends on `from`: not looked after that day
    ("D", "2020-01-01", None, False),  # open, but D is 18 on 2022-11-15: ceases then (s105)
    ("E", "2022-04-01", None, False),  # starts on `from`
    ("F", "2022-06-01", "2022-09-01", False),  # two periods in the year
    ("F", "2022-12-01", None, False),
    ("G", "2022-05-01", None, True),  # a backfill's period that began before the data
    ("H", "2023-03-31", None, False),  # starts on `to`
    ("J", "2023-04-01", None, False),  # after the year
    ("K", "2015-03-01", "2016-01-01", False),  # long ago: the earliest start of all
    ("L", "2021-06-01", None, False),
    ("M", "2021-06-01", None, False),
    ("N", "2021-06-01", None, False),
    ("Q", "2021-06-01", "2023-03-31", False),  # ends on `to`
]
# Allocations: (child, iro, allocated_on, ended_on).
ALLOCATIONS = [
    ("A", 1, "2021-06-02", None),  # one IRO throughout
    ("B", 1, "2021-06-02", "2022-10-01"),  # a change of IRO in the year
    ("B", 2, "2022-10-01", None),
    ("E", 1, "2022-04-05", None),  # from four days into the year: not all of it
    ("L", 1, "2022-04-01", "2022-04-01"),  # allocated on `from`, corrected the same day: covers no day
    ("L", 2, "2022-04-01", None),
    ("M", 1, "2022-04-01", None),  # from `from` exactly
    ("N", 1, "2021-06-01", "2023-03-31"),  # ends on `to`: a second IRO that day
    ("N", 2, "2023-03-31", None),
]


async def insert_fixture(session: Any) -> None:
    run = uuid.uuid4().hex[:8]
    iros = {
        n: Iro(id=uuid.uuid4(), name=f"{run} IRO {n}", email=f"iro{n}-{run}@council.gov.uk", fte=Decimal("1"))
        for n in (1, 2)
    }
    children = {
        key: Child(id=uuid.uuid4(), la_reference=f"SC-{run}-{key}", date_of_birth=D(dob))
        for key, dob in CHILDREN.items()
    }
    session.add_all([*iros.values(), *children.values()])
    await session.flush()
    for key, started, ended, before_data in PERIODS:
        session.add(
            CarePeriod(
                id=uuid.uuid4(), child_id=children[key].id, started_on=D(started), legal_status="C2",
                ended_on=D(ended) if ended else None, end_reason="E13" if ended else None,
                started_before_data=before_data,
            )
        )  # fmt: skip
    for key, iro, allocated, ended in ALLOCATIONS:
        session.add(
            Allocation(
                id=uuid.uuid4(), child_id=children[key].id, iro_id=iros[iro].id, allocated_on=D(allocated),
                ended_on=D(ended) if ended else None,
            )
        )  # fmt: skip
    await session.flush()


async def test_children_over_a_past_year_match_the_figures_worked_out_by_hand(api, session):
    await insert_fixture(session)
    api.today(D("2024-01-15"))
    got = await api.ok("GET", f"/v1/stats/children?{YEAR}", role="auditor")
    # At the start, the day before `from` (2022-03-31): A B C D L M N Q = 8 (C's last day in care; E's
    #   period starts on `from`, so E counts in `started`, not here: start + started - ceased = end).
    # On `to` (2023-03-31): A B E F G H L M N = 9 (D is 18; Q's period ended that day; H's began).
    # Any day of the year: A B D E F G H L M N Q = 11 (C's last day in care was 2022-03-31; J after).
    # Started in the year: E, F (twice), H = 4 periods (G began before the data: not counted; J after).
    # Ceased in the year: C (on `from`), F's first, Q (on `to`), and D's period on D's 18th birthday = 4.
    # Throughout, in one period: A B E L M N = 6 (D is 18 first; F in two periods; Q ends on `to`).
    # One IRO covering the whole year: A; L (its first allocation, ended the day it began, covers no day);
    #   M (allocated on `from`) = 3. Not: B (two IROs), E (from 2022-04-05), N (a second IRO on `to`).
    assert got == {
        "from": "2022-04-01",
        "to": "2023-03-31",
        "as_of": "2023-03-31",
        "looked_after_at_start": 8,
        "looked_after_at_end": 9,
        "looked_after_during": 11,
        "started": 4,
        "ceased": 4,
        "data_from": "2015-03-01",
        "continuity": {"looked_after_throughout": 6, "kept_one_iro": 3},
    }


async def test_children_of_a_running_year_are_as_of_today(api, session):
    await insert_fixture(session)
    api.today(D("2022-10-01"))
    got = await api.ok("GET", f"/v1/stats/children?{YEAR}", role="iro")
    # as_of 2022-10-01. On it: A B D E G L M N Q = 9 (F between periods; D still 17).
    # Any day of [2022-04-01, 2022-10-01]: A B D E F G L M N Q = 10. Started: E, F's first = 2.
    # Ceased: C, F's first = 2 (D's birthday and Q's end are still to come).
    # Throughout: A B D E L M N Q = 8. One IRO all along: A L M, and N (its second IRO starts after
    #   as_of) = 4; B's second IRO starts on as_of, so B had two.
    assert {k: got[k] for k in ("as_of", "looked_after_at_start", "looked_after_at_end")} == {
        "as_of": "2022-10-01",
        "looked_after_at_start": 8,
        "looked_after_at_end": 9,
    }
    assert (got["looked_after_during"], got["started"], got["ceased"]) == (10, 2, 2)
    assert got["continuity"] == {"looked_after_throughout": 8, "kept_one_iro": 4}


async def test_children_on_a_single_day(api, session):
    await insert_fixture(session)
    api.today(D("2024-01-15"))
    got = await api.ok("GET", "/v1/stats/children?from=2023-03-31&to=2023-03-31", role="auditor")
    # At the start (2023-03-30): A B E F G L M N Q = 9. On 2023-03-31: A B E F G H L M N = 9, the end and
    #   throughout. Started: H. Ceased: Q (9 + 1 - 1 = 9).
    # One IRO that day: A, B (its second, since October), E, L, M, N (its second, from that day) = 6.
    assert (got["looked_after_at_start"], got["looked_after_at_end"], got["looked_after_during"]) == (9, 9, 9)
    assert (got["started"], got["ceased"]) == (1, 1)
    assert got["continuity"] == {"looked_after_throughout": 9, "kept_one_iro": 6}


async def test_the_children_looked_after_are_those_the_caseloads_count(api, session):
    await insert_fixture(session)
    api.today(D("2024-01-15"))
    children = await api.ok("GET", f"/v1/stats/children?{YEAR}", role="auditor")
    caseloads = await api.ok("GET", "/v1/stats/caseloads?as_of=2023-03-31", role="auditor")
    # On 2023-03-31, allocated: A B E L M N = 6; not: F G H = 3.
    assert (caseloads["children_allocated"], caseloads["unallocated"]) == (6, 3)
    assert caseloads["children_allocated"] + caseloads["unallocated"] == children["looked_after_at_end"]


async def test_with_no_care_period_at_all_there_is_no_data_from(api):
    api.today(D("2024-01-15"))
    got = await api.ok("GET", f"/v1/stats/children?{YEAR}", role="auditor")
    assert got["data_from"] is None
    assert got["looked_after_during"] == 0


@pytest.mark.parametrize(
    "query",
    ["from=2023-04-01&to=2023-03-31", "from=2013-03-31&to=2023-03-31", "from=2012-04-01&to=2023-03-31"],
)
async def test_a_bad_period_is_refused_naming_to(api, query):
    response = await api.get(f"/v1/stats/children?{query}", role="auditor")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "to"]
