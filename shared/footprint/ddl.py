"""The footprint's database functions and triggers, declared once, as they are now (alembic-utils
entities).

Tables and indexes are declared on the models; what a model cannot say lives here (or, for a
service's own function, beside its models: `services.reviews.models.EIGHTEENTH_BIRTHDAY`).
migrations/env.py registers them, so `alembic revision --autogenerate` (and `alembic check`, which
tests/test_schema_agreement.py runs) compares each with the database and proposes a migration when
they differ. To change one: edit it here, then write a migration that applies it
(`op.replace_entity(ddl.APPEND_EVENT)`) with any GRANTs it needs: grants depend on the settings
(role names), so they stay in the migrations, and autogenerate does not compare them.

The migrations that created them: 0002 (`refuse_change` and the append-only triggers), 0007 and
0008 (`append_event`), 0009 (`append_events`). A function's body is compared as PostgreSQL stores
it, so it must match the migration's text, whitespace aside.
"""

from __future__ import annotations

from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger
from alembic_utils.replaceable_entity import ReplaceableEntity

from shared.footprint.append import APPEND_LOCK_KEY

REFUSE_CHANGE = PGFunction(
    schema="footprint",
    signature="refuse_change()",
    definition="""RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'footprint.events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$""",
)

# Append-only for everyone, the table's owner included (docs/footprint.md).
EVENTS_NO_UPDATE_OR_DELETE = PGTrigger(
    schema="footprint",
    signature="events_no_update_or_delete",
    on_entity="footprint.events",
    definition="BEFORE UPDATE OR DELETE ON footprint.events FOR EACH ROW EXECUTE FUNCTION footprint.refuse_change()",
)
EVENTS_NO_TRUNCATE = PGTrigger(
    schema="footprint",
    signature="events_no_truncate",
    on_entity="footprint.events",
    definition="BEFORE TRUNCATE ON footprint.events FOR EACH STATEMENT EXECUTE FUNCTION footprint.refuse_change()",
)

APPEND_EVENT = PGFunction(
    schema="footprint",
    signature=(
        "append_event(p_id uuid, p_type text, p_occurred_at timestamptz, p_service text, p_actor jsonb,"
        " p_child_id uuid, p_iro_id uuid, p_subject_type text, p_subject_id text, p_payload jsonb,"
        " p_request_id text, p_canonical_before_recorded_at text, p_canonical_before_seq text,"
        " p_canonical_after_seq text)"
    ),
    definition=f"""RETURNS TABLE (seq bigint, recorded_at timestamptz, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_seq bigint;
    v_prev text;
    v_now timestamptz;
    v_hash text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'footprint appends need READ COMMITTED, not %', current_setting('transaction_isolation');
    END IF;
    PERFORM pg_advisory_xact_lock({APPEND_LOCK_KEY});
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
$fn$""",
)

APPEND_EVENTS = PGFunction(
    schema="footprint",
    signature=(
        "append_events(p_id uuid[], p_type text[], p_occurred_at timestamptz[], p_service text[],"
        " p_actor jsonb[], p_child_id uuid[], p_iro_id uuid[], p_subject_type text[], p_subject_id text[],"
        " p_payload jsonb[], p_request_id text[], p_canonical_before_recorded_at text[],"
        " p_canonical_before_seq text[], p_canonical_after_seq text[])"
    ),
    definition=f"""RETURNS TABLE (seq bigint, recorded_at timestamptz, prev_hash text, hash text)
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
    PERFORM pg_advisory_xact_lock({APPEND_LOCK_KEY});
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
$fn$""",
)

FUNCTIONS: tuple[PGFunction, ...] = (REFUSE_CHANGE, APPEND_EVENT, APPEND_EVENTS)
TRIGGERS: tuple[PGTrigger, ...] = (EVENTS_NO_UPDATE_OR_DELETE, EVENTS_NO_TRUNCATE)
ENTITIES: tuple[ReplaceableEntity, ...] = (*FUNCTIONS, *TRIGGERS)
