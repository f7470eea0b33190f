"""The chain verifies, and tampering (by a superuser who disables the trigger) is found.

Each tampering happens inside the test's own transaction and is rolled back with it."""

import pytest
from sqlalchemy import text

from shared.errors import InvalidField
from shared.footprint import verify as verifying
from tests.footprint.helpers import append_one


@pytest.fixture
async def three(session):
    events = [await append_one(session, "thing.created", payload={"n": n}) for n in range(3)]
    return [event.seq for event in events]


async def tamper(session, sql, **params):
    await session.execute(text("ALTER TABLE footprint.events DISABLE TRIGGER USER"))
    await session.execute(text(sql), params)
    await session.execute(text("ALTER TABLE footprint.events ENABLE TRIGGER USER"))


async def test_an_untouched_log_verifies(session, three):
    result = await verifying.verify(session)
    assert result.ok is True
    assert result.first_bad_seq is None
    assert result.head_seq == three[-1]
    assert result.checked == three[-1]
    ranged = await verifying.verify(session, from_seq=three[0], to_seq=three[1])
    assert (ranged.ok, ranged.checked) == (True, 2)


async def test_an_edited_payload_is_named(session, three):
    await tamper(session, "UPDATE footprint.events SET payload = '{\"n\": 99}' WHERE seq = :s", s=three[1])
    result = await verifying.verify(session, from_seq=three[0])
    assert result.ok is False
    assert result.first_bad_seq == three[1]


async def test_a_deleted_event_is_named(session, three):
    await tamper(session, "DELETE FROM footprint.events WHERE seq = :s", s=three[1])
    result = await verifying.verify(session, from_seq=three[0])
    assert (result.ok, result.first_bad_seq, result.problem) == (False, three[1], "missing")


async def test_two_swapped_payloads_are_found_at_the_first(session, three):
    await tamper(
        session,
        "UPDATE footprint.events e SET payload = o.payload FROM footprint.events o"
        " WHERE (e.seq, o.seq) IN ((:a, :b), (:b, :a))",
        a=three[0],
        b=three[2],
    )
    result = await verifying.verify(session, from_seq=three[0])
    assert (result.ok, result.first_bad_seq) == (False, three[0])


async def test_reordered_events_are_found(session, three):
    # Swap the seq numbers of two neighbours (through a free number, as the primary key demands).
    a, b = three[0], three[1]
    await tamper(session, "UPDATE footprint.events SET seq = seq + 1000000000 WHERE seq = :a", a=a)
    await tamper(session, "UPDATE footprint.events SET seq = :a WHERE seq = :b", a=a, b=b)
    await tamper(session, "UPDATE footprint.events SET seq = :b WHERE seq = :a + 1000000000", a=a, b=b)
    result = await verifying.verify(session, from_seq=a)
    assert (result.ok, result.first_bad_seq) == (False, a)


async def test_from_the_event_after_the_head_is_ok_and_checks_nothing(session, three):
    """An auditor polling from the last event they saw (head + 1) is not refused."""
    head = await verifying.head(session)
    result = await verifying.verify(session, from_seq=head + 1)
    assert (result.ok, result.checked, result.head_seq) == (True, 0, head)
    capped = await verifying.verify(session, from_seq=three[0], to_seq=head + 1000)  # to_seq stops at the head
    assert (capped.ok, capped.checked) == (True, head - three[0] + 1)


def refusal(caught: pytest.ExceptionInfo[InvalidField]) -> list[tuple[list[str], str]]:
    return [(e["loc"], e["msg"]) for e in caught.value.extras["errors"]]


async def test_a_range_past_the_head_or_inverted_is_refused_naming_the_field(session, three):
    head = await verifying.head(session)
    with pytest.raises(InvalidField) as past:
        await verifying.verify(session, from_seq=head + 2)
    assert refusal(past) == [(["query", "from_seq"], f"`from_seq` is more than one past the head (seq {head}).")]
    with pytest.raises(InvalidField) as inverted:
        await verifying.verify(session, from_seq=10, to_seq=2)
    assert refusal(inverted) == [(["query", "to_seq"], "`to_seq` is before `from_seq`.")]


async def test_a_check_longer_than_max_events_stops_there_and_continues_from_next_from_seq(session, three):
    """No call runs for minutes: a range over `max_events` answers what it checked and where to go on,
    and the calls together check every event once, finding a break in a later call too."""
    head = await verifying.head(session)
    first = await verifying.verify(session, from_seq=three[0], max_events=2)
    assert (first.ok, first.checked, first.complete, first.next_from_seq) == (True, 2, False, three[0] + 2)
    seen, start = 0, three[0]
    while True:
        part = await verifying.verify(session, from_seq=start, max_events=2)
        seen += part.checked
        if part.complete:
            break
        start = part.next_from_seq
    assert (part.ok, seen) == (True, head - three[0] + 1)
    whole = await verifying.verify(session, from_seq=three[0], max_events=head)
    assert (whole.complete, whole.next_from_seq, whole.checked) == (True, None, head - three[0] + 1)
    await tamper(session, "UPDATE footprint.events SET payload = '{}'::jsonb WHERE seq = :s", s=three[2])
    later = await verifying.verify(session, from_seq=three[0] + 2, max_events=2)
    assert (later.ok, later.first_bad_seq, later.complete) == (False, three[2], True)
