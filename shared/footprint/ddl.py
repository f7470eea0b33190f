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
0008 (`append_event`), 0009 (`append_events`), 0018 (`has_pending`, `sequence`, and both appends
through `footprint.pending`). A function's body is compared as PostgreSQL stores
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

# The single sequencer (migration 0018): moves committed events from `footprint.pending` into the
# chain in one batch, under the footprint's lock, which it keeps until its caller's transaction ends.
# `p_wait` false: returns 0 at once when another transaction holds the lock (it, or the next call,
# moves what is pending); true: waits for the lock (readers, in a short transaction of their own).
# At most `p_max` events a call, oldest first (by `pending_id`), each transaction's events together in
# the order it wrote them (ordered by the transaction's first `pending_id`, so an event written after
# another was seen still comes after it); a pending row whose `id` is already
# in the log is never chained (it stays in pending, where an operator sees it) so it cannot stop the
# chain. Returns how many events it chained.
SEQUENCE = PGFunction(
    schema="footprint",
    signature="sequence(p_wait boolean DEFAULT false, p_max integer DEFAULT 10000)",
    definition=f"""RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_id uuid[];
    v_type text[];
    v_occurred_at timestamptz[];
    v_service text[];
    v_actor jsonb[];
    v_child_id uuid[];
    v_iro_id uuid[];
    v_subject_type text[];
    v_subject_id text[];
    v_payload jsonb[];
    v_request_id text[];
    v_before_recorded_at text[];
    v_before_seq text[];
    v_after_seq text[];
    v_prev_hash text[] := '{{}}';
    v_hash text[] := '{{}}';
    v_count integer;
    v_seq bigint;
    v_prev text;
    v_now timestamptz;
    v_stamp text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'footprint appends need READ COMMITTED, not %', current_setting('transaction_isolation');
    END IF;
    IF NOT footprint.has_pending() THEN
        RETURN 0;
    END IF;
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock({APPEND_LOCK_KEY});
    ELSIF NOT pg_try_advisory_xact_lock({APPEND_LOCK_KEY}) THEN
        RETURN 0;
    END IF;
    WITH moved AS (
        DELETE FROM footprint.pending
         WHERE pending_id IN (SELECT p.pending_id FROM footprint.pending p
                               WHERE NOT EXISTS (SELECT 1 FROM footprint.events e WHERE e.id = p.id)
                               ORDER BY p.pending_id LIMIT p_max)
        RETURNING *, xmin::text AS xact
    ), batched AS (  -- a transaction's events stay together, in the order it wrote them
        SELECT m.*, min(m.pending_id) OVER (PARTITION BY m.xact) AS first_pending_id FROM moved m
    ), ordered AS (
        SELECT b.*, row_number() OVER (ORDER BY b.first_pending_id, b.pending_id) AS k FROM batched b
    )
    SELECT array_agg(m.id ORDER BY m.k), array_agg(m.type ORDER BY m.k),
           array_agg(m.occurred_at ORDER BY m.k), array_agg(m.service ORDER BY m.k),
           array_agg(m.actor ORDER BY m.k), array_agg(m.child_id ORDER BY m.k),
           array_agg(m.iro_id ORDER BY m.k), array_agg(m.subject_type ORDER BY m.k),
           array_agg(m.subject_id ORDER BY m.k), array_agg(m.payload ORDER BY m.k),
           array_agg(m.request_id ORDER BY m.k),
           array_agg(m.canonical_before_recorded_at ORDER BY m.k),
           array_agg(m.canonical_before_seq ORDER BY m.k),
           array_agg(m.canonical_after_seq ORDER BY m.k)
      INTO v_id, v_type, v_occurred_at, v_service, v_actor, v_child_id, v_iro_id, v_subject_type, v_subject_id,
           v_payload, v_request_id, v_before_recorded_at, v_before_seq, v_after_seq
      FROM ordered m;
    v_count := coalesce(array_length(v_id, 1), 0);
    IF v_count = 0 THEN
        RETURN 0;
    END IF;
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM footprint.events e ORDER BY e.seq DESC LIMIT 1;
    v_seq := coalesce(v_seq, 0);
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_now := date_trunc('microseconds', clock_timestamp());
    v_stamp := to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    FOR i IN 1 .. v_count LOOP
        v_prev_hash[i] := v_prev;
        v_prev := encode(sha256(convert_to(
            v_prev || v_before_recorded_at[i] || v_stamp || v_before_seq[i] || (v_seq + i)::text || v_after_seq[i],
            'UTF8')), 'hex');
        v_hash[i] := v_prev;
    END LOOP;
    INSERT INTO footprint.events (seq, id, type, occurred_at, recorded_at, service, actor, child_id, iro_id,
                                  subject_type, subject_id, payload, request_id, prev_hash, hash)
    SELECT v_seq + u.n, u.id, u.type, u.occurred_at, v_now, u.service, u.actor, u.child_id, u.iro_id,
           u.subject_type, u.subject_id, u.payload, u.request_id, u.prev_hash, u.hash
      FROM unnest(v_id, v_type, v_occurred_at, v_service, v_actor, v_child_id, v_iro_id, v_subject_type,
                  v_subject_id, v_payload, v_request_id, v_prev_hash, v_hash)
           WITH ORDINALITY AS u(id, type, occurred_at, service, actor, child_id, iro_id, subject_type,
                                subject_id, payload, request_id, prev_hash, hash, n);
    PERFORM pg_notify('footprint', '');
    RETURN v_count;
END
$fn$""",
)

