"""Who may do what (CONTRACT.md, "Who may do what"): one row per route of every app, the only place
roles are declared. The gateway's door (`services/gateway/access.py`) and every route's role check
(`Caller` below) read it; `tests/test_role_table.py` walks every route of every app against it (no
route without a row, no row without a route, and each route enforces its row's roles).

A `Rule` is one `(method, path)`, the path as the route declares it (`/v1/children/{child_id}`):

- `service`: the app that serves it (`reviews`, `escalations`, `participation`, or `gateway` for the
  gateway's own routes).
- `roles`: who may call it through the gateway: the contract's row.
- `behind`: roles the service accepts as well, only ever from the gateway calling on someone's
  behalf. The gateway applies ingested events with a token of the integration role, so each write
  an event type needs accepts `integration` behind the door (`INGEST`); and the gateway's
  `GET /v1/reference/{list}` reads the configured escalation ladder and categories with the caller's
  token, which may be an integration one (every role may read the reference lists).
  `gateway_roles` is `roles`; `service_roles` is `roles | behind`.
- `internal`: only the gateway calls it (with a token of a role in `behind`). The door answers 404,
  as for a path that does not exist, and the gateway's published OpenAPI document leaves it out
  (`without_internal`). An internal rule has no `roles`.

Not in the table, by rule: the operational paths every app serves without a token (`OPERATIONAL`:
`/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/docs`, `/docs/oauth2-redirect`, `/redoc`, and the
docs' static assets under `/static-offline-docs`), and the gateway's proxy catch-all, which forwards
to the services' rows. A path served without a bearer token (`/feeds/...`, `/forms/...`) gets a row
when it is built.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from shared.auth import ROLES, Principal, current_principal, refuse_unless
from shared.errors import Forbidden

logger = logging.getLogger("iro.roles")

__all__ = [
    "APPLIERS",
    "APPS",
    "AUDIT",
    "CASE_SYSTEMS",
    "EVERYONE",
    "INGEST",
    "MANAGE",
    "OPERATIONAL",
    "OPERATIONAL_PREFIXES",
    "READ",
    "TABLE",
    "WRITE",
    "Caller",
    "Rule",
    "Table",
    "caller",
    "is_operational",
    "without_internal",
]

READ = frozenset({"iro", "manager", "auditor", "admin"})  # service records, stats, overview, worklist
WRITE = frozenset({"iro", "manager", "admin"})  # the records' writes
MANAGE = frozenset({"manager", "admin"})  # IROs and their allocation
AUDIT = frozenset({"manager", "auditor", "admin"})  # the footprint, reports, exports
EVERYONE = frozenset(ROLES)  # the reference lists
INGEST = frozenset({"integration"})  # behind the door: the gateway applying a case system's event
CASE_SYSTEMS = frozenset({"integration", "admin"})  # the events door and the inbox (CONTRACT.md)
APPLIERS = frozenset({"integration", "manager", "admin"})  # behind: the gateway applying events as their sender:
# a case system, an admin replaying one, or the manager (or admin) whose SSDA903 import the worker applies
NOBODY: frozenset[str] = frozenset()

APPS = ("reviews", "escalations", "participation", "gateway")  # a row's `service`

OPERATIONAL = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
OPERATIONAL_PREFIXES = ("/static-offline-docs/",)  # fastapi-offline's Swagger UI and ReDoc assets


def is_operational(path: str) -> bool:
    """An operational path: served by every app without a token, and not in the table."""
    return path in OPERATIONAL or path.startswith(OPERATIONAL_PREFIXES)


@dataclass(frozen=True)
class Rule:
    """One row: who may call `method path`, at the gateway and at the service (see the module)."""

    method: str
    path: str
    service: str
    roles: frozenset[str]
    behind: frozenset[str] = NOBODY
    internal: bool = False

    @property
    def gateway_roles(self) -> frozenset[str]:
        """Who the gateway's door lets through (none for an internal route)."""
        return self.roles

    @property
    def service_roles(self) -> frozenset[str]:
        """Who the route itself accepts."""
        return self.roles | self.behind

    def problems(self) -> list[str]:
        """What is inconsistent in this row (empty when it is well-formed)."""
        name = f"{self.method} {self.path}"
        found = []
        if self.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            found.append(f"{name}: method {self.method!r}")
        if not self.path.startswith("/"):
            found.append(f"{name}: the path must start with /")
        if self.service not in APPS:
            found.append(f"{name}: unknown service {self.service!r}")
        unknown = sorted(self.service_roles - set(ROLES))
        if unknown:
            found.append(f"{name}: unknown roles {unknown}")
        if self.roles & self.behind:
            found.append(f"{name}: roles {sorted(self.roles & self.behind)} are in both `roles` and `behind`")
        if self.service == "gateway" and (self.behind or self.internal):
            found.append(f"{name}: the gateway's own routes have no `behind` roles and are not internal")
        if self.internal and (self.roles or not self.behind):
            found.append(f"{name}: an internal route has no `roles` and is called with a `behind` role")
        if not self.internal and not self.roles:
            found.append(f"{name}: nobody may call it")
        return found


