"""A simulated council's SSDA903 returns imported into the real platform (issue 13): `iro simulate
--ssda903-dir` writes the returns of a world of 150 children over 3 years (the collection years
2024, 2025 and 2026 exactly) and the figures expected once they are imported; `iro import ssda903`
uploads them oldest first to `iro serve` on free ports, over TCP, each in its own process. Then
every row must be accounted for (none refused: the simulator expects no refusal of these returns,
`document["ssda903"]["refusals"]` is empty), the rows a return repeats from the one before must be
the duplicates, and the platform's timeliness and participation figures for every collection year
and calendar year must equal the simulator's for the import (docs/simulate.md, "SSDA903 returns").
The same world's returns from 2025 on (a council adopting the platform a year into the world), in
each history format, are imported into platforms of their own and must agree the same way.

Today is pinned (`IRO_TODAY`) for the platform and the simulator alike, so the world is the same on
every run."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import mint_development_token
from shared.settings import CommonSettings
from shared.simulate.expected import differences
from tests.e2e.processes import Platform, eventually, start_platform

pytestmark = pytest.mark.e2e

TODAY = dt.date(2026, 4, 1)
SEED = 903
YEARS = (2024, 2025, 2026)
TABLES = ("header", "episodes", "reviews")
OFFICER = "data.officer@council.gov.uk"


def as_manager() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_development_token(CommonSettings(), sub=OFFICER, roles=['manager'])}"}


@pytest.fixture(scope="module")
def running(module_folder: Path):
    platform = start_platform(module_folder / "data", extra_env={"IRO_TODAY": TODAY.isoformat()})
    try:
        platform.wait_ready()
        yield platform
    finally:
        assert platform.stop() == 0, platform.log.read_text()


@pytest.fixture(scope="module")
def returns(running: Platform, module_folder: Path) -> tuple[Path, dict[str, Any]]:
    """The returns and the expected figures, written by `iro simulate --ssda903-dir`."""
    folder = module_folder / "ssda903"
    command = [
        sys.executable, "-m", "shared.cli", "simulate", "--children", "150", "--iros", "6", "--years", "3",
        "--seed", str(SEED), "--ssda903-dir", str(folder),
    ]  # fmt: skip
    run = subprocess.run(command, env=running.env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads((folder / "expected.json").read_text())
    assert document["ssda903"]["collection_years"] == list(YEARS) and document["simulation"]["today"] == "2026-04-01"
    return folder, document


def wait_done(gw: httpx.Client, import_id: str, timeout: float = 120) -> dict[str, Any]:
    report: dict[str, Any] = eventually(
        lambda: gw.get(f"/v1/imports/{import_id}", headers=as_manager()).json(),
        lambda r: r["status"] in ("done", "failed"), seconds=timeout, every=0.5,
    )  # fmt: skip
    return report


@pytest.fixture(scope="module")
def imported(running: Platform, returns: tuple[Path, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each return imported oldest first by `iro import ssda903`: its report, by collection year."""
    folder, _ = returns
    token = mint_development_token(CommonSettings(), sub=OFFICER, roles=["manager"])
    reports = {}
    with httpx.Client(base_url=running.url(), timeout=60) as gw:
        for year in YEARS:
            command = [
                sys.executable, "-m", "shared.cli", "import", "ssda903", "--collection-year", str(year),
                str(folder / str(year)), "--token", token, "--gateway", running.url(), "--wait", "300",
            ]  # fmt: skip
            run = subprocess.run(command, env=running.env, capture_output=True, text=True, timeout=360)
            assert run.returncode == 0, run.stdout + run.stderr
            found = re.search(r"Import ([0-9a-f-]{36}) accepted", run.stdout)
            assert found, run.stdout
            reports[year] = wait_done(gw, found.group(1))
    return reports


def upload(gw: httpx.Client, year: int, files: dict[str, bytes]) -> httpx.Response:
    parts = {table: (f"{table}.csv", files[table], "text/csv") for table in TABLES}
    return gw.post("/v1/imports/ssda903", data={"collection_year": str(year)}, files=parts, headers=as_manager())


