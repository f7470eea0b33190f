"""An SSDA903 return imported over TCP at scale: rows/s, and the gateway's memory as the file grows
(run by hand; issue 13's benchmark).

    .venv/bin/python bench/import_903.py [--children 2000 4000] [--database-url URL] [--write-results]
    .venv/bin/python bench/import_903.py --children 83000 --write-results      # national scale (hours)

For each `--children` size: `iro simulate` writes a return for a world of that many children over
two years (the latest year's return: its header, the episodes of each period whole, the year's
reviews), an `iro serve` is started on a fresh database (embedded, or a throwaway database on the
server at `--database-url`), the return is uploaded (`POST /v1/imports/ssda903`, streamed from
disk) and the import is followed to `done`. Reported per size: rows read, bytes, the upload's time
and the import's, rows/s over both, every row's outcome, and the gateway's resident memory: before,
peak during the upload and peak during the import (it runs the worker), sampled every 0.1 s. The
streaming claim is that the peak does not grow with the file: compare the sizes side by side.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.e2e.processes, when run as `python bench/import_903.py`

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench.common import write_results  # noqa: E402
from bench.ingest import databases  # noqa: E402
from shared.auth import mint_development_token  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402
from tests.e2e.processes import start_platform  # noqa: E402

MIB = 1024 * 1024


class Peak(threading.Thread):
    """Samples a process's resident memory every 0.1 s; `mark()` starts a new phase."""

    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process, self.peaks, self.phase, self.running = process, {"before": 0}, "before", True

    def mark(self, phase: str) -> None:
        self.phase = phase
        self.peaks.setdefault(phase, 0)

    def run(self) -> None:
        while self.running:
            try:
                rss = self.process.memory_info().rss
            except psutil.Error:
                return
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
            time.sleep(0.1)


def write_return(children: int, seed: int, folder: Path) -> tuple[int, Path]:
    """The latest complete collection year's return of a simulated world: (year, its folder)."""
    env = {**os.environ, "IRO_TODAY": "2026-04-01"}
    subprocess.run(
        [sys.executable, "-m", "shared.cli", "simulate", "--children", str(children), "--iros",
         str(max(children // 45, 5)), "--years", "2", "--seed", str(seed), "--ssda903-dir", str(folder)],
        check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    year = max(int(path.name) for path in folder.iterdir() if path.is_dir() and path.name.isdigit())
    return year, folder / str(year)


def measure(children: int, seed: int, database_url: str, folder: Path) -> dict[str, Any]:
    year, files = write_return(children, seed, folder / "returns")
    size = sum((files / f"{name}.csv").stat().st_size for name in ("header", "episodes", "reviews"))
    platform_ = start_platform(folder / "serve", database_url=database_url, extra_env={"IRO_TODAY": "2026-04-01"})
    try:
        platform_.wait_ready()
        peak = Peak(platform_.process_of("gateway"))
        peak.start()
        time.sleep(1)
        token = mint_development_token(CommonSettings(), sub="bench@council.gov.uk", roles=["manager"])
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=platform_.url(), timeout=httpx.Timeout(60, read=3600)) as client:
            handles = {name: (files / f"{name}.csv").open("rb") for name in ("header", "episodes", "reviews")}
            peak.mark("upload")
            started = time.perf_counter()
            try:
                response = client.post(
                    "/v1/imports/ssda903", data={"collection_year": str(year)}, headers=headers,
                    files={name: (f"{name}.csv", handle, "text/csv") for name, handle in handles.items()},
                )  # fmt: skip
            finally:
                for handle in handles.values():
                    handle.close()
            uploaded = time.perf_counter()
            response.raise_for_status()
            peak.mark("import")
            import_id = response.json()["id"]
            while True:
                report = client.get(f"/v1/imports/{import_id}", headers=headers).json()
                if report["status"] in ("done", "failed"):
                    break
                time.sleep(0.5)
            finished = time.perf_counter()
        peak.running = False
    finally:
        platform_.stop()
    tables = report["tables"]
    rows = sum(t["read"] for t in tables.values())
    return {
        "children": children, "year": year, "bytes": size, "rows": rows, "status": report["status"],
        "tables": tables, "upload_s": uploaded - started, "import_s": finished - uploaded,
        "rows_per_s": rows / (finished - started), "rss_mib": {k: v / MIB for k, v in peak.peaks.items()},
    }  # fmt: skip


def table(results: list[dict[str, Any]], title: str, args: argparse.Namespace) -> str:
    lines = [
        f"## SSDA903 import: {title}", "",
        f"- `bench/import_903.py --children {' '.join(map(str, args.children))}`; machine: {os.cpu_count()} cores, "
        f"{platform.platform()}, Python {platform.python_version()}",
        "- A simulated world over two years; its latest return uploaded and imported on a fresh database.", "",
        "| children | rows | MiB | status | upload s | import s | rows/s | applied | duplicate | refused "
        "| gateway MiB before | peak upload | peak import |",
        "|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]  # fmt: skip
    for r in results:
        t = r["tables"].values()
        rss = r["rss_mib"]
        lines.append(
            f"| {r['children']} | {r['rows']} | {r['bytes'] / MIB:.1f} | {r['status']} | {r['upload_s']:.1f} | "
            f"{r['import_s']:.0f} | {r['rows_per_s']:.0f} | {sum(x['applied'] for x in t)} | "
            f"{sum(x['duplicate'] for x in t)} | {sum(x['refused'] for x in t)} | {rss.get('before', 0):.0f} | "
            f"{rss.get('upload', 0):.0f} | {rss.get('import', 0):.0f} |"
        )
    first, last = results[0], results[-1]
    grew = last["rss_mib"].get("import", 0) - first["rss_mib"].get("import", 0)
    hours = 370_000 / last["rows_per_s"] / 3600
    lines += [
        "",
        f"- Memory: the gateway's peak grew by {grew:.0f} MiB from {first['rows']} to {last['rows']} rows: the "
        "upload is streamed and the worker holds a batch of children, not the file.",
        f"- At {last['rows_per_s']:.0f} rows/s, a national-scale year (83,000 children, about 370,000 rows) would "
        f"take about {hours:.1f} hours on this machine: the import applies through the ingest path, whose cost "
        "per event is the batch-ingest section's.",
    ]
    return "\n".join(lines) + "\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--database-url", help="a server to make throwaway databases on (default: embedded)")
    parser.add_argument("--write-results", action="store_true", help="write the table into bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iro-bench-903-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o777)
        results = []
        for children in args.children:
            with databases(args.database_url, folder / f"db-{children}") as (url, _, _, key, title):
                results.append(measure(children, args.seed, url, folder / f"run-{children}"))
                section, heading = key.replace("ingest", "import-903"), title
        body = table(results, heading, args)
        print(body)
        if args.write_results:
            write_results(section, body)


if __name__ == "__main__":
    main()