def _parts(path: str) -> tuple[str, ...]:
    """Every segment, empty ones included (`/v1/x/` is `('', 'v1', 'x', '')`), as Starlette matches."""
    return tuple(path.split("/"))


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


class Table:
    """The rows, indexed once: by `(method, template)`, and by template for matching a request's path."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        problems = [problem for rule in self.rules for problem in rule.problems()]
        self._by_key: dict[tuple[str, str], Rule] = {}
        for rule in self.rules:
            if (rule.method, rule.path) in self._by_key:
                problems.append(f"{rule.method} {rule.path}: two rows")
            self._by_key[(rule.method, rule.path)] = rule
        if problems:
            raise ValueError("role table: " + "; ".join(problems))
        templates = sorted({rule.path for rule in self.rules})
        self._literal = frozenset(path for path in templates if "{" not in path)
        # By segment count, most specific first: a literal segment before a parameter, left to
        # right (`/v1/footprint/export` before `/v1/footprint/{id}`).
        self._parametrised: dict[int, list[tuple[tuple[str | None, ...], str]]] = {}
        for path in templates:
            if path in self._literal:
                continue
            parts = tuple(None if _is_parameter(part) else part for part in _parts(path))
            self._parametrised.setdefault(len(parts), []).append((parts, path))
        for candidates in self._parametrised.values():
            candidates.sort(key=lambda candidate: tuple(part is not None for part in candidate[0]), reverse=True)
        self._door: dict[str, frozenset[str]] = {}
        for rule in self.rules:
            self._door[rule.service] = self._door.get(rule.service, NOBODY) | rule.gateway_roles
        self.internal = frozenset((rule.method, rule.path) for rule in self.rules if rule.internal)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, method: str, template: str) -> Rule | None:
        """The row of a route, by its method and declared path."""
        return self._by_key.get((method, template))

    def template_of(self, path: str) -> str | None:
        """The declared path a request's path matches (a parameter matches one non-empty segment)."""
        if path in self._literal:
            return path
        parts = _parts(path)
        for template_parts, template in self._parametrised.get(len(parts), ()):
            if all(
                (mine is None and theirs != "") or mine == theirs
                for mine, theirs in zip(template_parts, parts, strict=True)
            ):
                return template
        return None

    def find(self, method: str, path: str) -> Rule | None:
        """The row a request's method and path fall under, if any."""
        template = self.template_of(path)
        return self._by_key.get((method, template)) if template else None

    def door_roles(self, service: str) -> frozenset[str]:
        """Every role the gateway's door admits to any of `service`'s routes."""
        return self._door.get(service, NOBODY)


def _service(service: str, rows: Iterable[tuple[Any, ...]]) -> list[Rule]:
    """`(method, path, roles[, behind])` rows of one service."""
    return [Rule(row[0], row[1], service, *row[2:]) for row in rows]


