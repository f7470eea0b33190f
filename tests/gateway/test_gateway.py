"""The gateway with the real services behind it (in-process): proxy, door, views, footprint API."""

import asyncio
import contextlib
import datetime as dt
import json

import pytest

from tests.gateway.conftest import platform

ALICE = "alice@council.gov.uk"


async def set_up_child(gw, *, allocate: bool = True):
    iro = await gw.ok("POST", "/v1/iros", {"name": "Alice", "email": ALICE, "fte": 1}, status=201)
    child = await gw.ok("POST", "/v1/children", {"la_reference": "G1", "date_of_birth": "2012-05-01"}, status=201)
    await gw.ok("POST", f"/v1/children/{child['id']}/care-periods", {"started_on": "2022-05-03", "legal_status": "C2"},
                status=201)  # fmt: skip
    if allocate:
        await gw.ok("PUT", f"/v1/children/{child['id']}/iro", {"iro_id": iro["id"], "allocated_on": "2022-05-03"})
    return iro, child


async def test_the_proxy_reaches_each_service_with_the_callers_token(gw):
    iro, child = await set_up_child(gw)
    assert (await gw.ok("GET", f"/v1/children/{child['id']}"))["iro_id"] == iro["id"]
    stages = await gw.ok("GET", "/v1/escalation-stages")
    assert [s["stage"] for s in (stages["items"] if isinstance(stages, dict) else stages)][:2] == [0, 1]
    stats = await gw.ok("GET", "/v1/stats/participation?from=2022-04-01&to=2023-03-31", role="auditor")
    assert stats["reviews"] == 0


async def test_the_door_checks_token_and_role_before_proxying(gw):
    assert (await gw.client.get("/v1/children")).status_code == 401
    assert (
        await gw.call("POST", "/v1/iros", {"name": "X", "email": "x@c.gov.uk", "fte": 1}, role="iro")
    ).status_code == 403
    assert (await gw.call("GET", "/v1/children", role="integration", sub="mosaic")).status_code == 403
    assert (await gw.call("POST", "/v1/children", {"la_reference": "A", "date_of_birth": "2012-01-01"},
                          role="auditor")).status_code == 403  # fmt: skip
    unknown = await gw.call("GET", "/v1/nowhere")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


async def test_a_client_cannot_claim_to_be_a_case_system(gw):
    created = await gw.call("POST", "/v1/children", {"la_reference": "S1", "date_of_birth": "2012-01-01"},
                            headers={"X-Event-Source": "mosaic"})  # fmt: skip
    assert created.status_code == 201
    events = await gw.ok("GET", f"/v1/footprint?child_id={created.json()['id']}", role="auditor")
    assert events["items"][0]["actor"] == {"sub": "manager@council.gov.uk", "role": "manager"}


async def test_request_ids_and_idempotency_keys_pass_through(gw):
    body = {"la_reference": "K1", "date_of_birth": "2012-01-01"}
    first = await gw.call("POST", "/v1/children", body, headers={"Idempotency-Key": "abc", "X-Request-ID": "req-1"})
    assert first.status_code == 201
    assert first.headers["x-request-id"] == "req-1"
    events = await gw.ok("GET", f"/v1/footprint?child_id={first.json()['id']}", role="auditor")
    assert events["items"][0]["request_id"] == "req-1"


async def test_the_overview_composes_the_services_and_records_the_view(gw):
    iro, child = await set_up_child(gw)
    view = await gw.ok("GET", f"/v1/children/{child['id']}/overview", role="iro", sub=ALICE)
    assert view["missing"] == []
    assert view["child"]["id"] == child["id"]
    assert view["iro"]["email"] == ALICE
    assert view["next_review"]["due_on"] == "2022-05-31"
    assert view["last_review"] is None
    assert (view["participation"], view["open_escalations"]) == ([], [])
    assert [e["type"] for e in view["recent_footprint"]][:2] == ["iro.allocated", "review.scheduled"]
    viewed = await gw.ok("GET", f"/v1/footprint?child_id={child['id']}&type=child.record_viewed", role="auditor")
    [event] = viewed["items"]
    assert event["actor"] == {"sub": ALICE, "role": "iro"}
    assert event["iro_id"] == iro["id"]
    summary = await gw.ok("GET", "/v1/footprint/summary?group_by=type", role="auditor")
    assert "child.record_viewed" not in {row["type"] for row in summary["items"]}
    with_access = await gw.ok("GET", "/v1/footprint/summary?group_by=type&include_access=true", role="auditor")
    assert "child.record_viewed" in {row["type"] for row in with_access["items"]}
    assert (await gw.call("GET", "/v1/children/00000000-0000-0000-0000-000000000000/overview")).status_code == 404


async def test_the_worklist_is_the_callers_own(gw):
    iro, child = await set_up_child(gw)
    mine = await gw.ok("GET", "/v1/worklist", role="iro", sub=ALICE)
    assert mine["iro_id"] == iro["id"]
    # Entered care Tue 3 May 2022: first review due Tue 31 May; today is Wed 1 June.
    assert [r["child_id"] for r in mine["overdue_reviews"]] == [child["id"]]
    assert mine["reviews_due"] == mine["decisions_past_due"] == []
    named = await gw.ok("GET", f"/v1/worklist?iro_id={iro['id']}")
    assert named["overdue_reviews"] == mine["overdue_reviews"]
    stranger = await gw.call("GET", "/v1/worklist", role="iro", sub="nobody@council.gov.uk")
    assert stranger.status_code == 404
    alert = {"kind": "alert", "scope": "child", "child_ids": [child["id"]], "category": "other", "team": "CiC 1",
             "summary": "Visits overdue", "raised_on": "2022-05-30"}  # fmt: skip
    raised = await gw.ok("POST", "/v1/escalations", alert, status=201)
    awaiting = await gw.ok("GET", "/v1/worklist", role="iro", sub=ALICE)
    assert [e["id"] for e in awaiting["escalations_awaiting_response"]] == [raised["id"]]
    await gw.ok("POST", f"/v1/escalations/{raised['id']}/responses",
                {"responded_on": "2022-05-31", "responder": "Team manager", "text": "Visit booked"})  # fmt: skip
    answered = await gw.ok("GET", "/v1/worklist", role="iro", sub=ALICE)
    assert answered["escalations_awaiting_response"] == []


