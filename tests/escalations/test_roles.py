"""Who may do what (CONTRACT.md): reads for iro, manager, auditor, admin; writes for iro, manager,
admin; anything else 403; no token 401. A refused request writes nothing to the footprint."""

from __future__ import annotations

import pytest

from tests.escalations.conftest import body, events_after, head, raise_one, register_child

READERS = ("iro", "manager", "auditor", "admin")
WRITERS = ("iro", "manager", "admin")
ROLES = ("iro", "manager", "auditor", "integration", "admin")
# The configured ladder and categories are reference lists the gateway serves to every role
# (GET /v1/reference/escalation-stages, -categories), integration included.
REFERENCE_READS = ("/v1/escalation-stages", "/v1/escalation-categories")

READS = [
    "/v1/escalations",
    "/v1/escalations/{id}",
    "/v1/escalation-stages",
    "/v1/escalation-categories",
    "/v1/commendations",
    "/v1/stats/escalations?from=2024-04-01&to=2024-04-30",
]


def writes(child: str) -> list[tuple[str, dict, int]]:
    """(path, body, status when allowed), in an order a writer can run them all on one escalation."""
    return [
        ("/v1/escalations", body([child]), 201),
        ("/v1/commendations", {"team": "North", "summary": "Thorough pathway plan.", "raised_on": "2024-04-10"}, 201),
        ("/v1/escalations/{id}/responses", {"responded_on": "2024-04-03", "responder": "TM", "text": "Seen."}, 200),
        ("/v1/escalations/{id}/escalate", {"escalated_on": "2024-04-08", "reason": "Not enough."}, 200),
        ("/v1/escalations/{id}/resolve", {"resolved_on": "2024-04-10", "outcome": "Plan updated."}, 200),
        ("/v1/escalations/{id}/withdraw", {"withdrawn_on": "2024-04-10", "reason": "x"}, 409),
        ("/v1/escalations/{id}/cafcass-referral", {"referred_on": "2024-04-10", "reason": "x"}, 409),
    ]


@pytest.mark.parametrize("role", ROLES)
async def test_reads_are_for_iro_manager_auditor_and_admin(client, session, auth_header, iro, role):
    created = await raise_one(client, iro, **body([await register_child(session)]))
    for path in READS:
        response = await client.get(path.format(id=created["id"]), headers=auth_header(role))
        allowed = role in READERS or path in REFERENCE_READS
        assert response.status_code == (200 if allowed else 403), (role, path)


@pytest.mark.parametrize("role", ROLES)
async def test_writes_are_for_iro_manager_and_admin(client, session, auth_header, iro, role):
    child = str(await register_child(session))
    created = await raise_one(client, iro, **body([child]))
    before = await head(session)
    for path, values, allowed in writes(child):
        response = await client.post(path.format(id=created["id"]), json=values, headers=auth_header(role))
        assert response.status_code == (allowed if role in WRITERS else 403), (role, path, response.text)
    if role not in WRITERS:
        assert await events_after(session, before) == []


async def test_no_token_is_401_and_a_bad_one_too(client, session, iro):
    child = str(await register_child(session))
    created = await raise_one(client, iro, **body([child]))
    before = await head(session)
    for path in READS:
        response = await client.get(path.format(id=created["id"]))
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    for path, values, _ in writes(child):
        assert (await client.post(path.format(id=created["id"]), json=values)).status_code == 401, path
        bad = {"Authorization": "Bearer not-a-token"}
        assert (await client.post(path.format(id=created["id"]), json=values, headers=bad)).status_code == 401
    assert await events_after(session, before) == []
