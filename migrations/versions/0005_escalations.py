"""The escalations service: escalations, the children they name, their stage history,
commendations, and the children known from the footprint.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shared.migrate import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE escalations.escalation (
    id uuid NOT NULL, raised_as_alert boolean NOT NULL, scope text NOT NULL, category text NOT NULL,
    team text NOT NULL, summary text NOT NULL, raised_on date NOT NULL, raised_by text NOT NULL,
    status text NOT NULL DEFAULT 'open', stage integer NOT NULL, outcome text, closed_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_escalation PRIMARY KEY (id),
    CONSTRAINT ck_escalation_status CHECK (status IN ('open', 'resolved', 'withdrawn', 'referred_to_cafcass')),
    CONSTRAINT ck_escalation_scope CHECK (scope IN ('child', 'children', 'service')),
    CONSTRAINT ck_escalation_stage CHECK (stage >= 0 AND (raised_as_alert OR stage >= 1)),
    CONSTRAINT ck_escalation_closed CHECK ((status = 'open') = (closed_on IS NULL) AND (closed_on IS NULL OR closed_on >= raised_on))
);
CREATE INDEX ix_escalation_raised_on_id ON escalations.escalation (raised_on, id);
CREATE INDEX ix_escalation_closed_on ON escalations.escalation (closed_on) WHERE closed_on IS NOT NULL;
CREATE INDEX ix_escalation_open ON escalations.escalation (id) WHERE status = 'open';

CREATE TABLE escalations.escalation_child (
    escalation_id uuid NOT NULL, child_id uuid NOT NULL, position integer NOT NULL,
    CONSTRAINT pk_escalation_child PRIMARY KEY (escalation_id, child_id),
    CONSTRAINT fk_escalation_child_escalation_id_escalation FOREIGN KEY (escalation_id)
        REFERENCES escalations.escalation (id)
);
CREATE INDEX ix_escalation_child_child_id ON escalations.escalation_child (child_id);

CREATE TABLE escalations.escalation_stage (
    escalation_id uuid NOT NULL, stage integer NOT NULL, name text NOT NULL,
    entered_on date NOT NULL, response_due_on date NOT NULL, entry_reason text, responded_on date, responder text,
    response_text text, ended_on date, ended_how text, end_reason text,
    CONSTRAINT pk_escalation_stage PRIMARY KEY (escalation_id, stage),
    CONSTRAINT fk_escalation_stage_escalation_id_escalation FOREIGN KEY (escalation_id)
        REFERENCES escalations.escalation (id),
    CONSTRAINT ck_escalation_stage_dates CHECK (response_due_on >= entered_on
        AND (responded_on IS NULL OR responded_on >= entered_on) AND (ended_on IS NULL OR ended_on >= entered_on)),
    CONSTRAINT ck_escalation_stage_ended_how CHECK ((ended_how IS NULL) = (ended_on IS NULL)
        AND (ended_how IS NULL OR ended_how IN ('escalated', 'resolved', 'withdrawn', 'referred_to_cafcass')))
);
CREATE INDEX ix_escalation_stage_open_due ON escalations.escalation_stage (response_due_on)
    WHERE ended_on IS NULL AND responded_on IS NULL;

CREATE TABLE escalations.commendation (
    id uuid NOT NULL, child_id uuid, team text NOT NULL, summary text NOT NULL, raised_on date NOT NULL,
    raised_by text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_commendation PRIMARY KEY (id)
);
CREATE INDEX ix_commendation_raised_on_id ON escalations.commendation (raised_on, id);
CREATE INDEX ix_commendation_child_id ON escalations.commendation (child_id) WHERE child_id IS NOT NULL;

CREATE TABLE escalations.known_child (
    id uuid NOT NULL, la_reference text, date_of_birth date, registered_seq bigint NOT NULL,
    iro_id uuid, updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_known_child PRIMARY KEY (id)
);
CREATE TABLE escalations.known_iro (
    id uuid NOT NULL, email text NOT NULL, registered_seq bigint NOT NULL,
    CONSTRAINT pk_known_iro PRIMARY KEY (id)
);
CREATE INDEX ix_known_iro_email ON escalations.known_iro (lower(email));
"""

DROP = ("known_iro", "known_child", "commendation", "escalation_stage", "escalation_child", "escalation")


def upgrade() -> None:
    execute_script(op.execute, TABLES)


def downgrade() -> None:
    for table in DROP:
        op.execute(f"DROP TABLE IF EXISTS escalations.{table}")
