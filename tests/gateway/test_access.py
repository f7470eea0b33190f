"""Routing by whole path segments, and the role matrix at the door (pure)."""

import pytest

from services.gateway.access import allowed_roles, route


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/children", "reviews"),
        ("/v1/children/abc/reviews", "reviews"),
        ("/v1/stats/timeliness", "reviews"),
        ("/v1/stats/caseloads", "reviews"),
        ("/v1/stats/escalations", "escalations"),
        ("/v1/stats/participation", "participation"),
        ("/v1/stats/feedback", "participation"),
        ("/v1/stats/advocacy", "participation"),
        ("/v1/escalations/abc/resolve", "escalations"),
        ("/v1/escalation-stages", "escalations"),
        ("/v1/commendations", "escalations"),
        ("/v1/participation/abc", "participation"),
        ("/v1/advocacy-referrals", "participation"),
        ("/v1/feedback", "participation"),
    ],
)
def test_each_contract_path_goes_to_its_service(path, service):
    assert route(path).service == service


@pytest.mark.parametrize(
    "path",
    [
        "/v1/stats",
        "/v1/stats/unknown",
        "/v1/escalationsx",
        "/v1/escalation",
        "/v1/childrenx/1",
        "/healthz",
        "/v2/children",
    ],
)
def test_paths_no_service_owns_are_not_routed(path):
    assert route(path) is None


@pytest.mark.parametrize(
    ("method", "path", "roles"),
    [
        ("GET", "/v1/children", {"iro", "manager", "auditor", "admin"}),
        ("POST", "/v1/children", {"iro", "manager", "admin"}),
        ("POST", "/v1/iros", {"manager", "admin"}),
        ("PATCH", "/v1/iros/x", {"manager", "admin"}),
        ("PUT", "/v1/children/x/iro", {"manager", "admin"}),
        ("POST", "/v1/children/x/case-notes", {"iro", "manager", "admin"}),
        ("PUT", "/v1/participation/x", {"iro", "manager", "admin"}),
        ("GET", "/v1/stats/escalations", {"iro", "manager", "auditor", "admin"}),
    ],
)
def test_the_role_matrix_at_the_door(method, path, roles):
    allowed = allowed_roles(method, route(path))
    assert allowed == roles
    assert "integration" not in allowed
