"""The whole platform over TCP: `iro serve` on free ports with a fresh embedded database, then an
IRO's day through the gateway, an auditor's check of the trail, the role matrix, and a service
going down."""

import datetime as dt
import os
import signal

import httpx
import psutil
import pytest

from shared.auth import mint_development_token
from shared.settings import CommonSettings
from tests.e2e.processes import start_platform

pytestmark = pytest.mark.e2e

ALICE = "alice@council.gov.uk"
MANAGER = "manager@council.gov.uk"


@pytest.fixture(scope="module")
def running(module_folder):
    platform = start_platform(module_folder / "data", extra_env={"IRO_ON_CHILD_EXIT": "continue"})
    try:
        platform.wait_ready()
        yield platform
    finally:
        assert platform.stop() == 0, platform.log.read_text()


def as_(role: str, sub: str) -> dict[str, str]:
    token = mint_development_token(CommonSettings(), sub=sub, roles=[role])
    return {"Authorization": f"Bearer {token}"}


def test_an_iros_day_through_the_gateway_and_the_auditors_check(running):
    gw = httpx.Client(base_url=running.url(), timeout=20)
    manager, alice, auditor = as_("manager", MANAGER), as_("iro", ALICE), as_("auditor", "qa@council.gov.uk")
    today = dt.date.today()
    started = today - dt.timedelta(days=28)
    held = started + dt.timedelta(days=7)

    def ok(response: httpx.Response, status: int = 200) -> dict:
        assert response.status_code == status, response.text
        return response.json()

    iro = ok(gw.post("/v1/iros", json={"name": "Alice", "email": ALICE, "fte": 0.8}, headers=manager), 201)
    child = ok(
        gw.post("/v1/children", json={"la_reference": "E2E-1", "date_of_birth": "2012-05-01"}, headers=alice), 201
    )
    period = {"started_on": started.isoformat(), "legal_status": "C2", "placement_type": "U4"}
    ok(gw.post(f"/v1/children/{child['id']}/care-periods", json=period, headers=alice), 201)
    ok(gw.put(f"/v1/children/{child['id']}/iro", json={"iro_id": iro["id"], "allocated_on": started.isoformat()},
              headers=manager))  # fmt: skip
    [first] = ok(gw.get(f"/v1/children/{child['id']}/reviews", headers=alice))["items"]
    review = ok(gw.post(f"/v1/reviews/{first['id']}/held", json={"held_on": held.isoformat(), "format": "in_person"},
                        headers=alice))  # fmt: skip
    assert (review["in_time"], review["chaired_by_iro_id"]) == (True, iro["id"])
    record = ok(
        gw.put(f"/v1/participation/{first['id']}", json={"code": "PN1", "methods": ["in_person"]}, headers=alice)
    )
    assert record["code"] == "PN1"
    alert = {
        "kind": "alert", "scope": "child", "child_ids": [child["id"]], "category": "drift_in_care_planning",
        "team": "Children in Care 1", "summary": "Plan not progressed", "raised_on": held.isoformat(),
    }  # fmt: skip
    escalation = ok(gw.post("/v1/escalations", headers=alice, json=alert), 201)
    assert escalation["stage"] == 0
    resolved = ok(gw.post(f"/v1/escalations/{escalation['id']}/resolve", headers=alice,
                          json={"resolved_on": today.isoformat(), "outcome": "Plan updated"}))  # fmt: skip
    assert resolved["status"] == "resolved"

    overview = ok(gw.get(f"/v1/children/{child['id']}/overview", headers=alice))
    assert overview["missing"] == []
    assert (overview["iro"]["id"], overview["last_review"]["id"]) == (iro["id"], first["id"])
    assert [p["code"] for p in overview["participation"]] == ["PN1"]
    worklist = ok(gw.get("/v1/worklist", headers=alice))
    assert worklist["iro_id"] == iro["id"] and worklist["missing"] == []

    trail = ok(gw.get(f"/v1/footprint?child_id={child['id']}&limit=500", headers=auditor))["items"]
    steps = [(e["type"], e["actor"]["sub"]) for e in trail]
    assert steps == [
        ("child.registered", ALICE),
        ("care_period.started", ALICE),
        ("review.scheduled", ALICE),
        ("iro.allocated", MANAGER),
        ("review.held", ALICE),
        ("review.scheduled", ALICE),
        ("participation.recorded", ALICE),
        ("escalation.raised", ALICE),
        ("escalation.resolved", ALICE),
        ("child.record_viewed", ALICE),
    ]
    assert [e["seq"] for e in trail] == sorted(e["seq"] for e in trail)
    assert {e["iro_id"] for e in trail} == {iro["id"]}  # Alice acted, or was allocated, throughout
    verified = ok(gw.get("/v1/footprint/verify", headers=auditor))
    assert verified["ok"] is True and verified["checked"] == verified["head_seq"]

    # Straight to a service's own port, too: the contract holds there as behind the gateway.
    direct = httpx.get(f"{running.url('reviews')}/v1/children/{child['id']}", headers=auditor, timeout=10)
    assert direct.status_code == 200 and direct.json()["iro_id"] == iro["id"]


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("iro", "POST", "/v1/iros", {"name": "X", "email": "x@council.gov.uk", "fte": 1}),
        ("manager", "POST", "/v1/events", None),
        ("auditor", "POST", "/v1/children", {"la_reference": "NO-1", "date_of_birth": "2012-01-01"}),
        ("integration", "GET", "/v1/children", None),
        ("admin", "GET", "/v1/nothing-here", None),
    ],
)
def test_each_role_is_refused_what_it_may_not_do(running, role, method, path, body):
    response = httpx.request(method, f"{running.url()}{path}", json=body, headers=as_(role, f"{role}@council.gov.uk"),
                             timeout=10)  # fmt: skip
    expected = 404 if path == "/v1/nothing-here" else 403
    if path == "/v1/events":
        expected = {403, 404}  # ingest arrives in a later issue: refused either way, never accepted
        assert response.status_code in expected
    else:
        assert response.status_code == expected, response.text
    assert httpx.get(f"{running.url()}/v1/children", timeout=10).status_code == 401


def test_a_stopped_service_is_missing_from_the_overview_and_a_502_at_the_proxy(running):
    gw = httpx.Client(base_url=running.url(), timeout=20)
    manager = as_("manager", MANAGER)
    child = gw.post(
        "/v1/children", json={"la_reference": "E2E-DOWN", "date_of_birth": "2013-01-01"}, headers=manager
    ).json()
    escalations = [p for p in psutil.Process(running.process.pid).children(recursive=True)
                   if "services.escalations.main:create_app" in " ".join(p.cmdline())]  # fmt: skip
    assert len(escalations) == 1
    os.kill(escalations[0].pid, signal.SIGTERM)
    escalations[0].wait(20)
    proxied = gw.get("/v1/escalations", headers=manager)
    assert proxied.status_code == 502
    assert proxied.json()["service"] == "escalations"
    view = gw.get(f"/v1/children/{child['id']}/overview", headers=manager)
    assert view.status_code == 200
    assert view.json()["missing"] == ["escalations"]
    assert view.json()["child"]["id"] == child["id"]
    assert gw.get("/readyz").json()["checks"]["escalations"] == "failing"
