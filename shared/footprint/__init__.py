"""The footprint: one append-only, hash-chained event log shared by every service.

    from shared import footprint
    from shared.footprint import events

    await footprint.append(session, event=events.ReviewHeld(...), actor=..., subject=..., service="reviews")

Event types are the models in `shared.footprint.events` (docs/events.md). See docs/footprint.md.
"""

from shared.footprint import events
from shared.footprint.append import append
from shared.footprint.models import ACCESS_TYPES, SOURCE_HEADER, Actor, Event, Subject, actor_for

__all__ = ["ACCESS_TYPES", "SOURCE_HEADER", "Actor", "Event", "Subject", "actor_for", "append", "events"]
