"""Record keeping around held reviews (DESIGN 2.2), through `GET /v1/stats/record-keeping`, against figures
worked out by hand on England's working-day calendar: deadlines across Easter 2023, the early May bank
holiday and the King's Coronation (8 May 2023), and a local closure day."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.reviews import rules
from services.reviews.main import create_app
from services.reviews.models import CarePeriod, Child, Review
from services.reviews.settings import Settings
from shared.calendar import WorkingCalendar
from tests.conftest import app_client, bind_app_to_session
from tests.reviews.conftest import Api

D = dt.date.fromisoformat
PERIOD = "from=2023-04-01&to=2023-06-30"

# Held reviews: name -> (held_on, sw report received, decisions issued, record issued, letter sent,
# chaired_by_child, format). Deadlines (settings: report 5 working days before; decisions 5, record and
# letter 20 working days after), worked out by hand:
#
#  R1 held Thu 2023-04-06: report due Thu 2023-03-30; decisions due Mon 2023-04-17 (Good Friday 7 Apr and
#     Easter Monday 10 Apr are not working days); record and letter due Wed 2023-05-10 (1 May and
#     8 May, the Coronation, are bank holidays).
#  R2 held Thu 2023-04-06: the same deadlines.
#  R3 held Tue 2023-05-02: report due Mon 2023-04-24; decisions due Wed 2023-05-10 (8 May skipped);
#     record and letter due Thu 2023-06-01 (29 May, the spring bank holiday, skipped).
#  R4 held Tue 2023-05-09: report due Fri 2023-04-28; decisions due Tue 2023-05-16; record and letter due
#     Wed 2023-06-07. R4 is the first review of a period that began before the data (not judged for
#     timeliness): it counts here all the same.
#  R0 held 2023-03-31, before `from`; R9 scheduled, never held: neither counts.
HELD = {
    "R1": ("2023-04-06", "2023-03-30", "2023-04-17", "2023-05-10", None, "chair", "in_person"),
    "R2": ("2023-04-06", "2023-03-31", "2023-04-18", None, "2023-04-20", "co_chair", "virtual"),
    "R3": ("2023-05-02", None, "2023-05-09", "2023-05-09", None, "no", "hybrid"),
    "R4": ("2023-05-09", "2023-05-01", None, None, None, None, None),
    "R0": ("2023-03-31", "2023-03-20", "2023-04-03", "2023-04-20", "2023-04-20", "chair", "virtual"),
}


def test_the_deadlines_worked_out_by_hand_are_the_calendars():
    calendar = WorkingCalendar()
    assert rules.record_deadlines(calendar, D("2023-04-06")) == rules.RecordDeadlines(
        D("2023-03-30"), D("2023-04-17"), D("2023-05-10"), D("2023-05-10")
    )
    assert rules.record_deadlines(calendar, D("2023-05-02")) == rules.RecordDeadlines(
        D("2023-04-24"), D("2023-05-10"), D("2023-06-01"), D("2023-06-01")
    )
    assert rules.record_deadlines(calendar, D("2023-05-09")) == rules.RecordDeadlines(
        D("2023-04-28"), D("2023-05-16"), D("2023-06-07"), D("2023-06-07")
    )


async def insert_reviews(session: Any) -> dict[str, uuid.UUID]:
    """One child per review, each in care from 2023-01-03, the reviews above straight into the table."""
    run = uuid.uuid4().hex[:8]
    ids = {}
    for name in [*HELD, "R9"]:
        child = Child(id=uuid.uuid4(), la_reference=f"RK-{run}-{name}", date_of_birth=D("2012-05-01"))
        session.add(child)
        await session.flush()
        period = CarePeriod(
            id=uuid.uuid4(), child_id=child.id, started_on=D("2023-01-03"), legal_status="C2",
            started_before_data=name == "R4",
        )  # fmt: skip
        session.add(period)
        await session.flush()
        review = Review(
            id=uuid.uuid4(), child_id=child.id, care_period_id=period.id, sequence=1,
            due_on=D("2023-06-30"), statutory_due_on=D("2023-06-30"), status="scheduled",
        )  # fmt: skip
        if name in HELD:
            held_on, report, decisions, record, letter, chaired, fmt = HELD[name]
            review.status, review.held_on, review.in_time = "held", D(held_on), name != "R4" or None
            review.sw_report_received_on = D(report) if report else None
            review.decisions_issued_on = D(decisions) if decisions else None
            review.record_issued_on = D(record) if record else None
            review.letter_to_child_sent_on = D(letter) if letter else None
            review.chaired_by_child, review.format = chaired, fmt
        session.add(review)
        await session.flush()
        ids[name] = review.id
    return ids


def rate(numerator: int, denominator: int, pct: float | None) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "pct": pct}


QUARTER = {"chair": rate(1, 4, 25.0), "co_chair": rate(1, 4, 25.0), "no": rate(1, 4, 25.0)}


async def test_record_keeping_mid_period_judges_only_the_deadlines_passed_by_today(api, session):
    await insert_reviews(session)
    api.today(D("2023-05-10"))  # as_of: R1's and R2's record deadline is today; R3's decisions' too
    got = await api.ok("GET", f"/v1/stats/record-keeping?{PERIOD}", role="auditor")
    # Held in [2023-04-01, 2023-06-30]: R1 R2 R3 R4 = 4 (R0 before `from`, R9 unheld).
    # Report on time: R1 (on its due date); R2 a day late, R3 none, R4 late (received on the 1 May bank
    #   holiday, after 28 Apr) -> 1 of 4.
    # Decisions: due by as_of R1 R2 (17 Apr) and R3 (10 May); R4 due 16 May, not issued: not counted.
    #   On time R1 (on its deadline) and R3; R2 issued Tue 18 Apr, a day late across Easter -> 2 of 3.
    # Record: due by as_of R1 R2 (10 May); R3 due 1 Jun but issued 9 May (counted, on time); R4 not due,
    #   not issued. On time R1 (on its deadline), R3; R2 none -> 2 of 3.
    # Letter: due by as_of R1 R2; R3 R4 not due and not sent. On time R2 -> 1 of 2. Sent at all: R2, 1 of 4.
    assert got == {
        "from": "2023-04-01",
        "to": "2023-06-30",
        "as_of": "2023-05-10",
        "reviews_held": 4,
        "sw_report_on_time": rate(1, 4, 25.0),
        "decisions_on_time": rate(2, 3, 66.7),
        "record_on_time": rate(2, 3, 66.7),
        "letter_to_child_on_time": rate(1, 2, 50.0),
        "letter_to_child_sent": rate(1, 4, 25.0),
        "chaired_by_child": {**QUARTER, "not_recorded": rate(1, 4, 25.0)},
        "by_format": {
            "in_person": rate(1, 4, 25.0),
            "virtual": rate(1, 4, 25.0),
            "hybrid": rate(1, 4, 25.0),
            "not_recorded": rate(1, 4, 25.0),
        },
    }


async def test_record_keeping_after_the_period_judges_every_deadline_by_its_end(api, session):
    await insert_reviews(session)
    api.today(D("2023-09-01"))  # as_of = to = 2023-06-30: every deadline has passed
    got = await api.ok("GET", f"/v1/stats/record-keeping?{PERIOD}", role="auditor")
    # Decisions: R1 R2 R3 R4 due; on time R1 R3 -> 2 of 4. Record: all due (R4 7 Jun); on time R1 R3 -> 2
    # of 4. Letter: all due; on time R2 -> 1 of 4.
    assert got["as_of"] == "2023-06-30"
    assert got["decisions_on_time"] == rate(2, 4, 50.0)
    assert got["record_on_time"] == rate(2, 4, 50.0)
    assert got["letter_to_child_on_time"] == rate(1, 4, 25.0)
    assert got["sw_report_on_time"] == rate(1, 4, 25.0)


async def test_the_figures_agree_with_each_review_as_it_reads(api, session):
    ids = await insert_reviews(session)
    api.today(D("2023-09-01"))
    r1 = (await api.ok("GET", f"/v1/reviews/{ids['R1']}"))["record_keeping"]
    r2 = (await api.ok("GET", f"/v1/reviews/{ids['R2']}"))["record_keeping"]
    assert (r1["decisions_due_on"], r1["decisions_on_time"]) == ("2023-04-17", True)
    assert (r2["decisions_due_on"], r2["decisions_on_time"]) == ("2023-04-17", False)
    assert (r1["record_due_on"], r1["record_on_time"], r1["sw_report_on_time"]) == ("2023-05-10", True, True)


@pytest.fixture
async def closed_api(session, database_url) -> AsyncIterator[Api]:
    """The reviews app with a local closure day on Wed 2023-04-12 (IRO_LOCAL_CLOSURE_DAYS)."""
    settings = Settings(env="test", database_url=database_url, local_closure_days=(D("2023-04-12"),))
    app = create_app(settings)
    bind_app_to_session(app, session)
    async for client in app_client(app):
        yield Api(client, app, settings, session)


async def test_a_local_closure_day_moves_the_deadlines_as_it_moves_due_dates(closed_api, session):
    api = closed_api
    await insert_reviews(session)
    api.today(D("2023-09-01"))
    got = await api.ok("GET", f"/v1/stats/record-keeping?{PERIOD}", role="auditor")
    # With 12 Apr closed, R1's and R2's decisions are due Tue 18 Apr: R2's (issued that day) is on time
    # now -> R1 R2 R3 = 3 of 4. Their record is due Thu 11 May: R1's (10 May) still on time.
    assert got["decisions_on_time"] == rate(3, 4, 75.0)
    assert got["record_on_time"] == rate(2, 4, 50.0)


async def test_record_keeping_of_a_period_with_no_review_held_has_no_percentages(api, session):
    await insert_reviews(session)
    api.today(D("2023-09-01"))
    got = await api.ok("GET", "/v1/stats/record-keeping?from=2019-01-01&to=2019-12-31", role="iro")
    assert got["reviews_held"] == 0
    assert got["decisions_on_time"] == rate(0, 0, None)
    assert got["chaired_by_child"]["not_recorded"] == rate(0, 0, None)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2023-04-01&to=2023-03-31", "before"),
        ("from=2013-04-01&to=2023-04-01", "10 years"),
        ("from=2016-02-29&to=2026-02-28", "10 years"),
    ],
)
async def test_a_bad_period_is_refused_naming_to(api, query, message):
    response = await api.get(f"/v1/stats/record-keeping?{query}", role="auditor")
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["loc"] == ["query", "to"]
    assert message in error["msg"]


async def test_a_period_just_under_10_years_is_answered(api):
    api.today(D("2024-01-15"))
    response = await api.get("/v1/stats/record-keeping?from=2013-04-01&to=2023-03-31", role="auditor")
    assert response.status_code == 200, response.text
