"""Feedback forms (anonymous or linked, a configurable question set) and advocacy referrals (outcome,
counted per calendar quarter), with their footprint events."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, text

from services.participation.main import create_app
from services.participation.models import AdvocacyReferral, Feedback
from services.participation.rules import DEFAULT_QUESTIONS
from services.participation.settings import Settings
from shared.footprint.models import Event
from tests.conftest import app_client, bind_app_to_session
from tests.participation.helpers import TODAY, child_with_review, events_of, register_child

BORN = dt.date(2009, 8, 20)


async def _events(session, event_type: str) -> list[Event]:
    query = select(Event).where(Event.type == event_type).order_by(Event.seq)
    return list((await session.scalars(query)).all())


async def _count(session, model) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- Feedback ------------------------------------------------------------------------------------


async def test_anonymous_feedback_names_no_child_and_its_event_carries_none(client, session, auth_header):
    body = {
        "respondent": "child",
        "channel": "paper",
        "answers": {"iro_listens": "always", "understand_care_plan": "sometimes"},
        "comment": "  My IRO came to see me at school.  ",
    }
    posted = await client.post("/v1/feedback", json=body, headers=auth_header("iro", sub="iro@x"))
    assert posted.status_code == 201
    form = posted.json()
    assert posted.headers["location"] == f"/v1/feedback/{form['id']}"
    assert {k: form[k] for k in ("respondent", "channel", "review_id", "child_id", "comment", "received_on")} == {
        "respondent": "child",
        "channel": "paper",
        "review_id": None,
        "child_id": None,
        "comment": "My IRO came to see me at school.",
        "received_on": TODAY.isoformat(),
    }
    assert form["answers"] == {"iro_listens": "always", "understand_care_plan": "sometimes"}
    [event] = await events_of(session, form["id"])
    assert event.type == "feedback.received"
    assert (event.child_id, event.iro_id) == (None, None)
    assert event.subject_type == "feedback"
    # No child, no review and no free text on the append-only log.
    assert event.payload == {
        "feedback_id": form["id"],
        "respondent": "child",
        "channel": "paper",
        "received_on": TODAY.isoformat(),
        "answers": {"iro_listens": "always", "understand_care_plan": "sometimes"},
        "has_comment": True,
        "anonymous": True,
        "schema_version": 1,
    }
    got = await client.get(f"/v1/feedback/{form['id']}", headers=auth_header("auditor"))
    assert got.json() == form


async def test_feedback_on_a_review_is_linked_to_the_child_and_the_chairing_iro(client, session, auth_header):
    iro_id = uuid.uuid4()
    child_id, review_id = await child_with_review(session, BORN, dt.date(2024, 5, 1), iro_id=iro_id)
    body = {"respondent": "parent", "channel": "online", "review_id": str(review_id), "received_on": "2024-05-03"}
    posted = await client.post("/v1/feedback", json=body, headers=auth_header("manager"))
    assert posted.status_code == 201
    assert (posted.json()["child_id"], posted.json()["review_id"]) == (str(child_id), str(review_id))
    [event] = await events_of(session, posted.json()["id"])
    assert (event.child_id, event.iro_id) == (child_id, iro_id)
    assert event.payload["review_id"] == str(review_id)
    assert event.payload["anonymous"] is False
    assert event.payload["has_comment"] is False


async def test_feedback_about_a_child_without_a_review(client, session, auth_header):
    child_id = await register_child(session, BORN)
    body = {"respondent": "carer", "channel": "phone", "child_id": str(child_id)}
    posted = await client.post("/v1/feedback", json=body, headers=auth_header("iro"))
    assert posted.status_code == 201
    [event] = await events_of(session, posted.json()["id"])
    assert event.child_id == child_id
    assert "review_id" not in event.payload


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"respondent": "neighbour", "channel": "paper"}, ["body", "respondent"]),
        ({"respondent": "child", "channel": "carrier_pigeon"}, ["body", "channel"]),
        (
            {"respondent": "child", "channel": "paper", "answers": {"favourite_colour": "always"}},
            ["body", "answers", "favourite_colour"],
        ),
        (
            {"respondent": "child", "channel": "paper", "answers": {"iro_listens": "often"}},
            ["body", "answers", "iro_listens"],
        ),
        ({"respondent": "child", "channel": "paper", "received_on": "2024-06-29"}, ["body", "received_on"]),
        ({"respondent": "child", "channel": "paper", "review_id": str(uuid.uuid4())}, ["body", "review_id"]),
        ({"respondent": "child", "channel": "paper", "child_id": str(uuid.uuid4())}, ["body", "child_id"]),
        ({"respondent": "child", "channel": "paper", "rating": 5}, ["body", "rating"]),
    ],
)
async def test_refused_feedback_is_422_naming_the_field_and_nothing_is_written(client, session, auth_header, body, loc):
    before = (await _count(session, Feedback), len(await _events(session, "feedback.received")))
    posted = await client.post("/v1/feedback", json=body, headers=auth_header("iro"))
    assert posted.status_code == 422
    assert [error["loc"] for error in posted.json()["errors"]] == [loc]
    assert (await _count(session, Feedback), len(await _events(session, "feedback.received"))) == before


async def test_feedback_naming_a_review_of_another_child_is_refused(client, session, auth_header):
    _, review_id = await child_with_review(session, BORN, dt.date(2024, 5, 1))
    other = await register_child(session, BORN)
    body = {"respondent": "child", "channel": "app", "review_id": str(review_id), "child_id": str(other)}
    posted = await client.post("/v1/feedback", json=body, headers=auth_header("iro"))
    assert posted.status_code == 422
    assert posted.json()["errors"][0]["loc"] == ["body", "child_id"]


async def test_the_question_set_is_configurable(session, database_url, auth_header):
    questions = [
        {"key": "feel_safe", "text": "I feel safe where I live"},
        {"key": "iro_visits", "text": "I see my IRO"},
    ]
    app = create_app(Settings(env="test", database_url=database_url, today=TODAY, questions=questions))
    bind_app_to_session(app, session)
    async for client in app_client(app):
        listed = await client.get("/v1/feedback-questions", headers=auth_header("iro"))
        assert listed.json()["questions"] == questions
        assert listed.json()["answers"] == ["always", "sometimes", "never"]
        assert "supervising_social_worker" in listed.json()["respondents"]
        ok = {"respondent": "child", "channel": "app", "answers": {"feel_safe": "never"}}
        assert (await client.post("/v1/feedback", json=ok, headers=auth_header("iro"))).status_code == 201
        old = {"respondent": "child", "channel": "app", "answers": {"iro_listens": "always"}}
        refused = await client.post("/v1/feedback", json=old, headers=auth_header("iro"))
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "answers", "iro_listens"]


async def test_the_default_question_set(client, auth_header):
    listed = await client.get("/v1/feedback-questions", headers=auth_header("auditor"))
    assert [q["key"] for q in listed.json()["questions"]] == [q.key for q in DEFAULT_QUESTIONS]


async def test_feedback_is_listed_oldest_first_and_filtered(client, session, auth_header):
    await session.execute(text("DELETE FROM participation.feedback"))  # a clean slate, rolled back after
    child_id = await register_child(session, BORN)
    for day, respondent in [("2024-03-01", "child"), ("2024-01-01", "parent"), ("2024-02-01", "child")]:
        body = {"respondent": respondent, "channel": "paper", "received_on": day, "child_id": str(child_id)}
        assert (await client.post("/v1/feedback", json=body, headers=auth_header("iro"))).status_code == 201
    await client.post("/v1/feedback", json={"respondent": "child", "channel": "app"}, headers=auth_header("iro"))

    mine = await client.get("/v1/feedback", params={"child_id": str(child_id)}, headers=auth_header("iro"))
    assert [f["received_on"] for f in mine.json()["items"]] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    children = await client.get(
        "/v1/feedback", params={"respondent": "child", "from": "2024-02-01"}, headers=auth_header("iro")
    )
    assert [f["received_on"] for f in children.json()["items"]] == ["2024-02-01", "2024-03-01", TODAY.isoformat()]
    bad = await client.get("/v1/feedback", params={"respondent": "nobody"}, headers=auth_header("iro"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "respondent"]


async def test_feedback_stats_count_answers_per_question_and_respondent(client, session, auth_header):
    await session.execute(text("DELETE FROM participation.feedback"))
    forms = [
        ("2023-04-01", "child", {"iro_listens": "always", "understand_care_plan": "never"}),
        ("2023-06-30", "child", {"iro_listens": "always"}),
        ("2023-09-15", "child", {"iro_listens": "sometimes"}),
        ("2023-10-01", "parent", {"iro_listens": "never", "views_taken_into_account": "sometimes"}),
        ("2024-03-31", "social_worker", {}),
        ("2023-03-31", "child", {"iro_listens": "never"}),  # before the period
        ("2024-04-01", "child", {"iro_listens": "never"}),  # after it
    ]
    for day, respondent, answers in forms:
        body = {"respondent": respondent, "channel": "online", "received_on": day, "answers": answers}
        assert (await client.post("/v1/feedback", json=body, headers=auth_header("iro"))).status_code == 201

    stats = await client.get(
        "/v1/stats/feedback", params={"from": "2023-04-01", "to": "2024-03-31"}, headers=auth_header("auditor")
    )
    assert stats.status_code == 200
    body = stats.json()
    assert (body["from"], body["to"], body["forms"], body["anonymous"]) == ("2023-04-01", "2024-03-31", 5, 5)
    assert body["by_respondent"] == {
        "child": 3,
        "parent": 1,
        "carer": 0,
        "social_worker": 1,
        "supervising_social_worker": 0,
        "guardian": 0,
        "professional": 0,
    }
    questions = {q["key"]: q for q in body["questions"]}
    assert list(questions) == [q.key for q in DEFAULT_QUESTIONS]
    listens = questions["iro_listens"]
    assert listens["text"] == "My IRO listens to me"
    assert listens["answers"] == {"always": 2, "sometimes": 1, "never": 1}
    assert listens["by_respondent"]["child"] == {"always": 2, "sometimes": 1, "never": 0}
    assert listens["by_respondent"]["parent"] == {"always": 0, "sometimes": 0, "never": 1}
    assert listens["by_respondent"]["carer"] == {"always": 0, "sometimes": 0, "never": 0}
    assert questions["understand_care_plan"]["answers"] == {"always": 0, "sometimes": 0, "never": 1}
    assert questions["views_taken_into_account"]["by_respondent"]["parent"]["sometimes"] == 1
    assert questions["supported_in_review"]["answers"] == {"always": 0, "sometimes": 0, "never": 0}


async def test_stats_refuse_a_period_that_ends_before_it_starts(client, auth_header):
    for path in ("/v1/stats/feedback", "/v1/stats/advocacy", "/v1/stats/participation"):
        got = await client.get(path, params={"from": "2024-04-01", "to": "2024-03-31"}, headers=auth_header("iro"))
        assert got.status_code == 422
        assert got.json()["errors"][0]["loc"] == ["query", "to"]
        missing = await client.get(path, params={"from": "2024-04-01"}, headers=auth_header("iro"))
        assert missing.status_code == 422


# --- Advocacy referrals --------------------------------------------------------------------------


async def test_an_advocacy_referral_and_its_outcome(client, session, auth_header):
    child_id = await register_child(session, BORN)
    body = {"child_id": str(child_id), "referred_on": "2024-02-01", "provider": "Coram Voice", "reason": "Placement"}
    posted = await client.post("/v1/advocacy-referrals", json=body, headers=auth_header("iro", sub="iro@x"))
    assert posted.status_code == 201
    referral = posted.json()
    assert posted.headers["location"] == f"/v1/advocacy-referrals/{referral['id']}"
    assert {k: referral[k] for k in ("child_id", "referred_on", "provider", "reason", "outcome", "outcome_on")} == {
        "child_id": str(child_id),
        "referred_on": "2024-02-01",
        "provider": "Coram Voice",
        "reason": "Placement",
        "outcome": None,
        "outcome_on": None,
    }
    outcome = {"outcome": "Advocate attended the review", "outcome_on": "2024-03-05"}
    patched = await client.patch(f"/v1/advocacy-referrals/{referral['id']}", json=outcome, headers=auth_header("iro"))
    assert patched.status_code == 200
    assert (patched.json()["outcome"], patched.json()["outcome_on"]) == ("Advocate attended the review", "2024-03-05")
    again = await client.patch(f"/v1/advocacy-referrals/{referral['id']}", json=outcome, headers=auth_header("iro"))
    assert again.json() == patched.json()

    referred, updated = await events_of(session, referral["id"])  # the repeat wrote nothing
    assert (referred.type, updated.type) == ("advocacy.referred", "advocacy.updated")
    assert referred.child_id == updated.child_id == child_id
    assert referred.payload == {
        "referral_id": referral["id"],
        "referred_on": "2024-02-01",
        "provider": "Coram Voice",
        "reason": "Placement",
        "schema_version": 1,
    }
    assert updated.payload == {
        "referral_id": referral["id"],
        "previous": {"outcome": None, "outcome_on": None},
        "new": {"outcome": "Advocate attended the review", "outcome_on": "2024-03-05"},
        "schema_version": 1,
    }
    got = await client.get(f"/v1/advocacy-referrals/{referral['id']}", headers=auth_header("auditor"))
    assert got.json() == patched.json()


async def test_the_outcome_date_defaults_to_today(client, session, auth_header):
    child_id = await register_child(session, BORN)
    body = {"child_id": str(child_id), "referred_on": "2024-02-01", "provider": "NYAS"}
    referral = (await client.post("/v1/advocacy-referrals", json=body, headers=auth_header("iro"))).json()
    patched = await client.patch(
        f"/v1/advocacy-referrals/{referral['id']}", json={"outcome": "Declined"}, headers=auth_header("manager")
    )
    assert patched.json()["outcome_on"] == TODAY.isoformat()


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"referred_on": "2024-06-29", "provider": "NYAS"}, ["body", "referred_on"]),  # after today
        ({"referred_on": "2009-08-19", "provider": "NYAS"}, ["body", "referred_on"]),  # before birth
        ({"referred_on": "2024-01-01", "provider": "   "}, ["body", "provider"]),
        ({"referred_on": "2024-01-01"}, ["body", "provider"]),
        ({"referred_on": "2024-01-01", "provider": "NYAS", "child_id": str(uuid.uuid4())}, ["body", "child_id"]),
    ],
)
async def test_a_refused_referral_is_422_naming_the_field_and_nothing_is_written(
    client, session, auth_header, body, loc
):
    child_id = await register_child(session, BORN)
    before = (await _count(session, AdvocacyReferral), len(await _events(session, "advocacy.referred")))
    posted = await client.post(
        "/v1/advocacy-referrals", json={"child_id": str(child_id), **body}, headers=auth_header("iro")
    )
    assert posted.status_code == 422
    assert [error["loc"] for error in posted.json()["errors"]] == [loc]
    assert (await _count(session, AdvocacyReferral), len(await _events(session, "advocacy.referred"))) == before


async def test_a_refused_outcome_changes_nothing(client, session, auth_header):
    child_id = await register_child(session, BORN)
    body = {"child_id": str(child_id), "referred_on": "2024-02-01", "provider": "NYAS"}
    referral = (await client.post("/v1/advocacy-referrals", json=body, headers=auth_header("iro"))).json()
    path = f"/v1/advocacy-referrals/{referral['id']}"
    early = await client.patch(path, json={"outcome": "Done", "outcome_on": "2024-01-31"}, headers=auth_header("iro"))
    assert early.status_code == 422
    assert early.json()["errors"][0]["loc"] == ["body", "outcome_on"]
    assert (await client.patch(path, json={"outcome": ""}, headers=auth_header("iro"))).status_code == 422
    unknown = await client.patch(
        f"/v1/advocacy-referrals/{uuid.uuid4()}", json={"outcome": "x"}, headers=auth_header("iro")
    )
    assert unknown.status_code == 404
    assert (await client.get(path, headers=auth_header("iro"))).json()["outcome"] is None
    assert [event.type for event in await events_of(session, referral["id"])] == ["advocacy.referred"]


async def test_referrals_are_listed_oldest_first_and_by_child(client, session, auth_header):
    await session.execute(text("DELETE FROM participation.advocacy_referral"))
    first, second = await register_child(session, BORN), await register_child(session, BORN)
    for child_id, day in [(first, "2024-03-01"), (second, "2024-01-15"), (first, "2024-01-02")]:
        body = {"child_id": str(child_id), "referred_on": day, "provider": "NYAS"}
        assert (await client.post("/v1/advocacy-referrals", json=body, headers=auth_header("iro"))).status_code == 201
    everyone = await client.get("/v1/advocacy-referrals", headers=auth_header("iro"))
    assert [r["referred_on"] for r in everyone.json()["items"]] == ["2024-01-02", "2024-01-15", "2024-03-01"]
    mine = await client.get("/v1/advocacy-referrals", params={"child_id": str(first)}, headers=auth_header("iro"))
    assert [r["referred_on"] for r in mine.json()["items"]] == ["2024-01-02", "2024-03-01"]


async def test_advocacy_stats_count_referrals_per_calendar_quarter(client, session, auth_header):
    await session.execute(text("DELETE FROM participation.advocacy_referral"))
    child_id = await register_child(session, dt.date(2008, 1, 1))
    days = [
        "2021-02-14",  # before the period
        "2021-02-15", "2021-03-31",  # Q1 (from 15 Feb)
        "2021-04-01", "2021-05-20", "2021-06-30",  # Q2
        # none in Q3
        "2021-10-01", "2021-12-31",  # Q4
        "2022-01-01", "2022-01-10",  # Q1 2022 (to 10 Jan)
        "2022-01-11",  # after the period
    ]  # fmt: skip
    for day in days:
        body = {"child_id": str(child_id), "referred_on": day, "provider": "NYAS"}
        assert (await client.post("/v1/advocacy-referrals", json=body, headers=auth_header("iro"))).status_code == 201
    stats = await client.get(
        "/v1/stats/advocacy", params={"from": "2021-02-15", "to": "2022-01-10"}, headers=auth_header("auditor")
    )
    assert stats.status_code == 200
    assert stats.json() == {
        "from": "2021-02-15",
        "to": "2022-01-10",
        "referrals": 9,
        "by_quarter": [
            {"quarter": "2021-Q1", "start": "2021-02-15", "end": "2021-03-31", "referrals": 2},
            {"quarter": "2021-Q2", "start": "2021-04-01", "end": "2021-06-30", "referrals": 3},
            {"quarter": "2021-Q3", "start": "2021-07-01", "end": "2021-09-30", "referrals": 0},
            {"quarter": "2021-Q4", "start": "2021-10-01", "end": "2021-12-31", "referrals": 2},
            {"quarter": "2022-Q1", "start": "2022-01-01", "end": "2022-01-10", "referrals": 2},
        ],
    }


async def test_a_post_repeated_with_its_idempotency_key_replays_the_first_answer(database_url, engine, auth_header):
    """With real commits: a key's claim and stored answer live outside any test transaction."""
    key, sub = f"feedback-{uuid.uuid4()}", f"idem-{uuid.uuid4().hex[:8]}@council.gov.uk"
    headers = {**auth_header("iro", sub=sub), "Idempotency-Key": key}
    body = {"respondent": "guardian", "channel": "online", "answers": {"iro_listens": "sometimes"}}
    app = create_app(Settings(env="test", database_url=database_url, today=TODAY))
    created: list[str] = []
    try:
        async for client in app_client(app):
            first = await client.post("/v1/feedback", json=body, headers=headers)
            assert first.status_code == 201, first.text
            created.append(first.json()["id"])
            again = await client.post("/v1/feedback", json=body, headers=headers)
            assert again.status_code == 201
            assert again.json() == first.json()
            assert again.headers["idempotent-replayed"] == "true"
            other = await client.post("/v1/feedback", json={**body, "channel": "paper"}, headers=headers)
            assert other.status_code == 422
            assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
        async with engine.connect() as connection:
            stored = await connection.scalar(
                text("SELECT count(*) FROM participation.feedback WHERE id = CAST(:id AS uuid)"), {"id": created[0]}
            )
            events = await connection.scalar(
                text("SELECT count(*) FROM footprint.events WHERE subject_id = :id"), {"id": created[0]}
            )
        assert (stored, events) == (1, 1)
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM participation.feedback WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": created}
            )
            await connection.execute(text("DELETE FROM participation.idempotency_key WHERE subject = :s"), {"s": sub})
