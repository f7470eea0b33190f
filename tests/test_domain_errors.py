"""Every domain refusal answers with its own stable problem `type`, its status and, when it is about one
field, `errors[].loc` naming it (docs/errors.md, "Domain refusals"): one representative request per
class, through the real apps on the test's rolled-back session. (`text-required` is a net the request
schemas never let a request reach; tests/escalations/test_rules.py raises it from the rule.)"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.participation.main import create_app as participation_app
from services.participation.settings import Settings as ParticipationSettings
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from tests.conftest import app_client, bind_app_to_session
from tests.escalations.conftest import act, body, make_app, raise_one
from tests.escalations.conftest import register_child as known_child
from tests.participation.helpers import TODAY as PARTICIPATION_TODAY
from tests.participation.helpers import child_with_review, register_child
from tests.reviews.conftest import Api

D = dt.date


def refused(response: httpx.Response, status: int, type_: str, loc: list[Any] | None = None) -> dict[str, Any]:
    """The problem, after checking its status, its `type` and the one field `errors` names (none for `loc=None`)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert (problem["status"], problem["type"]) == (status, f"/problems/{type_}")
    if loc is None:
        assert "errors" not in problem
    else:
        assert problem["errors"] == [{"loc": loc, "msg": problem["detail"], "type": "domain_rule"}]
    return problem


# --- Reviews -------------------------------------------------------------------------------------


@pytest.fixture
async def api(session: AsyncSession, database_url: str) -> AsyncIterator[Api]:
    settings = ReviewsSettings(env="test", database_url=database_url)
    app = reviews_app(settings)
    bind_app_to_session(app, session)
    async for client in app_client(app):
        reviews = Api(client, app, settings, session)
        reviews.today(D(2022, 10, 1))
        yield reviews


