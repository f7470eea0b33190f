"""The inbox in the order events were received: `seq`, an identity the insert assigns in the order of
each request's events (a request's rows share their `received_at`), for `GET /v1/inbox`'s order.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE gateway.inbox ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY")
    op.execute("CREATE UNIQUE INDEX uq_inbox_seq ON gateway.inbox (seq)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS gateway.uq_inbox_seq")
    op.execute("ALTER TABLE gateway.inbox DROP COLUMN IF EXISTS seq")