async def test_a_service_that_is_down_is_named_in_a_502_and_in_the_views(session, database_url):
    async with platform(session, database_url, down=("escalations",), today=dt.date(2022, 6, 1)) as gw:
        _, child = await set_up_child(gw)
        refused = await gw.call("GET", "/v1/escalations")
        assert refused.status_code == 502
        assert refused.json()["service"] == "escalations"
        view = await gw.ok("GET", f"/v1/children/{child['id']}/overview")
        assert view["missing"] == ["escalations"]
        assert view["child"]["id"] == child["id"]
        ready = await gw.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"reviews": "ok", "escalations": "failing", "participation": "ok"}


async def test_a_service_that_does_not_answer_in_time_is_a_504(session, database_url):
    async def never(reader, writer):
        await asyncio.sleep(30)

    server = await asyncio.start_server(never, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    overrides = {"participation_url": f"http://127.0.0.1:{port}", "service_timeout": 0.3}
    try:
        async with platform(session, database_url, down=("participation",), gateway_overrides=overrides) as gw:
            slow = await gw.call("GET", "/v1/feedback")
            assert slow.status_code == 504
            assert slow.json()["service"] == "participation"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


async def test_one_openapi_document_covers_every_v1_path(gw):
    document = (await gw.client.get("/openapi.json")).json()
    paths = set(document["paths"])
    for path in ("/v1/children", "/v1/reviews/{review_id}/held", "/v1/escalations", "/v1/escalation-stages",
                 "/v1/participation/{review_id}", "/v1/stats/advocacy", "/v1/footprint", "/v1/footprint/verify",
                 "/v1/children/{child_id}/overview", "/v1/worklist"):  # fmt: skip
        assert path in paths, path
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    assert not any(p in paths for p in ("/healthz", "/readyz", "/metrics")) or "/healthz" in paths
    refs = {m.group(0) for m in __import__("re").finditer(r'"#/components/schemas/([^"]+)"', json.dumps(document))}
    schemas = document["components"]["schemas"]
    assert all(ref.split("/")[-1].rstrip('"') in schemas for ref in refs)


async def test_the_footprint_api_pages_verifies_and_exports(gw):
    _, child = await set_up_child(gw)
    first = await gw.ok("GET", f"/v1/footprint?child_id={child['id']}&limit=2", role="auditor")
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await gw.ok("GET", f"/v1/footprint?child_id={child['id']}&cursor={first['next_cursor']}", role="auditor")
    seqs = [e["seq"] for e in first["items"] + rest["items"]]
    assert seqs == sorted(seqs) and len(seqs) == 4  # registered, care period started, review scheduled, allocated
    verified = await gw.ok("GET", "/v1/footprint/verify", role="auditor")
    assert verified["ok"] is True and verified["head_seq"] >= seqs[-1]
    ndjson = await gw.call("GET", f"/v1/footprint/export?child_id={child['id']}", role="auditor")
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    *events, trailer = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [e["seq"] for e in events] == seqs and trailer["complete"] is True and trailer["count"] == 4
    as_csv = await gw.call("GET", f"/v1/footprint/export?child_id={child['id']}", role="auditor",
                           headers={"Accept": "text/csv"})  # fmt: skip
    lines = as_csv.text.splitlines()
    assert lines[0].startswith("seq,id,type") and len(lines) == 6 and lines[-1].startswith("#complete,count=4,")
    assert (await gw.call("GET", "/v1/footprint", role="iro", sub=ALICE)).status_code == 403
    bad = await gw.call("GET", "/v1/footprint?cursor=zzz", role="auditor")
    assert bad.status_code == 422


@pytest.mark.parametrize("origin", ["https://iro.council.gov.uk"])
async def test_cors_allows_configured_front_end_origins(session, database_url, origin):
    async with platform(session, database_url, gateway_overrides={"cors_origins": (origin,)}) as gw:
        preflight = await gw.client.options(
            "/v1/children", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "authorization,idempotency-key"},
        )  # fmt: skip
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        other = await gw.client.options("/v1/children", headers={"Origin": "https://evil.example",
                                                                 "Access-Control-Request-Method": "GET"})  # fmt: skip
        assert "access-control-allow-origin" not in other.headers


async def test_a_chain_longer_than_one_verify_call_is_checked_in_calls_that_continue(session, database_url):
    async with platform(session, database_url, gateway_overrides={"verify_max_events": 3}) as gw:
        before = (await gw.ok("GET", "/v1/footprint/verify", role="auditor"))["head_seq"] or 0
        await set_up_child(gw)  # 4 events (and the IRO's): checked 3 at a time from the first of them
        answers, params = [], {"from_seq": before + 1}
        while True:
            answer = await gw.ok("GET", "/v1/footprint/verify", role="auditor", params=params)
            answers.append(answer)
            if answer["complete"]:
                break
            assert (answer["ok"], answer["checked"]) == (True, 3)
            params = {"from_seq": answer["next_from_seq"]}
    head = answers[-1]["head_seq"]
    assert len(answers) > 1 and all(a["ok"] for a in answers) and answers[-1]["next_from_seq"] is None
    assert sum(a["checked"] for a in answers) == head - before >= 4
