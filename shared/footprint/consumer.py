"""Services read each other's facts from the footprint, not from each other.

A `Consumer` is named by its service. It reads events with `seq > position` in order, hands each
to its handler, and stores the new position in its own schema (`<schema>.consumer_position`) in the
same transaction as whatever the handler wrote, so after a crash or restart it resumes exactly
where it stopped: nothing reprocessed, nothing skipped.

- Woken by LISTEN/NOTIFY on the `footprint` channel (then `gather` seconds more, so that a burst of
  events is one transaction), with a periodic poll as the fallback.
- `catch_up()` is for a request that needs a fact committed just before it (a child registered a
  moment ago): it chains what is pending first (shared.footprint.sequencer), so every event
  committed before the call is in the log, then processes up to the head.
- A handler that raises rolls back its savepoint; the position does not move past that event. It is
  logged and counted (`footprint_consumer_failures_total`) and retried with a back-off; after
  `max_attempts` the event is set aside in `<schema>.consumer_dead_letter` (logged, counted in
  `footprint_consumer_dead_letters_total`) so that one bad event cannot stop the consumer forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import plain_url
from shared.footprint import sequencer
from shared.footprint.append import NOTIFY_CHANNEL
from shared.footprint.models import Event

logger = logging.getLogger("iro.footprint.consumer")

Handler = Callable[[AsyncSession, Row[Any]], Awaitable[None]]


class _Metrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.handled = Counter(
            "footprint_consumer_events_total", "Events handled by a footprint consumer.", ["consumer"],
            registry=registry,
        )  # fmt: skip
        self.failures = Counter(
            "footprint_consumer_failures_total", "Handler failures of a footprint consumer.", ["consumer"],
            registry=registry,
        )  # fmt: skip
        self.dead_letters = Counter(
            "footprint_consumer_dead_letters_total",
            "Events a footprint consumer gave up on after repeated failures.",
            ["consumer"],
            registry=registry,
        )
        self.position = Gauge(
            "footprint_consumer_position", "The last footprint seq a consumer has processed.", ["consumer"],
            registry=registry,
        )  # fmt: skip


_metrics_by_registry: dict[int, tuple[CollectorRegistry, _Metrics]] = {}


def _metrics(registry: CollectorRegistry | None) -> _Metrics:
    """One set of metric families per registry, shared by the consumers that report to it."""
    if registry is None:
        return _Metrics(None)
    found = _metrics_by_registry.get(id(registry))
    if found is None or found[0] is not registry:
        found = (registry, _Metrics(registry))
        _metrics_by_registry[id(registry)] = found
    return found[1]


class Consumer:
    def __init__(
        self,
        *,
        name: str,
        schema: str,
        engine: AsyncEngine,
        handler: Handler,
        types: Collection[str] | None = None,
        database_url: str | None = None,
        role: str | None = None,
        poll_interval: float = 5.0,
        gather: float = 0.01,
        batch: int = 200,
        max_attempts: int = 5,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise ValueError(f"not a schema name: {schema!r}")
        self.name = name
        self.schema = schema
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.handler = handler
        self.types = frozenset(types) if types else None
        self.database_url = database_url
        self.role = role
        self.poll_interval = poll_interval
        self.gather = gather  # seconds to wait after a NOTIFY, so that one transaction takes a burst of events
        self.batch = batch
        self.max_attempts = max_attempts
        self.metrics = _metrics(registry)
        self._attempts: dict[int, int] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    # -- processing -------------------------------------------------------------------------

    async def position(self) -> int:
        async with self.sessions() as session:
            value = await session.scalar(
                text(f"SELECT position FROM {self.schema}.consumer_position WHERE consumer = :c"),
                {"c": self.name},
            )
            return int(value or 0)

    async def process_once(self, session: AsyncSession | None = None) -> tuple[int, bool]:
        """One batch in one transaction. Returns (events passed, whether a handler failed).

        With `session` (a request's), the batch runs inside that session's transaction, as a
        savepoint: the request then sees what the handler wrote, and the position moves with the
        request's commit (or not at all)."""
        if session is not None:
            async with session.begin_nested():
                return await self._process(session)
        async with self._lock, self.sessions() as own, own.begin():
            return await self._process(own)

    async def _process(self, session: AsyncSession) -> tuple[int, bool]:
        await session.execute(
            text(f"INSERT INTO {self.schema}.consumer_position (consumer) VALUES (:c) ON CONFLICT DO NOTHING"),
            {"c": self.name},
        )
        position = int(
            await session.scalar(
                text(f"SELECT position FROM {self.schema}.consumer_position WHERE consumer = :c FOR UPDATE"),
                {"c": self.name},
            )
            or 0
        )
        # The head first: every event up to it is committed (the log has no gaps), so the
        # next statement sees them all and nothing between is skipped.
        head = int(await session.scalar(select(func.coalesce(func.max(Event.seq), 0))) or 0)
        if head <= position:
            return 0, False
        query = (
            select(Event.__table__).where(Event.seq > position, Event.seq <= head).order_by(Event.seq).limit(self.batch)
        )
        if self.types is not None:
            query = query.where(Event.type.in_(sorted(self.types)))
        rows = list((await session.execute(query)).all())
        # With a type filter, an empty or short batch means nothing else up to the head is ours.
        new_position = rows[-1].seq if len(rows) == self.batch else head
        failed = False
        passed = 0
        for row in rows:
            try:
                async with session.begin_nested():
                    await self.handler(session, row)
            except Exception as exc:
                attempts = self._attempts.get(row.seq, 0) + 1
                self._attempts[row.seq] = attempts
                self.metrics.failures.labels(self.name).inc()
                logger.exception(
                    "footprint consumer %s failed on seq %s (%s), attempt %s of %s",
                    self.name, row.seq, row.type, attempts, self.max_attempts,
                )  # fmt: skip
                if attempts < self.max_attempts:
                    new_position = row.seq - 1
                    failed = True
                    break
                await session.execute(
                    text(
                        f"INSERT INTO {self.schema}.consumer_dead_letter"
                        " (consumer, seq, event_type, error, attempts)"
                        " VALUES (:c, :seq, :type, :error, :attempts) ON CONFLICT DO NOTHING"
                    ),
                    {"c": self.name, "seq": row.seq, "type": row.type, "error": repr(exc)[:2000],
                     "attempts": attempts},
                )  # fmt: skip
                self.metrics.dead_letters.labels(self.name).inc()
                logger.error(
                    "footprint consumer %s set seq %s aside after %s attempts",
                    self.name,
                    row.seq,
                    attempts,
                )
                del self._attempts[row.seq]
            else:
                self._attempts.pop(row.seq, None)
                self.metrics.handled.labels(self.name).inc()
            passed += 1
        if new_position > position:
            await session.execute(
                text(
                    f"UPDATE {self.schema}.consumer_position SET position = :p, updated_at = now() WHERE consumer = :c"
                ),
                {"p": new_position, "c": self.name},
            )
            self.metrics.position.labels(self.name).set(new_position)
        return passed, failed

    async def catch_up(self, session: AsyncSession | None = None) -> bool:
        """Process everything committed before this call (and, with a request's `session`, what
        that session's own transaction has appended and chained). False if a handler is failing."""
        await sequencer.sequence_pending(session, sessions=self.sessions)
        while True:
            passed, failed = await self.process_once(session)
            if failed:
                return False
            if passed == 0 or passed < self.batch:
                return True

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Process, then wait for a NOTIFY or the poll interval; forever (until cancelled)."""
        listener = await self._listen()
        backoff = 0.0
        try:
            while True:
                try:
                    passed, failed = await self.process_once()
                except Exception:
                    logger.exception("footprint consumer %s could not read the log", self.name)
                    passed, failed = 0, True
                if failed:
                    backoff = min(max(backoff * 2, 0.1), self.poll_interval)
                    await asyncio.sleep(backoff)
                    continue
                backoff = 0.0
                if passed:
                    continue
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                    # Each NOTIFY woke one transaction of ~10 statements for as little as one event
                    # (5-7 ms of CPU an event under load, bench/write_path.py): gather the burst first.
                    await asyncio.sleep(self.gather)
                self._wake.clear()
        finally:
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        if not self.database_url:
            return None
        try:
            settings = {"role": self.role} if self.role else {}
            connection = await asyncpg.connect(plain_url(self.database_url), server_settings=settings)
            await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            return connection
        except Exception:
            logger.warning("footprint consumer %s cannot LISTEN; polling every %ss", self.name, self.poll_interval)
            return None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Consumer]:
        """Run in the background for the life of the block (an app's lifespan)."""
        task = asyncio.create_task(self.run(), name=f"consumer:{self.name}")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
