"""GET /v1/stats/participation against a published table: Croydon's "CLA 12" for 2020-21 (reviews
held 1 April 2020 - 31 March 2021, by the child's current age on 1 September 2021), plus the
definitions around it (uncoded, by code, the period's edges, age on the review date) and the SQL
age against `shared.calendar.age_on`, 29 February included."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import insert, text

from services.participation import rules
from services.participation.models import HeldReview, Participation
from services.participation.stats import age_sql
from shared.calendar import age_on
from tests.participation.helpers import child_with_review

PERIOD_START, PERIOD_END = dt.date(2020, 4, 1), dt.date(2021, 3, 31)
CURRENT_AGE_ON = dt.date(2021, 9, 1)
PERIOD = {"from": PERIOD_START.isoformat(), "to": PERIOD_END.isoformat()}

# Croydon, CLA 12 2020-21: (current age on 1 Sep 2021, reviews, participated PN1-PN6, pct as published
# arithmetic: participated / reviews rounded half up to one decimal). Croydon's last row, age 26,
# is left out: nobody of 25 or 26 in 2021 can have had a looked-after child's review in 2020-21
# (reviews end at 18), so it cannot be built from held reviews of children.
CLA_12 = [
    (4, 19, 6, 31.6),
    (5, 31, 9, 29.0),
    (6, 31, 12, 38.7),
    (7, 47, 19, 40.4),
    (8, 38, 9, 23.7),
    (9, 50, 27, 54.0),
    (10, 63, 36, 57.1),
    (11, 73, 44, 60.3),
    (12, 69, 38, 55.1),
    (13, 94, 68, 72.3),
    (14, 116, 85, 73.3),
    (15, 131, 105, 80.2),
    (16, 234, 208, 88.9),
    (17, 385, 326, 84.7),
    (18, 430, 358, 83.3),  # care leavers now: 17 at their review
    (19, 28, 23, 82.1),  # 17 at a review early in the year, 19 by September 2021
]


@dataclass(frozen=True)
class Review:
    review_date: dt.date
    date_of_birth: dt.date
    code: str | None


def _dates(age: int, i: int) -> tuple[dt.date, dt.date]:
    """A review date in the period and a date of birth making the child `age` on 1 Sep 2021 and 4-17
    on the review date, spread over the year by `i`."""
    latest_birth = dt.date(CURRENT_AGE_ON.year - age, CURRENT_AGE_ON.month, CURRENT_AGE_ON.day)
    for shift in range(365):
        review_date = PERIOD_START + dt.timedelta(days=(i * 29 + shift) % 365)
        date_of_birth = latest_birth - dt.timedelta(days=(i * 53 + shift * 7) % 365)
        if age_on(date_of_birth, CURRENT_AGE_ON) == age and 4 <= age_on(date_of_birth, review_date) <= 17:
            return review_date, date_of_birth
    raise AssertionError(f"no dates for age {age}")


def cla_12_reviews() -> list[Review]:
    """The table as held reviews: per row, `participated` reviews coded PN1-PN6 and the rest PN7."""
    reviews = []
    participated_codes = sorted(rules.PARTICIPATED)
    for age, count, participated, _ in CLA_12:
        for i in range(count):
            review_date, date_of_birth = _dates(age, i)
            code = participated_codes[i % 6] if i < participated else "PN7"
            reviews.append(Review(review_date, date_of_birth, code))
    return reviews


def other_reviews() -> list[Review]:
    """Reviews that are not in the table: uncoded ones, under-4s (PN0, three of them 4 by September
    2021 but 3 at their review) and reviews either side of the period."""
    return [
        *[Review(dt.date(2020, 11, 2), dt.date(2010, 1, 5), None) for _ in range(5)],
        *[Review(dt.date(2020, 6, 1), dt.date(2017, 3, 1), "PN0") for _ in range(3)],
        *[Review(dt.date(2021, 1, 20), dt.date(2019, 2, 1), "PN0") for _ in range(4)],
        Review(PERIOD_START - dt.timedelta(days=1), dt.date(2010, 1, 5), "PN1"),
        Review(PERIOD_END + dt.timedelta(days=1), dt.date(2010, 1, 5), "PN1"),
        Review(dt.date(2019, 6, 1), dt.date(2010, 1, 5), "PN7"),
    ]


async def insert_reviews(session, reviews: list[Review]) -> None:
    """Held reviews and their records straight into the tables (bulk; the events path is tested in
    test_api.py), on a clean slate that the test's rollback restores."""
    await session.execute(text("DELETE FROM participation.participation"))
    await session.execute(text("DELETE FROM participation.held_review"))
    held, coded = [], []
    for review in reviews:
        review_id = uuid.uuid4()
        held.append(
            {
                "review_id": review_id,
                "child_id": uuid.uuid4(),
                "review_date": review.review_date,
                "date_of_birth": review.date_of_birth,
            }
        )
        if review.code is not None:
            coded.append({"review_id": review_id, "code": review.code, "recorded_by": "croydon@test"})
    if held:
        await session.execute(insert(HeldReview), held)
    if coded:
        await session.execute(insert(Participation), coded)


