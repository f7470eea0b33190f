"""The footprint: one append-only, hash-chained event log shared by every service.

    from shared import footprint
    await footprint.append(session, type="review.held", actor=..., subject=..., payload=..., service="reviews")

See docs/footprint.md.
"""

from shared.footprint.append import append
from shared.footprint.models import ACCESS_TYPES, SOURCE_HEADER, Actor, Event, Subject, actor_for

__all__ = ["ACCESS_TYPES", "SOURCE_HEADER", "Actor", "Event", "Subject", "actor_for", "append"]
