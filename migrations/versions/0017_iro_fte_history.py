"""An IRO's staffing history, the legal status each care period started with, and an inlinable
`reviews.eighteenth_birthday`.

- `reviews.iro_fte`: an IRO's `fte` and `active` in force from `valid_from` until the next row's, so
  last year's caseload table uses last year's FTE (services/reviews/models.py `IroFte`). Each IRO
  gets one row from the day it was registered (in England, as the service's today is), with its
  current values: nothing earlier is known.
- `reviews.care_period.initial_legal_status`: a legal status change overwrites the period's
  `legal_status`, so the status the period started with was kept nowhere but the footprint. The DfE
  export needs every legal status a child had in a collection year (rule 399: a child whose statuses
  were all V3/V4 has no reviews in the return). A period with no change started with its current
  status; one with changes started with the status its `care_period.started` event recorded. A
  period with neither (none is expected) is left null and read as its current status.
- `reviews.eighteenth_birthday` is no longer STRICT: a STRICT SQL function whose body is not strict
  (its CASE) is never inlined, so each call cost a function call; inlined, the statistics and the
  DfE export over a national year's children run it some 20 times faster. It gives the same dates,
  and null for a null date of birth, as before.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

from shared.migrate import execute_script

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FUNCTION = """CREATE OR REPLACE FUNCTION reviews.eighteenth_birthday(date_of_birth date) RETURNS date
    LANGUAGE sql IMMUTABLE {strict}AS $fn$
    SELECT (date_of_birth + interval '18 years'
            + CASE WHEN extract(month FROM date_of_birth) = 2 AND extract(day FROM date_of_birth) = 29
                        AND extract(day FROM date_of_birth + interval '18 years') = 28
                   THEN interval '1 day' ELSE interval '0 days' END)::date
$fn$"""

UPGRADE = """
CREATE TABLE reviews.iro_fte (
    iro_id uuid NOT NULL, valid_from date NOT NULL, fte numeric(4,3) NOT NULL, active boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_iro_fte PRIMARY KEY (iro_id, valid_from),
    CONSTRAINT fk_iro_fte_iro_id_iro FOREIGN KEY (iro_id) REFERENCES reviews.iro (id),
    CONSTRAINT ck_iro_fte_fte CHECK (fte > 0 AND fte <= 1)
);
INSERT INTO reviews.iro_fte (iro_id, valid_from, fte, active)
    SELECT id, (created_at AT TIME ZONE 'Europe/London')::date, fte, active FROM reviews.iro;

ALTER TABLE reviews.care_period ADD COLUMN initial_legal_status text;
UPDATE reviews.care_period SET initial_legal_status = legal_status
    WHERE NOT EXISTS (
        SELECT 1 FROM reviews.legal_status_change c WHERE c.care_period_id = reviews.care_period.id
    );
UPDATE reviews.care_period AS p SET initial_legal_status = started.legal_status
    FROM (
        SELECT DISTINCT ON (payload ->> 'care_period_id')
               payload ->> 'care_period_id' AS care_period_id, payload ->> 'legal_status' AS legal_status
        FROM footprint.events
        WHERE type = 'care_period.started'
        ORDER BY payload ->> 'care_period_id', seq
    ) AS started
    WHERE p.initial_legal_status IS NULL AND started.care_period_id = p.id::text;
"""


def upgrade() -> None:
    execute_script(op.execute, UPGRADE)
    op.execute(FUNCTION.format(strict=""))


def downgrade() -> None:
    op.execute(FUNCTION.format(strict="STRICT "))
    op.execute("ALTER TABLE reviews.care_period DROP COLUMN IF EXISTS initial_legal_status")
    op.execute("DROP TABLE IF EXISTS reviews.iro_fte")
