"""The reviews service: IROs, children, care periods and their changes, allocations, reviews,
rearrangements, decisions, midway reviews and case notes.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from shared.migrate import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = """
CREATE FUNCTION reviews.eighteenth_birthday(date_of_birth date) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT AS $fn$
    SELECT (date_of_birth + interval '18 years'
            + CASE WHEN extract(month FROM date_of_birth) = 2 AND extract(day FROM date_of_birth) = 29
                        AND extract(day FROM date_of_birth + interval '18 years') = 28
                   THEN interval '1 day' ELSE interval '0 days' END)::date
$fn$;
COMMENT ON FUNCTION reviews.eighteenth_birthday(date) IS
    'The 18th birthday (Children Act 1989 s105); 1 March for a 29 February birth in a common year';

CREATE TABLE reviews.iro (
    id uuid PRIMARY KEY, name text NOT NULL, email text NOT NULL, fte numeric(4,3) NOT NULL,
    active boolean NOT NULL DEFAULT true, created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_iro_fte CHECK (fte > 0 AND fte <= 1)
);
CREATE UNIQUE INDEX uq_iro_email ON reviews.iro (lower(email));

CREATE TABLE reviews.child (
    id uuid PRIMARY KEY, la_reference text NOT NULL, date_of_birth date NOT NULL, display_name text,
    sex text, uasc boolean, created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_child_la_reference UNIQUE (la_reference)
);

CREATE TABLE reviews.care_period (
    id uuid PRIMARY KEY, child_id uuid NOT NULL REFERENCES reviews.child (id), started_on date NOT NULL,
    legal_status text NOT NULL, placement_type text, ended_on date, end_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_care_period_dates CHECK (ended_on IS NULL OR ended_on >= started_on)
);
CREATE UNIQUE INDEX uq_care_period_one_open ON reviews.care_period (child_id) WHERE ended_on IS NULL;
CREATE INDEX ix_care_period_child_id ON reviews.care_period (child_id, started_on);

CREATE TABLE reviews.placement_change (
    id uuid PRIMARY KEY, care_period_id uuid NOT NULL REFERENCES reviews.care_period (id),
    child_id uuid NOT NULL REFERENCES reviews.child (id), changed_on date NOT NULL, placement_type text NOT NULL,
    unplanned boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_placement_change_child_id ON reviews.placement_change (child_id, changed_on);

CREATE TABLE reviews.legal_status_change (
    id uuid PRIMARY KEY, care_period_id uuid NOT NULL REFERENCES reviews.care_period (id),
    child_id uuid NOT NULL REFERENCES reviews.child (id), changed_on date NOT NULL, legal_status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_legal_status_change_child_id ON reviews.legal_status_change (child_id, changed_on);

CREATE TABLE reviews.allocation (
    id uuid PRIMARY KEY, child_id uuid NOT NULL REFERENCES reviews.child (id),
    iro_id uuid NOT NULL REFERENCES reviews.iro (id), allocated_on date NOT NULL, ended_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_allocation_dates CHECK (ended_on IS NULL OR ended_on >= allocated_on)
);
CREATE UNIQUE INDEX uq_allocation_one_current ON reviews.allocation (child_id) WHERE ended_on IS NULL;
CREATE INDEX ix_allocation_iro_id ON reviews.allocation (iro_id, allocated_on);

CREATE TABLE reviews.review (
    id uuid PRIMARY KEY, child_id uuid NOT NULL REFERENCES reviews.child (id),
    care_period_id uuid NOT NULL REFERENCES reviews.care_period (id), sequence integer NOT NULL,
    due_on date NOT NULL, statutory_due_on date NOT NULL, early_reason text, planned_on date,
    status text NOT NULL DEFAULT 'scheduled', held_on date, meeting_dates date[], format text, venue text,
    chaired_by_child text, chaired_by_iro_id uuid, in_time boolean, late_reason text, late_reason_detail text,
    closed_on date, sw_report_received_on date, decisions_issued_on date, record_issued_on date,
    letter_to_child_sent_on date, created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_review_care_period_id_sequence UNIQUE (care_period_id, sequence),
    CONSTRAINT ck_review_status CHECK (status IN ('scheduled', 'held', 'missed', 'cancelled')),
    CONSTRAINT ck_review_held CHECK ((status = 'held') = (held_on IS NOT NULL)),
    CONSTRAINT ck_review_due CHECK (due_on <= statutory_due_on)
);
CREATE INDEX ix_review_child_id ON reviews.review (child_id, sequence);
CREATE INDEX ix_review_due_on ON reviews.review (due_on) WHERE status = 'scheduled';
CREATE INDEX ix_review_held_on ON reviews.review (held_on) WHERE status = 'held';
CREATE INDEX ix_review_statutory_due_on ON reviews.review (statutory_due_on);

CREATE TABLE reviews.rearrangement (
    id uuid PRIMARY KEY, review_id uuid NOT NULL REFERENCES reviews.review (id), previous_planned_on date,
    planned_on date NOT NULL, reason text NOT NULL, recorded_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_rearrangement_review_id ON reviews.rearrangement (review_id, created_at);

CREATE TABLE reviews.decision (
    id uuid PRIMARY KEY, review_id uuid NOT NULL REFERENCES reviews.review (id),
    child_id uuid NOT NULL REFERENCES reviews.child (id), text text NOT NULL, owner text NOT NULL,
    due_on date NOT NULL, status text NOT NULL DEFAULT 'open', completed_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_decision_status CHECK (status IN ('open', 'done', 'not_done', 'superseded'))
);
CREATE INDEX ix_decision_child_id ON reviews.decision (child_id, due_on);
CREATE INDEX ix_decision_due_on ON reviews.decision (due_on) WHERE status = 'open';

CREATE TABLE reviews.midway_review (
    id uuid PRIMARY KEY, child_id uuid NOT NULL REFERENCES reviews.child (id), held_on date NOT NULL,
    outcome text NOT NULL, note text, iro_id uuid, recorded_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_midway_review_outcome CHECK (outcome IN ('on_track', 'concerns', 'escalated'))
);
CREATE INDEX ix_midway_review_child_id ON reviews.midway_review (child_id, held_on);

CREATE TABLE reviews.case_note (
    id uuid PRIMARY KEY, child_id uuid NOT NULL REFERENCES reviews.child (id), recorded_on date NOT NULL,
    text text NOT NULL, kind text, iro_id uuid, recorded_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_case_note_child_id ON reviews.case_note (child_id, recorded_on);
"""

DROP = (
    "case_note", "midway_review", "decision", "rearrangement", "review", "allocation",
    "legal_status_change", "placement_change", "care_period", "child", "iro",
)  # fmt: skip


def upgrade() -> None:
    execute_script(op.execute, TABLES)


def downgrade() -> None:
    for table in DROP:
        op.execute(f"DROP TABLE IF EXISTS reviews.{table}")
    op.execute("DROP FUNCTION IF EXISTS reviews.eighteenth_birthday(date)")