# `INGEST` in the fourth column: the event type the gateway applies with it (CONTRACT.md, "Events
# from case systems"). `/v1/ingest/<service>` is each service's batch command path: internal, called
# by the gateway only, with the token of the integrator (or of the admin replaying an event).
TABLE = Table(
    [
        *_service(
            "reviews",
            [
                ("GET", "/v1/iros", READ),
                ("POST", "/v1/iros", MANAGE),
                ("GET", "/v1/iros/{iro_id}", READ),
                ("PATCH", "/v1/iros/{iro_id}", MANAGE),
                ("GET", "/v1/children", READ),
                ("POST", "/v1/children", WRITE, INGEST),  # child.registered
                ("GET", "/v1/children/{child_id}", READ),
                ("PATCH", "/v1/children/{child_id}", WRITE, INGEST),  # child.updated
                ("GET", "/v1/children/{child_id}/care-periods", READ),
                ("POST", "/v1/children/{child_id}/care-periods", WRITE, INGEST),  # care_period.started
                ("POST", "/v1/children/{child_id}/care-periods/{period_id}/end", WRITE, INGEST),  # care_period.ended
                ("POST", "/v1/children/{child_id}/placement-changes", WRITE, INGEST),  # placement.changed
                ("POST", "/v1/children/{child_id}/legal-status-changes", WRITE, INGEST),  # legal_status.changed
                ("PUT", "/v1/children/{child_id}/iro", MANAGE, INGEST),  # iro.allocated
                ("GET", "/v1/children/{child_id}/iro-allocations", READ),
                ("GET", "/v1/children/{child_id}/reviews", READ),
                ("GET", "/v1/children/{child_id}/midway-reviews", READ),
                ("POST", "/v1/children/{child_id}/midway-reviews", WRITE),
                ("GET", "/v1/children/{child_id}/case-notes", READ),
                ("POST", "/v1/children/{child_id}/case-notes", WRITE, INGEST),  # case_note.recorded
                ("GET", "/v1/reviews", READ),
                ("GET", "/v1/reviews/{review_id}", READ),
                ("PATCH", "/v1/reviews/{review_id}", WRITE),
                ("POST", "/v1/reviews/{review_id}/early", WRITE),
                ("GET", "/v1/reviews/{review_id}/rearrangements", READ),
                ("POST", "/v1/reviews/{review_id}/rearrangements", WRITE),
                ("POST", "/v1/reviews/{review_id}/held", WRITE, INGEST),  # review.held
                ("POST", "/v1/reviews/{review_id}/decisions", WRITE),
                ("GET", "/v1/decisions", READ),
                ("PATCH", "/v1/decisions/{decision_id}", WRITE),
                ("GET", "/v1/stats/timeliness", READ),
                ("GET", "/v1/stats/timeliness/by-month", READ),
                ("GET", "/v1/stats/caseloads", READ),
                ("GET", "/v1/stats/children", READ),
                ("GET", "/v1/stats/record-keeping", READ),
            ],
        ),
        Rule("POST", "/v1/ingest/reviews", "reviews", NOBODY, behind=APPLIERS, internal=True),
        # The DfE reviews export's rows, read by the gateway's `/v1/exports/ssda903/*` with the caller's token.
        Rule("GET", "/v1/ssda903/reviews", "reviews", NOBODY, behind=AUDIT, internal=True),
        *_service(
            "escalations",
            [
                ("GET", "/v1/escalations", READ),
                ("POST", "/v1/escalations", WRITE),
                ("GET", "/v1/escalations/{escalation_id}", READ),
                ("POST", "/v1/escalations/{escalation_id}/responses", WRITE),
                ("POST", "/v1/escalations/{escalation_id}/escalate", WRITE),
                ("POST", "/v1/escalations/{escalation_id}/resolve", WRITE),
                ("POST", "/v1/escalations/{escalation_id}/withdraw", WRITE),
                ("POST", "/v1/escalations/{escalation_id}/cafcass-referral", WRITE),
                ("GET", "/v1/escalation-stages", READ, INGEST),  # read by GET /v1/reference/escalation-stages
                ("GET", "/v1/escalation-categories", READ, INGEST),  # and /v1/reference/escalation-categories
                ("GET", "/v1/commendations", READ),
                ("POST", "/v1/commendations", WRITE),
                ("GET", "/v1/commendations/{commendation_id}", READ),
                ("GET", "/v1/stats/escalations", READ),
            ],
        ),
        *_service(
            "participation",
            [
                ("GET", "/v1/participation", READ),
                ("GET", "/v1/participation/{review_id}", READ),
                ("PUT", "/v1/participation/{review_id}", WRITE, INGEST),  # review.held's participation_code
                ("GET", "/v1/feedback-questions", READ),
                ("GET", "/v1/feedback", READ),
                ("POST", "/v1/feedback", WRITE),
                ("GET", "/v1/feedback/{feedback_id}", READ),
                ("GET", "/v1/advocacy-referrals", READ),
                ("POST", "/v1/advocacy-referrals", WRITE),
                ("GET", "/v1/advocacy-referrals/{referral_id}", READ),
                ("PATCH", "/v1/advocacy-referrals/{referral_id}", WRITE),
                ("GET", "/v1/stats/participation", READ),
                ("GET", "/v1/stats/feedback", READ),
                ("GET", "/v1/stats/advocacy", READ),
            ],
        ),
        Rule("POST", "/v1/ingest/participation", "participation", NOBODY, behind=APPLIERS, internal=True),
        Rule("GET", "/v1/ssda903/participation", "participation", NOBODY, behind=AUDIT, internal=True),
        *_service(
            "gateway",
            [
                ("GET", "/v1/children/{child_id}/overview", READ),
                ("GET", "/v1/worklist", READ),
                ("GET", "/v1/footprint", AUDIT),
                ("GET", "/v1/footprint/verify", AUDIT),
                ("GET", "/v1/footprint/export", AUDIT),
                ("GET", "/v1/footprint/summary", AUDIT),
                ("GET", "/v1/reference", EVERYONE),
                ("GET", "/v1/reference/{list}", EVERYONE),
                ("POST", "/v1/events", CASE_SYSTEMS),
                ("GET", "/v1/inbox", CASE_SYSTEMS),
                ("GET", "/v1/inbox/{inbox_id}", CASE_SYSTEMS),
                ("POST", "/v1/inbox/{inbox_id}/replay", frozenset({"admin"})),
                ("POST", "/v1/imports/ssda903", MANAGE),
                ("GET", "/v1/imports/{import_id}", MANAGE),
                ("GET", "/v1/reports/annual", AUDIT),
                ("GET", "/v1/reports/annual.html", AUDIT),
                ("GET", "/v1/exports/ssda903/reviews.csv", AUDIT),
                ("GET", "/v1/exports/ssda903/problems", AUDIT),
            ],
        ),
    ]
)


