"""The reviews side of the DfE SSDA903 reviews table (DESIGN 2.7), `GET /v1/ssda903/reviews` (internal):
every review held in the collection year, and whether the DfE's rule 399 leaves the child out (every
legal status the child had on a day of the year was V3 or V4, short breaks)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import event

from services.reviews.models import CarePeriod, Child, LegalStatusChange, Review
from tests.reviews.conftest import Api

D = dt.date.fromisoformat
YEAR = 2023  # 2022-04-01 to 2023-03-31
PROBLEM = "held_on_or_after_18th_birthday"

# Children: key -> (date of birth, care periods, reviews held). A care period is (started_on, ended_on,
# the legal status it started with, its legal status changes); a review is (period index, sequence,
# held_on). S4 is built through the API instead (below).
Period = tuple[str, str | None, str, list[tuple[str, str]]]
CHILDREN: dict[str, tuple[str, list[Period], list[tuple[int, int, str]]]] = {
    # V3 all year: short breaks only.
    "S1": ("2012-05-01", [("2021-09-01", None, "V3", [])], [(0, 1, "2021-11-20"), (0, 2, "2022-05-10"),
                                                            (0, 3, "2022-11-01")]),
    # V3, then C2 from 2022-10-01: not short breaks only, for the reviews before the change too.
    "S2": ("2012-05-01", [("2021-09-01", None, "V3", [("2022-10-01", "C2")])],
           [(0, 1, "2021-11-20"), (0, 2, "2022-05-10"), (0, 3, "2022-10-20"), (0, 4, "2023-04-03")]),
    # C2, then V4 from 2021-06-01, before the year: only V4 on the year's days.
    "S3": ("2012-05-01", [("2020-01-01", None, "C2", [("2021-06-01", "V4")])], [(0, 5, "2022-07-01")]),
    # A V3 period ended 2022-06-01, then a C2 one: both in the year.
    "S5": ("2012-05-01", [("2021-09-01", "2022-06-01", "V3", []), ("2022-08-01", None, "C2", [])],
           [(0, 2, "2022-05-01"), (1, 1, "2022-08-25")]),
    # A C2 period that ended on 2022-04-01, the year's first day (not a day in care), then V3 from that day.
    "S6": ("2012-05-01", [("2020-01-01", "2022-04-01", "C2", []), ("2022-04-01", None, "V3", [])],
           [(1, 1, "2022-06-20")]),
    # Born 2004-11-01 as corrected after the fact: 18 on 2022-11-01, so the review of 2022-12-01 is a problem.
    "S7": ("2004-11-01", [("2021-01-04", None, "C2", [])], [(0, 3, "2022-06-01"), (0, 4, "2022-12-01")]),
    # Reviews held the day before the year, on its first day and on its last.
    "S8": ("2012-05-01", [("2021-01-04", None, "C1", [])], [(0, 2, "2022-03-31"), (0, 3, "2022-04-01"),
                                                            (0, 4, "2023-03-31")]),
}  # fmt: skip


async def insert_children(session: Any, run: str) -> dict[str, Child]:
    children = {}
    for key, (dob, periods, reviews) in CHILDREN.items():
        child = Child(id=uuid.uuid4(), la_reference=f"{run}-{key}", date_of_birth=D(dob))
        session.add(child)
        await session.flush()
        rows = []
        for started, ended, initial, changes in periods:
            current = changes[-1][1] if changes else initial
            period = CarePeriod(
                id=uuid.uuid4(), child_id=child.id, started_on=D(started), ended_on=D(ended) if ended else None,
                end_reason="E13" if ended else None, legal_status=current, initial_legal_status=initial,
            )  # fmt: skip
            session.add(period)
            await session.flush()
            for changed_on, status in changes:
                session.add(
                    LegalStatusChange(id=uuid.uuid4(), care_period_id=period.id, child_id=child.id,
                                      changed_on=D(changed_on), legal_status=status)
                )  # fmt: skip
            rows.append(period)
        for index, sequence, held_on in reviews:
            session.add(
                Review(
                    id=uuid.uuid4(), child_id=child.id, care_period_id=rows[index].id, sequence=sequence,
                    due_on=D(held_on), statutory_due_on=D(held_on), status="held", held_on=D(held_on), in_time=True,
                )
            )  # fmt: skip
        await session.flush()
        children[key] = child
    return children


async def short_break_then_care_order(api: Api, run: str) -> dict[str, Any]:
    """S4, through the service: C2 from 2022-01-10, reviews held 2022-02-01 and 2022-04-20, then V3 from
    2022-06-01. The period reads V3 now; it started C2, in force on the year's first two months."""
    child = await api.child(f"{run}-S4", "2012-05-01")
    await api.enter_care(child["id"], "2022-01-10", legal_status="C2")
    first = (await api.reviews(child["id"]))[0]
    await api.hold(first["id"], "2022-02-01")
    second = next(r for r in await api.reviews(child["id"]) if r["sequence"] == 2)
    await api.hold(second["id"], "2022-04-20")
    body = {"changed_on": "2022-06-01", "legal_status": "V3"}
    await api.ok("POST", f"/v1/children/{child['id']}/legal-status-changes", body, status=201)
    [period] = (await api.ok("GET", f"/v1/children/{child['id']}/care-periods"))["items"]
    assert period["legal_status"] == "V3"
    return child


