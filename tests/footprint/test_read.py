"""Reading: filters, keyset pages that stay stable while events arrive, streamed exports, summaries."""

import csv
import datetime as dt
import io
import json
import uuid

import pytest

from shared import footprint
from shared.errors import InvalidField
from shared.footprint import read
from shared.pagination import seal
from shared.settings import DEVELOPMENT_CURSOR_SECRET as SECRET
from tests.footprint.helpers import append_one, marker

T = dt.datetime


@pytest.fixture
async def log(session):
    """Six events of one test's own types, for two children, two IROs, two actors and two services."""
    kind, other = marker(), marker()
    child_a, child_b, iro_a, iro_b = (uuid.uuid4() for _ in range(4))
    alice = footprint.Actor("alice@council.gov.uk", "iro")
    mosaic = footprint.Actor("mosaic-bot", "integration", source="mosaic")
    specs = [
        (kind, child_a, iro_a, alice, "reviews", T(2022, 1, 10, 9, tzinfo=dt.UTC)),
        (kind, child_a, iro_a, mosaic, "reviews", T(2022, 1, 20, 9, tzinfo=dt.UTC)),
        (other, child_a, iro_a, alice, "escalations", T(2022, 2, 1, 9, tzinfo=dt.UTC)),
        (kind, child_b, iro_b, alice, "participation", T(2022, 2, 3, 9, tzinfo=dt.UTC)),
        (other, child_b, iro_b, mosaic, "reviews", T(2022, 3, 5, 9, tzinfo=dt.UTC)),
        ("child.record_viewed", child_b, iro_b, alice, "gateway", T(2022, 3, 6, 9, tzinfo=dt.UTC)),
    ]
    seqs = []
    viewed = footprint.events.ChildRecordViewed(view="overview", missing=[])
    for event_type, child, iro, actor, service, occurred in specs:
        typed = viewed if event_type == viewed.type else None
        event = await append_one(
            session, event_type, event=typed, child_id=child, iro_id=iro, actor=actor, service=service,
            occurred_at=occurred,
        )  # fmt: skip
        seqs.append(event.seq)
    return {"kind": kind, "other": other, "child_a": child_a, "child_b": child_b, "iro_a": iro_a,
            "iro_b": iro_b, "seqs": seqs}  # fmt: skip


async def seqs_for(session, where):
    return [row.seq for row in (await read.page(session, where, limit=500, secret=SECRET)).items]


async def test_each_filter_narrows_the_events(session, log):
    s = log["seqs"]
    mine = read.EventFilter(after_seq=s[0] - 1)
    assert await seqs_for(session, read.EventFilter(child_id=log["child_a"])) == s[:3]
    assert await seqs_for(session, read.EventFilter(iro_id=log["iro_b"])) == s[3:]
    assert await seqs_for(session, read.EventFilter(types=(log["kind"],))) == [s[0], s[1], s[3]]
    assert await seqs_for(session, read.EventFilter(child_id=log["child_b"], actor="mosaic-bot")) == [s[4]]
    assert await seqs_for(session, read.EventFilter(iro_id=log["iro_a"], service="escalations")) == [s[2]]
    january = read.EventFilter(
        child_id=log["child_a"], occurred_from=T(2022, 1, 15, tzinfo=dt.UTC), occurred_to=T(2022, 1, 31, tzinfo=dt.UTC)
    )
    assert await seqs_for(session, january) == [s[1]]
    recorded = await seqs_for(session, read.EventFilter(recorded_from=T(2000, 1, 1, tzinfo=dt.UTC), after_seq=s[4]))
    assert recorded == [s[5]]
    no_access = read.EventFilter(child_id=log["child_b"], include_access=False)
    assert await seqs_for(session, no_access) == [s[3], s[4]]
    assert (await seqs_for(session, mine))[:6] == s


