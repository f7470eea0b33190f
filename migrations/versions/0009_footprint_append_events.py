"""`footprint.append_events`: a batch of events under one hold of the append lock, in one call.

The request's unit of work records its events while it runs and appends them together just before
its single commit (shared.footprint.batch), as do ingest and the 903 backfill: the lock is taken
once, the head read once, and each event chained to the one before it inside the function, so the
lock covers the server's work and the commit, never a client round trip. The same rules as
`footprint.append_event` (migration 0007): READ COMMITTED only, `seq` in commit order with no gaps.
All events of one call share one `recorded_at`. Runs with its owner's rights, like the single append
(migration 0008): service roles hold EXECUTE on it and no INSERT on the table.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from shared.settings import CommonSettings

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# pg_advisory_xact_lock key of the footprint: 'footprnt' read as a big-endian int64
# (shared.footprint.append.APPEND_LOCK_KEY).
LOCK_KEY = int.from_bytes(b"footprnt", "big", signed=True)
SIGNATURE = (
    "footprint.append_events(uuid[], text[], timestamptz[], text[], jsonb[], uuid[], uuid[], text[], text[],"
    " jsonb[], text[], text[], text[], text[])"
)
WRITERS = ("reviews", "escalations", "participation", "gateway")

FUNCTION = f"""
CREATE FUNCTION footprint.append_events(
    p_id uuid[], p_type text[], p_occurred_at timestamptz[], p_service text[], p_actor jsonb[], p_child_id uuid[],
    p_iro_id uuid[], p_subject_type text[], p_subject_id text[], p_payload jsonb[], p_request_id text[],
    p_canonical_before_recorded_at text[], p_canonical_before_seq text[], p_canonical_after_seq text[]
) RETURNS TABLE (seq bigint, recorded_at timestamptz, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_count integer := coalesce(array_length(p_id, 1), 0);
    v_seq bigint;
    v_prev text;
    v_now timestamptz;
    v_hash text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'footprint appends need READ COMMITTED, not %', current_setting('transaction_isolation');
    END IF;
    IF v_count = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    PERFORM pg_notify('footprint', '');
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM footprint.events e ORDER BY e.seq DESC LIMIT 1;
    v_seq := coalesce(v_seq, 0);
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_now := date_trunc('microseconds', clock_timestamp());
    FOR i IN 1 .. v_count LOOP
        v_seq := v_seq + 1;
        v_hash := encode(sha256(convert_to(
            v_prev || p_canonical_before_recorded_at[i]
            || to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            || p_canonical_before_seq[i] || v_seq::text || p_canonical_after_seq[i], 'UTF8')), 'hex');
        INSERT INTO footprint.events (seq, id, type, occurred_at, recorded_at, service, actor, child_id, iro_id,
                                      subject_type, subject_id, payload, request_id, prev_hash, hash)
        VALUES (v_seq, p_id[i], p_type[i], p_occurred_at[i], v_now, p_service[i], p_actor[i], p_child_id[i],
                p_iro_id[i], p_subject_type[i], p_subject_id[i], p_payload[i], p_request_id[i], v_prev, v_hash);
        seq := v_seq;
        recorded_at := v_now;
        prev_hash := v_prev;
        hash := v_hash;
        RETURN NEXT;
        v_prev := v_hash;
    END LOOP;
END
$fn$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    settings = CommonSettings()
    for name in WRITERS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {settings.db_role(name)}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
