"""Gateway hop: one GET through the gateway against the same GET straight to the service (run by hand).

    .venv/bin/python bench/gateway_hop.py [--seconds 10] [--rounds 5] [--loader auto|wrk|aiohttp] [--write-results]

Starts `iro serve` (embedded PostgreSQL) on free ports in a temporary folder, registers an IRO and a
child with a care period and an allocation through the gateway, then measures `GET /v1/children/{id}`
(three reads in the reviews service) over TCP with 1 and 16 concurrent clients against four targets:

- `direct`: the reviews service's own port;
- `gateway`: the real gateway (auth, access matrix, middleware, pooled httpx client, streamed body);
- `proxy-httpx` and `proxy-aiohttp`: two bare proxies started by this script (Starlette under uvicorn,
  one process each, like the gateway) forwarding to the reviews service with a pooled
  `httpx.AsyncClient` or a pooled `aiohttp.ClientSession`, the same header filtering and a streamed
  body: they differ only in the HTTP client, to choose the gateway's client by the numbers.

The load comes from `wrk` when installed (`apt-get install wrk`; C, one thread, keep-alive), else
from an in-process aiohttp client. Needs aiohttp in the venv (`.venv/bin/pip install aiohttp`).
bench/README.md says more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.e2e.processes, when run as `python bench/gateway_hop.py`

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402
import uvicorn  # noqa: E402
import yarl  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.background import BackgroundTask  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from bench import common  # noqa: E402
from bench._load import WRK_DONE, run_wrk  # noqa: E402
from bench.common import MANAGER  # noqa: E402
from services.gateway.proxy import NOT_FROM_CLIENT, NOT_TO_CLIENT  # noqa: E402
from shared.auth import mint_development_token  # noqa: E402
from shared.settings import CommonSettings  # noqa: E402
from tests.e2e.processes import Platform, free_ports, start_platform  # noqa: E402

SECTION = "gateway-hop"
TARGETS = ("direct", "gateway", "proxy-httpx", "proxy-aiohttp")
CLIENTS = (1, 16)
MAX_REQUESTS_PER_RUN = 500_000  # a bound on count as well as on time (the aiohttp loader)
POOL = 100  # pooled connections per proxy, as the gateway's GATEWAY_MAX_CONNECTIONS default
IRO = "alice@council.gov.uk"
QUANTILES = 1000


# --- The two bare proxies (run in subprocesses: `gateway_hop.py --serve-proxy httpx|aiohttp`) -----


def forward_headers(request: Request) -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.headers.items() if name.lower() not in NOT_FROM_CLIENT]


def httpx_proxy(upstream: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            base_url=upstream,
            timeout=httpx.Timeout(30.0, connect=2.0),
            limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL),
            follow_redirects=False,
        ) as client:
            app.state.client = client
            yield

    async def forward(request: Request) -> Response:
        client: httpx.AsyncClient = request.app.state.client
        outgoing = client.build_request(
            request.method,
            httpx.URL(path=request.url.path, query=request.url.query.encode("latin-1")),
            headers=forward_headers(request),
            content=request.stream() if request.method not in ("GET", "HEAD", "DELETE") else None,
        )
        try:
            upstream_response = await client.send(outgoing, stream=True)
        except httpx.TransportError:
            return Response(status_code=502)
        headers = {k: v for k, v in upstream_response.headers.items() if k.lower() not in NOT_TO_CLIENT}
        return StreamingResponse(
            upstream_response.aiter_raw(),
            status_code=upstream_response.status_code,
            headers=headers,
            background=BackgroundTask(upstream_response.aclose),
        )

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])], lifespan=lifespan)


def aiohttp_proxy(upstream: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=POOL, limit_per_host=POOL)
        timeout = aiohttp.ClientTimeout(total=30.0, connect=2.0)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
            app.state.session = session
            yield

    async def forward(request: Request) -> Response:
        session: aiohttp.ClientSession = request.app.state.session
        url = yarl.URL(
            upstream + request.url.path + (f"?{request.url.query}" if request.url.query else ""), encoded=True
        )
        try:
            upstream_response = await session.request(
                request.method,
                url,
                headers=forward_headers(request),
                data=request.stream() if request.method not in ("GET", "HEAD", "DELETE") else None,
                allow_redirects=False,
            )
        except aiohttp.ClientError:
            return Response(status_code=502)
        headers = {k: v for k, v in upstream_response.headers.items() if k.lower() not in NOT_TO_CLIENT}

        async def release() -> None:
            upstream_response.release()

        return StreamingResponse(
            upstream_response.content.iter_any(),
            status_code=upstream_response.status,
            headers=headers,
            background=BackgroundTask(release),
        )

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])], lifespan=lifespan)


def serve_proxy(kind: str, port: int, upstream: str) -> None:
    app = httpx_proxy(upstream) if kind == "httpx" else aiohttp_proxy(upstream)
    # uvicorn's defaults (uvloop and httptools when installed), as `iro serve` runs the gateway.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_proxy(kind: str, upstream: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    [port] = free_ports(1)
    command = [sys.executable, __file__, "--serve-proxy", kind, "--port", str(port), "--upstream", upstream]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


# --- CPU accounting ----------------------------------------------------------------------------


@dataclass
class Watched:
    """The processes whose CPU each case reports."""

    hops: dict[str, psutil.Process]  # target -> the process between client and service
    reviews: psutil.Process
    postmaster: psutil.Process | None

    def snapshot(self) -> dict[str, Any]:
        return {
            "own": common.own_cpu(),
            "machine": common.machine_cpu(),
            "hops": {target: common.cpu_by_pid([p]) for target, p in self.hops.items()},
            "reviews": common.cpu_by_pid([self.reviews]),
            "postgres": common.cpu_by_pid(common.process_family(self.postmaster)),
        }


def find_processes(platform_: Platform, proxies: dict[str, subprocess.Popen[bytes]]) -> Watched:
    children = psutil.Process(platform_.process.pid).children(recursive=True)

    def service(name: str) -> psutil.Process:
        for process in children:
            with contextlib.suppress(psutil.Error):
                if f"services.{name}.main:create_app" in " ".join(process.cmdline()):
                    return process
        raise RuntimeError(f"no {name} process under iro serve")

    postmaster = common.embedded_postmaster(platform_.data_dir)
    hops = {"gateway": service("gateway")}
    hops.update({f"proxy-{kind}": psutil.Process(p.pid) for kind, p in proxies.items()})
    return Watched(hops=hops, reviews=service("reviews"), postmaster=postmaster)


def postgres_version(postmaster: psutil.Process | None) -> str:
    if postmaster is None:
        return "unknown"
    try:
        out = subprocess.run([postmaster.exe(), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, psutil.Error, subprocess.SubprocessError):
        return "unknown"
    return out.strip().removeprefix("postgres (PostgreSQL) ").strip() or "unknown"


# --- Load generators ---------------------------------------------------------------------------


@dataclass
class Run:
    requests: int
    errors: int
    duration: float  # seconds, as the load generator measured them
    latencies: Counter[int]  # µs -> how many requests took that long (weights, from wrk's quantiles)


def wrk_run(wrk: str, script: Path, url: str, token: str, clients: int, seconds: float) -> Run:
    out = run_wrk(wrk, script, url, headers={"Authorization": f"Bearer {token}"}, clients=clients, seconds=seconds)
    latencies: Counter[int] = Counter()
    for us in out.quantiles_us:
        latencies[us] += out.requests / QUANTILES
    return Run(requests=out.requests, errors=out.errors, duration=out.duration, latencies=latencies)


async def aiohttp_load(url: str, token: str, clients: int, seconds: float, max_requests: int) -> Run:
    latencies: Counter[int] = Counter()
    done = errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def client() -> None:
            nonlocal done, errors
            while done < max_requests and (start := time.perf_counter()) < deadline:
                try:
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                latencies[int((time.perf_counter() - start) * 1e6)] += 1
                done += 1
                errors += not ok

        await asyncio.gather(*(client() for _ in range(clients)))
        duration = time.perf_counter() - started
    return Run(requests=done, errors=errors, duration=duration, latencies=latencies)


class Loader:
    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.wrk = shutil.which("wrk") if kind == "wrk" else None
        self.script = folder / "report.lua"
        self.script.write_text(WRK_DONE)

    def describe(self) -> str:
        if self.wrk:
            version = subprocess.run([self.wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
            return f"{version.split(' [')[0].strip()} (one thread, keep-alive; a separate process)"
        return f"aiohttp {aiohttp.__version__} client in the benchmark process (keep-alive)"

    def run(self, url: str, token: str, clients: int, seconds: float) -> Run:
        if self.wrk:
            return wrk_run(self.wrk, self.script, url, token, clients, seconds)
        return asyncio.run(aiohttp_load(url, token, clients, seconds, MAX_REQUESTS_PER_RUN))


# --- Measuring -----------------------------------------------------------------------------------


@dataclass
class Case:
    """One target at one client count, summed over its rounds."""

    target: str
    clients: int
    requests: int = 0
    errors: int = 0
    duration: float = 0.0
    wall: float = 0.0
    latencies: Counter[int] = field(default_factory=Counter)
    round_rates: list[float] = field(default_factory=list)
    cpu: Counter[str] = field(default_factory=Counter)  # load, hop, reviews, postgres, machine, steal

    @property
    def rate(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        """Milliseconds: the smallest latency at or above which p % of the (weighted) requests lie."""
        total = sum(self.latencies.values())
        if not total:
            return float("nan")
        rank, seen = p / 100 * total, 0.0
        for us in sorted(self.latencies):
            seen += self.latencies[us]
            if seen >= rank:
                return us / 1000
        return max(self.latencies) / 1000

    def pct(self, role: str) -> float:
        return 100 * self.cpu[role] / self.wall if self.wall else 0.0

    @property
    def other(self) -> float:
        mine = sum(self.cpu[role] for role in ("load", "hop", "reviews", "postgres"))
        return max(0.0, 100 * (self.cpu["machine"] - mine) / self.wall) if self.wall else 0.0

    def per_request(self, role: str) -> float:
        """CPU milliseconds per request."""
        return 1000 * self.cpu[role] / self.requests if self.requests else float("nan")


def measure_once(
    case: Case, loader: Loader, url: str, token: str, warmup: float, seconds: float, watched: Watched
) -> None:
    if warmup > 0:
        loader.run(url, token, case.clients, warmup)
    before, started = watched.snapshot(), time.perf_counter()
    run = loader.run(url, token, case.clients, seconds)
    after, wall = watched.snapshot(), time.perf_counter() - started
    case.requests += run.requests
    case.errors += run.errors
    case.duration += run.duration
    case.wall += wall
    case.latencies.update(run.latencies)
    case.round_rates.append(run.requests / run.duration if run.duration else 0.0)
    case.cpu["load"] += after["own"] - before["own"]
    case.cpu["machine"] += after["machine"][0] - before["machine"][0]
    case.cpu["steal"] += after["machine"][1] - before["machine"][1]
    case.cpu["reviews"] += common.cpu_delta(after["reviews"], before["reviews"])
    case.cpu["postgres"] += common.cpu_delta(after["postgres"], before["postgres"])
    if case.target in watched.hops:
        case.cpu["hop"] += common.cpu_delta(after["hops"][case.target], before["hops"][case.target])


def make_data(gateway: str, *, tag: str = "1", today: dt.date | None = None) -> tuple[str, str]:
    """An IRO, a child with an open care period allocated to that IRO; the child's path and a token.
    `tag` makes the child's reference and the IRO's email unique (a second run on the same platform);
    `today` is the platform's today (the care period starts 28 days before it)."""
    settings = CommonSettings()
    token = mint_development_token(settings, sub=MANAGER, roles=["manager"], ttl=6 * 3600)
    headers = {"Authorization": f"Bearer {token}"}
    started = ((today or dt.date.today()) - dt.timedelta(days=28)).isoformat()
    email = IRO if tag == "1" else IRO.replace("@", f".{tag}@")
    with httpx.Client(base_url=gateway, headers=headers, timeout=20) as client:

        def ok(response: httpx.Response, status: int = 200) -> Any:
            if response.status_code != status:
                raise RuntimeError(
                    f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
                )
            return response.json()

        iro = ok(client.post("/v1/iros", json={"name": "Alice", "email": email, "fte": 0.8}), 201)
        child = ok(
            client.post("/v1/children", json={"la_reference": f"BENCH-{tag}", "date_of_birth": "2012-05-01"}), 201
        )
        period = {"started_on": started, "legal_status": "C2", "placement_type": "U4"}
        ok(client.post(f"/v1/children/{child['id']}/care-periods", json=period), 201)
        ok(client.put(f"/v1/children/{child['id']}/iro", json={"iro_id": iro["id"], "allocated_on": started}))
    return f"/v1/children/{child['id']}", token


