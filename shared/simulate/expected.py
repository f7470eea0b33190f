"""The figures the platform should report for the simulated world, from the world's own dates.

For every collection year (1 April to 31 March, named by its end) and every calendar year that
meets the world, and for the whole world, the same shape as

- `GET /v1/stats/timeliness?from=&to=` (DESIGN.md 2.1): `reviews_held`, `held_in_time`,
  `pct_in_time`, `overdue_unheld`, `by_sequence`, `late_by_reason`, `children_reviewed`,
  `children_all_in_time`, `pct_children_all_in_time`, `not_judged`, `as_of`;
- `GET /v1/stats/participation?from=&to=` (DESIGN.md 2.3): `from`, `to`, `age_on`, `reviews`,
  `uncoded`, `by_code`, `aged_4_plus`, `by_age`;

so each can be compared with the platform's answer as a whole. Computed here from the reviews the
simulator planned with its own timetable (`timetable.py`), never by asking the platform's rules.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Final

from shared.periods import MAX_YEARS, add_years
from shared.simulate import timetable as tt
from shared.simulate.world import Review, World

CODES: Final = tuple(f"PN{n}" for n in range(8))
FORMAT: Final = 1  # the version of the expected-figures document


def periods(world: World) -> list[tuple[str, dt.date, dt.date]]:
    """Every collection year and calendar year that meets the world, then the whole world when it spans
    under the 10 years a period may: (name, from, to). Years still running end on their last day, as a
    report would ask."""
    out: list[tuple[str, dt.date, dt.date]] = []
    first, last = tt.collection_year(world.start), tt.collection_year(world.end)
    for year in range(first, last + 1):
        out.append((f"collection year {year - 1}-{str(year)[-2:]}", dt.date(year - 1, 4, 1), dt.date(year, 3, 31)))
    for year in range(world.start.year, world.end.year + 1):
        out.append((f"calendar year {year}", dt.date(year, 1, 1), dt.date(year, 12, 31)))
    if world.end < add_years(world.start, MAX_YEARS):  # a longer period is refused (shared.periods)
        out.append(("the whole simulation", world.start, world.end))
    return out


def _unheld_as_of(review: Review, day: dt.date) -> bool:
    """Neither held nor cancelled as of `day` (scheduled, overdue or missed then)."""
    held_by_then = review.held_on is not None and review.held_on <= day
    cancelled_by_then = review.closed == "cancelled" and review.closed_on is not None and review.closed_on <= day
    return not held_by_then and not cancelled_by_then


def timeliness(world: World, start: dt.date, end: dt.date) -> dict[str, Any]:
    """DESIGN.md 2.1's definitions for [start, end], as of the earlier of `end` and today."""
    as_of = min(end, world.options.today)
    held = in_time = overdue = not_judged = 0
    by_sequence = {kind: {"held": 0, "in_time": 0} for kind in ("first", "second", "subsequent")}
    late: Counter[str] = Counter()
    reviewed: set[str] = set()
    not_all_in_time: set[str] = set()
    for child in world.children:
        for review in child.reviews():
            held_in_period = review.held_on is not None and start <= review.held_on <= end
            if not review.judged:  # counted apart when held, never overdue (a world rebuilt from returns)
                not_judged += held_in_period
                continue
            overdue_unheld = start <= review.statutory_due_on <= as_of and _unheld_as_of(review, as_of)
            if held_in_period:
                held += 1
                by_sequence[review.kind]["held"] += 1
                reviewed.add(child.la_reference)
                if review.in_time:
                    in_time += 1
                    by_sequence[review.kind]["in_time"] += 1
                else:
                    late[review.late_reason or "unrecorded"] += 1
                    not_all_in_time.add(child.la_reference)
            if overdue_unheld:
                overdue += 1
                reviewed.add(child.la_reference)
                not_all_in_time.add(child.la_reference)
    all_in_time = len(reviewed - not_all_in_time)
    return {
        "reviews_held": held,
        "held_in_time": in_time,
        "pct_in_time": tt.percentage(in_time, held),
        "overdue_unheld": overdue,
        "by_sequence": by_sequence,
        "late_by_reason": dict(sorted(late.items())),
        "children_reviewed": len(reviewed),
        "children_all_in_time": all_in_time,
        "pct_children_all_in_time": tt.percentage(all_in_time, len(reviewed)),
        "not_judged": not_judged,
        "as_of": as_of.isoformat(),
    }


