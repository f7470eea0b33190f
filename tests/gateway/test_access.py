"""Routing by whole path segments, the path table from the services' documents, and the role
matrix at the door, read from the role table (shared/roles.py) and pinned here against CONTRACT.md's
rows (pure: the services' documents are built in-process, no database)."""

import pytest

from services.escalations.main import create_app as escalations_app
from services.escalations.settings import Settings as EscalationsSettings
from services.gateway.access import PathTable, allowed_roles, resolve, route, unrouted
from services.participation.main import create_app as participation_app
from services.participation.settings import Settings as ParticipationSettings
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from shared import roles

READERS = {"iro", "manager", "auditor", "admin"}
WRITERS = {"iro", "manager", "admin"}
MANAGERS = {"manager", "admin"}


@pytest.fixture(scope="module")
def documents():
    return {
        "reviews": reviews_app(ReviewsSettings(env="test")).openapi(),
        "escalations": escalations_app(EscalationsSettings(env="test")).openapi(),
        "participation": participation_app(ParticipationSettings(env="test")).openapi(),
    }


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


def test_the_static_table_sends_every_documented_path_to_the_service_that_documents_it(documents):
    assert unrouted(documents) == []
    assert route("/v1/escalation-categories").service == "escalations"


def test_the_path_table_knows_each_paths_service_and_methods(documents):
    table = PathTable.from_documents(documents)
    children = table.find("/v1/children")
    assert (children.service, children.methods, children.template) == ("reviews", {"GET", "POST"}, "/v1/children")
    one = table.find("/v1/children/8d0f5a4e-0000-4000-8000-000000000001")
    assert (one.template, one.methods) == ("/v1/children/{child_id}", {"GET", "PATCH"})
    assert table.find("/v1/escalation-categories").methods == {"GET"}
    assert table.find("/v1/advocacy-referrals/x").methods == {"GET", "PATCH"}
    assert table.find("/v1/children/x/unknown") is None
    fallback = resolve("/v1/children/x/unknown", table)  # a prefix the table owns: the service answers
    assert (fallback.service, fallback.methods) == ("reviews", None)
    assert resolve("/v1/nowhere", table) is None


# CONTRACT.md "Who may do what", for every write the services document: the row it falls under.
# (Every documented GET is a read of service records or stats: iro, manager, auditor, admin.)
WRITES = {
    ("POST", "/v1/iros"): MANAGERS,  # POST/PATCH /v1/iros
    ("PATCH", "/v1/iros/{iro_id}"): MANAGERS,
    ("PUT", "/v1/children/{child_id}/iro"): MANAGERS,  # PUT /v1/children/{id}/iro
    ("POST", "/v1/children"): WRITERS,  # writes to children, care periods, placement and legal status
    ("PATCH", "/v1/children/{child_id}"): WRITERS,
    ("POST", "/v1/children/{child_id}/care-periods"): WRITERS,
    ("POST", "/v1/children/{child_id}/care-periods/{period_id}/end"): WRITERS,
    ("POST", "/v1/children/{child_id}/placement-changes"): WRITERS,
    ("POST", "/v1/children/{child_id}/legal-status-changes"): WRITERS,
    ("PATCH", "/v1/reviews/{review_id}"): WRITERS,  # reviews
    ("POST", "/v1/reviews/{review_id}/early"): WRITERS,
    ("POST", "/v1/reviews/{review_id}/rearrangements"): WRITERS,
    ("POST", "/v1/reviews/{review_id}/held"): WRITERS,
    ("POST", "/v1/reviews/{review_id}/decisions"): WRITERS,  # decisions
    ("PATCH", "/v1/decisions/{decision_id}"): WRITERS,
    ("POST", "/v1/children/{child_id}/midway-reviews"): WRITERS,  # midway reviews
    ("POST", "/v1/children/{child_id}/case-notes"): WRITERS,  # case notes
    ("POST", "/v1/escalations"): WRITERS,  # escalations
    ("POST", "/v1/escalations/{escalation_id}/responses"): WRITERS,
    ("POST", "/v1/escalations/{escalation_id}/escalate"): WRITERS,
    ("POST", "/v1/escalations/{escalation_id}/resolve"): WRITERS,
    ("POST", "/v1/escalations/{escalation_id}/withdraw"): WRITERS,
    ("POST", "/v1/escalations/{escalation_id}/cafcass-referral"): WRITERS,
    ("POST", "/v1/commendations"): WRITERS,  # commendations
    ("PUT", "/v1/participation/{review_id}"): WRITERS,  # participation
    ("POST", "/v1/feedback"): WRITERS,  # feedback
    ("POST", "/v1/advocacy-referrals"): WRITERS,  # advocacy
    ("PATCH", "/v1/advocacy-referrals/{referral_id}"): WRITERS,
    ("POST", "/v1/ingest/reviews"): frozenset(),  # internal: the gateway's own calls, never through the door
    ("POST", "/v1/ingest/participation"): frozenset(),
}


def test_the_door_applies_the_contracts_role_matrix_to_every_documented_operation(documents):
    table = PathTable.from_documents(documents)
    operations = {
        (method.upper(), path)
        for document in documents.values()
        for path, methods in document["paths"].items()
        if path.startswith("/v1/")
        for method in methods
    }
    writes = {operation for operation in operations if operation[0] != "GET"}
    assert writes == set(WRITES), "a new write: add it to WRITES under its CONTRACT.md row"
    for method, path in sorted(operations):
        if (method, path) in roles.TABLE.internal:  # never through the door: 404 (tests/test_role_table.py)
            assert table.find(path.replace("{", "").replace("}", "")) is None
            continue
        concrete = path.replace("{", "").replace("}", "")  # `/v1/children/child_id`: any id will do
        target = table.find(concrete)
        assert target.template == path
        assert allowed_roles(method, target) == WRITES.get((method, path), READERS), (method, path)
        assert allowed_roles(method, route(concrete)) == WRITES.get((method, path), READERS), (method, path)


def test_the_door_applies_the_gateway_roles_and_the_service_the_wider_roles_behind_it():
    stages = roles.TABLE.rule("GET", "/v1/escalation-stages")
    assert allowed_roles("GET", route("/v1/escalation-stages")) == READERS
    assert stages.service_roles == READERS | {"integration"}  # GET /v1/reference/escalation-stages reads it
    register = roles.TABLE.rule("POST", "/v1/children")
    assert allowed_roles("POST", route("/v1/children")) == WRITERS
    assert register.service_roles == WRITERS | {"integration"}  # the gateway applying `child.registered`


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_path_no_row_declares_is_left_to_its_service_which_answers_404(method):
    """`/v1/iros/{id}/calendar-feed` is not built yet (its row comes with it: CONTRACT.md, "own id"
    for IROs): the door admits the roles it admits to any reviews path, never integration, and the
    service, which has no such route, answers 404."""
    assert roles.TABLE.find(method, "/v1/iros/x/calendar-feed") is None
    assert allowed_roles(method, route("/v1/iros/x/calendar-feed")) == READERS


@pytest.mark.parametrize("path", ["/v1/reviews/../iros", "/v1/children/x/../../iros", "/v1/./children", "/v1/.."])
def test_a_path_with_dot_segments_is_not_routed(path, documents):
    """The gateway's HTTP client would send `/v1/reviews/../iros` as `/v1/iros`: past a door that
    judged another path."""
    assert resolve(path, PathTable.from_documents(documents)) is None
