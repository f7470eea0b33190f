"""Where each `/v1` path goes and who may call it (CONTRACT.md: routing and the role matrix).

Pure: no I/O. The proxy consults `route` for the service and `allowed_roles` at the door; the
services check again (defence in depth).
"""

from __future__ import annotations

from dataclasses import dataclass

READERS = frozenset({"iro", "manager", "auditor", "admin"})
WRITERS = frozenset({"iro", "manager", "admin"})
MANAGERS = frozenset({"manager", "admin"})

# Whole path segments after /v1, to the service that owns them. The longest match wins.
ROUTES: dict[tuple[str, ...], str] = {
    ("iros",): "reviews",
    ("children",): "reviews",
    ("reviews",): "reviews",
    ("decisions",): "reviews",
    ("stats", "timeliness"): "reviews",
    ("stats", "caseloads"): "reviews",
    ("escalations",): "escalations",
    ("escalation-stages",): "escalations",
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


def segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


@dataclass(frozen=True)
class Route:
    service: str
    segments: tuple[str, ...]  # after /v1


def route(path: str) -> Route | None:
    """The service behind a `/v1/...` path, by whole segments (`/v1/escalation-stages` is not
    `/v1/escalations`); None for a path no service owns."""
    parts = segments(path)
    if len(parts) < 2 or parts[0] != "v1":
        return None
    rest = parts[1:]
    for length in range(len(rest), 0, -1):
        service = ROUTES.get(rest[:length])
        if service:
            return Route(service=service, segments=rest)
    return None


def allowed_roles(method: str, target: Route) -> frozenset[str]:
    """The roles that may call a proxied path. At the gateway the integration role reaches only the
    events and inbox paths, so it appears nowhere here."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return READERS
    first = target.segments[0]
    if first == "iros":
        return MANAGERS
    if first == "children" and len(target.segments) == 3 and target.segments[2] == "iro":
        return MANAGERS
    return WRITERS
