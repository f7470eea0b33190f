"""Today's date, from a clock tests (and demos) can set. Every "as of today" rule reads this."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import Request

LONDON = ZoneInfo("Europe/London")


class Clock:
    """The local date in England, or a fixed date when one is set (`IRO_TODAY`, or `clock.fixed`)."""

    def __init__(self, fixed: dt.date | None = None) -> None:
        self.fixed = fixed

    def today(self) -> dt.date:
        return self.fixed or dt.datetime.now(LONDON).date()


async def today(request: Request) -> dt.date:
    """A dependency: the app's clock's today. `async` though it waits for nothing: FastAPI runs a
    plain `def` dependency in a worker thread, a hop that cost every request ~6 % of its CPU."""
    clock: Clock = request.app.state.clock
    return clock.today()
