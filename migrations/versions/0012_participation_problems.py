"""Participation keeps and flags, never drops: each held review's `problems`, recomputed whenever the
child's date of birth (a `child.updated` correction) or the review's participation code changes
(services/participation/rules.py `problems_of`): `code_invalid_for_age`, `review_on_or_after_18th_birthday`,
`review_before_date_of_birth`. Existing rows start with none: every stored code was checked against
the date of birth it was entered under.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE participation.held_review ADD COLUMN problems text[] NOT NULL DEFAULT '{}'")


def downgrade() -> None:
    op.execute("ALTER TABLE participation.held_review DROP COLUMN IF EXISTS problems")