async def caller(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The route's role check, from its own row (found by the route's method and declared path):
    the caller's principal; 401 without a good token, 403 without one of the row's `service_roles`.
    A route with no row admits nobody (and `tests/test_role_table.py` fails)."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None)
    rule = TABLE.rule(request.method, template) if isinstance(template, str) else None
    if rule is None:
        logger.error("roles: no row for %s %s in shared/roles.py; refusing", request.method, template)
        raise Forbidden(f"{request.method} {template} has no row in the role table: nobody may call it.")
    return refuse_unless(principal, rule.service_roles)


Caller = Annotated[Principal, Depends(caller)]
"""A route's parameter: `principal: roles.Caller` (or `_: roles.Caller` when the route only checks)."""


def without_internal(
    paths: Mapping[str, Mapping[str, Any]], table: Table | None = None
) -> dict[str, Mapping[str, Any]]:
    """An OpenAPI document's `paths` less the operations the table marks internal (and any path
    left with no operation): what the gateway publishes."""
    hidden = (TABLE if table is None else table).internal  # `(method, path)` pairs
    if not hidden:
        return dict(paths)
    published: dict[str, Mapping[str, Any]] = {}
    for path, item in paths.items():
        kept = {key: value for key, value in item.items() if (key.upper(), path) not in hidden}
        if any(key.upper() in ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE") for key in kept):
            published[path] = kept
    return published
