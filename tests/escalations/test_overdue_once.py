"""`overdue` is judged by one rule (`rules.is_stage_overdue`): an escalation's read `overdue`, the
`overdue` filter and `overdue_now` agree, as of today. And an IRO's escalation is filed under the IRO
their token identifies, never under another IRO.

Today is Mon 15 Apr 2024. Alerts have 10 working days: raised Mon 25 Mar (Good Friday 29 Mar and
Easter Monday 1 Apr are bank holidays) they are due Wed 10 Apr; raised Tue 2 Apr, due Tue 16 Apr.
"""

from __future__ import annotations

import datetime as dt
import uuid

from tests.escalations.conftest import (
    act,
    allocate,
    body,
    events_after,
    head,
    raise_one,
    register_child,
    register_iro,
)


async def build(client, iro, session) -> dict[str, str]:
    child = await register_child(session)
    ids = {}
    ids["unanswered"] = (await raise_one(client, iro, **body([child], raised_on="2024-03-25")))["id"]
    ids["answered"] = (await raise_one(client, iro, **body([child], raised_on="2024-03-25")))["id"]
    answered = await act(client, iro, ids["answered"], "responses", responded_on="2024-04-05",
                         responder="Team manager", text="Plan updated.")  # fmt: skip
    assert answered.status_code == 200, answered.text
    ids["due_tomorrow"] = (await raise_one(client, iro, **body([child], raised_on="2024-04-02")))["id"]
    ids["resolved"] = (await raise_one(client, iro, **body([child], raised_on="2024-03-25")))["id"]
    resolved = await act(client, iro, ids["resolved"], "resolve", resolved_on="2024-04-12", outcome="Agreed.")
    assert resolved.status_code == 200, resolved.text
    ids["escalated"] = (await raise_one(client, iro, **body([child], raised_on="2024-03-25")))["id"]
    escalated = await act(client, iro, ids["escalated"], "escalate", escalated_on="2024-04-11", reason="No answer.")
    assert escalated.status_code == 200, escalated.text
    return ids


async def reads(client, iro, ids) -> dict[str, tuple[str, bool]]:
    out = {}
    for name, escalation_id in ids.items():
        got = (await client.get(f"/v1/escalations/{escalation_id}", headers=iro)).json()
        out[name] = (got["response_due_on"], got["overdue"])
    return out


async def filtered(client, iro, overdue: bool) -> set[str]:
    page = (await client.get(f"/v1/escalations?overdue={str(overdue).lower()}&limit=500", headers=iro)).json()
    return {item["id"] for item in page["items"]}


async def test_the_overdue_filter_and_overdue_now_agree_with_each_escalations_overdue(app, client, iro, session):
    ids = await build(client, iro, session)
    assert await reads(client, iro, ids) == {
        "unanswered": ("2024-04-10", True),
        "answered": ("2024-04-10", False),
        "due_tomorrow": ("2024-04-16", False),  # not overdue until after its due day
        "resolved": ("2024-04-10", False),
        "escalated": ("2024-04-25", False),  # stage 1 from Thu 11 Apr: due Thu 25 Apr
    }
    assert await filtered(client, iro, True) == {ids["unanswered"]}
    assert await filtered(client, iro, False) == set(ids.values()) - {ids["unanswered"]}
    stats = (await client.get("/v1/stats/escalations?from=2024-03-01&to=2024-03-31", headers=iro)).json()
    assert (stats["overdue_now"], stats["as_of"]) == (1, "2024-04-15")

    app.state.clock.fixed = dt.date(2024, 4, 17)
    assert {name for name, (_, overdue) in (await reads(client, iro, ids)).items() if overdue} == {
        "unanswered",
        "due_tomorrow",
    }
    assert await filtered(client, iro, True) == {ids["unanswered"], ids["due_tomorrow"]}
    stats = (await client.get("/v1/stats/escalations?from=2024-03-01&to=2024-03-31", headers=iro)).json()
    assert (stats["overdue_now"], stats["as_of"]) == (2, "2024-04-17")


async def registered_and_allocated(session) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A child allocated to Alice; Bob registered too. (child, alice, bob)"""
    child = await register_child(session)
    iros = {}
    for email in ("alice@council.gov.uk", "bob@council.gov.uk"):
        iros[email] = await register_iro(session, email)
    alice, bob = iros["alice@council.gov.uk"], iros["bob@council.gov.uk"]
    await allocate(session, child, alice)
    return child, alice, bob


async def test_an_iro_raises_under_their_own_footprint_found_by_the_email_claim(client, session, token):
    child, _, bob = await registered_and_allocated(session)
    start = await head(session)
    # Bob's token has an opaque subject; the email claim identifies him.
    headers = {"Authorization": f"Bearer {token('iro', sub='0f3c-opaque', email='bob@council.gov.uk')}"}
    await raise_one(client, headers, **body([child]))
    raised = [e for e in await events_after(session, start) if e.type == "escalation.raised"]
    assert [(e.iro_id, e.actor["sub"]) for e in raised] == [(bob, "0f3c-opaque")]


async def test_an_unregistered_iro_never_writes_onto_the_allocated_iros_footprint(client, session, auth_header):
    child, alice, _ = await registered_and_allocated(session)
    start = await head(session)
    await raise_one(client, auth_header("iro", sub="stranger@council.gov.uk"), **body([child]))
    await raise_one(client, auth_header("manager", sub="manager@council.gov.uk"), **body([child]))
    raised = [e for e in await events_after(session, start) if e.type == "escalation.raised"]
    # The IRO's is filed under no IRO (not Alice's); the manager's is the allocated IRO's work.
    assert [e.iro_id for e in raised] == [None, alice]
