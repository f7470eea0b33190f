"""Primary and foreign keys take the names the models' naming convention gives them (shared.db).

Migrations 0004 and 0006 declared these inline (`id uuid PRIMARY KEY`, `REFERENCES ...`), so
PostgreSQL named them itself (`iro_pkey`, `care_period_child_id_fkey`): every other table's were
named by the convention (`pk_<table>`, `fk_<table>_<column>_<referred table>`), and the models
would create them so. Renaming changes no data and takes each table's lock only for the rename
(the primary key's index is renamed with it). Since then, the models and the migrations agree
(tests/test_schema_agreement.py).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PRIMARY_KEYS = {
    "reviews": (
        "iro", "child", "care_period", "placement_change", "legal_status_change", "allocation", "review",
        "rearrangement", "decision", "midway_review", "case_note",
    ),
    "participation": ("child", "held_review", "participation", "feedback", "advocacy_referral"),
}  # fmt: skip

# (schema, table, column, referred table)
FOREIGN_KEYS = (
    ("reviews", "care_period", "child_id", "child"),
    ("reviews", "placement_change", "care_period_id", "care_period"),
    ("reviews", "placement_change", "child_id", "child"),
    ("reviews", "legal_status_change", "care_period_id", "care_period"),
    ("reviews", "legal_status_change", "child_id", "child"),
    ("reviews", "allocation", "child_id", "child"),
    ("reviews", "allocation", "iro_id", "iro"),
    ("reviews", "review", "child_id", "child"),
    ("reviews", "review", "care_period_id", "care_period"),
    ("reviews", "rearrangement", "review_id", "review"),
    ("reviews", "decision", "review_id", "review"),
    ("reviews", "decision", "child_id", "child"),
    ("reviews", "midway_review", "child_id", "child"),
    ("reviews", "case_note", "child_id", "child"),
    ("participation", "participation", "review_id", "held_review"),
)


def _renames() -> list[tuple[str, str, str, str]]:
    """(schema, table, PostgreSQL's name, the convention's name)"""
    renames = [
        (schema, table, f"{table}_pkey", f"pk_{table}") for schema, tables in PRIMARY_KEYS.items() for table in tables
    ]
    renames += [
        (schema, table, f"{table}_{column}_fkey", f"fk_{table}_{column}_{referred}")
        for schema, table, column, referred in FOREIGN_KEYS
    ]
    return renames


def upgrade() -> None:
    for schema, table, old, new in _renames():
        op.execute(f"ALTER TABLE {schema}.{table} RENAME CONSTRAINT {old} TO {new}")


def downgrade() -> None:
    for schema, table, old, new in reversed(_renames()):
        op.execute(f"ALTER TABLE {schema}.{table} RENAME CONSTRAINT {new} TO {old}")
