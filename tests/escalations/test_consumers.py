"""The `escalations.children` consumer: children known from `child.registered` on the footprint."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, text

from services.escalations.models import KnownChild
from shared import footprint
from shared.footprint import events
from shared.footprint.consumer import Consumer
from tests.conftest import app_client
from tests.escalations.conftest import act, allocate, body, events_after, head, register_child, register_iro


async def test_the_consumer_runs_for_the_life_of_the_app_and_is_kept_on_its_state(app):
    assert app.state.children_consumer is None
    async for _ in app_client(app):
        consumer = app.state.children_consumer
        assert isinstance(consumer, Consumer)
        assert (consumer.name, consumer.schema, consumer.types) == (
            "escalations.children",
            "escalations",
            frozenset({"child.registered", "iro.registered", "iro.allocated"}),
        )
    assert app.state.children_consumer is None


async def test_a_registered_child_is_remembered_with_its_reference_and_date_of_birth(app, client, session):
    child = await register_child(session, la_reference="HAR-00042")
    assert await app.state.children_consumer.catch_up(session) is True
    known = await session.get(KnownChild, child)
    assert (known.la_reference, known.date_of_birth) == ("HAR-00042", dt.date(2012, 1, 1))


async def test_a_second_registration_of_the_same_child_updates_it(app, client, session):
    child = await register_child(session, la_reference="HAR-00042")
    await footprint.append(
        session,
        event=events.ChildRegistered(
            child_id=child, la_reference="HAR-00043", date_of_birth=dt.date(2012, 2, 29), uasc=None
        ),
        actor=footprint.Actor("reviews-test", "iro"),
        subject=footprint.Subject("child", child),
        service="reviews",
        child_id=child,
    )
    assert await app.state.children_consumer.catch_up(session) is True
    rows = (await session.scalars(select(KnownChild).where(KnownChild.id == child))).all()
    assert [(row.la_reference, row.date_of_birth) for row in rows] == [("HAR-00043", dt.date(2012, 2, 29))]


async def test_the_whole_flow_works_with_only_the_escalations_roles_privileges(app, client, session, iro, settings):
    role = settings.db_role("escalations")
    await session.execute(text(f"SET LOCAL ROLE {role}"))  # until the test's transaction rolls back
    assert await session.scalar(text("SELECT current_user")) == role
    child = await register_child(session)
    created = await client.post("/v1/escalations", json=body([child], raised_on="2024-04-02"), headers=iro)
    assert created.status_code == 201, created.text
    escalation = created.json()["id"]
    answered = await act(client, iro, escalation, "responses", responded_on="2024-04-03", responder="TM", text="Ok")
    assert answered.status_code == 200
    assert (await act(client, iro, escalation, "escalate", escalated_on="2024-04-08", reason="x")).status_code == 200
    assert (await act(client, iro, escalation, "resolve", resolved_on="2024-04-10", outcome="x")).status_code == 200
    commendation = {"child_id": str(child), "team": "North", "summary": "Good.", "raised_on": "2024-04-10"}
    assert (await client.post("/v1/commendations", json=commendation, headers=iro)).status_code == 201
    period = {"from": "2024-04-01", "to": "2024-04-30"}
    stats = (await client.get("/v1/stats/escalations", params=period, headers=iro)).json()
    counts = [stats[key] for key in ("alerts", "escalated_alerts", "formal_resolved", "commendations")]
    assert counts == [1, 1, 1, 1]
    assert await session.scalar(text("SELECT current_user")) == role


async def test_events_name_the_acting_iro_or_else_the_allocated_one(session, client, auth_header):
    child_id = await register_child(session)
    allocated, acting = uuid.uuid4(), uuid.uuid4()
    for iro_id, email in ((allocated, "allocated@council.gov.uk"), (acting, "iro.one@council.gov.uk")):
        await register_iro(session, email, iro_id)
    await allocate(session, child_id, allocated)
    start = await head(session)
    by_manager = await client.post("/v1/escalations", json=body([child_id]), headers=auth_header("manager"))
    assert by_manager.status_code == 201, by_manager.text
    by_iro = await client.post(
        "/v1/escalations", json=body([child_id]), headers=auth_header("iro", sub="iro.one@council.gov.uk")
    )
    assert by_iro.status_code == 201, by_iro.text
    raised = [e for e in await events_after(session, start) if e.type == "escalation.raised"]
    assert [e.iro_id for e in raised] == [allocated, acting]
