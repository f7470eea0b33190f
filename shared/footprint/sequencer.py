"""Chaining what waits in `footprint.pending` (migration 0018; docs/footprint.md, "Order").

An append sequences at once when the footprint's lock is free; when another transaction holds it,
the event commits pending and is chained by whoever takes the lock next. Two things make sure that
is soon, and that no reader of the platform misses it:

- `sequence_pending(sessions, within=...)`: a reader of the footprint (a consumer catching up, the
  auditors' API, the overview, the annual report) calls it first: every event committed before the
  call is then in `footprint.events`. It waits for the lock in a short transaction of its own, never
  in the reader's (there it would hold the lock through the request).
- `run(...)`: the sequencer process (`iro sequencer`, one of the processes `iro serve` starts): every
  `interval` seconds it chains what is pending without waiting (`footprint.sequence(false)`), at once
  again while there is more, and VACUUMs `footprint.pending` every `vacuum_every` seconds that saw
  work (a queue table: its rows live for milliseconds, and dead ones slow every append). More than
  one may run (one per host): the lock makes them take turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import TextClause

from shared.db import plain_url
from shared.footprint.append import APPEND_LOCK_KEY

logger = logging.getLogger("iro.footprint.sequencer")

BATCH = 10_000  # events a sequencer call moves at most (footprint.sequence's p_max default)

# pg_locks shows a bigint advisory key as its high and low 32 bits (classid, objid) with objsubid 1.
_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
    " AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid) AND objsubid = 1)"
)
_LOCK_PARTS = {"high": (APPEND_LOCK_KEY >> 32) & 0xFFFFFFFF, "low": APPEND_LOCK_KEY & 0xFFFFFFFF}
_HAS_PENDING = text("SELECT footprint.has_pending()")
_SEQUENCE_NOW = text("SELECT footprint.sequence(false, :batch)")
_SEQUENCE_WAIT = text("SELECT footprint.sequence(true, :batch)")


async def sequence_pending(
    within: AsyncSession | None = None,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    lock_timeout: float = 5.0,
) -> int:
    """Chain every event committed before this call; returns how many this call chained.

    `within` is the reader's session. When its transaction already holds the footprint's lock (it
    appended and sequenced earlier), the chaining happens in it, since another transaction would wait
    for it forever. When nothing committed is pending (`footprint.has_pending()`, asked in `within`,
    which any footprint role may), it returns at once: the usual case, one round trip, no lock.
    Otherwise it happens in a short transaction of its own, opened by `sessions` (by default on
    `within`'s engine), as a role that may EXECUTE `footprint.sequence` (a service's, not the
    auditor's), waiting at most `lock_timeout` seconds for the lock (a transaction holding it is
    committing). After that wait it logs a warning and returns 0: the reader then sees what is
    chained, and the rest comes within the sequencer's interval."""
    if within is not None:
        if within.in_transaction() and await within.scalar(_HOLDS_LOCK, _LOCK_PARTS):
            return await _drain(within, _SEQUENCE_NOW)
        if not await within.scalar(_HAS_PENDING):  # the usual case: one round trip, no lock
            return 0
    if sessions is None:
        if within is None:
            raise ValueError("sequence_pending needs the reader's session or a session factory")
        bind = within.bind
        engine = bind.engine if isinstance(bind, AsyncConnection) else bind
        sessions = async_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await session.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'"))
        try:
            return await _drain(session, _SEQUENCE_WAIT)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            logger.warning("footprint: the sequencer lock was held for over %ss; reading without waiting", lock_timeout)
            return 0


async def _drain(session: AsyncSession, statement: TextClause) -> int:
    total = 0
    while True:
        moved = int(await session.scalar(statement, {"batch": BATCH}) or 0)
        total += moved
        if moved < BATCH:
            return total


async def run(
    database_url: str, *, interval: float = 0.02, vacuum_every: float = 1.0, stop: asyncio.Event | None = None
) -> None:
    """The sequencer process's loop, until `stop` is set (or forever): chain what is pending every
    `interval` seconds (at once again after a full batch); VACUUM `footprint.pending` every
    `vacuum_every` seconds after work. Connects as `database_url`'s own user (the migrations' owner:
    VACUUM needs the table's owner). A lost connection is logged and retried with a back-off."""
    stop = stop or asyncio.Event()
    backoff = 0.0
    while not stop.is_set():
        try:
            connection = await asyncpg.connect(plain_url(database_url), timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            backoff = min(max(backoff * 2, 0.5), 10.0)
            logger.warning("footprint sequencer: cannot connect (%s); again in %.1fs", exc, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            continue
        backoff = 0.0
        try:
            await _loop(connection, interval, vacuum_every, stop)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning("footprint sequencer: lost the database (%s); reconnecting", exc)
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)


async def _loop(connection: asyncpg.Connection, interval: float, vacuum_every: float, stop: asyncio.Event) -> None:
    worked_since_vacuum = False
    last_vacuum = time.monotonic()
    while not stop.is_set():
        moved = int(await connection.fetchval("SELECT footprint.sequence(false, $1)", BATCH) or 0)
        worked_since_vacuum = worked_since_vacuum or moved > 0
        if worked_since_vacuum and time.monotonic() - last_vacuum >= vacuum_every:
            await connection.execute("VACUUM footprint.pending")
            worked_since_vacuum = False
            last_vacuum = time.monotonic()
        if moved >= BATCH:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
