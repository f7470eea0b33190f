"""GET /v1/stats/escalations: the median carries its count (`resolved_with_working_days`), the stage-1
share is taken over `formal_resolved`, and the period rule (`shared.periods`: `to` not before `from`,
and before `from` + 10 years).

Today is Monday 15 April 2024 (the escalations tests' clock); the period 1 March to 14 April 2024.
Bank holidays in play: Good Friday 29 March, Easter Monday 1 April 2024. Worked by hand:

| | raised as | raised | what happened | in `formal_resolved` | working days |
|---|---|---|---|---|---|
| K | formal | Mon 4 Mar | resolved Mon 18 Mar at stage 1 | yes | 5-8 Mar 4, 11-15 Mar 5, 18 Mar 1: 10 |
| L | formal | Mon 25 Mar | escalated 27 Mar, resolved Wed 3 Apr at stage 2 | yes | 26-28 Mar 3, 2-3 Apr 2: 5 |
| M | alert | Tue 5 Mar | resolved Wed 6 Mar at stage 0 (informally) | no: never escalated | |
| N | formal | Wed 6 Mar | withdrawn Thu 7 Mar | no: withdrawn | |

(L's 29 March and 1 April are bank holidays.)

`formal_resolved` 2 (K L), `resolved_at_stage_1` 1 (K), `resolved_at_stage_1_pct` 1 / 2 = 50.0,
`median_working_days_to_resolution` (5 + 10) / 2 = 7.5 over `resolved_with_working_days` 2.
"""

from __future__ import annotations

import pytest

from tests.escalations.conftest import act, body, raise_one, register_child

PERIOD = {"from": "2024-03-01", "to": "2024-04-14"}


@pytest.fixture
async def resolved(client, session, iro):
    child = await register_child(session)

    async def raised(kind, on):
        return (await raise_one(client, iro, **body([child], kind=kind, raised_on=on)))["id"]

    async def do(escalation_id, action, **values):
        response = await act(client, iro, escalation_id, action, **values)
        assert response.status_code == 200, response.text

    k = await raised("formal", "2024-03-04")
    await do(k, "resolve", resolved_on="2024-03-18", outcome="Plan updated.")
    l_ = await raised("formal", "2024-03-25")
    await do(l_, "escalate", escalated_on="2024-03-27", reason="No answer.")
    await do(l_, "resolve", resolved_on="2024-04-03", outcome="Agreed.")
    m = await raised("alert", "2024-03-05")
    await do(m, "resolve", resolved_on="2024-03-06", outcome="Sorted informally.")
    n = await raised("formal", "2024-03-06")
    await do(n, "withdraw", withdrawn_on="2024-03-07", reason="Raised in error.")


async def test_the_median_carries_its_count_and_the_share_is_over_formal_resolved(resolved, client, auth_header):
    response = await client.get("/v1/stats/escalations", params=PERIOD, headers=auth_header("manager"))
    assert response.status_code == 200, response.text
    stats = response.json()
    assert (stats["formal_resolved"], stats["resolved_at_stage_1"], stats["resolved_at_stage_1_pct"]) == (2, 1, 50.0)
    assert (stats["median_working_days_to_resolution"], stats["resolved_with_working_days"]) == (7.5, 2)
    assert (stats["alerts"], stats["formal"], stats["escalated_alerts"]) == (1, 3, 0)


async def test_one_resolution_in_the_period_is_a_median_of_one(resolved, client, iro):
    # 1-14 April: only L was resolved (3 April), 5 working days after it was raised.
    period = {"from": "2024-04-01", "to": "2024-04-14"}
    stats = (await client.get("/v1/stats/escalations", params=period, headers=iro)).json()
    assert (stats["formal_resolved"], stats["resolved_at_stage_1"], stats["resolved_at_stage_1_pct"]) == (1, 0, 0.0)
    assert (stats["median_working_days_to_resolution"], stats["resolved_with_working_days"]) == (5.0, 1)


async def test_no_resolution_in_the_period_is_no_median_over_zero(resolved, client, iro):
    stats = (
        await client.get("/v1/stats/escalations", params={"from": "2024-02-01", "to": "2024-02-29"}, headers=iro)
    ).json()
    assert (stats["formal_resolved"], stats["resolved_at_stage_1_pct"]) == (0, None)
    assert (stats["median_working_days_to_resolution"], stats["resolved_with_working_days"]) == (None, 0)


async def test_a_period_of_ten_years_or_more_is_a_422_naming_to(client, iro):
    ten_years = await client.get(
        "/v1/stats/escalations", params={"from": "2014-04-15", "to": "2024-04-15"}, headers=iro
    )
    assert ten_years.status_code == 422
    assert [error["loc"] for error in ten_years.json()["errors"]] == [["query", "to"]]
    under_ten = await client.get(
        "/v1/stats/escalations", params={"from": "2014-04-15", "to": "2024-04-14"}, headers=iro
    )
    assert under_ten.status_code == 200, under_ten.text


async def test_from_29_february_2016_the_period_may_run_to_27_february_2026(client, iro):
    # shared.periods: 29 February + 10 years is 28 February, the first `to` refused.
    allowed = await client.get("/v1/stats/escalations", params={"from": "2016-02-29", "to": "2026-02-27"}, headers=iro)
    assert allowed.status_code == 200, allowed.text
    refused = await client.get("/v1/stats/escalations", params={"from": "2016-02-29", "to": "2026-02-28"}, headers=iro)
    assert refused.status_code == 422
    assert [error["loc"] for error in refused.json()["errors"]] == [["query", "to"]]
