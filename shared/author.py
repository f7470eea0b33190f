"""Under which IRO a write is filed: its author, and whose footprint its event is (DESIGN.md 3, 4).

One rule for every service and every body field that names an IRO (`iro_id` and the like):

- A manager, an admin or the integration role (a case system) may name any IRO.
- An IRO writes as themselves: the IRO their token identifies (`Principal.iro_identity`, matched to
  an IRO's email). Naming that IRO, or none, is fine; naming another IRO is 403 and nothing is
  written.
- Naming nobody: an IRO's write is theirs; anyone else's is the IRO allocated to the child. An IRO
  whose token matches no registered IRO writes under none, never under the allocated IRO.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.errors import DomainError
from shared.footprint import sequencer
from shared.footprint.models import Event

MAY_NAME_ANOTHER: Final = frozenset({"manager", "admin", "integration"})

Lookup = Callable[[], Awaitable[uuid.UUID | None]]


class AnotherIroNamed(DomainError):
    """An IRO named another IRO as a write's author (the module's rule); `field` names the body field."""

    status = 403
    type_ = "another-iro-named"
    title = "An IRO writes as themselves."

    def __init__(self, field: str) -> None:
        super().__init__(
            f"An IRO writes as themselves: `{field}` names another IRO. Only a manager, an admin or "
            "a case system may name another IRO."
        )
        self.extras["field"] = field  # a member of the problem, as before; a 403 lists no `errors`


def acts_as_iro(principal: Principal) -> bool:
    """True when the caller acts as an IRO: the token carries the `iro` role."""
    return "iro" in principal.roles


def may_name_another(principal: Principal) -> bool:
    """True for a manager, an admin or the integration role: they may name any IRO as the author."""
    return principal.has_any(MAY_NAME_ANOTHER)


async def _none() -> uuid.UUID | None:
    return None


async def author_iro(
    principal: Principal,
    *,
    acting: Lookup,
    named: uuid.UUID | None = None,
    field: str = "iro_id",
    allocated: Lookup = _none,
) -> uuid.UUID | None:
    """The IRO a write is filed under (the module's rule). `acting` looks up the IRO the token
    identifies (each service from its own records); `named` is the body field `field`, if any;
    `allocated` looks up the IRO allocated to the child, for a write no IRO made.
    Raises `AnotherIroNamed` (403) when the caller may not name that IRO."""
    me = await acting() if acts_as_iro(principal) else None
    if named is not None:
        if named == me or may_name_another(principal):
            return named
        raise AnotherIroNamed(field)
    if me is not None:
        return me
    if acts_as_iro(principal) and not may_name_another(principal):
        return None
    return await allocated()


async def registered_iro(session: AsyncSession, identity: str) -> uuid.UUID | None:
    """The IRO registered with this email (`iro.registered` on the footprint; an IRO's email never
    changes): how a service with no IRO table of its own finds the IRO behind a token. An IRO
    registered a moment ago is found too: when none is, what is pending is chained and it looks again."""
    email = Event.payload["email"].astext
    query = (
        select(Event.iro_id)
        .where(Event.type == "iro.registered", func.lower(email) == identity.lower())
        .order_by(Event.seq)
        .limit(1)
    )
    found = await session.scalar(query)
    if found is None and await sequencer.sequence_pending(session):
        found = await session.scalar(query)
    return found
