"""The footprint: footprint.events, append-only by trigger; the database roles and their grants;
each service schema's consumer position and dead-letter tables.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.settings import CommonSettings

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SERVICE_SCHEMAS = ("reviews", "escalations", "participation", "gateway")


def _roles() -> tuple[CommonSettings, dict[str, str]]:
    settings = CommonSettings()
    roles = {name: settings.db_role(name) for name in (*SERVICE_SCHEMAS, "auditor")}
    return settings, roles


def upgrade() -> None:
    settings, roles = _roles()

    op.execute(
        """
        CREATE TABLE footprint.events (
            seq          bigint      NOT NULL,
            id           uuid        NOT NULL,
            type         text        NOT NULL,
            occurred_at  timestamptz NOT NULL,
            recorded_at  timestamptz NOT NULL,
            service      text        NOT NULL,
            actor        jsonb       NOT NULL,
            child_id     uuid,
            iro_id       uuid,
            subject_type text        NOT NULL,
            subject_id   text        NOT NULL,
            payload      jsonb       NOT NULL,
            request_id   text,
            prev_hash    text        NOT NULL,
            hash         text        NOT NULL,
            CONSTRAINT pk_events PRIMARY KEY (seq),
            CONSTRAINT uq_events_id UNIQUE (id),
            CONSTRAINT ck_events_seq_positive CHECK (seq > 0),
            CONSTRAINT ck_events_type_shape CHECK (type ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
            CONSTRAINT ck_events_actor_shape CHECK (jsonb_typeof(actor) = 'object' AND actor ? 'sub' AND actor ? 'role'),
            CONSTRAINT ck_events_hash_shape CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$')
        )
        """
    )
    # The auditors' queries, each ordered by seq.
    op.execute("CREATE INDEX ix_events_child_id_seq ON footprint.events (child_id, seq) WHERE child_id IS NOT NULL")
    op.execute("CREATE INDEX ix_events_iro_id_seq ON footprint.events (iro_id, seq) WHERE iro_id IS NOT NULL")
    op.execute("CREATE INDEX ix_events_type_seq ON footprint.events (type, seq)")
    op.execute("CREATE INDEX ix_events_occurred_at_seq ON footprint.events (occurred_at, seq)")
    op.execute("CREATE INDEX ix_events_recorded_at_seq ON footprint.events (recorded_at, seq)")
    op.execute("CREATE INDEX ix_events_actor_sub_seq ON footprint.events ((actor ->> 'sub'), seq)")
    op.execute("CREATE INDEX ix_events_service_seq ON footprint.events (service, seq)")

    # Append-only for everyone, the owner included.
    op.execute(
        """
        CREATE FUNCTION footprint.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'footprint.events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON footprint.events "
        "FOR EACH ROW EXECUTE FUNCTION footprint.refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON footprint.events "
        "FOR EACH STATEMENT EXECUTE FUNCTION footprint.refuse_change()"
    )

    # Consumers of the log keep their position (and what they gave up on) in their own schema.
    for schema in SERVICE_SCHEMAS:
        op.execute(
            f"""
            CREATE TABLE {schema}.consumer_position (
                consumer   text        NOT NULL,
                position   bigint      NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT pk_consumer_position PRIMARY KEY (consumer)
            )
            """
        )
        op.execute(
            f"""
            CREATE TABLE {schema}.consumer_dead_letter (
                consumer    text        NOT NULL,
                seq         bigint      NOT NULL,
                event_type  text        NOT NULL,
                error       text        NOT NULL,
                attempts    integer     NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT pk_consumer_dead_letter PRIMARY KEY (consumer, seq)
            )
            """
        )

    # Roles are cluster-wide: create each once, tolerating a concurrent or earlier creation.
    names = ", ".join(f"'{role}'" for role in roles.values())
    if settings.db_create_roles:
        for role in roles.values():
            op.execute(
                f"""
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                        CREATE ROLE {role} NOLOGIN;
                    END IF;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END $$
                """
            )
    op.execute(
        f"""
        DO $$ DECLARE missing text;
        BEGIN
            SELECT string_agg(name, ', ') INTO missing
              FROM unnest(ARRAY[{names}]) AS name
             WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name);
            IF missing IS NOT NULL THEN
                RAISE EXCEPTION 'database roles missing: % (create them, or set IRO_DB_CREATE_ROLES=true)', missing;
            END IF;
        END $$
        """
    )
    # A non-superuser migrating user must be a member to let its processes take the roles.
    for role in roles.values():
        op.execute(
            f"""
            DO $$ BEGIN
                IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   AND NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                    EXECUTE format('GRANT %I TO %I', '{role}', current_user);
                END IF;
            END $$
            """
        )

    op.execute("REVOKE ALL ON footprint.events FROM PUBLIC")
    for name, role in roles.items():
        op.execute(f"GRANT USAGE ON SCHEMA footprint TO {role}")
        op.execute(f"GRANT SELECT ON public.alembic_version TO {role}")
        if name == "auditor":
            op.execute(f"GRANT SELECT ON footprint.events TO {role}")
            continue
        op.execute(f"GRANT SELECT, INSERT ON footprint.events TO {role}")
        op.execute(f"GRANT USAGE ON SCHEMA {name} TO {role}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {name} TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {name} TO {role}")
        op.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {name} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
        )
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {name} GRANT USAGE, SELECT ON SEQUENCES TO {role}")


def downgrade() -> None:
    _, roles = _roles()
    for schema in SERVICE_SCHEMAS:
        op.execute(f"DROP TABLE IF EXISTS {schema}.consumer_dead_letter")
        op.execute(f"DROP TABLE IF EXISTS {schema}.consumer_position")
    op.execute("DROP TABLE IF EXISTS footprint.events")
    op.execute("DROP FUNCTION IF EXISTS footprint.refuse_change()")
    for name, role in roles.items():
        schema = "footprint" if name == "auditor" else name
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {role}")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {role}")
        # Roles are cluster-wide and may serve other databases: they are left in place.