async def test_keyset_pages_are_stable_while_new_events_arrive(session, log):
    where = read.EventFilter(child_id=log["child_a"])
    first = await read.page(session, where, limit=2, secret=SECRET)
    assert [row.seq for row in first.items] == log["seqs"][:2]
    assert first.next_cursor is not None
    late = await append_one(session, log["kind"], child_id=log["child_a"])  # arrives between pages
    after = read.EventFilter(child_id=log["child_a"], after_seq=read.decode_cursor(first.next_cursor, secret=SECRET))
    second = await read.page(session, after, limit=2, secret=SECRET)
    assert [row.seq for row in second.items] == [log["seqs"][2], late.seq]
    assert second.next_cursor is None


def refused(cursor: str) -> list[dict]:
    with pytest.raises(InvalidField) as caught:
        read.decode_cursor(cursor, secret=SECRET)
    return [(e["loc"], e["msg"]) for e in caught.value.extras["errors"]]


def test_a_cursor_is_signed_and_anything_else_is_refused_on_the_cursor_parameter():
    given = read.encode_cursor(41, secret=SECRET)
    assert read.decode_cursor(given, secret=SECRET) == 41
    not_ours = [(["query", "cursor"], "The cursor is not one this API gave out for this list.")]
    assert refused("not-a-cursor") == not_ours
    assert refused(given + "!!!!") == not_ours  # junk appended
    assert refused(given + "AAAA") == not_ours  # base64 junk appended
    assert refused(given[:-1]) == not_ours  # truncated
    assert refused(read.encode_cursor(41, secret="another-secret")) == not_ours  # someone else's key
    assert refused(seal({"after_seq": 41}, secret=SECRET, scope="/v1/children")) == not_ours  # another list's
    payload, mac = given.split(".")
    assert refused(f"{payload[:-2]}Mn.{mac}") == not_ours  # the value edited, the MAC kept
    # Well-formed and signed, but not a seq: only a change of format could make one, still a 422.
    assert refused(seal({"after_seq": 2**63}, secret=SECRET, scope=read.CURSOR_SCOPE)) == not_ours
    assert refused(seal({"after_seq": "5"}, secret=SECRET, scope=read.CURSOR_SCOPE)) == not_ours


async def test_ndjson_export_streams_every_matching_event_in_batches(session, log):
    where = read.EventFilter(iro_id=log["iro_b"])
    lines = [line async for line in await read.ndjson(session, where, batch=2)]
    *events, trailer = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == log["seqs"][3:]
    assert events[0]["actor"] == {"sub": "alice@council.gov.uk", "role": "iro"}
    assert events[0]["occurred_at"] == "2022-02-03T09:00:00.000000Z"
    assert trailer == {"complete": True, "count": 3, "head_seq": log["seqs"][-1]}
    batched = [row.seq async for row in await read.stream(session, read.EventFilter(child_id=log["child_a"]), batch=2)]
    assert batched == log["seqs"][:3]


async def test_an_export_of_nothing_still_ends_with_its_trailer(session, log):
    where = read.EventFilter(child_id=uuid.uuid4())
    lines = [json.loads(line) async for line in await read.ndjson(session, where)]
    assert lines == [{"complete": True, "count": 0, "head_seq": log["seqs"][-1]}]


async def test_csv_export_has_a_header_and_one_row_per_event(session, log):
    chunks = await read.csv_rows(session, read.EventFilter(child_id=log["child_b"]))
    body = b"".join([chunk async for chunk in chunks]).decode()
    *rows, trailer = list(csv.DictReader(io.StringIO(body)))
    assert body.endswith(f"\r\n#complete,count=3,head_seq={log['seqs'][-1]}\r\n")
    assert trailer["seq"] == "#complete"
    assert [int(r["seq"]) for r in rows] == log["seqs"][3:]
    assert rows[1]["actor_source"] == "mosaic"
    assert json.loads(rows[0]["payload"]) == {"n": 1}


