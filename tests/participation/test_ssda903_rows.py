"""GET /v1/ssda903/participation (internal: the gateway's DfE export reads it): every review held in
a collection year, by review date then review id, with the child's reference and date of birth, the
participation code (null when none is recorded) and the review's problems.

Collection year 2022 is 1 April 2021 - 31 March 2022. The fixture, through the footprint as the
reviews service writes it (the request catches the service's view up itself):

| review | child (la_reference, born) | held | code | problems |
|---|---|---|---|---|
| first | A (A-001, 2010-05-05) | 2021-04-01 (first day) | PN1 | none |
| low, high | A | 2021-06-01 | PN6, none | none |
| flagged | B (B-002, 2018-01-10, corrected to 2017-01-10) | 2021-06-01 | PN0 | code_invalid_for_age |
| no_child | C (only ever seen in a review: no la_reference, born 2005-01-01) | 2021-09-15 | none | none |
| last | A | 2022-03-31 (last day) | none | none |

and A's reviews of 2021-03-31 and 2022-04-01, either side, not in the year. The three reviews of
2021-06-01 come in review id order (`low` and `high` have the smallest and largest ids).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from services.participation.consumers import consumer_of
from services.participation.schemas import Ssda903Participation
from shared import footprint
from shared.footprint import events
from tests.participation.helpers import hold_review, record, register_child

D = dt.date
PATH = "/v1/ssda903/participation"
MOSAIC = footprint.Actor(sub="mosaic-bot", role="integration", source="mosaic")
LOW, HIGH = uuid.UUID(int=1), uuid.UUID(int=2**128 - 1)


async def correct_date_of_birth(session, child_id: uuid.UUID, date_of_birth: dt.date, previous: dt.date) -> None:
    """Append `child.updated` as the reviews service writes it for a case system's correction."""
    await footprint.append(
        session,
        event=events.ChildUpdated(
            child_id=child_id, changed=["date_of_birth"], date_of_birth=date_of_birth, previous_date_of_birth=previous
        ),
        actor=MOSAIC,
        subject=footprint.Subject("child", child_id),
        service="reviews",
        child_id=child_id,
    )


@pytest.fixture
async def year_2022(app, client, session, auth_header) -> dict[str, uuid.UUID]:
    """The table above; the ids by name."""
    # A clean slate (the test's rollback restores it): what the log held before is in the view first.
    assert await consumer_of(app).catch_up(session) is True
    await session.execute(text("DELETE FROM participation.participation"))
    await session.execute(text("DELETE FROM participation.held_review"))
    a_born, b_born, c_born = D(2010, 5, 5), D(2018, 1, 10), D(2005, 1, 1)
    a = await register_child(session, a_born, la_reference="A-001")
    b = await register_child(session, b_born, la_reference="B-002")
    c = uuid.uuid4()  # never registered: known from its review only
    ids = {
        "before": await hold_review(session, a, a_born, D(2021, 3, 31)),
        "first": await hold_review(session, a, a_born, D(2021, 4, 1)),
        "low": await hold_review(session, a, a_born, D(2021, 6, 1), review_id=LOW),
        "high": await hold_review(session, a, a_born, D(2021, 6, 1), review_id=HIGH),
        "flagged": await hold_review(session, b, b_born, D(2021, 6, 1)),
        "no_child": await hold_review(session, c, c_born, D(2021, 9, 15)),
        "last": await hold_review(session, a, a_born, D(2022, 3, 31)),
        "after": await hold_review(session, a, a_born, D(2022, 4, 1)),
    }
    for name, code in (("first", "PN1"), ("low", "PN6"), ("flagged", "PN0"), ("before", "PN1"), ("after", "PN1")):
        put = await client.put(f"/v1/participation/{ids[name]}", json=record(code), headers=auth_header("iro"))
        assert put.status_code == 200, put.text
    # B was 4, not 3, on 2021-06-01: the stored PN0 is kept and flagged.
    await correct_date_of_birth(session, b, D(2017, 1, 10), previous=b_born)
    return ids | {"a": a, "b": b, "c": c}


def _row(review_id, child_id, la_reference, review_date, date_of_birth, code, problems=()):
    return {
        "review_id": str(review_id),
        "child_id": str(child_id),
        "la_reference": la_reference,
        "review_date": review_date,
        "date_of_birth": date_of_birth,
        "code": code,
        "problems": list(problems),
    }


