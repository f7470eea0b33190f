"""Where each `/v1` path goes, which methods it takes, and who may call it (CONTRACT.md: routing,
"The wrong method on a known path is 405 with `Allow`", and the role matrix).

Pure: no I/O. Two sources, one answer:

- `ROUTES`, a static table of path prefixes, routes a request when its service's OpenAPI document
  has not been fetched (the service was down at start-up): the caller then gets the service's 502,
  not a 404. `unrouted(documents)` names any documented path the table misses; a test runs it
  against every service's document, and the gateway logs it when it fetches them.
- `PathTable.from_documents(...)`, built from the services' OpenAPI documents the gateway fetches,
  routes every path a service documents to that service (so a documented path is reachable even if
  the static table lags) and knows each path's methods (so the gateway answers 405 with `Allow`).

Who may call a path at the door comes from the role table (`shared/roles.py`, `gateway_roles`):
`allowed_roles`. The services check again, from the same table (defence in depth).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared import roles

# Whole path segments after /v1, to the service that owns them. The longest match wins.
ROUTES: dict[tuple[str, ...], str] = {
    ("iros",): "reviews",
    ("children",): "reviews",
    ("reviews",): "reviews",
    ("decisions",): "reviews",
    ("stats", "timeliness"): "reviews",
    ("stats", "caseloads"): "reviews",
    ("stats", "children"): "reviews",
    ("stats", "record-keeping"): "reviews",
    ("escalations",): "escalations",
    ("escalation-stages",): "escalations",
    ("escalation-categories",): "escalations",
    ("commendations",): "escalations",
    ("stats", "escalations"): "escalations",
    ("participation",): "participation",
    ("feedback",): "participation",
    ("feedback-questions",): "participation",
    ("advocacy-referrals",): "participation",
    ("stats", "participation"): "participation",
    ("stats", "feedback"): "participation",
    ("stats", "advocacy"): "participation",
}

SERVICES = ("reviews", "escalations", "participation")

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")


def segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


@dataclass(frozen=True)
class Route:
    service: str
    segments: tuple[str, ...]  # after /v1
    methods: frozenset[str] | None = None  # what the path takes; None: not known (no document yet)
    template: str | None = None  # the documented path, e.g. `/v1/children/{child_id}`


def route(path: str) -> Route | None:
    """The service behind a `/v1/...` path by the static table, by whole segments
    (`/v1/escalation-stages` is not `/v1/escalations`); None for a path no service owns."""
    parts = segments(path)
    if len(parts) < 2 or parts[0] != "v1":
        return None
    rest = parts[1:]
    for length in range(len(rest), 0, -1):
        service = ROUTES.get(rest[:length])
        if service:
            return Route(service=service, segments=rest)
    return None


def is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


@dataclass(frozen=True)
class Template:
    path: str
    service: str
    parts: tuple[str, ...]  # all segments, `{name}` for a parameter
    methods: frozenset[str]

    def matches(self, parts: tuple[str, ...]) -> bool:
        return len(parts) == len(self.parts) and all(
            is_parameter(mine) or mine == theirs for mine, theirs in zip(self.parts, parts, strict=True)
        )

    @property
    def specificity(self) -> tuple[bool, ...]:
        """Literal segments before parameters, left to right (`/x/export` beats `/x/{id}`)."""
        return tuple(not is_parameter(part) for part in self.parts)


def documented_methods(operations: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(method.upper() for method in operations if method.upper() in HTTP_METHODS)


@dataclass(frozen=True)
class PathTable:
    """Every `/v1` path the services document, with its service and methods; the operations the
    role table marks internal left out (to a caller of the gateway they do not exist)."""

    templates: tuple[Template, ...]

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, Any]]) -> PathTable:
        templates = [
            Template(path=path, service=service, parts=segments(path), methods=documented_methods(operations))
            for service, document in documents.items()
            for path, operations in roles.without_internal(document.get("paths", {})).items()
            if path.startswith("/v1/")
        ]
        return cls(tuple(sorted(templates, key=lambda t: t.specificity, reverse=True)))

    def find(self, path: str) -> Route | None:
        parts = segments(path)
        for template in self.templates:  # most specific first
            if template.matches(parts):
                return Route(template.service, parts[1:], methods=template.methods, template=template.path)
        return None


def resolve(path: str, table: PathTable) -> Route | None:
    """A documented path (with its methods), else the static table's service (methods unknown: the
    service answers), else None. None too for a path with a `.` or `..` segment: the client library
    would forward it normalised (`/v1/reviews/../iros` as `/v1/iros`), past a door that judged
    another path."""
    if any(part in (".", "..") for part in path.split("/")):
        return None
    return table.find(path) or route(path)


def unrouted(documents: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """`(service, path)` for each published `/v1` path (internal ones are never routed) the static
    table sends elsewhere or nowhere."""
    wrong = []
    for service, document in documents.items():
        for path in roles.without_internal(document.get("paths", {})):
            if path.startswith("/v1/"):
                target = route(path)
                if target is None or target.service != service:
                    wrong.append((service, path))
    return wrong


def allow_header(methods: Iterable[str]) -> str:
    return ", ".join(sorted(methods))


def allowed_roles(method: str, target: Route, table: roles.Table | None = None) -> frozenset[str]:
    """The roles that may call a proxied path: its row's `gateway_roles` in the role table
    (`shared/roles.py`), found by the documented template when the path table knew it, else by
    matching the path. Empty for an internal route: the door answers 404. A path no row declares
    has no route at the service either (tests/test_role_table.py): the door admits the roles it
    admits to any of that service's paths, and the service answers 404 or 405."""
    table = roles.TABLE if table is None else table
    rule = table.rule(method, target.template) if target.template else None
    if rule is None:
        rule = table.find(method, "/v1/" + "/".join(target.segments))
    if rule is None:
        return table.door_roles(target.service)
    return rule.gateway_roles
