"""Feeding a running platform over TCP, the way a council would.

1. The IROs, as the service manager: `POST /v1/iros` (before any `iro.allocated` names them).
2. The case system's events (`events.cloudevents`), in time order, in signed batches:
   `POST /v1/events` with `Content-Type: application/cloudevents-batch+json`, a token of the
   `integration` role and the Standard Webhooks headers (`shared.ingest.signing.headers_for`, the
   `simulator` source's secret from `IRO_INGEST_SECRETS`, else the development secret). A 503 (or a
   lost connection) sends the same batch again later: what was applied comes back `duplicate`.
3. After each batch, the work on the API about the reviews it held, as the chairing IRO (or the
   manager): each review found by `GET /v1/children?la_reference=` and its reviews; decisions and
   their follow-up, record-keeping dates, participation, midway reviews, escalations up the ladder,
   commendations, feedback and advocacy referrals. At most `concurrency` requests at a time.
4. At the end, the escalations about several children or the whole service; then the platform's
   timeliness and participation figures for every period, compared with the expected ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from shared.auth import mint_development_token
from shared.ingest import signing
from shared.settings import CommonSettings
from shared.simulate import expected as figures
from shared.simulate.events import Outgoing, cloudevents
from shared.simulate.world import CarePeriod, Child, Escalation, Review, World

BATCH_TYPE: Final = "application/cloudevents-batch+json"
MANAGER: Final = "simulator.manager@council.gov.uk"
INTEGRATION: Final = "simulator"
TOKEN_TTL: Final = 12 * 3600
RETRYABLE: Final = frozenset({502, 503, 504})
ATTEMPTS: Final = 8
SHOWN: Final = 20  # problems printed in full; the rest are counted


class FeedError(RuntimeError):
    """The platform refused a whole request (not one event): the run cannot go on."""


@dataclass
class FeedOptions:
    gateway: str
    batch_size: int = 500
    concurrency: int = 8
    api_activity: bool = True
    compare: bool = True
    secret: str = signing.DEVELOPMENT_SECRET
    settings: CommonSettings = field(default_factory=CommonSettings)


@dataclass
class Summary:
    events: int = 0
    batches: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    same_iro_duplicates: int = 0  # `duplicate` as it should be: allocating the IRO already allocated
    rejections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    api_calls: int = 0
    api_by_kind: Counter[str] = field(default_factory=Counter)
    api_failures: list[str] = field(default_factory=list)
    retries: int = 0
    periods_compared: int = 0
    disagreements: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.outcomes["rejected"] or self.api_failures or self.disagreements)

    def lines(self) -> list[str]:
        out = [
            f"Events: {self.events:,} sent in {self.batches:,} batches: {self.outcomes['accepted']:,} accepted, "
            f"{self.outcomes['duplicate']:,} duplicate, {self.outcomes['rejected']:,} rejected"
            f" ({len(self.warnings):,} with warnings)",
        ]
        if self.same_iro_duplicates:
            out.append(
                f"  {self.same_iro_duplicates:,} of the duplicates allocate the IRO already allocated "
                "(a new care period, the same IRO): the platform rightly changes nothing"
            )
        for rejection in self.rejections[:SHOWN]:
            out.append(f"  rejected: {rejection}")
        if len(self.rejections) > SHOWN:
            out.append(f"  ... and {len(self.rejections) - SHOWN:,} more rejected")
        for warning in self.warnings[:SHOWN]:
            out.append(f"  warning: {warning}")
        kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.api_by_kind.items()))
        out.append(f"API calls: {self.api_calls:,} ({len(self.api_failures):,} failed){': ' + kinds if kinds else ''}")
        for failure in self.api_failures[:SHOWN]:
            out.append(f"  failed: {failure}")
        if len(self.api_failures) > SHOWN:
            out.append(f"  ... and {len(self.api_failures) - SHOWN:,} more failed")
        if self.retries:
            out.append(f"Retried requests: {self.retries:,}")
        if self.periods_compared:
            if self.disagreements:
                out.append(f"Figures: {len(self.disagreements):,} disagreements over {self.periods_compared} periods:")
                out.extend(f"  {line}" for line in self.disagreements[:50])
                if len(self.disagreements) > 50:
                    out.append(f"  ... and {len(self.disagreements) - 50:,} more")
                out.append(
                    "  (The platform counts every child it holds: its figures equal these only when it holds "
                    "nothing but this simulation.)"
                )
            else:
                out.append(
                    f"Figures: the platform's timeliness and participation agree for all "
                    f"{self.periods_compared} periods"
                )
        out.append(f"Elapsed: {self.elapsed:.1f} s")
        return out


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:300]}"
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title") or ""
        errors = body.get("errors")
        extra = f" {json.dumps(errors)[:300]}" if errors else ""
        return f"{response.status_code} {body.get('type', '')}: {detail}{extra}"
    return f"{response.status_code} {str(body)[:300]}"


def _retry_after(response: httpx.Response | None, attempt: int) -> float:
    if response is not None:
        try:
            return min(10.0, max(0.2, float(response.headers.get("Retry-After", ""))))
        except ValueError:
            pass
    return float(min(10, 2**attempt)) / 2


class Feeder:
    def __init__(self, world: World, client: httpx.AsyncClient, options: FeedOptions, summary: Summary) -> None:
        self.world, self.client, self.options, self.summary = world, client, options, summary
        self.seed = world.options.seed
        self.minted = 0.0
        self.manager = self.integration = ""
        self.iro_tokens: dict[str, str] = {}
        self.mint()
        self.iro_ids: dict[str, str] = {}
        self.child_ids: dict[str, str] = {}
        self.limit = asyncio.Semaphore(options.concurrency)
        self.questions: list[str] = []
        self.categories: set[str] = set()
        self.last_stage = 5

    def mint(self) -> None:
        """Development tokens (as `iro token` mints them) for the manager, the case system and each
        IRO; minted again after half their life, so a long run never sends an expired one."""
        if time.monotonic() - self.minted < TOKEN_TTL / 2 and self.manager:
            return
        settings = self.options.settings
        self.manager = mint_development_token(settings, sub=MANAGER, roles=["manager"], ttl=TOKEN_TTL)
        self.integration = mint_development_token(settings, sub=INTEGRATION, roles=["integration"], ttl=TOKEN_TTL)
        self.iro_tokens = {
            iro.key: mint_development_token(settings, sub=iro.email, roles=["iro"], ttl=TOKEN_TTL)
            for iro in self.world.iros
        }
        self.minted = time.monotonic()

    # --- HTTP ------------------------------------------------------------------------------------

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        token: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Any:
        """One API call, retried on 502/503/504 or a lost connection; the answer's JSON, or None when
        the platform refused it (counted, with its problem, as a failure)."""
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        response: httpx.Response | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                self.summary.retries += 1
                await asyncio.sleep(_retry_after(response, attempt))
            try:
                async with self.limit:
                    response = await self.client.request(method, path, headers=headers, json=body, params=params)
            except httpx.TransportError:
                response = None
                continue
            retry_conflict = response.status_code == 409 and key is not None and "in flight" in response.text.lower()
            if response.status_code not in RETRYABLE and not retry_conflict:
                break
        self.summary.api_calls += 1
        self.summary.api_by_kind[kind] += 1
        if response is None:
            self.summary.api_failures.append(f"{kind}: {method} {path}: no answer after {ATTEMPTS} attempts")
            return None
        if response.status_code >= 300:
            self.summary.api_failures.append(f"{kind}: {method} {path}: {_problem(response)}")
            return None
        return response.json() if response.content else {}

    async def post_events(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Post one batch (retrying the same batch on 502/503/504); its results, in input order."""
        body = json.dumps(list(events), separators=(",", ":")).encode()
        msg_id = "sim-" + hashlib.sha256(body).hexdigest()[:32]  # the same batch is the same message
        response: httpx.Response | None = None
        for attempt in range(ATTEMPTS * 2):
            if attempt:
                self.summary.retries += 1
                await asyncio.sleep(_retry_after(response, attempt))
            headers = {
                "Authorization": f"Bearer {self.integration}",
                "Content-Type": BATCH_TYPE,
                **signing.headers_for(body, self.options.secret, msg_id=msg_id),
            }
            try:
                response = await self.client.post("/v1/events", content=body, headers=headers)
            except httpx.TransportError:
                response = None
                continue
            if response.status_code not in RETRYABLE:
                break
        if response is None or response.status_code != 200:
            raise FeedError(
                "POST /v1/events: " + (_problem(response) if response is not None else "no answer from the gateway")
            )
        results = response.json().get("results")
        if not isinstance(results, list) or len(results) != len(events):
            raise FeedError(f"POST /v1/events answered {len(results or [])} results for {len(events)} events")
        return results

    # --- Set-up ----------------------------------------------------------------------------------

    async def register_iros(self) -> None:
        for iro in self.world.iros:
            body = {"name": iro.name, "email": iro.email, "fte": str(iro.fte)}
            created = await self.call_quietly(
                "iro", "POST", "/v1/iros", token=self.manager, body=body, key=f"sim-{self.seed}-iro-{iro.key}"
            )
            if created is None:  # already registered (a rerun): find it
                found = await self.call("iro", "GET", "/v1/iros", token=self.manager, params={"email": iro.email})
                items = found.get("items", []) if isinstance(found, dict) else []
                if not items:
                    raise FeedError(f"could not register the IRO {iro.email}")
                created = items[0]
            self.iro_ids[iro.key] = str(created["id"])

    async def call_quietly(self, kind: str, method: str, path: str, **kwargs: Any) -> Any:
        """`call`, but a refusal is expected (e.g. 409 for an IRO a rerun registered): not counted
        as a failure."""
        failures = len(self.summary.api_failures)
        answer = await self.call(kind, method, path, **kwargs)
        del self.summary.api_failures[failures:]
        return answer

    async def read_configuration(self) -> None:
        questions = await self.call("config", "GET", "/v1/feedback-questions", token=self.manager)
        if isinstance(questions, dict):
            self.questions = [str(q["key"]) for q in questions.get("questions", [])]
        stages = await self.call("config", "GET", "/v1/escalation-stages", token=self.manager)
        if isinstance(stages, dict) and stages.get("items"):
            self.last_stage = max(int(s["stage"]) for s in stages["items"])
        categories = await self.call("config", "GET", "/v1/escalation-categories", token=self.manager)
        if isinstance(categories, dict):
            self.categories = {str(c["key"]) for c in categories.get("items", [])}

    # --- Lookups ---------------------------------------------------------------------------------

    async def child_id(self, la_reference: str) -> str | None:
        if la_reference not in self.child_ids:
            found = await self.call(
                "lookup", "GET", "/v1/children", token=self.manager, params={"la_reference": la_reference}
            )
            items = found.get("items", []) if isinstance(found, dict) else []
            if not items:
                return None
            self.child_ids[la_reference] = str(items[0]["id"])
        return self.child_ids[la_reference]

    async def review_ids(self, child_id: str) -> dict[str, str]:
        """The child's held reviews on the platform: held_on to review id."""
        out: dict[str, str] = {}
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = await self.call(
                "lookup", "GET", f"/v1/children/{child_id}/reviews", token=self.manager, params=params
            )
            if not isinstance(page, dict):
                return out
            for item in page.get("items", []):
                if item.get("held_on"):
                    out[str(item["held_on"])] = str(item["id"])
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    # --- The work on the API ---------------------------------------------------------------------

    async def child_activity(self, child: Child, reviews: list[tuple[CarePeriod, Review]]) -> None:
        child_id = await self.child_id(child.la_reference)
        if child_id is None:
            self.summary.api_failures.append(f"lookup: no child {child.la_reference} on the platform")
            return
        on_platform = await self.review_ids(child_id)
        for _period, review in reviews:
            assert review.held_on is not None
            review_id = on_platform.get(review.held_on.isoformat())
            if review_id is None:
                self.summary.api_failures.append(
                    f"lookup: {child.la_reference} has no review held on {review.held_on} on the platform"
                )
                continue
            await self.review_activity(child, child_id, review, review_id)

    async def review_activity(self, child: Child, child_id: str, review: Review, review_id: str) -> None:
        activity = review.activity
        assert activity is not None and review.chair is not None and review.held_on is not None
        token = self.iro_tokens[review.chair]
        key = f"sim-{self.seed}-{review_id}"
        body: dict[str, Any]
        if activity.participation is not None and review.code is not None:
            detail = activity.participation
            body = {
                "code": review.code,
                "methods": detail.methods,
                "met_iro_before": detail.met_iro_before,
                "interpreter_used": detail.interpreter_used,
                "parents": [{"relationship": r, "participation": p} for r, p in detail.parents],
            }
            await self.call("participation", "PUT", f"/v1/participation/{review_id}", token=token, body=body)
        for number, decision in enumerate(activity.decisions):
            body = {"text": decision.text, "owner": decision.owner, "due_on": decision.due_on.isoformat()}
            made = await self.call(
                "decision",
                "POST",
                f"/v1/reviews/{review_id}/decisions",
                token=token,
                body=body,
                key=f"{key}-decision-{number}",
            )
            if made is not None and decision.status is not None and decision.completed_on is not None:
                update = {"status": decision.status, "completed_on": decision.completed_on.isoformat()}
                await self.call("decision", "PATCH", f"/v1/decisions/{made['id']}", token=token, body=update)
        if activity.record_keeping:
            dates = {name: day.isoformat() for name, day in activity.record_keeping.items()}
            await self.call("record_keeping", "PATCH", f"/v1/reviews/{review_id}", token=token, body=dates)
        if activity.midway is not None:
            midway = activity.midway
            chair = child.iro_on(midway.held_on) or review.chair
            body = {"held_on": midway.held_on.isoformat(), "outcome": midway.outcome, "note": midway.note}
            await self.call(
                "midway_review",
                "POST",
                f"/v1/children/{child_id}/midway-reviews",
                token=self.iro_tokens[chair],
                body=body,
                key=f"{key}-midway",
            )
        if activity.escalation is not None:
            await self.escalation(activity.escalation)
        if activity.commendation is not None:
            raised, team, summary = activity.commendation
            body = {"child_id": child_id, "team": team, "summary": summary, "raised_on": raised.isoformat()}
            await self.call(
                "commendation", "POST", "/v1/commendations", token=token, body=body, key=f"{key}-commendation"
            )
        for number, form in enumerate(activity.feedback):
            body = {
                "respondent": form.respondent,
                "channel": form.channel,
                "received_on": form.received_on.isoformat(),
            }
            if self.questions:
                body["answers"] = {self.questions[q % len(self.questions)]: a for q, a in form.answers.items()}
            if form.comment:
                body["comment"] = form.comment
            if not form.anonymous:
                body["review_id"], body["child_id"] = review_id, child_id
            await self.call(
                "feedback", "POST", "/v1/feedback", token=self.manager, body=body, key=f"{key}-feedback-{number}"
            )
        if activity.advocacy is not None:
            advocacy = activity.advocacy
            body = {
                "child_id": child_id,
                "referred_on": advocacy.referred_on.isoformat(),
                "provider": advocacy.provider,
                "reason": advocacy.reason,
            }
            made = await self.call(
                "advocacy", "POST", "/v1/advocacy-referrals", token=token, body=body, key=f"{key}-advocacy"
            )
            if made is not None and advocacy.outcome is not None and advocacy.outcome_on is not None:
                outcome = {"outcome": advocacy.outcome, "outcome_on": advocacy.outcome_on.isoformat()}
                await self.call("advocacy", "PATCH", f"/v1/advocacy-referrals/{made['id']}", token=token, body=outcome)

    async def escalation(self, escalation: Escalation) -> None:
        child_ids = []
        for la_reference in escalation.la_references:
            child_id = await self.child_id(la_reference)
            if child_id is None:
                self.summary.api_failures.append(f"escalation: no child {la_reference} on the platform")
                return
            child_ids.append(child_id)
        category = escalation.category if not self.categories or escalation.category in self.categories else None
        category = category or (sorted(self.categories)[0] if self.categories else escalation.category)
        token = self.iro_tokens[escalation.iro]
        body = {
            "kind": escalation.kind,
            "scope": escalation.scope,
            "child_ids": child_ids,
            "category": category,
            "team": escalation.team,
            "summary": escalation.summary,
            "raised_on": escalation.raised_on.isoformat(),
        }
        made = await self.call(
            "escalation",
            "POST",
            "/v1/escalations",
            token=token,
            body=body,
            key=f"sim-{self.seed}-escalation-{escalation.key}",
        )
        if made is None:
            return
        path, stage = f"/v1/escalations/{made['id']}", int(made.get("stage", 0))
        for number, step in enumerate(escalation.steps):
            day = step.on.isoformat()
            if step.action == "respond":
                said = {"responded_on": day, "responder": step.responder or "Team Manager", "text": step.text}
                request = ("responses", said)
            elif step.action == "escalate":
                if stage >= self.last_stage:
                    return  # the configured ladder is shorter: it stays open at its top
                stage += 1
                request = ("escalate", {"escalated_on": day, "reason": step.text})
            elif step.action == "resolve":
                request = ("resolve", {"resolved_on": day, "outcome": step.text})
            elif step.action == "withdraw":
                request = ("withdraw", {"withdrawn_on": day, "reason": step.text})
            else:
                request = ("cafcass-referral", {"referred_on": day, "reason": step.text})
            step_key = f"sim-{self.seed}-escalation-{escalation.key}-{number}"
            done = await self.call("escalation", "POST", f"{path}/{request[0]}", token=token, body=request[1],
                                   key=step_key)  # fmt: skip
            if done is None:
                return

    # --- The run ---------------------------------------------------------------------------------

    async def run(self, outgoing: Sequence[Outgoing]) -> None:
        await self.register_iros()
        if self.options.api_activity:
            await self.read_configuration()
        size = max(1, self.options.batch_size)
        for first in range(0, len(outgoing), size):
            self.mint()
            batch = outgoing[first : first + size]
            results = await self.post_events([item.event for item in batch])
            self.summary.batches += 1
            self.summary.events += len(batch)
            held: dict[str, list[tuple[CarePeriod, Review]]] = defaultdict(list)
            children: dict[str, Child] = {}
            for item, result in zip(batch, results, strict=True):
                status = str(result.get("status"))
                self.summary.outcomes[status] += 1
                described = f"{item.event['id']} ({item.type} {json.dumps(item.event['data'])})"
                if status == "duplicate" and item.same_iro:
                    self.summary.same_iro_duplicates += 1
                if status == "rejected":
                    self.summary.rejections.append(f"{described}: {json.dumps(result.get('problem'))}")
                if result.get("warnings"):
                    self.summary.warnings.append(f"{described}: {json.dumps(result.get('warnings'))}")
                review = item.review
                if status != "rejected" and review is not None and review.activity is not None and item.period:
                    held[item.child.la_reference].append((item.period, review))
                    children[item.child.la_reference] = item.child
            if self.options.api_activity and held:
                await asyncio.gather(*(self.child_activity(children[ref], reviews) for ref, reviews in held.items()))
        if self.options.api_activity:
            for escalation in self.world.escalations:
                await self.escalation(escalation)

    async def compare(self, document: dict[str, Any], *, settle: float = 30.0) -> None:
        """The platform's figures for each period beside the expected ones. The participation
        service learns of held reviews from the footprint a moment after they are written, so
        differences are asked again for up to `settle` seconds before they count."""
        deadline = time.monotonic() + settle
        while True:
            found: list[str] = []
            for period in document["periods"]:
                params = {"from": period["from"], "to": period["to"]}
                for name, path in (
                    ("timeliness", "/v1/stats/timeliness"),
                    ("participation", "/v1/stats/participation"),
                ):
                    answer = await self.call("stats", "GET", path, token=self.manager, params=params)
                    if answer is None:
                        found.append(f"{period['name']} {name}: the platform gave no figures")
                        continue
                    found.extend(
                        f"{period['name']} {name}.{line}" for line in figures.differences(period[name], answer)
                    )
            if not found or time.monotonic() > deadline:
                self.summary.periods_compared = len(document["periods"])
                self.summary.disagreements = found
                return
            await asyncio.sleep(1.0)


async def feed(world: World, options: FeedOptions, *, document: dict[str, Any] | None = None) -> Summary:
    """Send the world to the platform at `options.gateway`; compare its figures with `document` (the
    expected figures) when given. Raises FeedError when the platform refuses a whole batch."""
    summary = Summary()
    started = time.monotonic()
    limits = httpx.Limits(max_connections=options.concurrency + 2, max_keepalive_connections=options.concurrency + 2)
    async with httpx.AsyncClient(base_url=options.gateway, timeout=120.0, limits=limits) as client:
        feeder = Feeder(world, client, options, summary)
        try:
            await feeder.run(cloudevents(world))
            if document is not None and options.compare:
                await feeder.compare(document)
        finally:
            summary.elapsed = time.monotonic() - started
    return summary
