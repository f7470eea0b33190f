"""The participation side of the DfE SSDA903 reviews table (brief 2.7): every review held in a
collection year, with what the return needs from this service (the child's reference and date of
birth, the participation code) and the review's problems. Internal: the gateway's export
(`/v1/exports/ssda903/*`) reads it over HTTP with the caller's token, and decides there which rows
are exported and which are listed as problems (no code, a flagged problem).

The request first catches this service's view of held reviews up with the footprint (DESIGN 3: a
request that needs a fact just written elsewhere catches the consumer up), so a review held, or a
date of birth corrected, a moment before the export is in it.

Then one statement, in which PostgreSQL writes the whole answer as JSON, in the shape of
`schemas.Ssda903Participation` (the route's declared response model; the tests validate the answer
against it). For a year of 200,000 held reviews (46 MB of JSON) the request takes about a quarter of
the time it took when SQLAlchemy read the rows and pydantic validated and serialised them (1.35 s
against 5.3 s, in process, measured once on a development machine).
"""

from __future__ import annotations

from sqlalchemy import Date, Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import periods
from shared.footprint.consumer import Consumer

_ROWS = text(
    """
    SELECT json_build_object(
               'collection_year', CAST(:year AS integer),
               'from', CAST(:start AS date),
               'to', CAST(:end AS date),
               'items', coalesce(
                   json_agg(
                       json_build_object(
                           'review_id', h.review_id,
                           'child_id', h.child_id,
                           'la_reference', c.la_reference,
                           'review_date', h.review_date,
                           'date_of_birth', h.date_of_birth,
                           'code', p.code,
                           'problems', h.problems
                       )
                       ORDER BY h.review_date, h.review_id
                   ),
                   '[]'
               )
           )::text
      FROM participation.held_review h
      LEFT JOIN participation.child c ON c.id = h.child_id
      LEFT JOIN participation.participation p ON p.review_id = h.review_id
     WHERE h.review_date BETWEEN :start AND :end
    """
).bindparams(bindparam("year", type_=Integer), bindparam("start", type_=Date), bindparam("end", type_=Date))
"""One row even for a year without reviews (an aggregate without GROUP BY), its `items` then `[]`. JSON
dates are ISO 8601 and uuids their canonical text, whatever the session's settings."""


async def participation_rows(session: AsyncSession, *, consumer: Consumer, collection_year: int) -> str:
    """As JSON text (`schemas.Ssda903Participation`): the collection year, its first and last days, and
    every held review whose review date is in it, oldest first (then by review id), with its child,
    the child's `la_reference` (null if none was registered), the review date, the child's date of
    birth now, the recorded code (null when none is) and the review's problems."""
    await consumer.catch_up(session)
    start, end = periods.collection_year(collection_year)
    answer: str = await session.scalar(_ROWS, {"year": collection_year, "start": start, "end": end})
    return answer