def the_files(folder: Path, year: int) -> dict[str, bytes]:
    return {table: (folder / str(year) / f"{table}.csv").read_bytes() for table in TABLES}


def assert_accounted_for(document: dict[str, Any], reports: dict[int, dict[str, Any]]) -> None:
    """Every row of every return read, none pending or refused, and what an earlier return already
    said (`repeated`) exactly the duplicates: the rest applied."""
    assert document["ssda903"]["refusals"] == []  # the simulator expects none: every row is valid as written
    for made in document["ssda903"]["returns"]:
        year, report = made["collection_year"], reports[made["collection_year"]]
        assert report["status"] == "done", report
        assert report["refusals"] == [], (year, report["refusals"][:10])
        for table in TABLES:
            counts, rows, repeated = report["tables"][table], made["rows"][table], made["repeated"][table]
            assert counts["read"] == rows, (year, table, counts)
            assert counts["read"] == counts["applied"] + counts["duplicate"] + counts["refused"], (year, table)
            assert (counts["pending"], counts["refused"]) == (0, 0), (year, table, counts)
            assert (counts["duplicate"], counts["applied"]) == (repeated, rows - repeated), (year, table, counts)


def test_every_row_of_every_return_is_accounted_for(returns, imported):
    _, document = returns
    assert_accounted_for(document, imported)


def assert_figures(gw: httpx.Client, periods: list[dict[str, Any]]) -> None:
    for period in periods:
        params = {"from": period["from"], "to": period["to"]}
        timeliness = gw.get("/v1/stats/timeliness", params=params, headers=as_manager())
        assert timeliness.status_code == 200, timeliness.text
        assert timeliness.json() == period["timeliness"], period["name"]
        # The participation service learns of held reviews from the footprint a moment later.
        participation = eventually(
            lambda params=params: gw.get("/v1/stats/participation", params=params, headers=as_manager()),
            lambda r, want=period["participation"]: r.status_code != 200 or differences(want, r.json()) == [],
            seconds=30, every=0.5,
        )  # fmt: skip
        assert participation.status_code == 200, participation.text
        assert differences(period["participation"], participation.json()) == [], period["name"]


def test_the_platforms_figures_are_the_simulators_for_the_import(running, returns, imported):
    _, document = returns
    names = [period["name"] for period in document["periods"]]
    assert names[:3] == ["collection year 2023-24", "collection year 2024-25", "collection year 2025-26"]
    late = document["periods"][-1]["timeliness"]["late_by_reason"]
    assert list(late) == ["not_recorded"] and late["not_recorded"] > 10  # the 903 has no late reasons
    with httpx.Client(base_url=running.url(), timeout=60) as gw:
        assert_figures(gw, document["periods"])


def test_the_same_return_again_is_the_same_import(running, returns, imported):
    folder, _ = returns
    with httpx.Client(base_url=running.url(), timeout=60) as gw:
        again = upload(gw, 2024, the_files(folder, 2024))
    assert again.status_code == 202, again.text
    assert again.json()["id"] == imported[2024]["id"]


def test_the_same_rows_in_another_order_are_a_new_import_all_duplicate(running, returns, imported):
    """Another export of the same return, sorted the other way round: the rows (and their numbers)
    differ, so it is an import of its own, and every row is one the platform already has."""
    folder, document = returns
    files = {}
    for table, raw in the_files(folder, 2025).items():
        header, *rows = raw.decode().splitlines(keepends=True)
        files[table] = (header + "".join(reversed(rows))).encode()
    with httpx.Client(base_url=running.url(), timeout=60) as gw:
        answer = upload(gw, 2025, files)
        assert answer.status_code == 202, answer.text
        assert answer.json()["id"] != imported[2025]["id"]
        report = wait_done(gw, answer.json()["id"])
        assert report["status"] == "done" and report["refusals"] == [], report
        for table in TABLES:
            counts = report["tables"][table]
            assert counts["duplicate"] == counts["read"] == imported[2025]["tables"][table]["read"], (table, counts)
        assert_figures(gw, document["periods"][-1:])  # nothing changed


