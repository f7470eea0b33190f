"""`footprint.append_event`: the whole append in one round trip, inside the caller's transaction.

Lock, head read, hash and insert run in one PL/pgSQL call: each statement of a VOLATILE function
takes a fresh snapshot under READ COMMITTED, so the head read after the lock sees every earlier
holder's commit, exactly as the separate statements did. The lock is then held for the server's
work and the commit only. The caller sends the canonical encoding in three parts around the two
values only the log knows (`recorded_at` and `seq`); docs/footprint.md.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from shared.settings import CommonSettings

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# pg_advisory_xact_lock key of the footprint: 'footprnt' read as a big-endian int64
# (shared.footprint.append.APPEND_LOCK_KEY).
LOCK_KEY = int.from_bytes(b"footprnt", "big", signed=True)

FUNCTION = f"""
CREATE FUNCTION footprint.append_event(
    p_id uuid, p_type text, p_occurred_at timestamptz, p_service text, p_actor jsonb, p_child_id uuid,
    p_iro_id uuid, p_subject_type text, p_subject_id text, p_payload jsonb, p_request_id text,
    p_canonical_before_recorded_at text, p_canonical_before_seq text, p_canonical_after_seq text
) RETURNS TABLE (seq bigint, recorded_at timestamptz, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_seq bigint;
    v_prev text;
    v_now timestamptz;
    v_hash text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'footprint appends need READ COMMITTED, not %', current_setting('transaction_isolation');
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    PERFORM pg_notify('footprint', '');
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM footprint.events e ORDER BY e.seq DESC LIMIT 1;
    v_seq := coalesce(v_seq, 0) + 1;
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_now := date_trunc('microseconds', clock_timestamp());
    v_hash := encode(sha256(convert_to(
        v_prev || p_canonical_before_recorded_at
        || to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        || p_canonical_before_seq || v_seq::text || p_canonical_after_seq, 'UTF8')), 'hex');
    INSERT INTO footprint.events (seq, id, type, occurred_at, recorded_at, service, actor, child_id, iro_id,
                                  subject_type, subject_id, payload, request_id, prev_hash, hash)
    VALUES (v_seq, p_id, p_type, p_occurred_at, v_now, p_service, p_actor, p_child_id, p_iro_id,
            p_subject_type, p_subject_id, p_payload, p_request_id, v_prev, v_hash);
    RETURN QUERY SELECT v_seq, v_now, v_prev, v_hash;
END
$fn$
"""


def upgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            IF current_setting('server_encoding') <> 'UTF8' THEN
                RAISE EXCEPTION 'the footprint hashes UTF-8 text: create the database with ENCODING ''UTF8''';
            END IF;
        END $$
        """
    )
    op.execute(FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION footprint.append_event FROM PUBLIC")
    settings = CommonSettings()
    for name in ("reviews", "escalations", "participation", "gateway"):
        op.execute(f"GRANT EXECUTE ON FUNCTION footprint.append_event TO {settings.db_role(name)}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS footprint.append_event")
