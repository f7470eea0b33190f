"""Idempotency keys, in each schema whose app takes POSTs.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMAS = ("reviews", "escalations", "participation", "gateway")


def upgrade() -> None:
    for schema in SCHEMAS:
        op.execute(
            f"""
            CREATE TABLE {schema}.idempotency_key (
                subject          text        NOT NULL,
                method           text        NOT NULL,
                path             text        NOT NULL,
                key              text        NOT NULL,
                request_hash     text        NOT NULL,
                state            text        NOT NULL DEFAULT 'in_flight',
                lease            uuid        NOT NULL,
                claimed_at       timestamptz NOT NULL DEFAULT now(),
                effect_committed boolean     NOT NULL DEFAULT false,
                response_status  integer,
                response_headers jsonb,
                response_body    bytea,
                completed_at     timestamptz,
                CONSTRAINT pk_idempotency_key PRIMARY KEY (subject, method, path, key),
                CONSTRAINT ck_idempotency_key_state CHECK (state IN ('in_flight', 'done'))
            )
            """
        )
        op.execute(f"CREATE INDEX ix_idempotency_key_claimed_at ON {schema}.idempotency_key (claimed_at)")


def downgrade() -> None:
    for schema in SCHEMAS:
        op.execute(f"DROP TABLE IF EXISTS {schema}.idempotency_key")
