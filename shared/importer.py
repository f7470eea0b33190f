"""`iro import ssda903 --collection-year YYYY DIR`: upload a return's three CSV files to the gateway
with the caller's token (`--token` or `IRO_TOKEN`), wait for the import to finish, print its report.

The files are streamed from disk (httpx's multipart encoder reads them in chunks), so a national
return is never held in memory here either. Exit code 0 when the import is done, 1 when it failed
or did not finish in `--wait` seconds, 2 for a bad command line or a refused upload.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

FILES = ("header", "episodes", "reviews")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["ssda903"], help="what is imported: an SSDA903 return")
    parser.add_argument("folder", type=Path, help="a folder holding header.csv, episodes.csv and reviews.csv")
    parser.add_argument("--collection-year", type=int, required=True, help="e.g. 2022 (1 April 2021 to 31 March 2022)")
    parser.add_argument("--token", help="a bearer token of a manager or admin (default: IRO_TOKEN)")
    parser.add_argument("--gateway", help="the gateway's URL (default: the URL iro serve prints)")
    parser.add_argument("--wait", type=float, default=3600, help="seconds to wait for the import (default 3600)")


def _say(text: str, stream: Any = sys.stdout) -> None:
    print(text, file=stream, flush=True)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("IRO_TOKEN")
    if not token:
        _say("iro import: give --token or set IRO_TOKEN (a manager's or admin's token)", sys.stderr)
        return 2
    paths = {name: args.folder / f"{name}.csv" for name in FILES}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        _say(f"iro import: no {', '.join(missing)}", sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=args.gateway, timeout=httpx.Timeout(60, read=600)) as client:
        handles = {name: path.open("rb") for name, path in paths.items()}
        try:
            files = {name: (path.name, handles[name], "text/csv") for name, path in paths.items()}
            response = client.post("/v1/imports/ssda903", data={"collection_year": str(args.collection_year)},
                                   files=files, headers=headers)  # fmt: skip
        finally:
            for handle in handles.values():
                handle.close()
        if response.status_code != 202:
            _say(f"iro import: the gateway refused the upload ({response.status_code}): {response.text}", sys.stderr)
            return 2
        import_id = response.json()["id"]
        _say(f"Import {import_id} accepted; waiting for it to finish ...")
        deadline = time.monotonic() + args.wait
        while True:
            report = client.get(f"/v1/imports/{import_id}", headers=headers).json()
            if report.get("status") in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(1)
    _print_report(report)
    return 0 if report.get("status") == "done" else 1


def _print_report(report: dict[str, Any]) -> None:
    _say(f"Import {report.get('id')}: {report.get('status')} (collection year {report.get('collection_year')})")
    _say(f"{'table':<10} {'read':>8} {'applied':>8} {'duplicate':>9} {'refused':>8} {'pending':>8}")
    for table, counts in (report.get("tables") or {}).items():
        _say(f"{table:<10} {counts['read']:>8} {counts['applied']:>8} {counts['duplicate']:>9} "
             f"{counts['refused']:>8} {counts['pending']:>8}")  # fmt: skip
    refusals = report.get("refusals") or []
    if refusals:
        _say(f"{len(refusals)} refusals (GET /v1/imports/{report.get('id')} with Accept: text/csv for a spreadsheet):")
        for item in refusals[:20]:
            _say(f"  {item['file']} row {item['row']} CHILD {item['CHILD']} {item['field'] or ''}: {item['reason']}")
        if len(refusals) > 20:
            _say(f"  ... and {len(refusals) - 20} more")
    if report.get("problem"):
        _say(f"Problem: {report['problem'].get('detail')}")