def item(child: Any, held_on: str, sequence: int, short_breaks_only: bool, problems: list[str] | None = None) -> Any:
    return {
        "review_id": None,  # filled in by `without_ids`
        "child_id": str(child.id if isinstance(child, Child) else child["id"]),
        "la_reference": child.la_reference if isinstance(child, Child) else child["la_reference"],
        "date_of_birth": str(child.date_of_birth if isinstance(child, Child) else child["date_of_birth"]),
        "held_on": held_on,
        "sequence": sequence,
        "short_breaks_only": short_breaks_only,
        "problems": problems or [],
    }


def without_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**i, "review_id": None} for i in items]


async def test_the_reviews_held_in_the_year_with_rule_399_and_their_problems(api, session):
    api.today(D("2024-01-15"))
    run = f"X{uuid.uuid4().hex[:8]}"
    c = await insert_children(session, run)
    s4 = await short_break_then_care_order(api, run)
    got = await api.ok("GET", f"/v1/ssda903/reviews?collection_year={YEAR}", role="manager")
    assert (got["collection_year"], got["from"], got["to"]) == (2023, "2022-04-01", "2023-03-31")
    assert all(uuid.UUID(i["review_id"]) for i in got["items"])
    # By la_reference, then held_on. Held in [2022-04-01, 2023-03-31] only: not S1's, S2's first review
    # (2021) nor S2's fourth (2023-04-03), not S4's first (2022-02-01), not S8's of 2022-03-31.
    assert without_ids([i for i in got["items"] if i["la_reference"].startswith(run)]) == [
        item(c["S1"], "2022-05-10", 2, True),
        item(c["S1"], "2022-11-01", 3, True),
        item(c["S2"], "2022-05-10", 2, False),
        item(c["S2"], "2022-10-20", 3, False),
        item(c["S3"], "2022-07-01", 5, True),
        item(s4, "2022-04-20", 2, False),  # C2 until 2022-06-01: it started C2, though it reads V3 now
        item(c["S5"], "2022-05-01", 2, False),
        item(c["S5"], "2022-08-25", 1, False),
        item(c["S6"], "2022-06-20", 1, True),  # the C2 period's last day in care was 2022-03-31
        item(c["S7"], "2022-06-01", 3, False),
        item(c["S7"], "2022-12-01", 4, False, [PROBLEM]),
        item(c["S8"], "2022-04-01", 3, False),
        item(c["S8"], "2023-03-31", 4, False),
    ]


async def test_the_problems_are_those_the_review_reads_with(api, session):
    api.today(D("2024-01-15"))
    run = f"X{uuid.uuid4().hex[:8]}"
    await insert_children(session, run)
    got = await api.ok("GET", f"/v1/ssda903/reviews?collection_year={YEAR}", role="auditor")
    for row in got["items"]:
        review = await api.ok("GET", f"/v1/reviews/{row['review_id']}")
        assert review["problems"] == row["problems"]


async def test_a_year_with_no_review_held_has_no_items(api, session):
    await insert_children(session, f"X{uuid.uuid4().hex[:8]}")
    got = await api.ok("GET", "/v1/ssda903/reviews?collection_year=2019", role="admin")
    assert got == {"collection_year": 2019, "from": "2018-04-01", "to": "2019-03-31", "items": []}


async def test_one_query_whatever_the_number_of_reviews(api, session, connection):
    api.today(D("2024-01-15"))
    await insert_children(session, f"X{uuid.uuid4().hex[:8]}")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(connection.sync_connection, "before_cursor_execute", count)
    try:
        await api.ok("GET", f"/v1/ssda903/reviews?collection_year={YEAR}", role="manager")
        few = [s for s in statements if "reviews.review" in s]
        await insert_children(session, f"Y{uuid.uuid4().hex[:8]}")
        statements.clear()
        got = await api.ok("GET", f"/v1/ssda903/reviews?collection_year={YEAR}", role="manager")
        many = [s for s in statements if "reviews.review" in s]
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", count)
    assert len(got["items"]) == 2 * 12
    assert len(few) == len(many) == 1


@pytest.mark.parametrize("year", ["1989", "2201", "twenty", ""])
async def test_a_collection_year_out_of_range_is_refused_naming_it(api, year):
    response = await api.get(f"/v1/ssda903/reviews?collection_year={year}", role="manager")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "collection_year"]


async def test_an_iro_may_not_read_the_export_rows(api):
    response = await api.get(f"/v1/ssda903/reviews?collection_year={YEAR}", role="iro")
    assert response.status_code == 403
