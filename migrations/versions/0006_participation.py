"""The participation service: its view of held reviews and children (fed from the footprint), each
review's participation record, feedback forms and advocacy referrals. No foreign keys leave the
schema; the service never reads the reviews schema.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from shared.migrate import execute_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE participation.child (
    id uuid PRIMARY KEY, la_reference text, date_of_birth date NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE participation.held_review (
    review_id uuid PRIMARY KEY, child_id uuid NOT NULL, review_date date NOT NULL, date_of_birth date NOT NULL,
    format text, chaired_by_iro_id uuid, sequence integer, updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_held_review_review_date ON participation.held_review (review_date);
CREATE INDEX ix_held_review_child_id ON participation.held_review (child_id, review_date);

CREATE TABLE participation.participation (
    review_id uuid PRIMARY KEY REFERENCES participation.held_review (review_id), code text NOT NULL,
    methods text[] NOT NULL DEFAULT '{}', met_iro_before boolean, interpreter_used boolean,
    parents jsonb NOT NULL DEFAULT '[]', recorded_by text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    CONSTRAINT ck_participation_code CHECK (code IN ('PN0', 'PN1', 'PN2', 'PN3', 'PN4', 'PN5', 'PN6', 'PN7')),
    CONSTRAINT ck_participation_parents CHECK (jsonb_typeof(parents) = 'array'),
    CONSTRAINT ck_participation_version CHECK (version > 0)
);

CREATE TABLE participation.feedback (
    id uuid PRIMARY KEY, respondent text NOT NULL, channel text NOT NULL, review_id uuid, child_id uuid,
    answers jsonb NOT NULL DEFAULT '{}', comment text, received_on date NOT NULL, recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_feedback_answers CHECK (jsonb_typeof(answers) = 'object')
);
CREATE INDEX ix_feedback_received_on ON participation.feedback (received_on, id);
CREATE INDEX ix_feedback_child_id ON participation.feedback (child_id, received_on) WHERE child_id IS NOT NULL;

CREATE TABLE participation.advocacy_referral (
    id uuid PRIMARY KEY, child_id uuid NOT NULL, referred_on date NOT NULL, provider text NOT NULL, reason text,
    outcome text, outcome_on date, recorded_by text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_advocacy_referral_referred_on ON participation.advocacy_referral (referred_on, id);
CREATE INDEX ix_advocacy_referral_child_id ON participation.advocacy_referral (child_id, referred_on);
"""

DROP = ("advocacy_referral", "feedback", "participation", "held_review", "child")


def upgrade() -> None:
    execute_script(op.execute, TABLES)


def downgrade() -> None:
    for table in DROP:
        op.execute(f"DROP TABLE IF EXISTS participation.{table}")
