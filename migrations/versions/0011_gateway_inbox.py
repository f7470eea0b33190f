"""The gateway's ingest inbox: every event a case system sent that passed the door, with its outcome.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from shared.migrate import execute_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE gateway.inbox (
    id uuid CONSTRAINT pk_inbox PRIMARY KEY, source text NOT NULL, event_id text, type text, time timestamptz,
    body text, body_cleared_at timestamptz, status text NOT NULL DEFAULT 'received', problem jsonb,
    warnings jsonb NOT NULL DEFAULT '[]', note text, target jsonb, attempt integer NOT NULL DEFAULT 1,
    received_at timestamptz NOT NULL DEFAULT now(), received_by text NOT NULL, applied_at timestamptz,
    request_id text,
    CONSTRAINT uq_inbox_source_event_id UNIQUE (source, event_id),
    CONSTRAINT ck_inbox_status CHECK (status IN ('received', 'accepted', 'duplicate', 'rejected')),
    CONSTRAINT ck_inbox_attempt CHECK (attempt > 0),
    CONSTRAINT ck_inbox_warnings CHECK (jsonb_typeof(warnings) = 'array')
);
CREATE INDEX ix_inbox_received_at ON gateway.inbox (received_at, id);
CREATE INDEX ix_inbox_status ON gateway.inbox (status, received_at, id);
CREATE INDEX ix_inbox_body_kept ON gateway.inbox (received_at) WHERE body IS NOT NULL;
"""


def upgrade() -> None:
    execute_script(op.execute, TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS gateway.inbox")
