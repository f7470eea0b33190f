"""SSDA903 imports over TCP (issue 13): the sample return uploaded as a data officer would, every
row accounted for, idempotent by content, applied as the uploader, and resumed after the gateway is
killed half way to the same end as an uninterrupted run."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import mint_development_token
from shared.cli import wait_until_ready
from shared.settings import CommonSettings
from tests.e2e.processes import eventually, start_platform

pytestmark = pytest.mark.e2e

SAMPLE = Path(__file__).parents[1] / "data" / "ssda903-sample"
OFFICER = "data.officer@council.gov.uk"
READ = {"header": 80, "episodes": 156, "reviews": 368}  # the sample's data rows (tests/data/ssda903-sample)


def as_(role: str, sub: str = OFFICER) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_development_token(CommonSettings(), sub=sub, roles=[role])}"}


def files(folder: Path = SAMPLE, *, newline: bytes | None = None) -> dict[str, tuple[str, bytes, str]]:
    out = {}
    for name in ("header", "episodes", "reviews"):
        content = (folder / f"{name}.csv").read_bytes()
        if newline is not None:
            content = content.replace(b"\r\n", b"\n").replace(b"\n", newline)
        out[name] = (f"{name}.csv", content, "text/csv")
    return out


def upload(gw: httpx.Client, year: int = 2022, **kwargs: Any) -> httpx.Response:
    return gw.post("/v1/imports/ssda903", data={"collection_year": str(year)}, files=files(**kwargs),
                   headers=as_("manager"))  # fmt: skip


def finished(gw: httpx.Client, import_id: str, timeout: float = 120) -> dict[str, Any]:
    report: dict[str, Any] = eventually(
        lambda: gw.get(f"/v1/imports/{import_id}", headers=as_("manager")).json(),
        lambda r: r["status"] in ("done", "failed"), seconds=timeout, every=0.2,
    )  # fmt: skip
    return report


def accounted(report: dict[str, Any]) -> None:
    for table, counts in report["tables"].items():
        assert counts["pending"] == 0, (table, counts)
        assert counts["read"] == counts["applied"] + counts["duplicate"] + counts["refused"] == READ[table], counts


def outcomes(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted((r["file"], r["row"], r["field"], r["reason"], r["outcome"]) for r in report["refusals"])


@pytest.fixture(scope="module")
def running(module_folder):
    platform = start_platform(module_folder / "data", extra_env={"IRO_MAX_IMPORT_BYTES": str(1024 * 1024)})
    try:
        platform.wait_ready()
        yield platform
    finally:
        assert platform.stop() == 0, platform.log.read_text()


@pytest.fixture(scope="module")
def gw(running):
    with httpx.Client(base_url=running.url(), timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def first_import(gw) -> dict[str, Any]:
    response = upload(gw)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/imports/{response.json()['id']}"
    report = finished(gw, response.json()["id"])
    assert report["status"] == "done", report
    return report


def test_the_sample_return_is_imported_with_every_row_accounted_for(gw, first_import):
    accounted(first_import)
    assert first_import["tables"]["header"]["applied"] == 80
    refused = [r for r in first_import["refusals"] if r["outcome"] == "refused"]
    assert len(refused) == sum(t["refused"] for t in first_import["tables"].values())
    assert all(r["reason"] and r["CHILD"] for r in refused)
    # The sample has reviews from many years: those outside 2021-22 are refused as such, naming REVIEW.
    early = [r for r in refused if r["file"] == "reviews.csv" and "before 01/04/2021" in r["reason"]]
    assert early and all(r["field"] == "REVIEW" for r in early)
    late = [r for r in refused if "after 31/03/2022" in r["reason"]]
    assert late
    spreadsheet = gw.get(f"/v1/imports/{first_import['id']}", headers={**as_("manager"), "Accept": "text/csv"})
    assert spreadsheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(spreadsheet.content.decode("utf-8-sig"))))
    assert len(rows) == len(first_import["refusals"])
    assert rows[0].keys() == {"file", "row", "CHILD", "field", "reason", "outcome"}


def test_the_events_are_the_uploaders_on_the_rows_dates(gw, first_import):
    child = gw.get("/v1/children", params={"la_reference": "566910"}, headers=as_("manager")).json()["items"][0]
    trail = gw.get("/v1/footprint", params={"child_id": child["id"], "type": "care_period.started"},
                   headers=as_("auditor", "qa@council.gov.uk")).json()["items"]  # fmt: skip
    assert trail[0]["actor"] == {"sub": OFFICER, "role": "manager", "source": "ssda903"}
    assert trail[0]["request_id"] == f"import:{first_import['id']}"
    assert trail[0]["occurred_at"].startswith("2016-02-15")  # DECOM of the child's first episode
    [period] = [p for p in gw.get(f"/v1/children/{child['id']}/care-periods", headers=as_("manager")).json()["items"]
                if p["started_on"] == "2016-02-15"]  # fmt: skip
    assert period["started_before_data"] is True  # its first episode in the files is not RNE S


def test_the_same_rows_import_once_and_again_as_duplicates(gw, first_import):
    again = upload(gw)
    assert (again.status_code, again.json()["id"]) == (202, first_import["id"])
    crlf = upload(gw, newline=b"\r\n")  # other bytes, the same rows: the same content
    assert crlf.json()["id"] == first_import["id"]
    edited = SAMPLE.parent / "edited"
    edited.mkdir(exist_ok=True)
    for name in ("header", "episodes"):
        (edited / f"{name}.csv").write_bytes((SAMPLE / f"{name}.csv").read_bytes())
    lines = (SAMPLE / "reviews.csv").read_bytes().splitlines(keepends=True)
    (edited / "reviews.csv").write_bytes(b"".join([*lines, lines[1]]))  # one row repeated at the end
    try:
        second = upload(gw, folder=edited)
    finally:
        for path in edited.iterdir():
            path.unlink()
        edited.rmdir()
    report = finished(gw, second.json()["id"])
    assert second.json()["id"] != first_import["id"] and report["status"] == "done"
    for table in ("header", "episodes"):
        counts = report["tables"][table]
        assert counts["applied"] == 0
        assert (
            counts["duplicate"] == first_import["tables"][table]["applied"] + first_import["tables"][table]["duplicate"]
        )
    reviews = report["tables"]["reviews"]
    assert reviews["read"] == READ["reviews"] + 1 and reviews["applied"] == 0
    assert reviews["duplicate"] + reviews["refused"] == reviews["read"]


def test_a_file_that_is_not_its_903_table_is_refused_whole_naming_it(gw):
    swapped = files()
    swapped["episodes"] = ("header.csv", swapped["header"][1], "text/csv")
    response = gw.post("/v1/imports/ssda903", data={"collection_year": "2022"}, files=swapped, headers=as_("manager"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "episodes"]
    assert "DECOM" in response.json()["errors"][0]["msg"]
    year = gw.post("/v1/imports/ssda903", data={"collection_year": "22"}, files=files(), headers=as_("manager"))
    assert (year.status_code, year.json()["errors"][0]["loc"]) == (422, ["body", "collection_year"])
    big = {"header": ("header.csv", b"CHILD,SEX,DOB\n" + b"1,1,01/01/2010\n" * 80_000, "text/csv")}
    assert gw.post("/v1/imports/ssda903", data={"collection_year": "2022"}, files=big,
                   headers=as_("manager")).status_code == 413  # fmt: skip
    assert gw.post("/v1/imports/ssda903", data={"collection_year": "2022"}, files=files(),
                   headers=as_("iro", "alice@council.gov.uk")).status_code == 403  # fmt: skip
    assert gw.post("/v1/imports/ssda903", json={}, headers=as_("manager")).status_code == 415


def test_an_import_interrupted_half_way_resumes_to_the_same_end(folder, first_import):
    slow = {"GATEWAY_IMPORT_CHILDREN_PER_BATCH": "2", "GATEWAY_IMPORT_POLL_SECONDS": "0.2"}
    platform = start_platform(folder / "data", extra_env=slow)
    try:
        platform.wait_ready()
        with httpx.Client(base_url=platform.url(), timeout=60) as gw:
            response = upload(gw)
            import_id = response.json()["id"]
            total = sum(READ.values())

            def half_way(report: dict[str, Any]) -> bool:  # some rows have outcomes and others do not
                pending = sum(t["pending"] for t in report["tables"].values())
                return report["status"] != "queued" and (report["status"] != "running" or 0 < pending < total - 50)

            report = eventually(lambda: gw.get(f"/v1/imports/{import_id}", headers=as_("manager")).json(),
                                half_way, seconds=60, every=0.05)  # fmt: skip
            assert report["status"] == "running", f"the import was not caught half way: {report['status']}"
            os.kill(platform.process_of("gateway").pid, signal.SIGKILL)
        wait_until_ready({"gateway": platform.url()}, timeout=60, exited=lambda: None)
        with httpx.Client(base_url=platform.url(), timeout=60) as gw:
            resumed = finished(gw, import_id)
        assert resumed["status"] == "done" and resumed["runs"] == 2
        accounted(resumed)
        assert resumed["tables"] == first_import["tables"]
        assert outcomes(resumed) == outcomes(first_import)
    finally:
        assert platform.stop() == 0, platform.log.read_text()


def test_the_command_line_uploads_and_prints_the_report(running, first_import):
    token = mint_development_token(CommonSettings(), sub=OFFICER, roles=["manager"])
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", "import", "ssda903", str(SAMPLE), "--collection-year", "2022",
         "--gateway", running.url(), "--token", token, "--wait", "60"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"Import {first_import['id']}: done" in done.stdout
    assert "reviews" in done.stdout and "refusals" in done.stdout