def test_the_fixture_is_the_table():
    reviews = cla_12_reviews()
    assert len(reviews) == sum(row[1] for row in CLA_12) == 1839
    assert sum(r.code in rules.PARTICIPATED for r in reviews) == sum(row[2] for row in CLA_12) == 1373
    for review in reviews:
        assert PERIOD_START <= review.review_date <= PERIOD_END
        assert 4 <= age_on(review.date_of_birth, review.review_date) <= 17
    by_current_age = Counter(age_on(r.date_of_birth, CURRENT_AGE_ON) for r in reviews)
    assert by_current_age == {age: count for age, count, _, _ in CLA_12}


async def test_by_age_on_1_september_2021_reproduces_croydons_cla_12(client, session, auth_header):
    await insert_reviews(session, cla_12_reviews() + other_reviews())
    got = await client.get(
        "/v1/stats/participation", params={**PERIOD, "age_on": "2021-09-01"}, headers=auth_header("manager")
    )
    assert got.status_code == 200
    stats = got.json()
    assert stats["by_age"] == [
        {"age": age, "reviews": reviews, "participated": participated, "pct": pct}
        for age, reviews, participated, pct in CLA_12
    ]
    # A few rows written out: age 4 is 6 of 19 = 31.6%, age 9 exactly 54.0%, age 18 358 of 430 = 83.3%.
    rows = {row["age"]: row for row in stats["by_age"]}
    assert rows[4] == {"age": 4, "reviews": 19, "participated": 6, "pct": 31.6}
    assert rows[9]["pct"] == 54.0
    assert rows[18]["pct"] == 83.3
    assert stats["aged_4_plus"] == {"reviews": 1839, "participated": 1373, "pct": 74.7}
    assert (stats["from"], stats["to"], stats["age_on"]) == ("2020-04-01", "2021-03-31", "2021-09-01")


async def test_reviews_uncoded_and_by_code_count_every_held_review_in_the_period(client, session, auth_header):
    cla_12 = cla_12_reviews()
    await insert_reviews(session, cla_12 + other_reviews())
    stats = (await client.get("/v1/stats/participation", params=PERIOD, headers=auth_header("auditor"))).json()
    assert stats["reviews"] == 1839 + 5 + 7  # the table, the uncoded and the under-4s; not the three outside
    assert stats["uncoded"] == 5
    codes = Counter(r.code for r in cla_12)
    assert stats["by_code"] == {
        "PN0": 7,
        **{code: codes[code] for code in sorted(rules.PARTICIPATED)},
        "PN7": 1839 - 1373,
    }
    assert list(stats["by_code"]) == ["PN0", "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"]
    assert sum(stats["by_code"].values()) == stats["reviews"] - stats["uncoded"]


async def test_by_age_defaults_to_the_age_on_each_review_date(client, session, auth_header):
    cla_12 = cla_12_reviews()
    await insert_reviews(session, cla_12 + other_reviews())
    stats = (await client.get("/v1/stats/participation", params=PERIOD, headers=auth_header("iro"))).json()
    reviews = Counter(age_on(r.date_of_birth, r.review_date) for r in cla_12)
    participated = Counter(age_on(r.date_of_birth, r.review_date) for r in cla_12 if r.code in rules.PARTICIPATED)
    assert stats["age_on"] is None
    assert stats["by_age"] == [
        {
            "age": age,
            "reviews": reviews[age],
            "participated": participated[age],
            "pct": rules.participation_pct(participated[age], reviews[age]),
        }
        for age in sorted(reviews)
    ]
    assert min(reviews) == 4 and max(reviews) == 17  # nobody is 18 or 19 at a review
    assert stats["aged_4_plus"] == {"reviews": 1839, "participated": 1373, "pct": 74.7}