def check_targets(urls: dict[str, str], path: str, token: str) -> None:
    """Every target answers the GET with 200 and the same body."""
    bodies = {}
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {token}"}) as client:
        for target, url in urls.items():
            response = client.get(url + path)
            if response.status_code != 200:
                raise RuntimeError(f"{target}: GET {path} answered {response.status_code}: {response.text}")
            bodies[target] = response.json()
    if any(body != bodies["direct"] for body in bodies.values()):
        raise RuntimeError(f"the targets answer differently: {bodies}")


def bench(args: argparse.Namespace, folder: Path) -> tuple[list[Case], dict[str, str]]:
    loader_kind = args.loader if args.loader != "auto" else ("wrk" if shutil.which("wrk") else "aiohttp")
    if loader_kind == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --loader aiohttp")
    loader = Loader(loader_kind, folder)
    platform_ = start_platform(folder / "data")
    proxies: dict[str, subprocess.Popen[bytes]] = {}
    try:
        platform_.wait_ready()
        path, token = make_data(platform_.url())
        urls = {"direct": platform_.url("reviews"), "gateway": platform_.url()}
        for kind in ("httpx", "aiohttp"):
            proxies[kind], urls[f"proxy-{kind}"] = start_proxy(kind, platform_.url("reviews"), folder / f"{kind}.log")
        for kind, process in proxies.items():
            common.wait_answering(urls[f"proxy-{kind}"], process, what=f"proxy-{kind}")
        check_targets(urls, path, token)
        watched = find_processes(platform_, proxies)
        info = {
            "path": "GET /v1/children/{id}",
            "postgres": postgres_version(watched.postmaster),
            "loader": loader.describe(),
        }
        cases = {(t, c): Case(t, c) for c in CLIENTS for t in TARGETS}
        order = list(cases)
        per_round = args.seconds / args.rounds
        print(
            f"measuring {len(order)} cases x {args.rounds} rounds of {per_round:g} s, with {loader_kind}",
            file=sys.stderr,
        )
        for round_ in range(args.rounds):
            shift = round_ % len(order)
            for key in order[shift:] + order[:shift]:  # rotate, so a slow spell of the machine hits all cases alike
                measure_once(cases[key], loader, urls[key[0]] + path, token, args.warmup, per_round, watched)
            print(f"  round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        return list(cases.values()), info
    finally:
        for process in proxies.values():
            process.terminate()
        for process in proxies.values():
            common.stop_process(process)
        code = platform_.stop()
        if code != 0:
            print(f"iro serve exited {code}; its log:\n{platform_.log.read_text()}", file=sys.stderr)


# --- As a workload of `python -m bench` ------------------------------------------------------------


HOP_TARGETS = ("direct", "gateway", "proxy-aiohttp")
GOAL_VS_PROXY, GOAL_EXTRA_CPU_MS = 0.9, 0.3


def run(context: Any) -> list[Any]:
    """The `gateway hop` workload of `python -m bench` (bench.common.Context in, Results out): on the running
    platform, `GET /v1/children/{id}` (a child made here) at 1 and 16 clients through the gateway (platform)
    against a bare aiohttp proxy started here in front of the same reviews service (baseline), and the
    service direct (in `extra`); wrk when installed. Goal: req/s >= 0.9 of the bare proxy at both client
    counts, and the gateway's CPU per request <= the proxy's + 0.3 ms."""
    import secrets

    from bench.common import Measurement, Result, ratio

    wrk = context.tools.get("wrk") or shutil.which("wrk")
    loader = Loader("wrk" if wrk else "aiohttp", context.folder)
    loader.wrk = wrk
    tag = secrets.token_hex(3)
    path, token = make_data(context.gateway, tag=tag, today=context.today)
    reviews = context.services["reviews"]
    proxy, proxy_url = start_proxy("aiohttp", reviews, context.folder / f"proxy-aiohttp-{tag}.log")
    try:
        common.wait_answering(proxy_url, proxy, what="proxy-aiohttp")
        urls = {"direct": reviews, "gateway": context.gateway, "proxy-aiohttp": proxy_url}
        check_targets(urls, path, token)
        postgres = context.processes.get("postgres")
        watched = Watched(
            hops={"gateway": psutil.Process(context.processes["gateway"]), "proxy-aiohttp": psutil.Process(proxy.pid)},
            reviews=psutil.Process(context.processes["reviews"]),
            postmaster=psutil.Process(postgres) if postgres else None,
        )
        cases = {(t, c): Case(t, c) for c in CLIENTS for t in HOP_TARGETS}
        order = list(cases)
        per_round = context.seconds / context.rounds
        for round_ in range(context.rounds):
            shift = round_ % len(order)
            for key in order[shift:] + order[:shift]:
                warmup = 0.0 if context.smoke else 1.0  # wrk runs 1 s at least: a smoke run warms up in no time
                measure_once(cases[key], loader, urls[key[0]] + path, token, warmup, per_round, watched)
    finally:
        common.stop_process(proxy)

    def measurement(case: Case, label: str) -> Measurement:
        hop = {"gateway": "gateway", "proxy-aiohttp": "proxy"}.get(case.target)
        cpu = {"load": case.pct("load"), "reviews": case.pct("reviews"), "postgres": case.pct("postgres")}
        if hop:
            cpu[hop] = case.pct("hop")
        return Measurement(
            label=label, throughput=round(case.rate, 1), unit="req/s", p50_ms=case.percentile(50),
            p95_ms=case.percentile(95), p99_ms=case.percentile(99), count=case.requests, errors=case.errors,
            cpu={k: round(v, 1) for k, v in cpu.items()},
        )  # fmt: skip

    results = []
    for clients in CLIENTS:
        gateway, proxy_case, direct = (cases[(t, clients)] for t in ("gateway", "proxy-aiohttp", "direct"))
        p = measurement(gateway, "GET /v1/children/{id} through the gateway")
        b = measurement(proxy_case, "the same GET through a bare aiohttp proxy")
        r = ratio(p.throughput, b.throughput)
        gateway_ms, proxy_ms = gateway.per_request("hop"), proxy_case.per_request("hop")
        cpu_ok = gateway_ms <= proxy_ms + GOAL_EXTRA_CPU_MS
        results.append(
            Result(
                workload="gateway hop",
                case=f"GET, {clients} client{'s' if clients > 1 else ''}",
                platform=p,
                baseline=b,
                ratio=r,
                goal=f">= {GOAL_VS_PROXY} of the bare proxy; gateway CPU/req <= proxy's + {GOAL_EXTRA_CPU_MS} ms",
                met=None if r is None else bool(r >= GOAL_VS_PROXY and cpu_ok),
                notes=[
                    f"hop CPU per request: gateway {gateway_ms:.2f} ms, bare proxy {proxy_ms:.2f} ms"
                    f" ({'met' if cpu_ok else 'NOT met'}: <= proxy's + {GOAL_EXTRA_CPU_MS} ms)",
                    f"the service direct: {direct.rate:.0f} req/s (gateway {gateway.rate / direct.rate:.2f} of it)"
                    if direct.rate
                    else "the service direct: no requests",
                    f"load generator: {loader.describe()}",
                ],
                extra={
                    "direct": measurement(direct, "the same GET to the reviews service direct").__dict__,
                    "hop_cpu_ms_per_request": {"gateway": round(gateway_ms, 3), "proxy": round(proxy_ms, 3)},
                    "round_rates": {t: [round(x, 1) for x in cases[(t, clients)].round_rates] for t in HOP_TARGETS},
                },
            )
        )
    return results


# --- Reporting -----------------------------------------------------------------------------------


def _versions() -> str:
    import starlette

    return (
        f"Python {platform.python_version()}, uvicorn {uvicorn.__version__}, starlette {starlette.__version__}, "
        f"httpx {httpx.__version__}, aiohttp {aiohttp.__version__}"
    )


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(cases: list[Case], info: dict[str, str], args: argparse.Namespace) -> str:
    by = {(c.target, c.clients): c for c in cases}
    cores = psutil.cpu_count() or 1
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    per_round = args.seconds / args.rounds
    lines = [
        "## Gateway hop",
        "",
        f"- Date: {now}; {args.seconds:g} s measured per case in {args.rounds} rounds of {per_round:g} s, each "
        f"round running every case once (rotating order, {args.warmup:g} s warm-up before each)",
        f"- Machine: {cores} cores, {common.cpu_model()}, {platform.platform()}",
        f"- PostgreSQL {info['postgres']} (embedded, `iro serve`); {_versions()}",
        f"- Request: `{info['path']}` (the reviews service reads the child, its open care period and its "
        "allocation: three queries), a manager's bearer token; load generator: " + info["loader"],
        "",
        "| target | clients | requests | req/s | rounds min-max | vs direct | p50 ms | p95 ms | p50 added "
        "| load CPU | hop CPU | reviews CPU | postgres CPU | other CPU | steal | hop CPU ms/req |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for clients in CLIENTS:
        direct = by[("direct", clients)]
        for target in TARGETS:
            c = by[(target, clients)]
            hop = target != "direct"
            added = f"{c.percentile(50) - direct.percentile(50):+.2f}" if hop else "-"
            hop_cpu = f"{c.pct('hop'):.0f} %" if hop else "-"
            hop_per_request = f"{c.per_request('hop'):.2f}" if hop else "-"
            rounds = f"{min(c.round_rates):.0f}-{max(c.round_rates):.0f}"
            lines.append(
                f"| {target} | {clients} | {c.requests} | {c.rate:.0f} | {rounds} | {c.rate / direct.rate:.2f}"
                f" | {c.percentile(50):.2f} | {c.percentile(95):.2f} | {added} | {c.pct('load'):.0f} % | {hop_cpu}"
                f" | {c.pct('reviews'):.0f} % | {c.pct('postgres'):.0f} % | {c.other:.0f} % | {c.pct('steal'):.0f} %"
                f" | {hop_per_request} |"
            )
    errors = {f"{c.target}@{c.clients}": c.errors for c in cases if c.errors}
    lines += [
        "",
        "`req/s` is all the case's requests over its measured time; `p50`/`p95` are over all its requests; "
        "`p50 added` is against direct at the same client count. CPU is % of one core over the case's wall "
        "time: `load` the load generator, `hop` the process between client and service (the gateway or the "
        "bare proxy), `reviews` the reviews service, `postgres` the postmaster and its children, `other` the "
        "rest of the machine's busy time (the idle services, other people's load), `steal` the time the "
        "hypervisor gave this VM's cores to others (CPU this machine wanted and did not get). "
        "`hop CPU ms/req` is the hop's CPU time per request.",
        "",
        f"- Errors (non-2xx, timeouts, socket errors): {errors or 'none'}",
    ]
    lines += ["", *goals(by), "", "Reading (generated from the figures):", ""]
    lines += [f"- {text}" for text in reading(by, cores)]
    return "\n".join(lines) + "\n"


def _paired(by: dict[tuple[str, int], Case], a: str, b: str, clients: int) -> list[float]:
    """Round by round ratios a/b (the two ran in the same round, close in time)."""
    return [x / y for x, y in zip(by[(a, clients)].round_rates, by[(b, clients)].round_rates, strict=True) if y]


def recommendation(by: dict[tuple[str, int], Case]) -> tuple[str, str]:
    """('aiohttp' | 'httpx', why): aiohttp only if it is clearly and consistently faster at 16 clients."""
    httpx_, aiohttp_ = by[("proxy-httpx", 16)], by[("proxy-aiohttp", 16)]
    ratio = aiohttp_.rate / httpx_.rate
    paired = _paired(by, "proxy-aiohttp", "proxy-httpx", 16)
    wins = sum(r > 1 for r in paired)
    cpu = (httpx_.per_request("hop"), aiohttp_.per_request("hop"))
    figures = (
        f"at 16 clients proxy-aiohttp / proxy-httpx = {ratio:.2f} in req/s (round by round "
        f"{min(paired):.2f}-{max(paired):.2f}, aiohttp ahead in {wins} of {len(paired)} rounds); hop CPU per "
        f"request {cpu[0]:.2f} ms (httpx) against {cpu[1]:.2f} ms (aiohttp)"
    )
    if ratio >= 1.10 and wins >= 0.8 * len(paired):
        return "aiohttp", f"{figures}: aiohttp is clearly and consistently faster"
    if ratio <= 0.9 and wins <= 0.2 * len(paired):
        return "httpx", f"{figures}: httpx is faster; keep it"
    return "httpx", f"{figures}: no clear difference (goal for a switch: >= 1.10 in most rounds); keep httpx"


def goals(by: dict[tuple[str, int], Case]) -> list[str]:
    out = []
    for clients in CLIENTS:
        ratio = by[("gateway", clients)].rate / by[("direct", clients)].rate
        out.append(f"- gateway@{clients} / direct@{clients} req/s = **{ratio:.2f}** (goal >= 0.7): {met(ratio >= 0.7)}")
    added = by[("gateway", 1)].percentile(50) - by[("direct", 1)].percentile(50)
    out.append(f"- median added by the gateway at 1 client = **{added:+.2f} ms** (goal <= 1 ms): {met(added <= 1.0)}")
    for kind in ("httpx", "aiohttp"):
        target = f"proxy-{kind}"
        ratios = ", ".join(f"@{c}: {by[(target, c)].rate / by[('direct', c)].rate:.2f}" for c in CLIENTS)
        add = by[(target, 1)].percentile(50) - by[("direct", 1)].percentile(50)
        out.append(f"- bare proxy with {kind}: / direct {ratios}; median added at 1 client {add:+.2f} ms")
    choice, why = recommendation(by)
    out.append(f"- **Client for the gateway: {choice}**: {why}.")
    return out


def reading(by: dict[tuple[str, int], Case], cores: int) -> list[str]:
    out = []
    d1, g1, h1, a1 = (by[(t, 1)] for t in TARGETS)
    d16, g16, _h16, a16 = (by[(t, 16)] for t in TARGETS)
    busiest = max(by.values(), key=lambda c: c.cpu["machine"] / c.wall)
    out.append(
        f"The machine has {cores} cores, and the load generator, the hop, the reviews service and PostgreSQL all "
        f"share them: the busiest case ({busiest.target}@{busiest.clients}) kept "
        f"{busiest.cpu['machine'] / busiest.wall:.1f} of the {cores} cores busy. The figures are as they are on "
        "this machine, not what a gateway on cores of its own would give."
    )
    reviews, gateway = d16.per_request("reviews"), g16.per_request("hop")
    machine_direct, machine_gateway = (1000 * c.cpu["machine"] / c.requests for c in (d16, g16))
    out.append(
        f"At 16 clients direct is bounded by the reviews service's one event loop ({d16.pct('reviews'):.0f} % of a "
        f"core, {reviews:.2f} ms of CPU per request: at most about {1000 / reviews:.0f} req/s). Through the "
        f"gateway a request costs the machine {machine_gateway:.2f} ms of CPU in all (direct: {machine_direct:.2f} "
        f"ms), which on {cores} cores caps it near {1000 * cores / machine_gateway:.0f} req/s; measured "
        f"{g16.rate:.0f}, i.e. {g16.rate / d16.rate:.2f} of direct. On cores of its own, one gateway process at "
        f"{gateway:.2f} ms per request would pass at most about {1000 / gateway:.0f} req/s against the reviews "
        f"process's {1000 / reviews:.0f}: it spends {'more' if gateway > reviews else 'less'} CPU per request than "
        "the service behind it."
    )
    added = g1.percentile(50) - d1.percentile(50)
    alike = 0.7 <= added / g1.per_request("hop") <= 1.3 if g1.per_request("hop") > 0 else False
    out.append(
        "At one client, the median added by each hop beside its CPU time per request"
        + (" (alike: the hop's Python work is the latency, not the loopback network)" if alike else "")
        + f": gateway {added:+.2f} ms for "
        f"{g1.per_request('hop'):.2f} ms of CPU, proxy-httpx {h1.percentile(50) - d1.percentile(50):+.2f} ms for "
        f"{h1.per_request('hop'):.2f} ms, proxy-aiohttp {a1.percentile(50) - d1.percentile(50):+.2f} ms for "
        f"{a1.per_request('hop'):.2f} ms."
    )
    bare = a16.per_request("hop")
    own = gateway - bare
    out.append(
        f"The gateway (on aiohttp's client since these figures) spends {gateway:.2f} ms of CPU per request at "
        f"16 clients against the bare aiohttp proxy's {bare:.2f} ms: {own:.2f} ms is the gateway's own work "
        "(routing, the token check, the access matrix, request-id, body-limit, CORS and metrics middleware, "
        "and asyncio's loop: the gateway does not run on uvloop, see bench/README.md), not the HTTP client."
    )
    load = max(by.values(), key=lambda c: c.pct("load"))
    out.append(
        f"The load generator used at most {load.pct('load'):.0f} % of a core ({load.target}@{load.clients}); it "
        "is counted in the figures as they are, its CPU taken from the services too."
    )
    spread = max((max(c.round_rates) - min(c.round_rates)) / c.rate for c in by.values() if c.rate)
    other = max(c.other for c in by.values())
    steal = max(c.pct("steal") for c in by.values())
    out.append(
        f"Rounds of the same case differed by up to {100 * spread:.0f} % of its req/s; other processes used up "
        f"to {other:.0f} % of a core during a case, and the hypervisor stole up to {steal:.0f} % of a core: "
        "differences smaller than the round-to-round spread are noise."
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each running every case (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each run (default 1)")
    parser.add_argument("--loader", choices=("auto", "wrk", "aiohttp"), default="auto", help="wrk if installed")
    parser.add_argument("--write-results", action="store_true", help="write/update its section in RESULTS.md")
    parser.add_argument("--serve-proxy", choices=("httpx", "aiohttp"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy:
        serve_proxy(args.serve_proxy, args.port, args.upstream)
        return

    with tempfile.TemporaryDirectory(prefix="iro-bench-hop-") as folder:
        cases, info = bench(args, Path(folder))
    body = report(cases, info, args)
    print(body)
    if args.write_results:
        common.write_results(SECTION, body)


if __name__ == "__main__":
    main()
