"""`iro simulate`: generate, write the expected figures, feed a running platform, report; or, with
`--ssda903-dir`, write the world's SSDA903 returns and the figures expected once they are imported."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import httpx

from shared.auth import mint_development_token
from shared.clock import Clock
from shared.ingest import signing
from shared.settings import CommonSettings
from shared.simulate import expected, generate, ssda903
from shared.simulate.events import SOURCE, cloudevents
from shared.simulate.feed import MANAGER, FeedError, FeedOptions, feed
from shared.simulate.world import Options, World

SECRETS_VARIABLE = "IRO_INGEST_SECRETS"


def today(settings: CommonSettings) -> dt.date:
    """The platform's today: `IRO_TODAY` when set, else today's date in England."""
    return Clock(settings.today).today()


def signing_secret(environ: dict[str, str] | None = None) -> str:
    """The `simulator` source's first secret in `IRO_INGEST_SECRETS` (JSON: source to a list of
    secrets), else the development secret."""
    raw = (environ if environ is not None else dict(os.environ)).get(SECRETS_VARIABLE, "").strip()
    if not raw:
        return signing.DEVELOPMENT_SECRET
    try:
        secrets = json.loads(raw)
    except ValueError:
        raise SystemExit(f"iro simulate: {SECRETS_VARIABLE} is not JSON") from None
    found = secrets.get(SOURCE) if isinstance(secrets, dict) else None
    if isinstance(found, str) and found:
        return found
    if isinstance(found, list) and found and isinstance(found[0], str):
        return found[0]
    return signing.DEVELOPMENT_SECRET


def platform_today(gateway: str, settings: CommonSettings) -> dt.date:
    """The platform's today, which its timeliness figures give away: `as_of` is the earlier of `to`
    and today, so a period ending far ahead (and under the 10 years a period may span) answers today.
    Raises FeedError when the gateway cannot be reached or refuses."""
    token = mint_development_token(settings, sub=MANAGER, roles=["manager"], ttl=300)
    params = {"from": "2190-01-01", "to": "2199-12-31"}
    try:
        response = httpx.get(f"{gateway}/v1/stats/timeliness", params=params, timeout=30.0,
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    except httpx.TransportError as exc:
        raise FeedError(f"cannot reach the gateway at {gateway} ({exc}); start the platform with `iro serve`") from None
    if response.status_code != 200:
        raise FeedError(f"GET {gateway}/v1/stats/timeliness: {response.status_code} {response.text[:300]}")
    return dt.date.fromisoformat(str(response.json()["as_of"]))


def say(message: str) -> None:
    print(message, flush=True)


def parse_years(text: str | None) -> list[int] | None:
    """`--collection-years`: `2024,2025` to [2024, 2025] (None when not given); ValueError if not years."""
    if text is None:
        return None
    years = sorted({int(part) for part in text.replace(" ", "").split(",") if part})
    if not years or not all(2000 <= year <= 2199 for year in years):
        raise ValueError(f"{text!r} is not a list of collection years")
    return years


def write_returns(world: World, args: argparse.Namespace, started: float) -> int:
    """`--ssda903-dir`: the world's returns, one folder per collection year, and the figures expected
    once they are imported oldest first (DIR/expected.json, and `--expected` when given)."""
    try:
        years = parse_years(args.collection_years)
    except ValueError:
        print(f"iro simulate: --collection-years {args.collection_years!r} is not a list of years such as 2024,2025",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        made = ssda903.returns(world, years, history=args.ssda903_history)
        document = ssda903.figures(world, [one.year for one in made], history=args.ssda903_history)
    except ValueError as exc:
        print(f"iro simulate: {exc}", file=sys.stderr)
        return 2
    options = world.options
    say(
        f"iro simulate: seed {options.seed}: {options.children:,} children, {options.iros:,} IROs, "
        f"{world.start} to {world.end} (today {options.today}); generated in {time.monotonic() - started:.1f} s"
    )
    folder: Path = args.ssda903_dir
    for one in made:
        one.write(folder / str(one.year))
        rows = one.rows
        say(
            f"  SSDA903 return {one.year} (as at {one.cut}, history: {one.history}): {folder / str(one.year)}: "
            f"{len(rows['header']):,} children, {len(rows['episodes']):,} episodes, {len(rows['reviews']):,} reviews"
        )
    text = json.dumps(document, indent=2) + "\n"
    (folder / "expected.json").write_text(text, encoding="utf-8")
    say(f"  expected figures once imported oldest first: {folder / 'expected.json'}")
    if args.expected:
        args.expected.parent.mkdir(parents=True, exist_ok=True)
        args.expected.write_text(text, encoding="utf-8")
        say(f"  and: {args.expected}")
    for refusal in document["ssda903"]["refusals"]:
        say(f"  expected refusal: {refusal['year']} {refusal['file']} CHILD {refusal['child']}: {refusal['reason']}")
    return 0


def run(args: argparse.Namespace) -> int:
    if min(args.children, args.iros, args.years) < 1 or args.batch_size < 1 or args.concurrency < 1:
        print(
            "iro simulate: --children, --iros, --years, --batch-size and --concurrency must be at least 1",
            file=sys.stderr,
        )
        return 2
    if (args.collection_years is not None or args.ssda903_history != "period") and args.ssda903_dir is None:
        print("iro simulate: --collection-years and --ssda903-history go with --ssda903-dir", file=sys.stderr)
        return 2
    settings = CommonSettings()
    day = today(settings)
    if args.ssda903_dir is not None:  # the returns are written, never sent: the platform is not asked
        started = time.monotonic()
        options = Options(children=args.children, iros=args.iros, years=args.years, seed=args.seed, today=day,
                          closure_days=tuple(settings.local_closure_days))  # fmt: skip
        return write_returns(generate(options), args, started)
    gateway = args.gateway.rstrip("/")
    if not args.dry_run:
        try:
            theirs = platform_today(gateway, settings)
        except FeedError as exc:
            print(f"iro simulate: {exc}", file=sys.stderr)
            return 1
        if theirs != day:
            say(f"iro simulate: the platform's today is {theirs}, not {day} (IRO_TODAY?): the world ends the day "
                "before the platform's today.")  # fmt: skip
            day = theirs
    options = Options(
        children=args.children,
        iros=args.iros,
        years=args.years,
        seed=args.seed,
        today=day,
        closure_days=tuple(settings.local_closure_days),
    )
    started = time.monotonic()
    world = generate(options)
    api_activity = not args.no_api_activity
    document = expected.figures(world, api_activity=api_activity)
    counts = document["world"]
    say(
        f"iro simulate: seed {options.seed}: {options.children:,} children, {options.iros:,} IROs, "
        f"{world.start} to {world.end} (today {options.today}); generated in {time.monotonic() - started:.1f} s"
    )
    say(
        f"  {counts['care_periods']:,} care periods, {counts['reviews_held']:,} reviews held "
        f"({counts['reviews_held_late']:,} late, {counts['reviews_missed']:,} missed), "
        f"{len(cloudevents(world)):,} case-system events"
    )
    if args.expected:
        args.expected.parent.mkdir(parents=True, exist_ok=True)
        args.expected.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        say(f"  expected figures: {args.expected}")
    if args.dry_run:
        return 0
    say(f"Feeding {args.gateway} ...")
    feed_options = FeedOptions(
        gateway=gateway,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        api_activity=api_activity,
        secret=signing_secret(),
        settings=settings,
    )
    try:
        summary = asyncio.run(feed(world, feed_options, document=document))
    except FeedError as exc:
        print(f"iro simulate: {exc}", file=sys.stderr)
        return 1
    for line in summary.lines():
        say(line)
    return 0 if summary.ok else 1
