"""`iro simulate`: generate, write the expected figures, feed a running platform, report."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time

import httpx

from shared.auth import mint_development_token
from shared.clock import Clock
from shared.ingest import signing
from shared.settings import CommonSettings
from shared.simulate import expected, generate
from shared.simulate.events import SOURCE, cloudevents
from shared.simulate.feed import MANAGER, FeedError, FeedOptions, feed
from shared.simulate.world import Options

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
    and today. Raises FeedError when the gateway cannot be reached or refuses."""
    token = mint_development_token(settings, sub=MANAGER, roles=["manager"], ttl=300)
    params = {"from": "2000-01-01", "to": "2199-12-31"}
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


def run(args: argparse.Namespace) -> int:
    if min(args.children, args.iros, args.years) < 1 or args.batch_size < 1 or args.concurrency < 1:
        print(
            "iro simulate: --children, --iros, --years, --batch-size and --concurrency must be at least 1",
            file=sys.stderr,
        )
        return 2
    settings = CommonSettings()
    day = today(settings)
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
