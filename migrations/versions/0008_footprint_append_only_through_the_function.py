"""Appends go only through `footprint.append_event`: service roles lose INSERT on the table.

Until now a service role could INSERT a made-up row straight into `footprint.events` (any `seq`,
any `hash`), bypassing the function's lock, head read and hash. The function now runs with its
owner's rights (SECURITY DEFINER, with a fixed `search_path` as PostgreSQL's documentation advises
for such functions), so service roles need EXECUTE on it and nothing on the table but SELECT.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from shared.settings import CommonSettings

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SIGNATURE = (
    "footprint.append_event(uuid, text, timestamptz, text, jsonb, uuid, uuid, text, text, jsonb, text, text, text,"
    " text)"
)
WRITERS = ("reviews", "escalations", "participation", "gateway")


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {SIGNATURE} SECURITY DEFINER SET search_path = pg_catalog, pg_temp")
    settings = CommonSettings()
    for name in WRITERS:
        op.execute(f"REVOKE INSERT ON footprint.events FROM {settings.db_role(name)}")


def downgrade() -> None:
    settings = CommonSettings()
    for name in WRITERS:
        op.execute(f"GRANT INSERT ON footprint.events TO {settings.db_role(name)}")
    op.execute(f"ALTER FUNCTION {SIGNATURE} SECURITY INVOKER RESET search_path")
