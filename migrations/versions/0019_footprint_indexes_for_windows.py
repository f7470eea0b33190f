"""The auditors' 90-day pages of a child's or an IRO's footprint read only the window's events.

A page filtered by `iro_id` (or `child_id`) and an `occurred_at` window, in `seq` order, was planned
as a bitmap AND of the IRO's whole history and the whole window across every IRO: at a million
events, an IRO's 90-day page took 18 ms at the database (p99), growing with the log
(bench/footprint_scale.py, issue 15). With `(iro_id, occurred_at)` the plan reads the ~160 rows of
the window and sorts the page: 0.5-1.4 ms, whatever the log's length.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_events_iro_id_occurred_at ON footprint.events (iro_id, occurred_at) WHERE iro_id IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_events_child_id_occurred_at ON footprint.events (child_id, occurred_at)"
        " WHERE child_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS footprint.ix_events_child_id_occurred_at")
    op.execute("DROP INDEX IF EXISTS footprint.ix_events_iro_id_occurred_at")