def test_the_same_rows_with_crlf_line_endings_are_the_same_import(running, returns, imported):
    """The platform knows an upload by the rows it reads, not its bytes (docs/ssda903.md, "Once per
    content"): a copy of a return with CRLF line endings answers with the first import's id."""
    folder, _ = returns
    files = {table: raw.replace(b"\n", b"\r\n") for table, raw in the_files(folder, 2026).items()}
    assert files != the_files(folder, 2026)
    with httpx.Client(base_url=running.url(), timeout=60) as gw:
        answer = upload(gw, 2026, files)
        assert answer.status_code == 202, answer.text
        assert answer.json()["id"] == imported[2026]["id"]
        report = wait_done(gw, answer.json()["id"])
    assert report["status"] == "done" and report["tables"] == imported[2026]["tables"], report


# --- Imported from a later year than the world's first --------------------------------------------------
#
# The same world's returns for 2025 and 2026 only, written with each history (`--ssda903-history`) and
# imported into a platform of their own: a period that began before 1 April 2024 is, in the 2025 return,
# either its S before the year (`period`) or the episode open that day, RNE not S (`year`); either way it
# "began before the data" and its first imported review is not judged (`not_judged`), and the next is due
# within 6 months of it. The 2026 return carries those periods on: its start of a period the platform
# already holds is a duplicate.


@pytest.fixture(scope="module", params=["year", "period"])
def later(request: pytest.FixtureRequest, module_folder: Path) -> Any:
    history: str = request.param
    platform = start_platform(module_folder / f"later-{history}", extra_env={"IRO_TODAY": TODAY.isoformat()})
    try:
        platform.wait_ready()
        folder = module_folder / f"ssda903-{history}"
        command = [
            sys.executable, "-m", "shared.cli", "simulate", "--children", "150", "--iros", "6", "--years", "3",
            "--seed", str(SEED), "--ssda903-dir", str(folder), "--ssda903-history", history,
            "--collection-years", "2025,2026",
        ]  # fmt: skip
        run = subprocess.run(command, env=platform.env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        document = json.loads((folder / "expected.json").read_text())
        assert document["ssda903"]["collection_years"] == [2025, 2026] and document["ssda903"]["history"] == history
        reports = {}
        with httpx.Client(base_url=platform.url(), timeout=60) as gw:
            for year in (2025, 2026):
                answer = upload(gw, year, the_files(folder, year))
                assert answer.status_code == 202, answer.text
                reports[year] = wait_done(gw, answer.json()["id"])
        yield platform, document, reports
    finally:
        assert platform.stop() == 0, platform.log.read_text()


def test_imported_from_a_later_year_every_row_is_accounted_for(later):
    """The 2026 return's episodes of the periods the 2025 return began are duplicates (or apply only
    their end), never refused."""
    _, document, reports = later
    assert_accounted_for(document, reports)
    assert document["ssda903"]["returns"][1]["repeated"]["episodes"] > 40  # 45 (year), 153 (period)


def test_imported_from_a_later_year_the_figures_agree_the_periods_begun_before_it_counted_apart(later):
    platform, document, _ = later
    by_name = {period["name"]: period for period in document["periods"]}
    before = by_name["collection year 2023-24"]["timeliness"]  # nothing of it imported, nothing judged in it
    assert (before["reviews_held"], before["overdue_unheld"], before["not_judged"]) == (0, 0, 0)
    assert by_name["collection year 2024-25"]["timeliness"]["not_judged"] > 10
    assert by_name["collection year 2025-26"]["timeliness"]["not_judged"] == 0
    with httpx.Client(base_url=platform.url(), timeout=60) as gw:
        assert_figures(gw, document["periods"])
