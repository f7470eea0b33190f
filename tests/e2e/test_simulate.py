"""`iro simulate` end to end (issue 12): 200 children and 8 IROs over 3 years, generated from a seed,
sent to the real platform (`iro serve` on free ports) over TCP as signed CloudEvents batches and API
calls, by the command itself in its own process. Then the platform's timeliness and participation
figures for every collection year and calendar year are asked for here and must equal the ones the
simulator worked out from its own dates, and the inbox must hold no rejected event.

Today is pinned (`IRO_TODAY`) for the platform and the simulator alike, so the world is the same on
every run."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import httpx
import pytest

from shared.auth import mint_development_token
from shared.ingest.signing import new_secret
from shared.settings import CommonSettings
from shared.simulate.expected import differences
from tests.e2e.processes import start_platform

pytestmark = pytest.mark.e2e

TODAY = dt.date(2026, 10, 1)
SEED = 2026
SECRET = new_secret()  # the `simulator` source's own secret: the command must find it in IRO_INGEST_SECRETS


@pytest.fixture(scope="module")
def running(module_folder):
    env = {"IRO_TODAY": TODAY.isoformat(), "IRO_INGEST_SECRETS": json.dumps({"simulator": [SECRET]})}
    platform = start_platform(module_folder / "data", extra_env=env)
    try:
        platform.wait_ready()
        yield platform
    finally:
        assert platform.stop() == 0, platform.log.read_text()


def as_(role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_development_token(CommonSettings(), sub=sub, roles=[role])}"}


def test_a_simulated_council_over_tcp_gives_the_simulators_own_figures(running, module_folder):
    expected_file = module_folder / "expected.json"
    command = [
        sys.executable, "-m", "shared.cli", "simulate", "--children", "200", "--iros", "8", "--years", "3",
        "--seed", str(SEED), "--gateway", running.url(), "--expected", str(expected_file),
    ]  # fmt: skip
    run = subprocess.run(command, env=running.env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert ", 0 rejected (0 with warnings)" in output, output
    assert "(0 failed)" in output, output

    document = json.loads(expected_file.read_text())
    world = document["world"]
    assert document["simulation"]["today"] == TODAY.isoformat()
    assert world["reviews_held"] > 400 and world["reviews_held_late"] > 10 and world["reviews_missed"] > 0
    names = [period["name"] for period in document["periods"]]
    assert {"collection year 2023-24", "collection year 2026-27", "calendar year 2023", "calendar year 2026"} <= set(
        names
    )

    manager, admin = as_("manager", "panel@council.gov.uk"), as_("admin", "admin@council.gov.uk")
    with httpx.Client(base_url=running.url(), timeout=60) as gw:
        for period in document["periods"]:
            params = {"from": period["from"], "to": period["to"]}
            timeliness = gw.get("/v1/stats/timeliness", params=params, headers=manager)
            assert timeliness.status_code == 200, timeliness.text
            assert timeliness.json() == period["timeliness"], period["name"]
            participation = gw.get("/v1/stats/participation", params=params, headers=manager)
            assert participation.status_code == 200, participation.text
            assert differences(period["participation"], participation.json()) == [], period["name"]

        rejected = gw.get("/v1/inbox", params={"status": "rejected", "source": "simulator"}, headers=admin)
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["items"] == []

        # The API part happened too: the annual report's other themes have data.
        escalations = gw.get("/v1/stats/escalations", params={"from": "2023-10-01", "to": "2026-09-30"},
                             headers=manager).json()  # fmt: skip
        assert escalations["alerts"] + escalations["formal"] > 0 and escalations["commendations"] > 0
        feedback = gw.get("/v1/stats/feedback", params={"from": "2023-10-01", "to": "2026-09-30"}, headers=manager)
        assert feedback.json()["forms"] > 0
        decisions = gw.get("/v1/decisions", params={"limit": 1}, headers=manager).json()
        assert decisions["items"]
