"""One shape for a footprint event's `actor` wherever an auditor reads it: a page, the NDJSON export
and a child's overview carry the object exactly as stored and hashed (`source` only on a case
system's events), so the auditors' script in docs/footprint.md verifies a page as it does an export."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

from services.gateway.routes.footprint import EventPage
from shared import footprint
from shared.footprint import events
from tests.gateway.test_gateway import ALICE, set_up_child

DOCS = Path(__file__).parents[2] / "docs" / "footprint.md"


async def test_page_export_and_overview_carry_the_identical_actor_object(gw, session):
    _, child = await set_up_child(gw)
    note = events.CaseNoteRecorded(
        case_note_id=uuid.uuid4(), recorded_on=dt.date(2024, 6, 3), kind="contact", author_iro_id=None
    )
    await footprint.append(
        session,
        event=note,  # as a case system's post would write it
        actor=footprint.Actor(sub="mosaic", role="integration", source="mosaic"),
        subject=footprint.Subject("case_note", note.case_note_id),
        service="reviews",
        child_id=child["id"],
    )
    query = f"child_id={child['id']}&limit=500"
    page = {e["id"]: e["actor"] for e in (await gw.ok("GET", f"/v1/footprint?{query}", role="auditor"))["items"]}
    exported = await gw.call("GET", f"/v1/footprint/export?{query}", role="auditor")
    assert exported.status_code == 200
    lines = [json.loads(line) for line in exported.text.splitlines() if line.strip()]
    export = {e["id"]: e["actor"] for e in lines if "seq" in e}  # (a trailer line, if any, has no seq)
    overview = await gw.ok("GET", f"/v1/children/{child['id']}/overview", role="iro", sub=ALICE)
    recent = {e["id"]: e["actor"] for e in overview["recent_footprint"]}

    assert page == export
    assert recent.items() <= page.items()
    assert {"sub": "mosaic", "role": "integration", "source": "mosaic"} in page.values()
    assert {"sub": "manager@council.gov.uk", "role": "manager"} in page.values()  # no `"source": null`
    assert all(set(actor) in ({"sub", "role"}, {"sub", "role", "source"}) for actor in page.values())

    # The page is encoded from the rows without the model (for speed): it is still the documented model.
    body = await gw.ok("GET", f"/v1/footprint?{query}", role="auditor")
    assert EventPage.model_validate(body).model_dump(mode="json") == body
    assert len(body["items"]) >= len(page) >= 2  # (the overview above recorded a view since)


async def test_the_auditors_script_in_the_docs_verifies_pages_of_the_footprint(gw, tmp_path):
    await set_up_child(gw)
    events, cursor = [], None
    while True:
        page = await gw.ok("GET", "/v1/footprint?limit=500" + (f"&cursor={cursor}" if cursor else ""), role="auditor")
        events += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert events[0]["prev_hash"] == "0" * 64  # from the start of the chain, as the script expects
    # The pages saved as the export's lines; the script also wants the export's closing trailer.
    trailer = {"complete": True, "count": len(events), "head_seq": events[-1]["seq"]}
    saved = tmp_path / "pages.ndjson"
    saved.write_text("".join(json.dumps(line) + "\n" for line in [*events, trailer]))
    script = re.search(r"An auditor can check.*?```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    (tmp_path / "check.py").write_text(script)
    ran = subprocess.run([sys.executable, "check.py", str(saved)], cwd=tmp_path, capture_output=True, text=True)
    assert (ran.returncode, ran.stdout) == (0, f"ok, head {events[-1]['hash']}\n"), ran.stderr
