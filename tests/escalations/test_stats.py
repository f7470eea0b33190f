"""GET /v1/stats/escalations over a fixture whose figures are worked out by hand below.

Today is Monday 15 July 2024; the period is 1 April to 30 June 2024 (Q1 of 2024/25). Children
X, Y, Z, V and W. Bank holidays in play: Good Friday 29 Mar, Easter Monday 1 Apr, 6 May, 27 May.

| | kind raised | raised | child(ren) | category | team | what happened | stage now |
|---|---|---|---|---|---|---|---|
| A | alert | 2024-04-02 | X | permanence_delay | North | resolved 04-10 at stage 0 | 0 |
| B | alert | 2024-04-03 | Y | permanence_delay | North | escalated 04-17, resolved 04-24 at stage 1 | 1 |
| C | formal | 2024-04-08 | X | safety_planning | South | resolved 04-22 at stage 1 | 1 |
| D | formal | 2024-05-01 | Y | safety_planning | North | escalated 05-15, resolved 06-05 at stage 2 | 2 |
| E | formal | 2024-05-20 | V | other | South | escalated 06-03 and 06-17, open, stage 3 due 07-01 | 3 |
| F | alert | 2024-06-10 | X, Z | other | East | referred to Cafcass 06-20 | 0 |
| J | formal | 2024-06-03 | service | other | East | withdrawn 06-04 | 1 |
| G | formal | 2024-03-20 (before) | W | other | North | resolved 04-05 at stage 1 | 1 |
| I | alert | 2024-03-01 (before) | W | other | North | open, due 03-15 | 0 |
| H | alert | 2024-07-02 (after) | V | other | North | open, due 07-16 | 0 |

Raised in the period: A B C D E F J. Alerts A B F = 3; formal C D E J = 4; escalated alerts B = 1.
Stage reached: 0: A F; 1: B C J; 2: D; 3: E. Category (alerts, formal): permanence_delay (2, 0),
safety_planning (0, 2), other (1, 2). Team: North A B D = 3, East F J = 2, South C E = 2.
Formal escalations resolved in the period (by resolution date): B C D G; at stage 1: B C G, so 3 of
4 = 75.0%. Working days from raising to resolution: B 15, C 10, D 23, G 10; median (10 + 15) / 2 =
12.5, taken over those 4. Overdue now: E (due 1 Jul) and I (due 15 Mar), whatever the period; H is
due tomorrow.
Cafcass referrals in the period: F. Children in two or more escalations raised: X (A C F), Y (B D).
Commendations: 5 Apr and 30 Jun in the period, 1 Jul outside.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.escalations.conftest import act, body, raise_one, register_child

TODAY = dt.date(2024, 7, 15)
PERIOD = {"from": "2024-04-01", "to": "2024-06-30"}


@pytest.fixture
async def history(app, client, session, iro):
    app.state.clock.fixed = TODAY
    x, y, z, v, w = [await register_child(session) for _ in range(5)]

    async def raised(kind, on, children, category, team):
        values = body(children, kind=kind, raised_on=on, category=category, team=team)
        return (await raise_one(client, iro, **values))["id"]

    async def do(escalation_id, action, **values):
        response = await act(client, iro, escalation_id, action, **values)
        assert response.status_code == 200, response.text

    a = await raised("alert", "2024-04-02", [x], "permanence_delay", "North")
    await do(a, "resolve", resolved_on="2024-04-10", outcome="Sorted informally.")
    b = await raised("alert", "2024-04-03", [y], "permanence_delay", "North")
    await do(b, "escalate", escalated_on="2024-04-17", reason="No answer.")
    await do(b, "resolve", resolved_on="2024-04-24", outcome="Matched.")
    c = await raised("formal", "2024-04-08", [x], "safety_planning", "South")
    await do(c, "resolve", resolved_on="2024-04-22", outcome="Plan in place.")
    d = await raised("formal", "2024-05-01", [y], "safety_planning", "North")
    await do(d, "escalate", escalated_on="2024-05-15", reason="Not enough.")
    await do(d, "resolve", resolved_on="2024-06-05", outcome="Agreed.")
    e = await raised("formal", "2024-05-20", [v], "other", "South")
    await do(e, "escalate", escalated_on="2024-06-03", reason="No answer.")
    await do(e, "escalate", escalated_on="2024-06-17", reason="No answer.")
    f = await raised("alert", "2024-06-10", [x, z], "other", "East")
    await do(f, "cafcass-referral", referred_on="2024-06-20", reason="Drift.")
    j = await raised("formal", "2024-06-03", [], "other", "East")
    await do(j, "withdraw", withdrawn_on="2024-06-04", reason="Raised in error.")
    g = await raised("formal", "2024-03-20", [w], "other", "North")
    await do(g, "resolve", resolved_on="2024-04-05", outcome="Done.")
    await raised("alert", "2024-03-01", [w], "other", "North")  # I
    await raised("alert", "2024-07-02", [v], "other", "North")  # H
    for on in ("2024-04-05", "2024-06-30", "2024-07-01"):
        values = {"team": "North", "summary": "Good work.", "raised_on": on}
        assert (await client.post("/v1/commendations", json=values, headers=iro)).status_code == 201
    return None


async def test_the_period_figures_match_the_hand_count(history, client, auth_header):
    response = await client.get("/v1/stats/escalations", params=PERIOD, headers=auth_header("auditor"))
    assert response.status_code == 200
    assert response.json() == {
        "from": "2024-04-01",
        "to": "2024-06-30",
        "alerts": 3,
        "formal": 4,
        "escalated_alerts": 1,
        "commendations": 2,
        "by_stage_reached": [
            {"stage": 0, "name": "Informal alert (social worker and team manager)", "count": 2},
            {"stage": 1, "name": "Team Manager", "count": 3},
            {"stage": 2, "name": "Service Manager", "count": 1},
            {"stage": 3, "name": "Head of Service", "count": 1},
            {"stage": 4, "name": "Assistant Director", "count": 0},
            {"stage": 5, "name": "Director of Children's Services", "count": 0},
        ],
        "by_category": [
            {"category": "permanence_delay", "alerts": 2, "formal": 0},
            {"category": "safety_planning", "alerts": 0, "formal": 2},
            {"category": "other", "alerts": 1, "formal": 2},
        ],
        "by_team": [{"team": "North", "count": 3}, {"team": "East", "count": 2}, {"team": "South", "count": 2}],
        "formal_resolved": 4,
        "resolved_at_stage_1": 3,
        "resolved_at_stage_1_pct": 75.0,
        "median_working_days_to_resolution": 12.5,
        "overdue_now": 2,
        "as_of": TODAY.isoformat(),
        "cafcass_referrals": 1,
        "children_with_repeat_escalations": 2,
        "resolved_with_working_days": 4,
    }


async def test_overdue_now_agrees_with_the_overdue_list(history, client, iro):
    listed = (await client.get("/v1/escalations", params={"overdue": "true"}, headers=iro)).json()["items"]
    assert sorted((item["raised_on"], item["stage"], item["response_due_on"]) for item in listed) == [
        ("2024-03-01", 0, "2024-03-15"),
        ("2024-05-20", 3, "2024-07-01"),
    ]


async def test_a_shorter_period_rounds_the_share_to_one_decimal_place(history, client, iro):
    # Resolved 20 Apr - 30 Jun: B (stage 1, 15 days), C (stage 1, 10 days), D (stage 2, 23 days).
    period = {"from": "2024-04-20", "to": "2024-06-30"}
    stats = (await client.get("/v1/stats/escalations", params=period, headers=iro)).json()
    assert (stats["formal_resolved"], stats["resolved_at_stage_1"]) == (3, 2)
    assert stats["resolved_at_stage_1_pct"] == 66.7
    assert stats["median_working_days_to_resolution"] == 15.0
    # Raised 20 Apr - 30 Jun: D E J formal, F an alert (not escalated).
    assert (stats["alerts"], stats["formal"], stats["escalated_alerts"]) == (1, 3, 0)


async def test_an_empty_period_has_no_share_or_median_but_still_counts_overdue_now(history, client, iro):
    stats = (
        await client.get("/v1/stats/escalations", params={"from": "2023-01-01", "to": "2023-12-31"}, headers=iro)
    ).json()
    assert (stats["alerts"], stats["formal"], stats["commendations"], stats["cafcass_referrals"]) == (0, 0, 0, 0)
    assert (stats["resolved_at_stage_1_pct"], stats["median_working_days_to_resolution"]) == (None, None)
    assert (stats["by_category"], stats["by_team"]) == ([], [])
    assert {row["count"] for row in stats["by_stage_reached"]} == {0}
    assert stats["overdue_now"] == 2


async def test_the_period_must_be_given_and_in_order(client, iro):
    missing = await client.get("/v1/stats/escalations", params={"from": "2024-04-01"}, headers=iro)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["query", "to"]
    backwards = await client.get(
        "/v1/stats/escalations", params={"from": "2024-04-02", "to": "2024-04-01"}, headers=iro
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["loc"] == ["query", "to"]
