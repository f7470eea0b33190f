"""docs/errors.md lists every problem `type` the platform can emit: those our code names (`type_`
on a problem class or in a problem's constructor, found in the source of services/ and shared/),
those fastapi-problem derives from a class name, and those it makes of the framework's own
HTTPExceptions (found by triggering them on a real app)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import httpx
from fastapi_problem.error import StatusProblem
from rfc9457 import error_class_to_type

import services
import shared
from services.reviews.main import create_app as reviews_app
from services.reviews.settings import Settings as ReviewsSettings
from shared.errors import DomainError

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "errors.md").read_text()


def strings_in(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def named_in_source() -> set[str]:
    """`type_ = "x"` (a class attribute), `type_="x"` (a constructor's keyword), both branches of
    `type_="a" if ... else "b"`."""
    found: set[str] = set()
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (isinstance(node, ast.keyword) and node.arg == "type_") or (
                isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "type_" for t in node.targets)
            ):
                found |= strings_in(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "type_":
                found |= strings_in(node.value) if node.value else set()
    return found


def subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= subclasses(sub)
    return found


def problem_classes() -> list[type[StatusProblem]]:
    """Every problem class of ours with a fixed status (the domain errors among them), every module imported."""
    for package in (services, shared):
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            importlib.import_module(module.name)
    return [cls for cls in subclasses(StatusProblem) if cls.__module__.startswith(("services.", "shared."))]


def named_by_class() -> set[str]:
    """Problem classes of ours: their `type_`, or the name fastapi-problem derives when they set none."""
    return {cls.type_ or error_class_to_type(cls.__new__(cls)) for cls in problem_classes()}


async def made_by_the_framework() -> dict[str, tuple[int, str]]:
    """What a real app answers for the HTTPExceptions Starlette and FastAPI raise themselves:
    `(status, type)` by cause (fastapi-problem names them `http-<reason>` unless a handler of ours
    maps them)."""
    app = reviews_app(ReviewsSettings(env="test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        answers = {
            "unknown path": await client.get("/v1/nowhere"),
            "wrong method": await client.delete("/v1/children"),
            "body not UTF-8": await client.post(
                "/v1/children", content=b"\xff\xfe{}", headers={"content-type": "application/json"}
            ),
        }
    assert {response.headers["content-type"] for response in answers.values()} == {"application/problem+json"}
    return {
        why: (response.status_code, response.json()["type"].removeprefix("/problems/"))
        for why, response in answers.items()
    }


def documented() -> set[str]:
    return set(re.findall(r"`([a-z0-9-]+)`", DOC))


def documented_status() -> dict[str, set[int]]:
    """The status each type's table row gives: `| 409 | `escalation-not-open` | ...`."""
    rows: dict[str, set[int]] = {}
    for status, type_ in re.findall(r"^\| (\d{3}) \| `([a-z0-9-]+)` \|", DOC, re.M):
        rows.setdefault(type_, set()).add(int(status))
    return rows


async def test_the_frameworks_own_exceptions_are_problems_with_their_status():
    made = await made_by_the_framework()
    assert {why: status for why, (status, _) in made.items()} == {
        "unknown path": 404,
        "wrong method": 405,
        "body not UTF-8": 400,
    }
    assert made["unknown path"][1] == "http-not-found"
    assert made["wrong method"][1] == "http-method-not-allowed"


async def test_docs_errors_md_lists_every_problem_type_the_platform_emits():
    emitted = named_in_source() | named_by_class() | {type_ for _, type_ in (await made_by_the_framework()).values()}
    assert {"not-found", "validation-failed", "service-unavailable", "service-timeout", "cors-refused"} <= emitted
    missing = sorted(emitted - documented())
    assert missing == [], f"docs/errors.md does not list {missing}"


def test_every_domain_error_has_its_own_type_and_a_row_with_its_status():
    domain = [cls for cls in problem_classes() if issubclass(cls, DomainError) and cls is not DomainError]
    types = {cls.type_: cls for cls in domain}
    assert {"review-late-without-reason", "la-reference-taken", "escalation-not-open", "scope-mismatch"} <= set(types)
    assert {"participation-code-contradicts-age", "code-not-on-list", "another-iro-named"} <= set(types)
    assert len(types) == len(domain), "two domain errors share a type"
    rows = documented_status()
    wrong = {
        cls.type_: (cls.status, sorted(rows.get(cls.type_ or "", set())))
        for cls in problem_classes()
        if rows.get(cls.type_ or "") != {cls.status}
    }
    assert wrong == {}, f"docs/errors.md gives these types no row, or another status: {wrong}"
