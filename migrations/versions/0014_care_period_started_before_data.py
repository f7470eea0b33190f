"""A care period that began before the data (issue 13, the SSDA903 backfill): a child's first episode
in the return that is not a new period (RNE other than `S`) starts the period at its DECOM with
`started_before_data`, and the first review held in it is not judged for timeliness (it has no known
predecessor; services/reviews/rules.py `timeliness_judged`). Existing periods began in the platform's
own records: false.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE reviews.care_period ADD COLUMN started_before_data boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE reviews.care_period DROP COLUMN IF EXISTS started_before_data")