async def test_summary_counts_by_iro_type_and_month_and_leaves_access_out(session, log):
    window = {"occurred_from": T(2022, 1, 1, tzinfo=dt.UTC), "occurred_to": T(2022, 3, 31, tzinfo=dt.UTC)}
    rows = await read.summary(session, group_by=["iro", "month"], **window)
    ours = {
        (r["iro_id"], r["month"]): r["count"] for r in rows if r["iro_id"] in (str(log["iro_a"]), str(log["iro_b"]))
    }
    a, b = str(log["iro_a"]), str(log["iro_b"])
    assert ours == {(a, "2022-01"): 2, (a, "2022-02"): 1, (b, "2022-02"): 1, (b, "2022-03"): 1}
    with_access = await read.summary(session, group_by=["iro", "type"], include_access=True, **window)
    assert {"iro_id": b, "type": "child.record_viewed", "count": 1} in with_access
    by_type = await read.summary(session, group_by=["type"], **window)
    assert {"type": log["kind"], "count": 3} in by_type
    with pytest.raises(InvalidField):
        await read.summary(session, group_by=["colour"])  # type: ignore[list-item]


async def test_the_auditors_script_in_the_docs_verifies_an_export(session, log, tmp_path):
    """docs/footprint.md gives auditors a script of their own: it must work on a real export."""
    import pathlib
    import re
    import subprocess
    import sys

    docs = (pathlib.Path(__file__).parents[2] / "docs" / "footprint.md").read_text()
    script = re.search(r"An auditor can check.*?```python\n(.*?)```", docs, re.S).group(1)
    export = tmp_path / "footprint.ndjson"
    export.write_bytes(b"".join([line async for line in await read.ndjson(session, read.EventFilter())]))
    (tmp_path / "check.py").write_text(script)
    ran = subprocess.run([sys.executable, "check.py", str(export)], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("ok, head ")
    *lines, trailer = export.read_text().splitlines()

    def check(*content: str) -> subprocess.CompletedProcess:
        export.write_text("\n".join(content) + "\n")
        return subprocess.run([sys.executable, "check.py", str(export)], cwd=tmp_path, capture_output=True, text=True)

    tampered = json.loads(lines[-1])
    tampered["payload"] = {"n": 2}
    refused = check(*lines[:-1], json.dumps(tampered), trailer)
    assert refused.returncode != 0
    assert f"seq {tampered['seq']} altered" in refused.stderr
    cut_short = check(*lines)  # the stream broke off: no trailer
    assert cut_short.returncode != 0
    assert "incomplete export: no trailer" in cut_short.stderr
    tail_cut = check(*lines[:-1], trailer)  # the last event dropped, the trailer kept
    assert tail_cut.returncode != 0
    assert f"incomplete export: {len(lines) - 1} events, the trailer says {len(lines)}" in tail_cut.stderr


async def test_a_stream_that_fails_midway_raises_before_its_trailer(engine):
    """The head and first batch are read before the stream is handed back; a later batch that
    fails (here: the connection killed between batches) raises from the iteration, so the export
    never gets its trailer and the client can tell it is incomplete."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.footprint.helpers import append_committed

    kind = marker()
    await append_committed(engine, kind, count=3)
    async with AsyncSession(engine) as doomed, AsyncSession(engine) as other:
        pid = await doomed.scalar(text("SELECT pg_backend_pid()"))
        chunks = await read.ndjson(doomed, read.EventFilter(types=(kind,)), batch=1)
        lines = [await anext(chunks)]  # the first batch: already read
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = asyncio.get_running_loop().time() + 10
        while await other.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
            assert asyncio.get_running_loop().time() < deadline, "the backend did not end"
            await other.rollback()  # a new transaction: pg_stat_activity is snapshotted per transaction
            await asyncio.sleep(0.02)
        with pytest.raises(DBAPIError):
            async for line in chunks:
                lines.append(line)
    assert [json.loads(line)["type"] for line in lines] == [kind]  # one event, and no trailer after it
