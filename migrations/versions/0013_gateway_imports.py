"""SSDA903 imports: the job table a worker claims from, and each upload's staged rows with their
outcomes (only the columns the platform uses; never the files).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

from shared.migrate import execute_script

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE gateway.import_job (
    id uuid CONSTRAINT pk_import_job PRIMARY KEY, kind text NOT NULL DEFAULT 'ssda903',
    collection_year integer, status text NOT NULL DEFAULT 'queued', content_sha256 text, upload_sha256 text,
    bytes bigint NOT NULL DEFAULT 0, files jsonb NOT NULL DEFAULT '{}', uploaded_by text NOT NULL, uploaded_role text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, finished_at timestamptz,
    runs integer NOT NULL DEFAULT 0, problem jsonb, report jsonb,
    CONSTRAINT ck_import_job_status CHECK (status IN ('receiving', 'queued', 'running', 'done', 'failed')),
    CONSTRAINT ck_import_job_collection_year CHECK (collection_year BETWEEN 2000 AND 2199),
    CONSTRAINT ck_import_job_received CHECK (status = 'receiving' OR (collection_year IS NOT NULL AND content_sha256 IS NOT NULL))
);
CREATE INDEX ix_import_job_status ON gateway.import_job (status, created_at);
CREATE UNIQUE INDEX uq_import_job_content ON gateway.import_job (kind, collection_year, content_sha256)
    WHERE status <> 'failed';

CREATE TABLE gateway.import_row (
    import_id uuid NOT NULL CONSTRAINT fk_import_row_import_id_import_job REFERENCES gateway.import_job (id)
        ON DELETE CASCADE, "table" text NOT NULL,
    "row" integer NOT NULL, child text, "values" jsonb NOT NULL DEFAULT '{}', problem text,
    outcome text, field text, reason text,
    CONSTRAINT pk_import_row PRIMARY KEY (import_id, "table", "row"),
    CONSTRAINT ck_import_row_outcome CHECK (outcome IN ('applied', 'duplicate', 'refused'))
);
CREATE INDEX ix_import_row_child ON gateway.import_row (import_id, child);
"""


def upgrade() -> None:
    execute_script(op.execute, TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS gateway.import_row")
    op.execute("DROP TABLE IF EXISTS gateway.import_job")