def recorded_code(review: Review, *, api_activity: bool) -> str | None:
    """The participation code the platform should hold for a held review: the one sent with
    `review.held`, or the one put on the API afterwards when that activity runs."""
    if review.code_via == "event" or (review.code_via == "api" and api_activity):
        return review.code
    return None


def participation(world: World, start: dt.date, end: dt.date, *, api_activity: bool) -> dict[str, Any]:
    """DESIGN.md 2.3: held reviews in [start, end] by review date; the rate of children aged 4 or over
    on the review date coded PN1-PN6 over all their coded reviews; uncoded ones apart."""
    reviews = uncoded = 0
    by_code = dict.fromkeys(CODES, 0)
    by_age: dict[int, list[int]] = {}
    for child in world.children:
        for review in child.reviews():
            if review.held_on is None or not start <= review.held_on <= end:
                continue
            reviews += 1
            code = recorded_code(review, api_activity=api_activity)
            if code is None:
                uncoded += 1
                continue
            by_code[code] += 1
            age = tt.age_on(child.date_of_birth, review.held_on)
            if age >= tt.PN0_UNDER:
                counts = by_age.setdefault(age, [0, 0])
                counts[0] += 1
                counts[1] += code in tt.PARTICIPATED
    total, participated = sum(c[0] for c in by_age.values()), sum(c[1] for c in by_age.values())
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "age_on": None,
        "reviews": reviews,
        "uncoded": uncoded,
        "by_code": by_code,
        "recorded": reviews - uncoded,
        "aged_4_plus": {"reviews": total, "participated": participated, "pct": tt.percentage(participated, total)},
        "by_age": [
            {"age": age, "reviews": n, "participated": p, "pct": tt.percentage(p, n)}
            for age, (n, p) in sorted(by_age.items())
        ],
    }


def summary(world: World) -> dict[str, Any]:
    """What the world holds, counted: for the report and for a reader of the expected figures."""
    reviews = [review for child in world.children for review in child.reviews()]
    held = [review for review in reviews if review.held_on is not None]
    return {
        "children": len(world.children),
        "iros": len(world.iros),
        "care_periods": sum(len(child.periods) for child in world.children),
        "short_break_children": sum(1 for child in world.children if child.periods[0].short_break),
        "reviews_scheduled": len(reviews),
        "reviews_held": len(held),
        "reviews_held_late": sum(1 for review in held if review.in_time is False),
        "reviews_missed": sum(1 for review in reviews if review.closed == "missed"),
        "reviews_cancelled": sum(1 for review in reviews if review.closed == "cancelled"),
        "reviews_unheld_at_end": sum(1 for review in reviews if review.held_on is None and review.closed is None),
        "case_notes": sum(len(child.case_notes) for child in world.children),
        "corrections": sum(len(child.corrections) for child in world.children),
    }


def figures(world: World, *, api_activity: bool = True) -> dict[str, Any]:
    """The expected-figures document (docs/simulate.md)."""
    options = world.options
    return {
        "format": FORMAT,
        "simulation": {
            "seed": options.seed,
            "children": options.children,
            "iros": options.iros,
            "years": options.years,
            "from": world.start.isoformat(),
            "to": world.end.isoformat(),
            "today": options.today.isoformat(),
            "api_activity": api_activity,
        },
        "world": summary(world),
        "periods": [
            {
                "name": name,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "timeliness": timeliness(world, start, end),
                "participation": participation(world, start, end, api_activity=api_activity),
            }
            for name, start, end in periods(world)
        ],
    }


NOT_MODELLED = frozenset({"methods", "met_iro_before", "interpreter_used", "parents"})
"""The participation statistics' detail (how children took part) that the expected figures do not work
out: which detail a review ends with depends on the order the API activity's writes land in. Compared
nowhere; every other field is, and a field the platform adds later is a difference until modelled."""


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where `actual` (the platform's answer) differs from `expected`, one line per leaf
    (`NOT_MODELLED` fields apart)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key in NOT_MODELLED and key not in expected:
                continue
            if key not in actual:
                out.append(f"{where}: expected {expected[key]!r}, the platform has no such field")
            elif key not in expected:
                out.append(f"{where}: the platform says {actual[key]!r}, not in the expected figures")
            else:
                out.extend(differences(expected[key], actual[key], where))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out = []
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(differences(e, a, f"{path}[{index}]"))
        return out
    return [] if expected == actual else [f"{path}: expected {expected!r}, the platform says {actual!r}"]
