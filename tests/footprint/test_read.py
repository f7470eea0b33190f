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
    for event_type, child, iro, actor, service, occurred in specs:
        event = await append_one(
            session, event_type, child_id=child, iro_id=iro, actor=actor, service=service, occurred_at=occurred
        )
        seqs.append(event.seq)
    return {"kind": kind, "other": other, "child_a": child_a, "child_b": child_b, "iro_a": iro_a,
            "iro_b": iro_b, "seqs": seqs}  # fmt: skip


async def seqs_for(session, where):
    return [row.seq for row in (await read.page(session, where, limit=500)).items]


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
    first = await read.page(session, where, limit=2)
    assert [row.seq for row in first.items] == log["seqs"][:2]
    assert first.next_cursor is not None
    late = await append_one(session, log["kind"], child_id=log["child_a"])  # arrives between pages
    after = read.EventFilter(child_id=log["child_a"], after_seq=read.decode_cursor(first.next_cursor))
    second = await read.page(session, after, limit=2)
    assert [row.seq for row in second.items] == [log["seqs"][2], late.seq]
    assert second.next_cursor is None


def test_a_cursor_that_was_not_given_out_is_refused():
    with pytest.raises(InvalidField):
        read.decode_cursor("not-a-cursor")
    assert read.decode_cursor(read.encode_cursor(41)) == 41


async def test_ndjson_export_streams_every_matching_event_in_batches(session, log):
    where = read.EventFilter(iro_id=log["iro_b"])
    lines = [line async for line in read.ndjson(session, where)]
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == log["seqs"][3:]
    assert events[0]["actor"] == {"sub": "alice@council.gov.uk", "role": "iro"}
    assert events[0]["occurred_at"] == "2022-02-03T09:00:00.000000Z"
    batched = [row.seq async for row in read.stream(session, read.EventFilter(child_id=log["child_a"]), batch=2)]
    assert batched == log["seqs"][:3]


async def test_csv_export_has_a_header_and_one_row_per_event(session, log):
    body = b"".join([chunk async for chunk in read.csv_rows(session, read.EventFilter(child_id=log["child_b"]))])
    rows = list(csv.DictReader(io.StringIO(body.decode())))
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
    export.write_bytes(b"".join([line async for line in read.ndjson(session, read.EventFilter())]))
    (tmp_path / "check.py").write_text(script)
    ran = subprocess.run([sys.executable, "check.py", str(export)], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("ok, head ")
    lines = export.read_text().splitlines()
    tampered = json.loads(lines[-1])
    tampered["payload"] = {"n": 2}
    export.write_text("\n".join([*lines[:-1], json.dumps(tampered)]) + "\n")
    refused = subprocess.run([sys.executable, "check.py", str(export)], cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode != 0
    assert f"seq {tampered['seq']} altered" in refused.stderr
