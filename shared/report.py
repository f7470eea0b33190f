"""`iro report --from YYYY-MM-DD --to YYYY-MM-DD -o report.html`: fetch the annual report page from a
running gateway with the caller's token (`--token` or `IRO_TOKEN`: a manager's, auditor's or admin's)
and write it to a file; `--json` writes the dataset instead.

Exit code 0 when the file is written, 1 when the gateway could not answer (a service down: the report
is whole or not at all), 2 for a bad command line or a refused request (e.g. a period of 10 years or more).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import httpx


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, required=True, help="last day, YYYY-MM-DD")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the file to write, e.g. report.html")
    parser.add_argument("--json", action="store_true", help="write the dataset (JSON) instead of the page")
    parser.add_argument("--age-on", type=dt.date.fromisoformat, help="participation by age on this day (CLA 12)")
    parser.add_argument("--token", help="a bearer token of a manager, auditor or admin (default: IRO_TOKEN)")
    parser.add_argument("--gateway", help="the gateway's URL (default: the URL iro serve prints)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the report (default 600)")


def _say(text: str, stream: Any = sys.stdout) -> None:
    print(text, file=stream, flush=True)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("IRO_TOKEN")
    if not token:
        _say("iro report: give --token or set IRO_TOKEN (a manager's, auditor's or admin's token)", sys.stderr)
        return 2
    path = "/v1/reports/annual" if args.json else "/v1/reports/annual.html"
    params = {"from": args.start.isoformat(), "to": args.end.isoformat()}
    if args.age_on:
        params["age_on"] = args.age_on.isoformat()
    try:
        with httpx.Client(base_url=args.gateway, timeout=httpx.Timeout(30, read=args.timeout)) as client:
            response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        _say(f"iro report: no answer from the gateway at {args.gateway}: {error}", sys.stderr)
        return 1
    if response.status_code != 200:
        _say(f"iro report: the gateway answered {response.status_code}: {response.text}", sys.stderr)
        return 1 if response.status_code >= 500 else 2
    args.output.write_bytes(response.content)
    _say(f"Wrote {args.output} ({len(response.content):,} bytes) for {args.start} to {args.end}.")
    return 0
