"""`Idempotency-Key` on POST, end to end against the reviews app with REAL commits.

The key is claimed in a transaction of its own, so these tests cannot use the rolled-back `session`:
each builds the app on the test database, uses unique `la_reference` values and token subjects, and
deletes its child, IRO and key rows afterwards (footprint events are append-only and stay).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reviews.main import create_app
from services.reviews.settings import Settings
from shared.auth import mint_development_token
from shared.idempotency import Claim, request_hash
from tests.conftest import app_client

CHILDREN = "/v1/children"


@dataclass
class Idem:
    """The client, plus what the test created so it can be cleaned up."""

    client: httpx.AsyncClient
    settings: Settings
    engine: AsyncEngine
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    references: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    def reference(self, name: str = "") -> str:
        ref = f"IDEM-{self.run}-{name}-{uuid.uuid4().hex[:6]}"
        self.references.append(ref)
        return ref

    def subject(self, name: str = "manager") -> str:
        sub = f"{name}-{self.run}@council.gov.uk"
        self.subjects.append(sub)
        return sub

    def headers(self, sub: str, key: str | None = None, role: str = "manager") -> dict[str, str]:
        token = mint_development_token(self.settings, sub=sub, roles=[role])
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def post(self, path: str, body: bytes | dict[str, Any], *, sub: str, key: str | None) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.client.post(path, content=content, headers=self.headers(sub, key))

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as connection:
            return await connection.scalar(text(sql), params)

    async def children(self, ref: str) -> int:
        return await self.scalar("SELECT count(*) FROM reviews.child WHERE la_reference = :ref", ref=ref)

    async def registered_events(self, ref: str) -> int:
        return await self.scalar(
            "SELECT count(*) FROM footprint.events WHERE type = 'child.registered' AND payload->>'la_reference' = :ref",
            ref=ref,
        )

    async def key_rows(self, key: str, sub: str | None = None) -> list[Any]:
        async with self.engine.connect() as connection:
            sql = "SELECT * FROM reviews.idempotency_key WHERE key = :key"
            params = {"key": key}
            if sub is not None:
                sql += " AND subject = :sub"
                params["sub"] = sub
            return list((await connection.execute(text(sql), params)).all())

    async def cleanup(self) -> None:
        async with self.engine.begin() as connection:
            if self.references:
                await connection.execute(
                    text("DELETE FROM reviews.child WHERE la_reference = ANY(:refs)"), {"refs": self.references}
                )
            if self.emails:
                await connection.execute(
                    text(
                        "DELETE FROM reviews.iro_fte WHERE iro_id IN (SELECT id FROM reviews.iro WHERE email = ANY(:e))"
                    ),
                    {"e": self.emails},
                )
                await connection.execute(text("DELETE FROM reviews.iro WHERE email = ANY(:e)"), {"e": self.emails})
            await connection.execute(
                text("DELETE FROM reviews.idempotency_key WHERE subject = ANY(:subs) OR key LIKE :run"),
                {"subs": self.subjects, "run": f"%{self.run}%"},
            )


@pytest.fixture
async def idem(database_url: str, engine: AsyncEngine) -> AsyncIterator[Idem]:
    settings = Settings(env="test", database_url=database_url)
    app = create_app(settings)
    async for client in app_client(app):
        helper = Idem(client, settings, engine)
        try:
            yield helper
        finally:
            await helper.cleanup()
        left = await helper.scalar(
            "SELECT (SELECT count(*) FROM reviews.child WHERE la_reference LIKE :run)"
            " + (SELECT count(*) FROM reviews.idempotency_key WHERE subject LIKE :run OR key LIKE :run)",
            run=f"%{helper.run}%",
        )
        assert left == 0


def child_body(ref: str) -> dict[str, Any]:
    return {"la_reference": ref, "date_of_birth": "2012-05-01", "display_name": "Sam"}


async def test_the_same_key_and_body_replays_the_first_response(idem):
    sub, key, ref = idem.subject(), f"k1-{idem.run}", idem.reference()
    first = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    [row] = await idem.key_rows(key, sub)
    assert (row.state, row.response_status, row.effect_committed) == ("done", 201, True)
    assert (row.method, row.path) == ("POST", CHILDREN)

    # The same JSON with the keys reordered and other spacing is the same body.
    same = json.dumps(dict(reversed(list(child_body(ref).items()))), indent=4).encode()
    assert same != json.dumps(child_body(ref)).encode()
    for body in (child_body(ref), same):
        replay = await idem.post(CHILDREN, body, sub=sub, key=key)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.content == first.content
        assert replay.json() == first.json()
        assert replay.headers["content-type"] == first.headers["content-type"]

    assert await idem.children(ref) == 1
    assert await idem.registered_events(ref) == 1
    assert len(await idem.key_rows(key, sub)) == 1


async def test_the_same_key_with_another_body_is_a_422_naming_the_header(idem):
    sub, key, ref = idem.subject(), f"k1-{idem.run}", idem.reference()
    assert (await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)).status_code == 201
    other = idem.reference("other")
    response = await idem.post(CHILDREN, child_body(other), sub=sub, key=key)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "idempotent-replayed" not in response.headers
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert problem["errors"][0]["type"] == "idempotency_key_reused"
    assert await idem.children(other) == 0
    assert await idem.children(ref) == 1
    [row] = await idem.key_rows(key, sub)
    assert row.response_status == 201  # the stored answer is untouched


async def test_keys_are_scoped_to_the_subject_and_the_path(idem):
    key = f"k1-{idem.run}"
    alice, bob = idem.subject("alice"), idem.subject("bob")
    ref_a, ref_b = idem.reference("a"), idem.reference("b")
    assert (await idem.post(CHILDREN, child_body(ref_a), sub=alice, key=key)).status_code == 201

    # Another subject, the same key: independent (a different body is no 422, it creates its own child).
    response = await idem.post(CHILDREN, child_body(ref_b), sub=bob, key=key)
    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    assert response.json()["la_reference"] == ref_b
    assert (await idem.children(ref_a), await idem.children(ref_b)) == (1, 1)

    # The same subject and key on another path: independent too.
    email = f"iro-{idem.run}@council.gov.uk"
    idem.emails.append(email)
    iro = await idem.post("/v1/iros", {"name": "Ida", "email": email, "fte": 1}, sub=alice, key=key)
    assert iro.status_code == 201, iro.text
    assert "idempotent-replayed" not in iro.headers
    assert iro.json()["email"] == email

    rows = await idem.key_rows(key)
    assert sorted((r.subject, r.path, r.response_status) for r in rows) == sorted(
        [(alice, CHILDREN, 201), (bob, CHILDREN, 201), (alice, "/v1/iros", 201)]
    )


async def test_concurrent_requests_with_one_key_have_one_effect(idem):
    sub, key, ref = idem.subject(), f"race-{idem.run}", idem.reference()
    responses = await asyncio.gather(*(idem.post(CHILDREN, child_body(ref), sub=sub, key=key) for _ in range(5)))
    statuses = sorted(r.status_code for r in responses)
    originals = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(originals) == 1, statuses
    for response in responses:
        if response is originals[0]:
            continue
        if response.status_code == 409:
            assert "idempotent-replayed" not in response.headers
        else:
            assert response.status_code == 201, response.text
            assert response.headers["idempotent-replayed"] == "true"
            assert response.content == originals[0].content
    assert set(statuses) <= {201, 409}
    assert await idem.children(ref) == 1
    assert await idem.registered_events(ref) == 1
    [row] = await idem.key_rows(key, sub)
    assert (row.state, row.response_status, row.effect_committed) == ("done", 201, True)

    # Afterwards every retry is a replay.
    again = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.content == originals[0].content


async def test_a_client_error_is_a_final_answer_and_is_replayed(idem):
    sub, key, ref = idem.subject(), f"bad-{idem.run}", idem.reference()
    body = {"la_reference": ref}  # no date_of_birth
    first = await idem.post(CHILDREN, body, sub=sub, key=key)
    assert first.status_code == 422, first.text
    [row] = await idem.key_rows(key, sub)
    assert (row.state, row.response_status, row.effect_committed) == ("done", 422, False)

    replay = await idem.post(CHILDREN, body, sub=sub, key=key)
    assert replay.status_code == 422
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert replay.headers["content-type"].startswith("application/problem+json")

    # The key keeps its answer: the corrected body under the same key is another body.
    fixed = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert fixed.status_code == 422
    assert fixed.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await idem.children(ref) == 0
    # A new key runs it.
    assert (await idem.post(CHILDREN, child_body(ref), sub=sub, key=f"{key}-2")).status_code == 201
    assert await idem.children(ref) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "x" * 300, "has space", "tab\there", "caf\u00e9".encode()])
async def test_a_malformed_key_is_a_400(idem, key):
    sub, ref = idem.subject(), idem.reference()
    headers: dict[str, Any] = {**idem.headers(sub), "Idempotency-Key": key}
    response = await idem.client.post(CHILDREN, content=json.dumps(child_body(ref)).encode(), headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await idem.children(ref) == 0
    assert await idem.scalar("SELECT count(*) FROM reviews.idempotency_key WHERE subject = :s", s=sub) == 0


async def test_the_longest_key_is_accepted(idem):
    sub, ref = idem.subject(), idem.reference()
    key = (idem.run * 30)[:255]
    response = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert response.status_code == 201, response.text
    assert len(await idem.key_rows(key, sub)) == 1


async def test_no_token_is_a_401_and_keeps_no_key(idem):
    key, ref = f"anon-{idem.run}", idem.reference()
    body = json.dumps(child_body(ref)).encode()
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    response = await idem.client.post(CHILDREN, content=body, headers=headers)
    assert response.status_code == 401, response.text
    bad = await idem.client.post(CHILDREN, content=body, headers={**headers, "Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert await idem.key_rows(key) == []
    assert await idem.children(ref) == 0


async def test_a_post_without_a_key_is_not_idempotent(idem):
    sub, ref = idem.subject(), idem.reference()
    assert (await idem.post(CHILDREN, child_body(ref), sub=sub, key=None)).status_code == 201
    again = await idem.post(CHILDREN, child_body(ref), sub=sub, key=None)
    assert again.status_code == 409  # the la_reference is taken: the route ran again
    assert "idempotent-replayed" not in again.headers
    assert await idem.scalar("SELECT count(*) FROM reviews.idempotency_key WHERE subject = :s", s=sub) == 0


async def test_a_claim_dies_with_its_claimant_and_a_retry_then_runs_once(idem, engine):
    """The claim is a session-level advisory lock: while its claimant's connection lives a retry is a
    409; the moment that connection ends (process killed, database restarted) a retry runs."""
    sub, key, ref = idem.subject(), f"dead-{idem.run}", idem.reference()
    claim = Claim("reviews", sub, "POST", CHILDREN, key, uuid.uuid4())
    claimant = await engine.connect()  # stands for a process that claimed the key and then died
    await claimant.execute(text("SELECT pg_advisory_lock(hashtextextended(:name, 0))"), {"name": claim.lock_name})
    await claimant.execute(
        text("INSERT INTO reviews.idempotency_key (subject, method, path, key, request_hash, lease)"
             " VALUES (:s, :m, :p, :k, :h, :lease)"),
        {**claim.params(), "h": request_hash(json.dumps(child_body(ref)).encode())},
    )  # fmt: skip
    await claimant.commit()

    in_flight = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert in_flight.status_code == 409, in_flight.text
    assert "still being processed" in in_flight.json()["detail"]

    await claimant.invalidate()  # the connection ends; PostgreSQL releases its lock
    await claimant.close()
    retry = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert await idem.children(ref) == 1
    [row] = await idem.key_rows(key, sub)
    assert (row.state, row.response_status) == ("done", 201)


async def test_the_response_is_kept_in_the_transaction_of_the_change(idem):
    sub, key, ref = idem.subject(), f"xact-{idem.run}", idem.reference()
    created = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert created.status_code == 201
    child_xmin = await idem.scalar("SELECT xmin::text FROM reviews.child WHERE la_reference = :r", r=ref)
    key_xmin = await idem.scalar(
        "SELECT xmin::text FROM reviews.idempotency_key WHERE key = :k AND subject = :s", k=key, s=sub
    )
    assert child_xmin == key_xmin  # one transaction wrote both
    [row] = await idem.key_rows(key, sub)
    assert json.loads(row.response_body) == created.json()


async def test_a_committed_change_whose_response_was_lost_replays_its_answer(idem, database_url):
    """The connection drops after the commit, before the client reads the answer: the retry with the
    key is told the true outcome (201 and the child), and nothing is done twice."""
    sub, key, ref = idem.subject(), f"lost-{idem.run}", idem.reference()
    app = create_app(idem.settings)

    async def losing(scope, receive, send):
        async def lose(message):  # nothing reaches the client
            return None

        await app(scope, receive, lose)
        if scope["type"] == "http":
            raise ConnectionResetError("the client went away")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=losing, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            lost = await client.post(
                CHILDREN, content=json.dumps(child_body(ref)).encode(), headers=idem.headers(sub, key)
            )
            assert lost.status_code == 500  # the transport's stand-in for an answer that never came
    assert await idem.children(ref) == 1

    retry = await idem.post(CHILDREN, child_body(ref), sub=sub, key=key)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["la_reference"] == ref
    assert await idem.children(ref) == 1
    assert await idem.registered_events(ref) == 1


async def test_a_deeply_nested_body_is_the_same_400_with_or_without_a_key(idem):
    sub = idem.subject()
    deep = b"[" * 1000 + b"]" * 1000
    answers = []
    for key in (None, f"deep-{idem.run}"):
        response = await idem.post(CHILDREN, deep, sub=sub, key=key)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        answers.append((body["type"], body["title"], body["detail"]))
    assert answers[0] == answers[1]
