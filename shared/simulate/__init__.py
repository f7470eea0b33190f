"""`iro simulate`: a source simulator (docs/simulate.md).

It generates a world of children and IROs over some years from a seed (`world`, `activity`), sends
the case system's part of it to a running platform as signed CloudEvents batches (`events`, `feed`),
does the rest on the API as IROs and managers would (`feed`), and writes the figures the platform
should then report, from its own dates and its own reading of the regulations (`timetable`,
`expected`): an oracle independent of the platform's rules. Or it writes the world's SSDA903 returns
and the figures expected once a platform imports them (`ssda903`).
"""

from __future__ import annotations

from shared.calendar import WorkingCalendar
from shared.simulate.activity import plan_activity
from shared.simulate.world import Options, World, make_world

__all__ = ["Options", "World", "generate"]


def generate(options: Options) -> World:
    """The whole world for `options`: the IROs, every child's care, and the work on the API.
    Deterministic: the same options give the same world."""
    calendar = WorkingCalendar(options.closure_days)
    world = make_world(options, calendar)
    plan_activity(world, calendar)
    return world
