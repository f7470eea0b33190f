"""The service's own view of children and held reviews, kept by the `participation.reviews` consumer
of `child.registered` and `review.held`, and run in the app's lifespan."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select, text

from services.participation.consumers import NAME, consumer_of, reviews_consumer
from services.participation.main import create_app
from services.participation.models import Child, HeldReview
from services.participation.settings import Settings
from shared import footprint
from shared.footprint import events
from tests.conftest import app_client
from tests.footprint.helpers import probe
from tests.participation.helpers import REVIEWS, hold_review, register_child

BORN = dt.date(2012, 2, 29)


async def _held(session, review_id: uuid.UUID) -> HeldReview | None:
    query = select(HeldReview).where(HeldReview.review_id == review_id).execution_options(populate_existing=True)
    return await session.scalar(query)


async def test_the_consumer_keeps_children_and_held_reviews(app, client, session):
    iro_id = uuid.uuid4()
    child_id = await register_child(session, BORN, la_reference="CR-0042")
    review_id = await hold_review(session, child_id, BORN, dt.date(2021, 3, 1), iro_id=iro_id, sequence=3)
    consumer = consumer_of(app)
    assert await consumer.catch_up(session) is True

    child = await session.get(Child, child_id)
    assert (child.la_reference, child.date_of_birth) == ("CR-0042", BORN)
    held = await _held(session, review_id)
    assert (held.child_id, held.review_date, held.date_of_birth) == (child_id, dt.date(2021, 3, 1), BORN)
    assert (held.format, held.chaired_by_iro_id, held.sequence) == ("in_person", iro_id, 3)
    position = await session.scalar(
        text("SELECT position FROM participation.consumer_position WHERE consumer = :c"), {"c": NAME}
    )
    head = await session.scalar(text("SELECT max(seq) FROM footprint.events"))
    assert position == head


async def test_a_review_held_first_makes_its_child_known_by_id_and_birth_date(app, client, session):
    child_id = uuid.uuid4()  # its child.registered is not on the log
    review_id = await hold_review(session, child_id, BORN, dt.date(2020, 7, 7))
    assert await consumer_of(app).catch_up(session) is True
    child = await session.get(Child, child_id)
    assert (child.la_reference, child.date_of_birth) == (None, BORN)
    held = await _held(session, review_id)
    assert (held.child_id, held.review_date, held.sequence) == (child_id, dt.date(2020, 7, 7), 1)


async def test_a_review_held_payload_that_does_not_fit_its_model_is_not_guessed_at(app, client, session):
    child_id = await register_child(session, BORN)
    review_id = uuid.uuid4()
    short = {"review_id": str(review_id), "child_id": str(child_id), "held_on": "2020-07-07", "sequence": 1}
    await footprint.append(
        session,
        event=probe("review.held", short, malformed=True),  # no producer writes this: no date of birth, no kind
        actor=REVIEWS,
        subject=footprint.Subject("review", review_id),
        service="reviews",
        child_id=child_id,
    )
    assert await consumer_of(app).catch_up(session) is False  # the handler refused it; it is retried
    assert await _held(session, review_id) is None


async def test_a_child_registered_again_is_updated_not_duplicated(app, client, session):
    child_id = await register_child(session, BORN, la_reference="OLD-1")
    await footprint.append(
        session,
        event=events.ChildRegistered(
            child_id=child_id, la_reference="NEW-1", date_of_birth=dt.date(2012, 3, 1), uasc=None
        ),
        actor=REVIEWS,
        subject=footprint.Subject("child", child_id),
        service="reviews",
        child_id=child_id,
    )
    assert await consumer_of(app).catch_up(session) is True
    rows = (
        await session.execute(
            text("SELECT la_reference, date_of_birth FROM participation.child WHERE id = :i"), {"i": child_id}
        )
    ).all()
    assert [tuple(row) for row in rows] == [("NEW-1", dt.date(2012, 3, 1))]


async def test_other_events_are_not_this_consumers(app, client, session):
    review_id = uuid.uuid4()
    await footprint.append(
        session,
        event=events.ReviewScheduled(
            review_id=review_id,
            care_period_id=uuid.uuid4(),
            child_id=uuid.uuid4(),
            sequence=1,
            kind="first",
            due_on=dt.date(2021, 1, 1),
            statutory_due_on=dt.date(2021, 1, 1),
        ),
        actor=REVIEWS,
        subject=footprint.Subject("review", review_id),
        service="reviews",
        child_id=uuid.uuid4(),
    )
    assert await consumer_of(app).catch_up(session) is True
    assert await _held(session, review_id) is None


async def test_the_app_runs_the_consumer_in_its_lifespan(database_url):
    app = create_app(Settings(env="test", database_url=database_url))
    async for _ in app_client(app):
        consumer = consumer_of(app)
        assert (consumer.name, consumer.schema) == ("participation.reviews", "participation")
        assert consumer.types == {"child.registered", "child.updated", "review.held"}
        assert consumer.role == "iro_participation"
        assert any(task.get_name() == "consumer:participation.reviews" for task in asyncio.all_tasks())
    assert not any(task.get_name() == "consumer:participation.reviews" for task in asyncio.all_tasks())


async def test_without_service_roles_the_consumer_takes_the_urls_user(database_url):
    settings = Settings(env="test", database_url=database_url, db_use_service_roles=False)
    app = create_app(settings)
    async for _ in app_client(app):
        assert reviews_consumer(app, settings).role is None


async def test_the_app_starts_and_reports_unready_when_the_database_is_unreachable():
    app = create_app(Settings(env="test", database_url="postgresql://nobody@127.0.0.1:9/none"))
    async for client in app_client(app):
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()["database"]) == (503, "unreachable")
