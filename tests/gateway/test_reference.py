"""GET /v1/reference and /v1/reference/{list}: the code lists, for every role; the escalation lists
as the authority configured them; placement codes by the date they apply to; `not_recorded` is for
imports only."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from shared.auth import mint_development_token
from tests.gateway.conftest import platform

ROLES = ("iro", "manager", "auditor", "integration", "admin")
CONTRACT_LISTS = {
    "legal-statuses", "placement-types", "reasons-new-episode", "reasons-episode-ceased", "late-review-reasons",
    "early-review-reasons", "participation-codes", "participation-methods", "parent-relationships",
    "feedback-respondents", "escalation-categories", "escalation-stages",
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_reads_the_list_names(gw, role):
    lists = await gw.ok("GET", "/v1/reference", role=role, sub="someone@council.gov.uk")
    names = [entry["name"] for entry in lists["items"]]
    assert set(names) >= CONTRACT_LISTS
    assert lists["next_cursor"] is None
    placement = next(entry for entry in lists["items"] if entry["name"] == "placement-types")
    assert placement["href"] == "/v1/reference/placement-types"


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_reads_a_list_the_escalations_service_holds(gw, role):
    stages = await gw.ok("GET", "/v1/reference/escalation-stages", role=role, sub="someone@council.gov.uk")
    assert stages["items"][0] == {"code": "0", "label": "Informal alert (social worker and team manager)",
                                  "stage": 0, "response_working_days": 10}  # fmt: skip
    assert [item["stage"] for item in stages["items"]] == [0, 1, 2, 3, 4, 5]


async def test_no_token_is_401(gw):
    for path in ("/v1/reference", "/v1/reference/legal-statuses"):
        response = await gw.client.get(path)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


async def test_each_list_has_codes_and_labels(gw):
    for name in CONTRACT_LISTS - {"escalation-categories", "escalation-stages"}:
        body = await gw.ok("GET", f"/v1/reference/{name}")
        assert body["name"] == name
        assert body["items"], name
        assert all(isinstance(item["code"], str) and item["label"] for item in body["items"]), name
    legal = await gw.ok("GET", "/v1/reference/legal-statuses")
    assert {"code": "C2", "label": "Full care order"} in legal["items"]
    assert legal["source"] == "DfE SSDA903 children looked after return"
    ceased = await gw.ok("GET", "/v1/reference/reasons-episode-ceased")
    assert ceased["items"][0] == {"code": "X1", "label": "Episode ends and a new one begins the same day"}
    assert len(ceased["items"]) == 22
    new_episode = await gw.ok("GET", "/v1/reference/reasons-new-episode")
    assert [item["code"] for item in new_episode["items"]] == ["S", "L", "P", "T", "B", "U"]
    methods = await gw.ok("GET", "/v1/reference/participation-methods")
    assert methods["items"][1] == {"code": "video", "label": "By video call"}
    relationships = await gw.ok("GET", "/v1/reference/parent-relationships")
    assert [item["code"] for item in relationships["items"]] == [
        "mother", "father", "parent", "step_parent", "carer", "guardian", "other"
    ]  # fmt: skip
    respondents = await gw.ok("GET", "/v1/reference/feedback-respondents")
    assert {"code": "supervising_social_worker", "label": "Supervising social worker"} in respondents["items"]


async def test_participation_codes_say_who_they_are_for_and_what_counts(gw):
    codes = {item["code"]: item for item in (await gw.ok("GET", "/v1/reference/participation-codes"))["items"]}
    assert list(codes) == [f"PN{n}" for n in range(8)]
    assert codes["PN0"] == {"code": "PN0", "label": "Child aged under 4 at the time of the review",
                            "for_ages": "under 4", "attends": None, "views_conveyed": None,
                            "counts_as_participation": False}  # fmt: skip
    assert (codes["PN5"]["attends"], codes["PN5"]["views_conveyed"], codes["PN5"]["counts_as_participation"]) == (
        False, True, True,
    )  # fmt: skip
    assert codes["PN7"]["counts_as_participation"] is False
    assert codes["PN6"]["label"] == "Does not attend; conveys views by another medium (form, app, text, call)"


async def test_review_reasons_mark_the_import_only_code_and_the_one_needing_detail(gw):
    late = {item["code"]: item for item in (await gw.ok("GET", "/v1/reference/late-review-reasons"))["items"]}
    assert late["not_recorded"] == {
        "code": "not_recorded", "label": "Not recorded (imported from the DfE return; not for IRO input)",
        "for_iro_input": False, "needs_detail": False,
    }  # fmt: skip
    assert late["iro_unavailable"]["for_iro_input"] is True
    assert late["other"]["needs_detail"] is True
    early = {item["code"]: item for item in (await gw.ok("GET", "/v1/reference/early-review-reasons"))["items"]}
    assert early["iro_request"]["source"] == "reg 33(3)(a)"
    assert early["other"] == {"code": "other", "label": "Other (give detail)", "source": None, "needs_detail": True}


async def test_placement_types_carry_their_collection_years_and_filter_by_day(gw):
    every = {item["code"]: item for item in (await gw.ok("GET", "/v1/reference/placement-types"))["items"]}
    assert every["K3"]["first_collection_year"] == 2024 and every["K3"]["last_collection_year"] is None
    assert (every["H5"]["first_collection_year"], every["H5"]["last_collection_year"]) == (2022, 2024)
    assert every["U4"] == {
        "code": "U4", "label": "Foster placement with other foster carers: long-term fostering",
        "first_collection_year": 2022, "last_collection_year": None,
    }  # fmt: skip
    summer_2023 = await gw.ok("GET", "/v1/reference/placement-types?on=2023-06-01")  # collection year 2024
    codes_2023 = {item["code"] for item in summer_2023["items"]}
    assert summer_2023["on"] == "2023-06-01"
    assert {"H5", "K3", "P2", "Z1", "U4"} <= codes_2023
    summer_2024 = await gw.ok("GET", "/v1/reference/placement-types?on=2024-06-01")  # collection year 2025
    codes_2024 = {item["code"] for item in summer_2024["items"]}
    assert "K3" in codes_2024 and not {"H5", "P2", "Z1"} & codes_2024
    march_2022 = await gw.ok("GET", "/v1/reference/placement-types?on=2022-03-31")  # collection year 2022
    assert "K3" not in {item["code"] for item in march_2022["items"]}


async def test_an_unknown_list_is_a_404_problem_naming_the_lists(gw):
    response = await gw.call("GET", "/v1/reference/hair-colours")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/not-found"
    assert "hair-colours" in problem["detail"]
    assert set(problem["valid"]) >= CONTRACT_LISTS


async def test_the_escalation_lists_are_the_configured_ones_not_the_defaults(session, database_url, monkeypatch):
    monkeypatch.setenv("ESCALATIONS_CATEGORIES", json.dumps(["staffing", "placement_sufficiency"]))
    monkeypatch.setenv("ESCALATIONS_LADDER", json.dumps([
        {"stage": 0, "name": "Practice alert", "response_working_days": 5},
        {"stage": 1, "name": "Team Manager", "response_working_days": 5},
        {"stage": 2, "name": "Head of Service", "response_working_days": 10},
    ]))  # fmt: skip
    async with platform(session, database_url, today=dt.date(2025, 6, 2)) as gw:
        categories = await gw.ok("GET", "/v1/reference/escalation-categories", role="integration", sub="mosaic")
        assert categories["items"] == [{"code": "staffing", "label": None},
                                       {"code": "placement_sufficiency", "label": None}]  # fmt: skip
        stages = await gw.ok("GET", "/v1/reference/escalation-stages", role="iro", sub="alice@council.gov.uk")
        assert [(s["stage"], s["label"], s["response_working_days"]) for s in stages["items"]] == [
            (0, "Practice alert", 5), (1, "Team Manager", 5), (2, "Head of Service", 10)
        ]  # fmt: skip


async def test_the_escalation_lists_are_a_502_when_the_service_is_down_and_the_rest_still_answer(session, database_url):
    async with platform(session, database_url, down=("escalations",)) as gw:
        response = await gw.call("GET", "/v1/reference/escalation-categories")
        assert response.status_code == 502
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["service"] == "escalations"
        legal = await gw.ok("GET", "/v1/reference/legal-statuses")
        assert legal["items"][0]["code"] == "C1"


# --- The lists are what the services accept -------------------------------------------------------


async def new_child(gw, born: str = "2012-05-01") -> str:
    child = await gw.ok("POST", "/v1/children", {"la_reference": f"R{born}", "date_of_birth": born}, status=201)
    return str(child["id"])


@pytest.fixture
async def gw2025(session, database_url):
    async with platform(session, database_url, today=dt.date(2025, 6, 2)) as gateway:
        yield gateway


async def test_a_placement_code_is_checked_against_the_day_the_care_period_starts(gw2025):
    child = await new_child(gw2025)
    path = f"/v1/children/{child}/care-periods"
    refused = await gw2025.call(
        "POST", path, {"started_on": "2024-05-01", "legal_status": "C2", "placement_type": "H5"}
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["errors"][0]["loc"] == ["body", "placement_type"]
    assert "in use on 2024-05-01" in problem["detail"]
    listed = await gw2025.ok("GET", "/v1/reference/placement-types?on=2024-05-01")
    assert problem["valid"] == [item["code"] for item in listed["items"]]
    assert "K3" in problem["valid"] and "H5" not in problem["valid"]
    period = {"started_on": "2024-05-01", "legal_status": "C2", "placement_type": "K3"}
    assert (await gw2025.ok("POST", path, period, status=201))["placement_type"] == "K3"


async def test_a_placement_change_is_checked_against_its_own_day(gw2025):
    child = await new_child(gw2025)
    await gw2025.ok("POST", f"/v1/children/{child}/care-periods",
                    {"started_on": "2022-06-01", "legal_status": "C2", "placement_type": "H5"}, status=201)  # fmt: skip
    path = f"/v1/children/{child}/placement-changes"
    too_early = await gw2025.call("POST", path, {"changed_on": "2023-03-31", "placement_type": "K3"})
    assert too_early.status_code == 422  # K3 is in use from collection year 2024, which starts 1 April 2023
    assert "K3" not in too_early.json()["valid"] and "H5" in too_early.json()["valid"]
    too_late = await gw2025.call("POST", path, {"changed_on": "2024-04-02", "placement_type": "H5"})
    assert too_late.status_code == 422  # H5's last collection year is 2024, which ended 31 March 2024
    assert too_late.json()["errors"][0]["loc"] == ["body", "placement_type"]
    assert "H5" not in too_late.json()["valid"] and "K3" in too_late.json()["valid"]
    first_day = await gw2025.ok("POST", path, {"changed_on": "2023-04-01", "placement_type": "K3"}, status=201)
    assert first_day["placement_type"] == "K3"


@pytest.mark.parametrize(
    ("field", "body", "valid_from"),
    [
        ("legal_status", {"started_on": "2025-05-01", "legal_status": "Z9"}, "legal-statuses"),
    ],
)
async def test_a_code_not_on_its_list_is_a_422_naming_the_valid_codes(gw2025, field, body, valid_from):
    child = await new_child(gw2025)
    refused = await gw2025.call("POST", f"/v1/children/{child}/care-periods", body)
    assert refused.status_code == 422
    listed = await gw2025.ok("GET", f"/v1/reference/{valid_from}")
    assert refused.json()["valid"] == [item["code"] for item in listed["items"]]
    assert refused.json()["errors"][0]["loc"] == ["body", field]
    assert "C2" in refused.json()["detail"]


async def test_a_reason_ceased_not_on_the_list_is_a_422_listing_the_codes(gw2025):
    child = await new_child(gw2025)
    period = await gw2025.ok("POST", f"/v1/children/{child}/care-periods",
                             {"started_on": "2025-05-01", "legal_status": "C2"}, status=201)  # fmt: skip
    refused = await gw2025.call("POST", f"/v1/children/{child}/care-periods/{period['id']}/end",
                                {"ended_on": "2025-05-20", "reason": "E99"})  # fmt: skip
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["loc"] == ["body", "reason"]
    assert "'X1'" in error["msg"] and "'E4A'" in error["msg"] and "'E9'" in error["msg"]


async def test_an_iro_cannot_give_the_import_only_late_reason_but_an_import_can(gw2025):
    child = await new_child(gw2025)
    await gw2025.ok("POST", f"/v1/children/{child}/care-periods",
                    {"started_on": "2025-01-06", "legal_status": "C2"}, status=201)  # fmt: skip
    [first] = (await gw2025.ok("GET", f"/v1/children/{child}/reviews"))["items"]
    late = {"held_on": "2025-03-03", "late_reason": "not_recorded"}  # first review due 2025-02-03: late
    refused = await gw2025.call("POST", f"/v1/reviews/{first['id']}/held", late, role="iro",
                                sub="alice@council.gov.uk")  # fmt: skip
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["errors"][0]["loc"] == ["body", "late_reason"]
    assert "not_recorded" not in problem["valid"]
    listed = await gw2025.ok("GET", "/v1/reference/late-review-reasons")
    assert problem["valid"] == [item["code"] for item in listed["items"] if item["for_iro_input"]]
    token = mint_development_token(gw2025.settings, sub="ssda903-import", roles=["integration"])
    async with httpx.AsyncClient(base_url=gw2025.settings.reviews_url) as reviews:  # behind the gateway
        imported = {"Authorization": f"Bearer {token}", "X-Event-Source": "ssda903"}
        held = await reviews.post(f"/v1/reviews/{first['id']}/held", json=late, headers=imported)
    assert held.status_code == 200, held.text
    assert (held.json()["in_time"], held.json()["late_reason"]) == (False, "not_recorded")
