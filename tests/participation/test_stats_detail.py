"""GET /v1/stats/participation beyond the code: how the child and the parents took part, over the
participation records of the period's held reviews; and the period rule of every participation
statistic (`shared.periods`: `to` not before `from`, and before `from` + 10 years).

The period is 2023-24 (1 April 2023 - 31 March 2024). Its held reviews, worked by hand:

| review | held | code | methods | met IRO | interpreter | parents |
|---|---|---|---|---|---|---|
| R1 (by PUT) | 2023-05-10 | PN1 | in_person, consultation_form | true | false | mother attended, father not_invited |
| R2 | 2023-07-03 | PN6 | consultation_form | false | null | mother views_conveyed |
| R3 | 2023-09-12 | PN7 | skype (an older list's) | null | null | father invited_did_not_attend, carer not_appropriate |
| R4 | 2023-11-20 | PN2 | advocate, video | true | true | none |
| R5 | 2024-01-08 | PN0 | none | null | null | mother attended, father attended |
| R6 | 2024-03-31 | none (uncoded) | | | | |

and either side, not counted: 2023-03-31 (PN1, in_person, met, interpreter, mother attended) and
2024-04-01 (PN1, phone, met, interpreter, father attended).

- `reviews` 6, `uncoded` 1, `recorded` 5 (R1-R5).
- `methods`: in_person 1 (R1), video 1 (R4), phone 0, consultation_form 2 (R1 R2), app 0, advocate 1
  (R4), met_iro_before 0, text_or_social_media 0, then skype 1 (not on the list: last).
- `met_iro_before`: yes 2 (R1 R4), no 1 (R2), not_recorded 2 (R3 R5).
- `interpreter_used`: yes 1 (R4), no 1 (R1), not_recorded 3 (R2 R3 R5).
- `parents`: with parents recorded 4 (R1 R2 R3 R5); a parent taking part (attended or views_conveyed)
  3 (R1 R2 R5; R3's parents did not); entries by participation: attended 3 (R1 mother, R5 both),
  views_conveyed 1, invited_did_not_attend 1, not_invited 1, not_appropriate 1.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import insert, text

from services.participation import rules
from services.participation.models import HeldReview, Participation
from tests.participation.helpers import child_with_review

D = dt.date
PERIOD = {"from": "2023-04-01", "to": "2024-03-31"}
STATS = ("/v1/stats/participation", "/v1/stats/feedback", "/v1/stats/advocacy")


def _parents(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"relationship": relationship, "participation": participation} for relationship, participation in pairs]


# (held on, date of birth, code, methods, met_iro_before, interpreter_used, parents); code None: uncoded.
INSERTED: list[tuple[dt.date, dt.date, str | None, list[str], bool | None, bool | None, list[dict[str, str]]]] = [
    (D(2023, 7, 3), D(2010, 1, 1), "PN6", ["consultation_form"], False, None, _parents(("mother", "views_conveyed"))),
    (
        D(2023, 9, 12),
        D(2010, 1, 1),
        "PN7",
        ["skype"],
        None,
        None,
        _parents(("father", "invited_did_not_attend"), ("carer", "not_appropriate")),
    ),
    (D(2023, 11, 20), D(2010, 1, 1), "PN2", ["advocate", "video"], True, True, []),
    (D(2024, 1, 8), D(2022, 6, 1), "PN0", [], None, None, _parents(("mother", "attended"), ("father", "attended"))),
    (D(2024, 3, 31), D(2010, 1, 1), None, [], None, None, []),
    (D(2023, 3, 31), D(2010, 1, 1), "PN1", ["in_person"], True, True, _parents(("mother", "attended"))),
    (D(2024, 4, 1), D(2010, 1, 1), "PN1", ["phone"], True, True, _parents(("father", "attended"))),
]


async def _fixture(client, session, auth_header) -> None:
    """The table above on a clean slate (the test's rollback restores it): R1 through the API, so a
    record as a PUT stores it is counted too; the rest straight into the tables."""
    await session.execute(text("DELETE FROM participation.participation"))
    await session.execute(text("DELETE FROM participation.held_review"))
    held: list[dict[str, Any]] = []
    coded: list[dict[str, Any]] = []
    for held_on, date_of_birth, code, methods, met, interpreter, parents in INSERTED:
        review_id = uuid.uuid4()
        held.append(
            {"review_id": review_id, "child_id": uuid.uuid4(), "review_date": held_on, "date_of_birth": date_of_birth}
        )
        if code is not None:
            coded.append(
                {
                    "review_id": review_id,
                    "code": code,
                    "methods": methods,
                    "met_iro_before": met,
                    "interpreter_used": interpreter,
                    "parents": parents,
                    "recorded_by": "tester@council.gov.uk",
                }
            )
    await session.execute(insert(HeldReview), held)
    await session.execute(insert(Participation), coded)
    _, r1 = await child_with_review(session, D(2010, 1, 1), D(2023, 5, 10))
    body = {
        "code": "PN1",
        "methods": ["in_person", "consultation_form"],
        "met_iro_before": True,
        "interpreter_used": False,
        "parents": _parents(("mother", "attended"), ("father", "not_invited")),
    }
    put = await client.put(f"/v1/participation/{r1}", json=body, headers=auth_header("iro"))
    assert put.status_code == 200, put.text


async def test_how_the_child_and_parents_took_part_match_the_hand_count(client, session, auth_header):
    await _fixture(client, session, auth_header)
    got = await client.get("/v1/stats/participation", params=PERIOD, headers=auth_header("manager"))
    assert got.status_code == 200, got.text
    stats = got.json()
    assert (stats["reviews"], stats["uncoded"], stats["recorded"]) == (6, 1, 5)
    assert list(stats["methods"].items()) == [
        ("in_person", 1),
        ("video", 1),
        ("phone", 0),
        ("consultation_form", 2),
        ("app", 0),
        ("advocate", 1),
        ("met_iro_before", 0),
        ("text_or_social_media", 0),
        ("skype", 1),
    ]
    assert stats["met_iro_before"] == {"yes": 2, "no": 1, "not_recorded": 2}
    assert stats["interpreter_used"] == {"yes": 1, "no": 1, "not_recorded": 3}
    assert stats["parents"] == {
        "reviews_with_parents_recorded": 4,
        "reviews_with_a_parent_taking_part": 3,
        "by_participation": {
            "attended": 3,
            "views_conveyed": 1,
            "invited_did_not_attend": 1,
            "not_invited": 1,
            "not_appropriate": 1,
        },
    }
    # The figures that were there before are unchanged by the new ones.
    assert stats["by_code"] == {**dict.fromkeys(rules.CODES, 0), "PN0": 1, "PN1": 1, "PN2": 1, "PN6": 1, "PN7": 1}
    assert stats["aged_4_plus"] == {"reviews": 4, "participated": 3, "pct": 75.0}


async def test_the_yes_no_counts_add_up_to_the_records(client, session, auth_header):
    await _fixture(client, session, auth_header)
    stats = (await client.get("/v1/stats/participation", params=PERIOD, headers=auth_header("iro"))).json()
    assert stats["recorded"] == stats["reviews"] - stats["uncoded"] == sum(stats["by_code"].values())
    for question in ("met_iro_before", "interpreter_used"):
        assert sum(stats[question].values()) == stats["recorded"]


async def test_one_day_of_the_period_counts_only_that_days_record(client, session, auth_header):
    await _fixture(client, session, auth_header)
    one_day = {"from": "2024-01-08", "to": "2024-01-08"}  # R5 only: PN0, two parents who attended
    stats = (await client.get("/v1/stats/participation", params=one_day, headers=auth_header("iro"))).json()
    assert (stats["reviews"], stats["recorded"]) == (1, 1)
    assert set(stats["methods"].values()) == {0}
    assert "skype" not in stats["methods"]
    assert stats["met_iro_before"] == stats["interpreter_used"] == {"yes": 0, "no": 0, "not_recorded": 1}
    assert stats["parents"]["reviews_with_parents_recorded"] == 1
    assert stats["parents"]["reviews_with_a_parent_taking_part"] == 1
    assert stats["parents"]["by_participation"]["attended"] == 2


# --- The period rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STATS)
async def test_to_before_from_is_a_422_naming_to(client, auth_header, path):
    got = await client.get(path, params={"from": "2024-04-02", "to": "2024-04-01"}, headers=auth_header("iro"))
    assert got.status_code == 422
    assert [error["loc"] for error in got.json()["errors"]] == [["query", "to"]]


@pytest.mark.parametrize("path", STATS)
async def test_a_period_of_ten_years_or_more_is_a_422_naming_to(client, auth_header, path):
    headers = auth_header("iro")
    ten_years = await client.get(path, params={"from": "2014-04-01", "to": "2024-04-01"}, headers=headers)
    assert ten_years.status_code == 422
    assert [error["loc"] for error in ten_years.json()["errors"]] == [["query", "to"]]
    assert "2024-04-01" in ten_years.json()["errors"][0]["msg"]
    under_ten = await client.get(path, params={"from": "2014-04-01", "to": "2024-03-31"}, headers=headers)
    assert under_ten.status_code == 200, under_ten.text


async def test_the_longest_advocacy_period_lists_its_forty_quarters(client, auth_header):
    params = {"from": "2014-04-01", "to": "2024-03-31"}
    stats = (await client.get("/v1/stats/advocacy", params=params, headers=auth_header("iro"))).json()
    quarters = [row["quarter"] for row in stats["by_quarter"]]
    assert (len(quarters), quarters[0], quarters[-1]) == (40, "2014-Q2", "2024-Q1")


@pytest.mark.parametrize("path", STATS)
async def test_from_29_february_2016_the_period_may_run_to_27_february_2026(client, auth_header, path):
    # shared.periods: 29 February + 10 years is 28 February, the first `to` refused.
    headers = auth_header("iro")
    allowed = await client.get(path, params={"from": "2016-02-29", "to": "2026-02-27"}, headers=headers)
    assert allowed.status_code == 200, allowed.text
    refused = await client.get(path, params={"from": "2016-02-29", "to": "2026-02-28"}, headers=headers)
    assert refused.status_code == 422
    assert [error["loc"] for error in refused.json()["errors"]] == [["query", "to"]]