async def test_the_period_includes_both_of_its_days_and_nothing_either_side(client, session, auth_header):
    born = dt.date(2010, 1, 5)
    await insert_reviews(
        session,
        [
            Review(dt.date(2022, 12, 31), born, "PN1"),
            Review(dt.date(2023, 1, 1), born, "PN1"),
            Review(dt.date(2023, 1, 31), born, "PN7"),
            Review(dt.date(2023, 2, 1), born, "PN1"),
        ],
    )
    params = {"from": "2023-01-01", "to": "2023-01-31"}
    stats = (await client.get("/v1/stats/participation", params=params, headers=auth_header("iro"))).json()
    assert (stats["reviews"], stats["uncoded"]) == (2, 0)
    assert stats["aged_4_plus"] == {"reviews": 2, "participated": 1, "pct": 50.0}
    # Born 5 January: 12 at the review on 1 January, 13 at the one on 31 January.
    assert stats["by_age"] == [
        {"age": 12, "reviews": 1, "participated": 1, "pct": 100.0},
        {"age": 13, "reviews": 1, "participated": 0, "pct": 0.0},
    ]


async def test_an_empty_period_has_zeros_and_no_rate(client, session, auth_header):
    await insert_reviews(session, [])
    stats = (await client.get("/v1/stats/participation", params=PERIOD, headers=auth_header("iro"))).json()
    assert stats == {
        "from": "2020-04-01",
        "to": "2021-03-31",
        "age_on": None,
        "reviews": 0,
        "uncoded": 0,
        "by_code": dict.fromkeys(rules.CODES, 0),
        "aged_4_plus": {"reviews": 0, "participated": 0, "pct": None},
        "by_age": [],
        "recorded": 0,
        "methods": dict.fromkeys(rules.METHODS, 0),
        "met_iro_before": {"yes": 0, "no": 0, "not_recorded": 0},
        "interpreter_used": {"yes": 0, "no": 0, "not_recorded": 0},
        "parents": {
            "reviews_with_parents_recorded": 0,
            "reviews_with_a_parent_taking_part": 0,
            "by_participation": dict.fromkeys(rules.PARENT_PARTICIPATION, 0),
        },
    }


async def test_records_put_through_the_api_are_counted(client, session, auth_header):
    await insert_reviews(session, [])
    _, four_today = await child_with_review(session, dt.date(2016, 10, 1), dt.date(2020, 10, 1))
    _, three = await child_with_review(session, dt.date(2016, 10, 1), dt.date(2020, 9, 30))
    await child_with_review(session, dt.date(2012, 1, 1), dt.date(2020, 5, 5))  # held, never coded
    assert (
        await client.put(f"/v1/participation/{four_today}", json={"code": "PN6"}, headers=auth_header("iro"))
    ).status_code == 200
    assert (
        await client.put(f"/v1/participation/{three}", json={"code": "PN0"}, headers=auth_header("iro"))
    ).status_code == 200
    stats = (await client.get("/v1/stats/participation", params=PERIOD, headers=auth_header("iro"))).json()
    assert (stats["reviews"], stats["uncoded"]) == (3, 1)
    assert (stats["by_code"]["PN0"], stats["by_code"]["PN6"]) == (1, 1)
    assert stats["by_age"] == [{"age": 4, "reviews": 1, "participated": 1, "pct": 100.0}]


async def test_the_sql_age_agrees_with_age_on_every_day_29_february_included(session):
    births = [
        dt.date(2016, 2, 29),
        dt.date(2000, 2, 29),
        dt.date(2015, 2, 28),
        dt.date(2015, 3, 1),
        dt.date(2012, 12, 31),
        dt.date(2011, 1, 1),
    ]
    query = text(
        f"""
        SELECT b.born, d::date AS day, {age_sql("d::date", "b.born")} AS age
          FROM unnest(CAST(:births AS date[])) AS b (born)
         CROSS JOIN generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d
         WHERE d::date >= b.born
        """
    )
    rows = (
        await session.execute(query, {"births": births, "start": dt.date(2015, 1, 1), "end": dt.date(2026, 12, 31)})
    ).all()
    assert len(rows) > 20_000
    wrong = [(row.born, row.day, row.age) for row in rows if row.age != age_on(row.born, row.day)]
    assert wrong == []
    # The 29 February cases, written out: 1 March is the birthday in a common year.
    ages = {(row.born, row.day): row.age for row in rows}
    assert ages[(dt.date(2016, 2, 29), dt.date(2021, 2, 28))] == 4
    assert ages[(dt.date(2016, 2, 29), dt.date(2021, 3, 1))] == 5
    assert ages[(dt.date(2016, 2, 29), dt.date(2020, 2, 29))] == 4
    assert ages[(dt.date(2016, 2, 29), dt.date(2020, 2, 28))] == 3