# Whether anything committed waits to be chained (migration 0018): a reader asks first, and only
# when something does, waits for the lock to chain it. A sequencer's DELETE from pending and INSERT
# into the log commit together, so a snapshot that sees no pending row sees every committed event
# in the log. A row the sequencer will never chain (its `id` is already in the log) does not count.
HAS_PENDING = PGFunction(
    schema="footprint",
    signature="has_pending()",
    definition="""RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT EXISTS (SELECT 1 FROM footprint.pending p
                    WHERE NOT EXISTS (SELECT 1 FROM footprint.events e WHERE e.id = p.id))
$fn$""",
)

# The append (migration 0018): the event goes into `footprint.pending` in the caller's transaction,
# without waiting for anyone; then, when the footprint's lock is free (or already this transaction's),
# the caller sequences at once: its own event and every committed pending one, keeping the lock to
# its commit. Returns the event's place in the chain, or a row of NULLs when another transaction was
# sequencing: the event then stays pending until the next append, the sequencer process or a reader
# (`footprint.sequence(true)`) chains it.
APPEND_EVENT = PGFunction(
    schema="footprint",
    signature=(
        "append_event(p_id uuid, p_type text, p_occurred_at timestamptz, p_service text, p_actor jsonb,"
        " p_child_id uuid, p_iro_id uuid, p_subject_type text, p_subject_id text, p_payload jsonb,"
        " p_request_id text, p_canonical_before_recorded_at text, p_canonical_before_seq text,"
        " p_canonical_after_seq text)"
    ),
    definition="""RETURNS TABLE (seq bigint, recorded_at timestamptz, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'footprint appends need READ COMMITTED, not %', current_setting('transaction_isolation');
    END IF;
    IF EXISTS (SELECT 1 FROM footprint.events e WHERE e.id = p_id) THEN
        RAISE EXCEPTION 'footprint event % is already in the log', p_id USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO footprint.pending (id, type, occurred_at, service, actor, child_id, iro_id, subject_type,
                                   subject_id, payload, request_id, canonical_before_recorded_at,
                                   canonical_before_seq, canonical_after_seq)
    VALUES (p_id, p_type, p_occurred_at, p_service, p_actor, p_child_id, p_iro_id, p_subject_type, p_subject_id,
            p_payload, p_request_id, p_canonical_before_recorded_at, p_canonical_before_seq, p_canonical_after_seq);
    IF footprint.sequence(false) > 0 THEN
        RETURN QUERY SELECT e.seq, e.recorded_at, e.prev_hash, e.hash FROM footprint.events e WHERE e.id = p_id;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT NULL::bigint, NULL::timestamptz, NULL::text, NULL::text;
END
$fn$""",
)

# The batch append (migrations 0009, 0018): as the single append, for many events in one call; they
# enter pending in the order given, so they are chained in that order, consecutively when one
# sequencer call moves them all. One row per event, in the order given (NULLs for an event left
# pending).
APPEND_EVENTS = PGFunction(
    schema="footprint",
    signature=(
        "append_events(p_id uuid[], p_type text[], p_occurred_at timestamptz[], p_service text[],"
        " p_actor jsonb[], p_child_id uuid[], p_iro_id uuid[], p_subject_type text[], p_subject_id text[],"
        " p_payload jsonb[], p_request_id text[], p_canonical_before_recorded_at text[],"
        " p_canonical_before_seq text[], p_canonical_after_seq text[])"
    ),
    definition="""RETURNS TABLE (seq bigint, recorded_at timestamptz, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'footprint appends need READ COMMITTED, not %', current_setting('transaction_isolation');
    END IF;
    IF coalesce(array_length(p_id, 1), 0) = 0 THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM footprint.events e WHERE e.id = ANY (p_id)) THEN
        RAISE EXCEPTION 'a footprint event of this batch is already in the log' USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO footprint.pending (id, type, occurred_at, service, actor, child_id, iro_id, subject_type,
                                   subject_id, payload, request_id, canonical_before_recorded_at,
                                   canonical_before_seq, canonical_after_seq)
    SELECT u.id, u.type, u.occurred_at, u.service, u.actor, u.child_id, u.iro_id, u.subject_type, u.subject_id,
           u.payload, u.request_id, u.before_recorded_at, u.before_seq, u.after_seq
      FROM unnest(p_id, p_type, p_occurred_at, p_service, p_actor, p_child_id, p_iro_id, p_subject_type,
                  p_subject_id, p_payload, p_request_id, p_canonical_before_recorded_at, p_canonical_before_seq,
                  p_canonical_after_seq)
           WITH ORDINALITY AS u(id, type, occurred_at, service, actor, child_id, iro_id, subject_type, subject_id,
                                payload, request_id, before_recorded_at, before_seq, after_seq, n)
     ORDER BY u.n;
    PERFORM footprint.sequence(false);
    RETURN QUERY SELECT e.seq, e.recorded_at, e.prev_hash, e.hash
                   FROM unnest(p_id) WITH ORDINALITY AS u(id, n)
                   LEFT JOIN footprint.events e ON e.id = u.id
                  ORDER BY u.n;
END
$fn$""",
)

FUNCTIONS: tuple[PGFunction, ...] = (REFUSE_CHANGE, HAS_PENDING, SEQUENCE, APPEND_EVENT, APPEND_EVENTS)
TRIGGERS: tuple[PGTrigger, ...] = (EVENTS_NO_UPDATE_OR_DELETE, EVENTS_NO_TRUNCATE)
ENTITIES: tuple[ReplaceableEntity, ...] = (*FUNCTIONS, *TRIGGERS)