async def test_every_review_held_in_the_year_with_its_code_or_null_and_its_problems(year_2022, client, auth_header):
    ids = year_2022
    got = await client.get(PATH, params={"collection_year": 2022}, headers=auth_header("auditor"))
    assert got.status_code == 200, got.text
    a, b, c = ids["a"], ids["b"], ids["c"]
    # The three of 2021-06-01 by review id: LOW first, HIGH last, `flagged` (a random id) between.
    assert got.json() == {
        "collection_year": 2022,
        "from": "2021-04-01",
        "to": "2022-03-31",
        "items": [
            _row(ids["first"], a, "A-001", "2021-04-01", "2010-05-05", "PN1"),
            _row(LOW, a, "A-001", "2021-06-01", "2010-05-05", "PN6"),
            _row(ids["flagged"], b, "B-002", "2021-06-01", "2017-01-10", "PN0", ["code_invalid_for_age"]),
            _row(HIGH, a, "A-001", "2021-06-01", "2010-05-05", None),
            _row(ids["no_child"], c, None, "2021-09-15", "2005-01-01", None),
            _row(ids["last"], a, "A-001", "2022-03-31", "2010-05-05", None),
        ],
    }


async def test_the_answer_is_the_declared_response_model_exactly(year_2022, client, auth_header):
    # PostgreSQL writes the JSON (services/participation/ssda903.py): it must be what the schema says.
    got = (await client.get(PATH, params={"collection_year": 2022}, headers=auth_header("auditor"))).json()
    model = Ssda903Participation.model_validate({**got, "from_": got.pop("from")})
    assert model.model_dump(mode="json", by_alias=True) == {**got, "from": "2021-04-01"}
    assert len(model.items) == 6


async def test_a_year_without_reviews_has_no_items(client, auth_header):
    got = await client.get(PATH, params={"collection_year": 1995}, headers=auth_header("auditor"))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert got.json() == {"collection_year": 1995, "from": "1994-04-01", "to": "1995-03-31", "items": []}


async def test_the_years_either_side_hold_the_reviews_just_outside(year_2022, client, auth_header):
    headers = auth_header("manager")
    earlier = (await client.get(PATH, params={"collection_year": 2021}, headers=headers)).json()
    later = (await client.get(PATH, params={"collection_year": 2023}, headers=headers)).json()
    assert (earlier["from"], earlier["to"]) == ("2020-04-01", "2021-03-31")
    assert [(item["review_id"], item["code"]) for item in earlier["items"]] == [(str(year_2022["before"]), "PN1")]
    assert [(item["review_id"], item["code"]) for item in later["items"]] == [(str(year_2022["after"]), "PN1")]


@pytest.mark.parametrize("year", ["1989", "2201", "2022.5", "twenty", ""])
async def test_a_collection_year_not_a_whole_year_from_1990_to_2200_is_a_422_naming_it(client, auth_header, year):
    got = await client.get(PATH, params={"collection_year": year}, headers=auth_header("admin"))
    assert got.status_code == 422
    assert [error["loc"] for error in got.json()["errors"]] == [["query", "collection_year"]]


async def test_the_collection_year_is_required(client, auth_header):
    got = await client.get(PATH, headers=auth_header("admin"))
    assert got.status_code == 422
    assert [error["loc"] for error in got.json()["errors"]] == [["query", "collection_year"]]


@pytest.mark.parametrize("year", [1990, 2200])
async def test_the_first_and_last_collection_years_are_answered(client, auth_header, year):
    got = await client.get(PATH, params={"collection_year": year}, headers=auth_header("admin"))
    assert got.status_code == 200, got.text
    assert (got.json()["from"], got.json()["to"]) == (f"{year - 1}-04-01", f"{year}-03-31")


@pytest.mark.parametrize(
    ("role", "status"), [("manager", 200), ("auditor", 200), ("admin", 200), ("iro", 403), ("integration", 403)]
)
async def test_only_the_export_readers_may_call_it(client, auth_header, role, status):
    got = await client.get(PATH, params={"collection_year": 2022}, headers=auth_header(role))
    assert got.status_code == status


async def test_no_token_is_401(client):
    assert (await client.get(PATH, params={"collection_year": 2022})).status_code == 401
