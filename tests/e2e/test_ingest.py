"""Ingest over TCP (issue 12): case systems' CloudEvents signed, stored, applied in order through the
services, idempotent, replayable; the real platform (`iro serve`) on free ports."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest

from shared.auth import mint_development_token
from shared.ingest.signing import DEVELOPMENT_SECRET, headers_for, new_secret
from shared.settings import CommonSettings
from tests.e2e.processes import eventually, start_platform

pytestmark = pytest.mark.e2e

OLD_LCS, NEW_LCS = new_secret(), new_secret()
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def running(module_folder):
    secrets = json.dumps({"lcs": [OLD_LCS, NEW_LCS]})
    platform = start_platform(module_folder / "data", extra_env={"IRO_INGEST_SECRETS": secrets})
    try:
        platform.wait_ready()
        yield platform
    finally:
        assert platform.stop() == 0, platform.log.read_text()


def as_(role: str, sub: str = "mosaic-feed") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_development_token(CommonSettings(), sub=sub, roles=[role])}"}


@pytest.fixture(scope="module")
def gw(running):
    with httpx.Client(base_url=running.url(), timeout=60) as client:
        yield client


def event(kind: str, data: dict[str, Any], *, source: str = "mosaic", **extra: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": kind,
            "time": "2026-01-05T09:00:00Z", "data": data, **extra}  # fmt: skip


def post(gw: httpx.Client, events: list[dict[str, Any]] | dict[str, Any], *, secret: str = DEVELOPMENT_SECRET,
         role: str = "integration", headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
    batch = isinstance(events, list)
    body = json.dumps(events).encode()
    content_type = "application/cloudevents-batch+json" if batch else "application/cloudevents+json"
    signed = {**as_(role), "content-type": content_type, **headers_for(body, secret), **(headers or {})}
    return gw.post("/v1/events", content=body, headers=signed)


def results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["results"]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def new_child(gw: httpx.Client, *, born: str = "2014-05-01", started: str | None = None) -> str:
    """A child registered (and in care from `started`) through events; its la_reference."""
    ref = "E2E-" + uuid.uuid4().hex[:8]
    events = [event("child.registered", {"la_reference": ref, "date_of_birth": born})]
    if started:
        events.append(event("care_period.started", {"la_reference": ref, "started_on": started, "legal_status": "C2"}))
    assert [r["status"] for r in results(post(gw, events))] == ["accepted"] * len(events)
    return ref


def child_of(gw: httpx.Client, ref: str) -> dict[str, Any] | None:
    items = ok(gw.get("/v1/children", params={"la_reference": ref}, headers=as_("manager", "m@council.gov.uk")))
    return items["items"][0] if items["items"] else None


def reviews_of(gw: httpx.Client, child_id: str) -> list[dict[str, Any]]:
    return ok(gw.get(f"/v1/children/{child_id}/reviews", headers=as_("manager", "m@council.gov.uk")))["items"]


def inbox(gw: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(gw.get("/v1/inbox", params={"limit": 500, **params}, headers=as_("integration")))["items"]


MANAGER = as_("manager", "manager@council.gov.uk")


def test_every_type_is_applied_and_visible_through_the_contract(gw):
    email = f"iro-{uuid.uuid4().hex[:6]}@council.gov.uk"
    ok(gw.post("/v1/iros", json={"name": "Ingest IRO", "email": email, "fte": 1}, headers=MANAGER), 201)
    ref = "E2E-" + uuid.uuid4().hex[:8]
    start = TODAY - dt.timedelta(days=200)
    first_review = start + dt.timedelta(days=14)
    sent = [
        event("child.registered", {"la_reference": ref, "date_of_birth": "2012-03-04", "sex": "male"}),
        event("care_period.started", {"la_reference": ref, "started_on": start.isoformat(), "legal_status": "C2",
                                      "placement_type": "U4"}),
        event("iro.allocated", {"la_reference": ref, "iro_email": email.upper(), "allocated_on": start.isoformat()}),
        event("review.held", {"la_reference": ref, "held_on": first_review.isoformat(), "format": "in_person",
                              "participation_code": "PN1"}),
        event("placement.changed", {"la_reference": ref, "changed_on": (start + dt.timedelta(days=20)).isoformat(),
                                    "placement_type": "U5"}),
        event("legal_status.changed", {"la_reference": ref, "changed_on": (start + dt.timedelta(days=21)).isoformat(),
                                       "legal_status": "C1"}),
        event("case_note.recorded", {"la_reference": ref, "iro_email": email, "text": "Met Sam at school.",
                                     "recorded_on": (start + dt.timedelta(days=22)).isoformat(), "kind": "visit"}),
        event("child.updated", {"la_reference": ref, "display_name": "Sam", "uasc": True}),
        event("care_period.ended", {"la_reference": ref, "ended_on": (start + dt.timedelta(days=30)).isoformat(),
                                    "reason": "E11"}),
    ]  # fmt: skip
    outcome = results(post(gw, sent))
    assert [(r["id"], r["status"]) for r in outcome] == [(e["id"], "accepted") for e in sent], outcome

    child = child_of(gw, ref)
    assert (child["display_name"], child["uasc"], child["sex"]) == ("Sam", True, "male")
    headers = MANAGER
    [period] = ok(gw.get(f"/v1/children/{child['id']}/care-periods", headers=headers))["items"]
    assert (period["legal_status"], period["placement_type"], period["end_reason"]) == ("C1", "U5", "E11")
    [allocation] = ok(gw.get(f"/v1/children/{child['id']}/iro-allocations", headers=headers))["items"]
    assert allocation["allocated_on"] == start.isoformat()
    held = [r for r in reviews_of(gw, child["id"]) if r["status"] == "held"]
    assert [(r["sequence"], r["held_on"], r["in_time"]) for r in held] == [(1, first_review.isoformat(), True)]
    participation = ok(gw.get(f"/v1/participation/{held[0]['id']}", headers=headers))
    assert participation["code"] == "PN1"
    [note] = ok(gw.get(f"/v1/children/{child['id']}/case-notes", headers=headers))["items"]
    assert (note["text"], note["kind"]) == ("Met Sam at school.", "visit")

    # The footprint names the case system as the actor's source, and the event's time as occurred_at.
    trail = ok(gw.get("/v1/footprint", params={"child_id": child["id"], "type": "care_period.started"},
                      headers=headers))["items"]  # fmt: skip
    assert trail[0]["actor"] == {"sub": "mosaic-feed", "role": "integration", "source": "mosaic"}
    assert trail[0]["occurred_at"].startswith("2026-01-05T09:00:00")
    rows = {row["event_id"]: row for row in inbox(gw, source="mosaic", type="review.held", status="accepted")}
    assert rows[sent[3]["id"]]["target"]["review_id"] == held[0]["id"]


def test_a_bad_signature_a_stale_one_and_the_wrong_role_apply_and_store_nothing(gw):
    ref = "E2E-" + uuid.uuid4().hex[:8]
    sent = [event("child.registered", {"la_reference": ref, "date_of_birth": "2015-01-01"})]
    body = json.dumps(sent).encode()
    base = {**as_("integration"), "content-type": "application/cloudevents-batch+json"}
    stale = headers_for(body, DEVELOPMENT_SECRET, timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    wrong = headers_for(body, new_secret())
    forged = {**headers_for(body, DEVELOPMENT_SECRET), "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl"}
    unsigned: dict[str, str] = {}
    for headers in (stale, wrong, forged, unsigned):
        response = gw.post("/v1/events", content=body, headers={**base, **headers})
        assert response.status_code == 401, response.text
        assert response.json()["type"].endswith("signature-refused")
    tampered = headers_for(body, DEVELOPMENT_SECRET)
    response = gw.post("/v1/events", content=body.replace(b"2015", b"2016"), headers={**base, **tampered})
    assert response.status_code == 401
    assert post(gw, sent, role="iro").status_code == 403
    assert (
        gw.post(
            "/v1/events",
            content=body,
            headers={"content-type": "application/cloudevents-batch+json", **headers_for(body, DEVELOPMENT_SECRET)},
        ).status_code
        == 401
    )
    assert child_of(gw, ref) is None
    assert [row for row in inbox(gw, source="mosaic") if row["event_id"] == sent[0]["id"]] == []


def test_a_rotated_secret_old_and_new_both_verify_another_does_not(gw):
    refs = []
    for secret in (OLD_LCS, NEW_LCS):
        ref = "E2E-" + uuid.uuid4().hex[:8]
        refs.append(ref)
        sent = event("child.registered", {"la_reference": ref, "date_of_birth": "2013-01-01"}, source="lcs")
        assert [r["status"] for r in results(post(gw, sent, secret=secret))] == ["accepted"]
    other = event("child.registered", {"la_reference": "E2E-LCS-X", "date_of_birth": "2013-01-01"}, source="lcs")
    assert post(gw, other, secret=DEVELOPMENT_SECRET).status_code == 401  # lcs has its own secrets
    assert all(child_of(gw, ref) for ref in refs)


def test_a_batch_naming_two_sources_is_refused_whole(gw):
    ref = "E2E-" + uuid.uuid4().hex[:8]
    mixed = [
        event("child.registered", {"la_reference": ref, "date_of_birth": "2013-01-01"}),
        event("child.registered", {"la_reference": ref + "B", "date_of_birth": "2013-01-01"}, source="lcs"),
    ]
    response = post(gw, mixed)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", 1, "source"]
    assert child_of(gw, ref) is None


def test_duplicates_within_a_batch_and_across_batches_change_nothing(gw):
    ref = "E2E-" + uuid.uuid4().hex[:8]
    registered = event("child.registered", {"la_reference": ref, "date_of_birth": "2013-01-01"})
    first = results(post(gw, [registered, registered]))
    assert [r["status"] for r in first] == ["accepted", "duplicate"]
    assert first[0]["inbox_id"] == first[1]["inbox_id"]
    again = results(post(gw, registered))
    assert (again[0]["status"], again[0]["inbox_id"]) == ("duplicate", first[0]["inbox_id"])
    child = child_of(gw, ref)
    trail = ok(gw.get("/v1/footprint", params={"child_id": child["id"], "type": "child.registered"},
                      headers=MANAGER))["items"]  # fmt: skip
    assert len(trail) == 1


def test_two_copies_at_the_same_moment_apply_once(gw, running):
    ref = "E2E-" + uuid.uuid4().hex[:8]
    events = [
        event("child.registered", {"la_reference": ref, "date_of_birth": "2013-01-01"}),
        event("care_period.started", {"la_reference": ref, "started_on": (TODAY - dt.timedelta(days=40)).isoformat(),
                                      "legal_status": "C2"}),
    ]  # fmt: skip

    def send() -> list[str]:
        with httpx.Client(base_url=running.url(), timeout=60) as client:
            return [r["status"] for r in results(post(client, events))]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: send(), range(4)))
    assert sorted(outcomes) == [["accepted", "accepted"]] + [["duplicate", "duplicate"]] * 3, outcomes
    child = child_of(gw, ref)
    periods = ok(gw.get(f"/v1/children/{child['id']}/care-periods", headers=MANAGER))["items"]
    assert len(periods) == 1 and len(reviews_of(gw, child["id"])) == 1


def test_one_bad_event_in_the_middle_the_others_apply_in_order_and_it_waits_in_the_inbox(gw):
    ref = "E2E-" + uuid.uuid4().hex[:8]
    start = TODAY - dt.timedelta(days=100)
    sent = [
        event("child.registered", {"la_reference": ref, "date_of_birth": "2011-02-02"}),
        event("care_period.started", {"la_reference": ref, "started_on": start.isoformat(), "legal_status": "C2"}),
        event("placement.changed", {"la_reference": ref, "changed_on": start.isoformat(), "placement_type": "ZZ9"}),
        {"specversion": "1.0", "source": "mosaic", "type": "review.held", "data": {"la_reference": ref}},
        event("review.held", {"la_reference": ref, "held_on": (start + dt.timedelta(days=10)).isoformat()}),
        event("review.held", {"la_reference": ref, "held_on": "2026-13-01"}),
        event("midway.held", {"la_reference": ref}),
    ]
    outcome = results(post(gw, sent))
    assert [r["status"] for r in outcome] == ["accepted", "accepted", "rejected", "rejected", "accepted",
                                              "rejected", "rejected"]  # fmt: skip
    assert outcome[2]["problem"]["errors"][0]["loc"] == ["data", "placement_type"]
    assert outcome[3]["id"] is None and outcome[3]["problem"]["errors"][0]["loc"] == ["id"]
    assert outcome[5]["problem"]["errors"][0]["loc"] == ["data", "held_on"]
    assert outcome[6]["problem"]["errors"][0]["loc"] == ["type"]
    child = child_of(gw, ref)
    assert [r["status"] for r in reviews_of(gw, child["id"])] == ["held", "scheduled"]
    kept = ok(gw.get(f"/v1/inbox/{outcome[3]['inbox_id']}", headers=as_("integration")))
    assert (kept["status"], kept["event_id"], kept["body"]["type"]) == ("rejected", None, "review.held")
    audit = ok(gw.get("/v1/footprint", params={"type": "ingest.rejected", "limit": 500}, headers=MANAGER))["items"]
    mine = {e["payload"]["inbox_id"]: e["payload"] for e in audit}
    assert mine[outcome[2]["inbox_id"]]["problem_type"].endswith("code-not-on-list")
    assert set(mine[outcome[2]["inbox_id"]]) == {"inbox_id", "source", "event_type", "problem_type", "schema_version"}


def test_a_rejected_event_is_replayed_after_its_cause_is_fixed_and_only_once(gw):
    ref = "E2E-" + uuid.uuid4().hex[:8]
    start = TODAY - dt.timedelta(days=60)
    held = event("review.held", {"la_reference": ref, "held_on": (start + dt.timedelta(days=7)).isoformat(),
                                 "participation_code": "PN2"})  # fmt: skip
    [rejected] = results(post(gw, held))
    assert rejected["status"] == "rejected" and rejected["problem"]["type"].endswith("unknown-child")
    admin = as_("admin", "admin@council.gov.uk")
    assert gw.post(f"/v1/inbox/{rejected['inbox_id']}/replay", headers=as_("integration")).status_code == 403
    still = ok(gw.post(f"/v1/inbox/{rejected['inbox_id']}/replay", headers=admin))
    assert (still["status"], still["replayed"]) == ("rejected", True)
    ref_events = [
        event("child.registered", {"la_reference": ref, "date_of_birth": "2012-01-01"}),
        event("care_period.started", {"la_reference": ref, "started_on": start.isoformat(), "legal_status": "C2"}),
    ]
    assert [r["status"] for r in results(post(gw, ref_events))] == ["accepted", "accepted"]
    replayed = ok(gw.post(f"/v1/inbox/{rejected['inbox_id']}/replay", headers=admin))
    assert (replayed["status"], replayed["replayed"]) == ("accepted", True)
    again = ok(gw.post(f"/v1/inbox/{rejected['inbox_id']}/replay", headers=admin))
    assert (again["status"], again["replayed"]) == ("accepted", False)
    row = ok(gw.get(f"/v1/inbox/{rejected['inbox_id']}", headers=as_("integration")))
    assert (row["attempt"], row["status"]) == (3, "accepted")
    child = child_of(gw, ref)
    assert [r["status"] for r in reviews_of(gw, child["id"])] == ["held", "scheduled"]
    review = reviews_of(gw, child["id"])[0]
    assert ok(gw.get(f"/v1/participation/{review['id']}", headers=MANAGER))["code"] == "PN2"
    assert results(post(gw, held))[0]["status"] == "duplicate"


def test_review_held_finds_its_review_never_the_next(gw):
    email = f"iro-{uuid.uuid4().hex[:6]}@council.gov.uk"
    ok(gw.post("/v1/iros", json={"name": "Chair", "email": email, "fte": 1}, headers=MANAGER), 201)
    start = TODAY - dt.timedelta(days=90)
    ref = new_child(gw, born="2010-01-01", started=start.isoformat())
    child = child_of(gw, ref)
    [first] = reviews_of(gw, child["id"])
    held_on = (start + dt.timedelta(days=5)).isoformat()
    iro = as_("iro", email)
    ok(gw.put(f"/v1/children/{child['id']}/iro", json={"iro_id": ok(gw.get("/v1/iros", params={"email": email},
       headers=MANAGER))["items"][0]["id"], "allocated_on": start.isoformat()}, headers=MANAGER))  # fmt: skip
    ok(gw.post(f"/v1/reviews/{first['id']}/held", json={"held_on": held_on}, headers=iro))
    [same] = results(post(gw, event("review.held", {"la_reference": ref, "held_on": held_on})))
    assert same["status"] == "duplicate" and "already recorded" in same["note"]
    assert [r["status"] for r in reviews_of(gw, child["id"])] == ["held", "scheduled"]
    # Wrong code for the age: the review is held, left uncoded, with a warning.
    later = (start + dt.timedelta(days=30)).isoformat()
    [coded] = results(post(gw, event("review.held", {"la_reference": ref, "held_on": later,
                                                     "participation_code": "PN0"})))  # fmt: skip
    assert coded["status"] == "accepted"
    assert coded["warnings"][0]["loc"] == ["data", "participation_code"]
    second = reviews_of(gw, child["id"])[1]
    assert (second["status"], second["held_on"]) == ("held", later)
    assert gw.get(f"/v1/participation/{second['id']}", headers=MANAGER).status_code == 404
    # Before the care period, and on the 18th birthday: rejected, saying why.
    for day, why in ((start - dt.timedelta(days=3)).isoformat(), "not in a care period"), ("2028-01-01", "18th"):
        [refused] = results(post(gw, event("review.held", {"la_reference": ref, "held_on": day})))
        assert refused["status"] == "rejected", refused
        if day < TODAY.isoformat():
            assert why in refused["problem"]["detail"]


def test_a_date_of_birth_correction_flags_a_stored_pn0_and_retimes_the_reviews(gw):
    start = TODAY - dt.timedelta(days=40)  # the second review falls due in about two months
    born = (TODAY - dt.timedelta(days=365 * 3)).isoformat()  # 3 years old: PN0
    ref = new_child(gw, born=born, started=start.isoformat())
    held_on = (start + dt.timedelta(days=10)).isoformat()
    [held] = results(post(gw, event("review.held", {"la_reference": ref, "held_on": held_on,
                                                    "participation_code": "PN0"})))  # fmt: skip
    assert held["status"] == "accepted" and held["warnings"] == []
    child = child_of(gw, ref)
    first, following = reviews_of(gw, child["id"])
    older = (TODAY - dt.timedelta(days=365 * 6)).isoformat()  # 6 on the review date: PN0 now invalid
    [corrected] = results(post(gw, event("child.updated", {"la_reference": ref, "date_of_birth": older})))
    assert corrected["status"] == "accepted", corrected
    # The participation service learns of the correction from the footprint (its consumer): soon.
    record = eventually(lambda: ok(gw.get(f"/v1/participation/{first['id']}", headers=MANAGER)),
                        lambda r: "code_invalid_for_age" in r["problems"])  # fmt: skip
    assert record["code"] == "PN0"
    flagged = ok(gw.get("/v1/participation", params={"problem": "true", "child_id": child["id"]}, headers=MANAGER))
    assert [r["review_id"] for r in flagged["items"]] == [first["id"]]
    # Now 18 before the next review falls due: it is no longer due, and the footprint says so.
    birthday = dt.date.fromisoformat(following["due_on"]) - dt.timedelta(days=10)
    eighteen_soon = birthday.replace(year=birthday.year - 18).isoformat()
    [aged] = results(post(gw, event("child.updated", {"la_reference": ref, "date_of_birth": eighteen_soon})))
    assert aged["status"] == "accepted", aged
    statuses = {r["id"]: r["status"] for r in reviews_of(gw, child["id"])}
    assert statuses[following["id"]] == "cancelled"
    assert ok(gw.get(f"/v1/children/{child['id']}", headers=MANAGER))["eighteenth_birthday"] == birthday.isoformat()
    recomputed = ok(gw.get("/v1/footprint", params={"child_id": child["id"], "type": "review.timetable_recomputed"},
                           headers=MANAGER))["items"]  # fmt: skip
    assert recomputed


def test_the_internal_command_paths_are_not_at_the_door_and_a_retried_key_applies_nothing_twice(gw, running):
    empty = post(gw, [])
    assert (empty.status_code, empty.json()["errors"][0]["loc"]) == (422, ["body"])
    for path in ("/v1/ingest/reviews", "/v1/ingest/participation"):
        assert gw.post(path, json={}, headers=as_("admin", "a@council.gov.uk")).status_code == 404
    assert not [p for p in ok(gw.get("/openapi.json"))["paths"] if p.startswith("/v1/ingest")]
    start = TODAY - dt.timedelta(days=50)
    ref = new_child(gw, started=start.isoformat())
    command = {"key": f"mosaic:{uuid.uuid4()}:1", "type": "review.held",
               "data": {"la_reference": ref, "held_on": (start + dt.timedelta(days=3)).isoformat()}}  # fmt: skip
    with httpx.Client(base_url=running.url("reviews"), timeout=60) as reviews:
        first = ok(reviews.post("/v1/ingest/reviews", json={"source": "mosaic", "commands": [command]},
                                headers=as_("integration")))["results"][0]  # fmt: skip
        again = ok(reviews.post("/v1/ingest/reviews", json={"source": "mosaic", "commands": [command]},
                                headers=as_("integration")))["results"][0]  # fmt: skip
    assert first["status"] == "accepted" and again["replayed"] is True
    assert again["target"] == first["target"]  # the same review, not the next one
    child = child_of(gw, ref)
    assert [r["status"] for r in reviews_of(gw, child["id"])] == ["held", "scheduled"]


def test_an_idempotency_key_replays_the_first_answer(gw):
    ref = "E2E-" + uuid.uuid4().hex[:8]
    sent = [event("child.registered", {"la_reference": ref, "date_of_birth": "2013-01-01"})]
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    first = post(gw, sent, headers=key)
    again = post(gw, sent, headers=key)
    assert [r["status"] for r in results(first)] == ["accepted"]
    assert (again.json(), again.headers["Idempotent-Replayed"]) == (first.json(), "true")
    assert [r["status"] for r in results(post(gw, sent))] == ["duplicate"]  # without the key: (source, id)
