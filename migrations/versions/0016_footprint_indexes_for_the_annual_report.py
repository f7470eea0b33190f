"""The footprint's IRO work by the day it is about: the annual report counts midway reviews and case
notes per IRO per month by the day in their payload (`held_on`, `recorded_on`) without reading every
event of those types; and finds the first event the platform itself recorded (not an SSDA903
backfill's) without reading the backfill's events first.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_events_work_day ON footprint.events "
        "(type, (coalesce(payload ->> 'held_on', payload ->> 'recorded_on'))) "
        "WHERE type IN ('midway_review.held', 'case_note.recorded')"
    )
    op.execute(
        "CREATE INDEX ix_events_occurred_at_not_imported ON footprint.events (occurred_at) "
        "WHERE (actor ->> 'source') IS DISTINCT FROM 'ssda903'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS footprint.ix_events_occurred_at_not_imported")
    op.execute("DROP INDEX IF EXISTS footprint.ix_events_work_day")
