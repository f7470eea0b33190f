"""Who may do what (CONTRACT.md, "Who may do what"): records and stats are read by iro, manager,
auditor and admin; participation, feedback and advocacy written by iro, manager and admin, and
participation also by integration. Any other role is 403; no token is 401."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.participation.helpers import child_with_review, events_of

ROLES = ("iro", "manager", "auditor", "integration", "admin")
READERS = {"iro", "manager", "auditor", "admin"}
WRITERS = {"iro", "manager", "admin"}
PERIOD = {"from": "2020-04-01", "to": "2021-03-31"}


@dataclass
class Ids:
    child_id: uuid.UUID
    review_id: uuid.UUID
    referral_id: str


@dataclass(frozen=True)
class Call:
    method: str
    path: Callable[[Ids], str]
    ok: int
    allowed: frozenset[str]
    body: Callable[[Ids], dict[str, Any]] | None = None
    params: Callable[[Ids], dict[str, str]] | None = None


CALLS = {
    "get record": Call("GET", lambda i: f"/v1/participation/{i.review_id}", 200, frozenset(READERS)),
    "list records": Call(
        "GET", lambda i: "/v1/participation", 200, frozenset(READERS), params=lambda i: {"child_id": str(i.child_id)}
    ),
    "participation stats": Call(
        "GET", lambda i: "/v1/stats/participation", 200, frozenset(READERS), params=lambda i: PERIOD
    ),
    "list feedback": Call("GET", lambda i: "/v1/feedback", 200, frozenset(READERS)),
    "feedback questions": Call("GET", lambda i: "/v1/feedback-questions", 200, frozenset(READERS)),
    "feedback stats": Call("GET", lambda i: "/v1/stats/feedback", 200, frozenset(READERS), params=lambda i: PERIOD),
    "list referrals": Call("GET", lambda i: "/v1/advocacy-referrals", 200, frozenset(READERS)),
    "get referral": Call("GET", lambda i: f"/v1/advocacy-referrals/{i.referral_id}", 200, frozenset(READERS)),
    "advocacy stats": Call("GET", lambda i: "/v1/stats/advocacy", 200, frozenset(READERS), params=lambda i: PERIOD),
    "put participation": Call(
        "PUT",
        lambda i: f"/v1/participation/{i.review_id}",
        200,
        frozenset(WRITERS | {"integration"}),
        body=lambda i: {"code": "PN6"},
    ),
    "post feedback": Call(
        "POST",
        lambda i: "/v1/feedback",
        201,
        frozenset(WRITERS),
        body=lambda i: {"respondent": "carer", "channel": "online", "child_id": str(i.child_id)},
    ),
    "post referral": Call(
        "POST",
        lambda i: "/v1/advocacy-referrals",
        201,
        frozenset(WRITERS),
        body=lambda i: {"child_id": str(i.child_id), "referred_on": "2021-02-01", "provider": "Coram Voice"},
    ),
    "patch referral": Call(
        "PATCH",
        lambda i: f"/v1/advocacy-referrals/{i.referral_id}",
        200,
        frozenset(WRITERS),
        body=lambda i: {"outcome": "Advocate allocated", "outcome_on": "2021-02-10"},
    ),
}


async def _ids(client, session, auth_header) -> Ids:
    child_id, review_id = await child_with_review(session, dt.date(2010, 5, 1), dt.date(2021, 1, 10))
    put = await client.put(f"/v1/participation/{review_id}", json={"code": "PN1"}, headers=auth_header("admin"))
    assert put.status_code == 200
    referral = await client.post(
        "/v1/advocacy-referrals",
        json={"child_id": str(child_id), "referred_on": "2021-01-20", "provider": "NYAS"},
        headers=auth_header("admin"),
    )
    assert referral.status_code == 201
    return Ids(child_id, review_id, referral.json()["id"])


async def _call(client, call: Call, ids: Ids, headers: dict[str, str]) -> int:
    response = await client.request(
        call.method,
        call.path(ids),
        json=call.body(ids) if call.body else None,
        params=call.params(ids) if call.params else None,
        headers=headers,
    )
    return response.status_code


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_each_role_gets_what_the_matrix_says(client, session, auth_header, name):
    call = CALLS[name]
    ids = await _ids(client, session, auth_header)
    outcomes = {role: await _call(client, call, ids, auth_header(role)) for role in ROLES}
    assert outcomes == {role: call.ok if role in call.allowed else 403 for role in ROLES}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_no_token_is_401_and_a_token_with_no_role_403(client, session, auth_header, name):
    call = CALLS[name]
    ids = await _ids(client, session, auth_header)
    assert await _call(client, call, ids, {}) == 401
    assert await _call(client, call, ids, {"Authorization": "Bearer not-a-token"}) == 401
    assert await _call(client, call, ids, auth_header()) == 403


async def test_a_refused_write_changes_nothing_and_writes_no_event(client, session, auth_header):
    _, review_id = await child_with_review(session, dt.date(2010, 5, 1), dt.date(2021, 1, 10))
    put = await client.put(f"/v1/participation/{review_id}", json={"code": "PN1"}, headers=auth_header("auditor"))
    assert put.status_code == 403
    assert put.json()["type"] == "/problems/forbidden"
    assert (await client.get(f"/v1/participation/{review_id}", headers=auth_header("auditor"))).status_code == 404
    assert await events_of(session, review_id) == []