async def looked_after(api: Api) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A child in care from 4 April 2022 whose first review (due 5 May) was held on 4 May: the child's
    id, the held first review and the second (due 4 August, overdue on 1 October, not held)."""
    child = await api.child()
    await api.enter_care(child["id"], "2022-04-04")
    first = (await api.reviews(child["id"]))[0]
    await api.hold(first["id"], "2022-05-04")
    first, second = await api.reviews(child["id"])
    assert (first["status"], second["status"], second["due_on"]) == ("held", "overdue", "2022-08-04")
    return child["id"], first, second


async def test_reviews_registration_refusals(api):
    iro = await api.iro()
    again = await api.post("/v1/iros", {"name": "Alice", "email": "alice@council.gov.uk", "fte": 1})
    assert refused(again, 409, "iro-email-taken")["existing_id"] == iro["id"]
    child = await api.child(la_reference="C1")
    taken = await api.post("/v1/children", {"la_reference": "C1", "date_of_birth": "2012-05-01"})
    assert refused(taken, 409, "la-reference-taken")["existing_id"] == child["id"]
    unborn = await api.post("/v1/children", {"la_reference": "C2", "date_of_birth": "2022-10-02"})
    refused(unborn, 422, "date-in-future", ["body", "date_of_birth"])
    cleared = await api.call("PATCH", f"/v1/iros/{iro['id']}", {"fte": None})
    refused(cleared, 422, "null-not-allowed", ["body", "fte"])


async def test_reviews_care_period_refusals(api):
    child = (await api.child(la_reference="C1", date_of_birth="2012-05-01"))["id"]
    periods = f"/v1/children/{child}/care-periods"
    start = {"started_on": "2022-01-10", "legal_status": "C2", "placement_type": "U4"}

    unlisted = refused(
        await api.post(periods, {**start, "legal_status": "ZZ"}), 422, "code-not-on-list", ["body", "legal_status"]
    )
    assert "C2" in unlisted["valid"]
    refused(
        await api.post(periods, {**start, "started_on": "2012-04-30"}),
        422,
        "before-date-of-birth",
        ["body", "started_on"],
    )
    adult = (await api.child(la_reference="C2", date_of_birth="2004-09-01"))["id"]
    at_18 = await api.post(f"/v1/children/{adult}/care-periods", {**start, "started_on": "2022-09-01"})
    refused(at_18, 422, "past-eighteenth-birthday", ["body", "started_on"])
    not_in_care = await api.post(
        f"/v1/children/{child}/placement-changes", {"changed_on": "2022-02-01", "placement_type": "U4"}
    )
    assert refused(not_in_care, 409, "child-not-looked-after")["current_state"] == "not_looked_after"

    period = await api.ok("POST", periods, start, status=201)
    assert refused(await api.post(periods, start), 409, "care-period-open")["current_state"] == "looked_after"
    early_change = await api.post(
        f"/v1/children/{child}/placement-changes", {"changed_on": "2022-01-09", "placement_type": "U4"}
    )
    refused(early_change, 422, "before-care-period", ["body", "changed_on"])
    end = f"{periods}/{period['id']}/end"
    await api.ok("POST", end, {"ended_on": "2022-03-01", "reason": "E4A"})
    assert (
        refused(await api.post(end, {"ended_on": "2022-03-02", "reason": "E4A"}), 409, "care-period-ended")[
            "current_state"
        ]
        == "ended"
    )
    overlapping = await api.post(periods, {**start, "started_on": "2022-02-01"})
    refused(overlapping, 422, "care-periods-overlap", ["body", "started_on"])


async def test_reviews_review_refusals(api):
    child, first, second = await looked_after(api)
    periods = await api.ok("GET", f"/v1/children/{child}/care-periods")
    [period] = periods["items"]
    ended_before_the_review = await api.post(
        f"/v1/children/{child}/care-periods/{period['id']}/end", {"ended_on": "2022-05-01", "reason": "E4A"}
    )
    refused(ended_before_the_review, 422, "review-held-after-end", ["body", "ended_on"])

    held_again = await api.post(f"/v1/reviews/{first['id']}/held", {"held_on": "2022-05-04"})
    assert refused(held_again, 409, "review-not-scheduled")["current_state"] == "held"
    hold = f"/v1/reviews/{second['id']}/held"
    refused(await api.post(hold, {"held_on": "2022-08-31"}), 422, "review-late-without-reason", ["body", "late_reason"])
    in_time = await api.post(hold, {"held_on": "2022-08-01", "late_reason": "late_notification"})
    refused(in_time, 422, "review-not-late", ["body", "late_reason"])
    meetings = await api.post(hold, {"held_on": "2022-08-02", "meeting_dates": ["2022-08-01", "2022-08-02"]})
    refused(meetings, 422, "held-on-not-first-meeting", ["body", "held_on"])
    refused(await api.post(hold, {"held_on": "2022-05-03"}), 422, "review-before-previous", ["body", "held_on"])

    early = f"/v1/reviews/{second['id']}/early"
    refused(
        await api.post(early, {"due_on": "2022-07-01", "reason": "other"}),
        422,
        "reason-detail-missing",
        ["body", "detail"],
    )
    not_earlier = await api.post(early, {"due_on": "2022-08-04", "reason": "iro_request"})
    refused(not_earlier, 422, "early-review-not-earlier", ["body", "due_on"])

    unheld = await api.call("PATCH", f"/v1/reviews/{second['id']}", {"decisions_issued_on": "2022-09-01"})
    assert refused(unheld, 409, "review-not-held")["current_state"] == "scheduled"  # as stored
    before_held = await api.call("PATCH", f"/v1/reviews/{first['id']}", {"decisions_issued_on": "2022-05-01"})
    refused(before_held, 422, "before-review-held", ["body", "decisions_issued_on"])
    refused(await api.call("PATCH", f"/v1/reviews/{first['id']}", {}), 422, "nothing-to-update", ["body"])

    decision = await api.ok(
        "POST",
        f"/v1/reviews/{first['id']}/decisions",
        {"text": "Plan.", "owner": "SW", "due_on": "2022-06-01"},
        status=201,
    )
    completed = await api.call(
        "PATCH", f"/v1/decisions/{decision['id']}", {"status": "open", "completed_on": "2022-06-01"}
    )
    refused(completed, 422, "open-decision-completed", ["body", "completed_on"])

    missing = await api.get(f"/v1/reviews/{uuid.uuid4()}")
    refused(missing, 404, "not-found")  # an unknown id stays generic


async def test_reviews_allocation_and_author_refusals(api):
    child = (await api.child())["id"]
    await api.enter_care(child, "2022-04-04")
    alice = await api.iro("alice@council.gov.uk", name="Alice")
    bob = await api.iro("bob@council.gov.uk", name="Bob")
    allocate = f"/v1/children/{child}/iro"

    nobody = await api.call("PUT", allocate, {"iro_id": str(uuid.uuid4()), "allocated_on": "2022-04-04"})
    refused(nobody, 422, "unknown-iro", ["body", "iro_id"])
    await api.ok("PATCH", f"/v1/iros/{bob['id']}", {"active": False})
    inactive = await api.call("PUT", allocate, {"iro_id": bob["id"], "allocated_on": "2022-04-04"})
    refused(inactive, 422, "iro-inactive", ["body", "iro_id"])
    await api.ok("PATCH", f"/v1/iros/{bob['id']}", {"active": True})
    await api.ok("PUT", allocate, {"iro_id": alice["id"], "allocated_on": "2022-04-04"})
    backdated = await api.call("PUT", allocate, {"iro_id": bob["id"], "allocated_on": "2022-04-01"})
    refused(backdated, 422, "allocation-before-current", ["body", "allocated_on"])

    note = {"recorded_on": "2022-09-01", "text": "Visited.", "iro_id": alice["id"]}
    as_bob = await api.post(f"/v1/children/{child}/case-notes", note, role="iro", sub="bob@council.gov.uk")
    assert refused(as_bob, 403, "another-iro-named")["field"] == "iro_id"


# --- Escalations ---------------------------------------------------------------------------------


@pytest.fixture
async def escalations(session: AsyncSession, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(make_app(database_url, session)):
        yield client


async def test_escalations_refusals(escalations, session, auth_header):
    iro = auth_header("iro", sub="iro.one@council.gov.uk")
    child = await known_child(session)
    post = escalations.post

    unlisted = refused(await post("/v1/escalations", json=body([child], category="weather"), headers=iro), 422,
                       "code-not-on-list", ["body", "category"])  # fmt: skip
    assert "other" in unlisted["valid"]
    no_child = await post("/v1/escalations", json=body([], scope="child"), headers=iro)
    refused(no_child, 422, "scope-mismatch", ["body", "child_ids"])
    stranger = uuid.uuid4()
    unknown = await post("/v1/escalations", json=body([stranger]), headers=iro)
    assert refused(unknown, 422, "unknown-child", ["body", "child_ids"])["unknown"] == [str(stranger)]
    tomorrow = await post("/v1/escalations", json=body([child], raised_on="2024-04-16"), headers=iro)
    refused(tomorrow, 422, "date-in-future", ["body", "raised_on"])

    created = await raise_one(escalations, iro, **body([child], raised_on="2024-04-02"))  # an alert, stage 0
    early = await act(
        escalations, iro, created["id"], "responses", responded_on="2024-04-01", responder="TM", text="Ok."
    )
    refused(early, 422, "before-current-stage", ["body", "responded_on"])
    answer = {"responded_on": "2024-04-03", "responder": "TM", "text": "Ok."}
    assert (await act(escalations, iro, created["id"], "responses", **answer)).status_code == 200
    twice = refused(await act(escalations, iro, created["id"], "responses", **answer), 409, "stage-already-answered")
    assert (twice["current_state"], twice["stage"]) == ("open", 0)
    for _ in range(5):  # stage 0 to stage 5, the last of the default ladder
        climbed = await act(escalations, iro, created["id"], "escalate", escalated_on="2024-04-04", reason="No answer.")
        assert climbed.status_code == 200, climbed.text
    top = await act(escalations, iro, created["id"], "escalate", escalated_on="2024-04-05", reason="Still nothing.")
    assert refused(top, 409, "escalation-at-last-stage")["stage"] == 5
    resolved = await act(escalations, iro, created["id"], "resolve", resolved_on="2024-04-10", outcome="Agreed.")
    assert resolved.status_code == 200, resolved.text
    closed = await act(escalations, iro, created["id"], "withdraw", withdrawn_on="2024-04-11", reason="x")
    assert (refused(closed, 409, "escalation-not-open")["current_state"]) == "resolved"


# --- Participation -------------------------------------------------------------------------------


@pytest.fixture
async def participation(session: AsyncSession, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = participation_app(ParticipationSettings(env="test", database_url=database_url, today=PARTICIPATION_TODAY))
    bind_app_to_session(app, session)
    async for client in app_client(app):
        yield client


async def test_participation_record_refusals(participation, session, auth_header):
    iro = auth_header("iro")
    _, on_4th_birthday = await child_with_review(session, D(2017, 6, 10), D(2021, 6, 10))
    put = f"/v1/participation/{on_4th_birthday}"
    pn0 = await participation.put(put, json={"code": "PN0"}, headers=iro)
    assert (
        "the child was 4 on 2021-06-10"
        in refused(pn0, 422, "participation-code-contradicts-age", ["body", "code"])["detail"]
    )
    pigeon = await participation.put(put, json={"code": "PN1", "methods": ["carrier_pigeon"]}, headers=iro)
    assert "in_person" in refused(pigeon, 422, "code-not-on-list", ["body", "methods", 0])["valid"]
    future = await participation.get(
        "/v1/stats/participation",
        params={"from": "2024-01-01", "to": "2024-03-31", "age_on": "2024-06-29"},
        headers=iro,
    )
    refused(future, 422, "date-in-future", ["query", "age_on"])  # a query parameter, located by the service


async def test_participation_form_refusals(participation, session, auth_header):
    iro = auth_header("iro")
    born = D(2009, 8, 20)
    child, review = await child_with_review(session, born, D(2024, 5, 1))
    other = await register_child(session, born)
    form = {"respondent": "child", "channel": "paper"}

    never_held = await participation.post("/v1/feedback", json={**form, "review_id": str(uuid.uuid4())}, headers=iro)
    refused(never_held, 422, "unknown-held-review", ["body", "review_id"])
    mismatch = await participation.post(
        "/v1/feedback", json={**form, "review_id": str(review), "child_id": str(other)}, headers=iro
    )
    refused(mismatch, 422, "child-not-of-review", ["body", "child_id"])
    filtered = await participation.get("/v1/feedback", params={"respondent": "neighbour"}, headers=iro)
    assert "child" in refused(filtered, 422, "code-not-on-list", ["query", "respondent"])["valid"]

    referral = {"child_id": str(child), "referred_on": "2024-01-01", "provider": "NYAS"}
    stranger = await participation.post(
        "/v1/advocacy-referrals", json={**referral, "child_id": str(uuid.uuid4())}, headers=iro
    )
    refused(stranger, 422, "unknown-child", ["body", "child_id"])
    unborn = await participation.post(
        "/v1/advocacy-referrals", json={**referral, "referred_on": "2009-08-19"}, headers=iro
    )
    refused(unborn, 422, "before-date-of-birth", ["body", "referred_on"])
    created = await participation.post("/v1/advocacy-referrals", json=referral, headers=iro)
    assert created.status_code == 201, created.text
    outcome = {"outcome": "Done", "outcome_on": "2023-12-31"}
    backdated = await participation.patch(f"/v1/advocacy-referrals/{created.json()['id']}", json=outcome, headers=iro)
    refused(backdated, 422, "outcome-before-referral", ["body", "outcome_on"])
