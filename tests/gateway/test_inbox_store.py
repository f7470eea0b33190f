"""The inbox keeps every element a request brings past the door (services.gateway.ingest.store):
one row per distinct (source, id), a repeat pointed at the first copy, an element without an id
kept rejected under its inbox id, and raw bodies cleared after the retention period (rows kept)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from services.gateway import ingest
from services.gateway.models import Inbox
from services.gateway.settings import Settings
from shared.auth import Principal
from shared.footprint.models import Event

FEED = Principal(sub="mosaic-feed", roles=frozenset({"integration"}), iro_identity="mosaic-feed")


def element(event_id: str | None, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"specversion": "1.0", "source": "mosaic", "type": "child.updated",
                               "data": {"la_reference": "A", "sex": "female"}, **extra}  # fmt: skip
    if event_id is not None:
        body["id"] = event_id
    return body


async def rows(session, ids) -> dict[uuid.UUID, Inbox]:
    found = await session.scalars(select(Inbox).where(Inbox.id.in_(ids)).execution_options(populate_existing=True))
    return {row.id: row for row in found.all()}


async def test_each_element_is_kept_once_and_a_repeat_names_the_first_copy(session):
    settings = Settings(env="test")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    sent = [element(first), element(second), element(first), element(None), element("")]
    outcomes = await ingest.store(session, sent, source="mosaic", principal=FEED, settings=settings)
    assert [o.status for o in outcomes] == ["received", "received", "duplicate", "rejected", "rejected"]
    assert outcomes[2].inbox_id == outcomes[0].inbox_id
    kept = await rows(session, [o.inbox_id for o in outcomes])
    assert len(kept) == 4
    in_order = [kept[o.inbox_id].seq for o in (outcomes[0], outcomes[1], outcomes[3], outcomes[4])]
    assert in_order == sorted(in_order)  # the inbox lists a request's events in the order sent
    nameless = kept[outcomes[3].inbox_id]
    assert (nameless.event_id, nameless.status, nameless.problem["errors"][0]["loc"]) == (None, "rejected", ["id"])
    assert nameless.applied_at is not None and nameless.received_by == "mosaic-feed"
    assert (
        kept[outcomes[0].inbox_id].body == '{"specversion":"1.0","source":"mosaic","type":"child.updated",'
        '"data":{"la_reference":"A","sex":"female"},"id":"' + first + '"}'
    )
    audit = (await session.scalars(select(Event).where(Event.type == "ingest.rejected")
             .where(Event.subject_id.in_([str(o.inbox_id) for o in outcomes[3:]])))).all()  # fmt: skip
    assert sorted(e.payload["problem_type"] for e in audit) == ["/problems/validation-failed"] * 2
    assert all("data" not in e.payload for e in audit)
    again = await ingest.store(session, [element(second)], source="mosaic", principal=FEED, settings=settings)
    assert (again[0].status, again[0].inbox_id) == ("duplicate", outcomes[1].inbox_id)
    other = await ingest.store(session, [element(second, source="lcs")], source="lcs", principal=FEED,
                               settings=settings)  # fmt: skip
    assert other[0].status == "received" and other[0].inbox_id != outcomes[1].inbox_id  # keyed by (source, id)


async def test_raw_bodies_past_the_retention_period_are_cleared_and_the_rows_stay(session):
    settings = Settings(env="test", inbox_body_retention_days=90)
    [old, recent] = await ingest.store(session, [element(str(uuid.uuid4())), element(str(uuid.uuid4()))],
                                       source="mosaic", principal=FEED, settings=settings)  # fmt: skip
    await session.execute(
        text("UPDATE gateway.inbox SET received_at = now() - interval '91 days' WHERE id = :id"), {"id": old.inbox_id}
    )
    await session.execute(
        text("UPDATE gateway.inbox SET received_at = now() - interval '89 days' WHERE id = :id"),
        {"id": recent.inbox_id},
    )
    await ingest.store(session, [element(str(uuid.uuid4()))], source="mosaic", principal=FEED, settings=settings)
    kept = await rows(session, [old.inbox_id, recent.inbox_id])
    assert (kept[old.inbox_id].body, kept[old.inbox_id].status) == (None, "received")
    assert kept[old.inbox_id].body_cleared_at is not None
    assert kept[recent.inbox_id].body is not None and kept[recent.inbox_id].body_cleared_at is None
