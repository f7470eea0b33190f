"""The footprint's append no longer serialises commits: a pending table and a single sequencer.

Until now every append took the footprint's lock and held it through its transaction's commit, so
one commit happened at a time: about 2,500 appends a second on this project's machine, whatever its
cores (bench/RESULTS.md, "append ceiling"). Now:

- `footprint.pending` holds events committed with their change but not yet chained. The appends
  (`footprint.append_event`, `footprint.append_events`) write there, in the caller's transaction,
  without waiting for anyone: atomic with the change, as before.
- `footprint.has_pending()` says whether anything committed waits (a reader asks it first, in its
  own session, even as the auditor role, and waits for the lock only when something does).
- `footprint.sequence(p_wait, p_max)` is the single sequencer: under the footprint's lock, which it
  keeps to its caller's commit, it moves the committed pending rows into `footprint.events` in
  `pending_id` order, giving each its gap-free `seq`, one `recorded_at` per batch and the hash chain,
  and NOTIFYs `footprint`. Only the lock holder moves rows, reading the head after taking the lock,
  so `seq` has no gaps and a batch becomes visible whole: a reader who has seen `n` has seen
  everything before it, as before.
- An append sequences at once when the lock is free (when the platform is quiet, always: the event
  has its `seq` before the commit, as before); when another transaction holds it, the append returns
  NULLs and commits without waiting, and its event is chained by the next append, by the sequencer
  process (`iro sequencer`, started by `iro serve`), or by a reader that sequences before it reads.

What changes for readers: `seq` follows sequencing order, not commit order; an event committed after
another's was seen still gets the higher `seq`. docs/footprint.md ("Order") has the reasoning;
bench/append_ceiling.py measured the designs (0.67-0.72 of plain inserts against 0.32, lag p99 10 ms).

The functions are declared in shared/footprint/ddl.py and applied from there (its docstring says
why). The pending table is a queue: every row lives for milliseconds, so autovacuum visits it after
every 1,000 dead rows rather than after a fifth of the table; `iro sequencer` also VACUUMs it.

Revision ID: 0018
Revises: 0017
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

from shared.footprint import ddl
from shared.settings import CommonSettings

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

WRITERS = ("reviews", "escalations", "participation", "gateway")
SEQUENCE = "footprint.sequence(boolean, integer)"
HAS_PENDING = "footprint.has_pending()"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE footprint.pending (
            pending_id   bigint      GENERATED ALWAYS AS IDENTITY,
            id           uuid        NOT NULL,
            type         text        NOT NULL,
            occurred_at  timestamptz NOT NULL,
            service      text        NOT NULL,
            actor        jsonb       NOT NULL,
            child_id     uuid,
            iro_id       uuid,
            subject_type text        NOT NULL,
            subject_id   text        NOT NULL,
            payload      jsonb       NOT NULL,
            request_id   text,
            canonical_before_recorded_at text NOT NULL,
            canonical_before_seq         text NOT NULL,
            canonical_after_seq          text NOT NULL,
            enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT pk_pending PRIMARY KEY (pending_id),
            CONSTRAINT uq_pending_id UNIQUE (id),
            CONSTRAINT ck_pending_type_shape CHECK (type ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
            CONSTRAINT ck_pending_actor_shape
                CHECK (jsonb_typeof(actor) = 'object' AND actor ? 'sub' AND actor ? 'role')
        ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
                autovacuum_vacuum_cost_delay = 0, autovacuum_vacuum_insert_scale_factor = 0,
                autovacuum_vacuum_insert_threshold = 1000)
        """
    )
    # No role but the owner touches the table: the appends and the sequencer run with its rights.
    op.execute("REVOKE ALL ON footprint.pending FROM PUBLIC")
    op.create_entity(ddl.HAS_PENDING)
    op.create_entity(ddl.SEQUENCE)
    settings = CommonSettings()
    for function, roles in ((HAS_PENDING, (*WRITERS, "auditor")), (SEQUENCE, WRITERS)):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        for name in roles:
            op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {settings.db_role(name)}")
    # CREATE OR REPLACE: the same signatures and results, so their grants (0007-0009) stay.
    op.replace_entity(ddl.APPEND_EVENT)
    op.replace_entity(ddl.APPEND_EVENTS)


def _earlier(name: str) -> ModuleType:
    """An earlier migration of this folder (their file names are not importable names)."""
    path = next(Path(__file__).parent.glob(f"{name}_*.py"))
    spec = importlib.util.spec_from_file_location(f"_migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    # Chain what is pending first, so no committed event is lost; then the appends of 0007-0009 again.
    op.execute("SELECT footprint.sequence(true, 2147483647)")
    for name in ("0007", "0009"):
        op.execute(_earlier(name).FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(
        "ALTER FUNCTION footprint.append_event(uuid, text, timestamptz, text, jsonb, uuid, uuid, text, text, jsonb,"
        " text, text, text, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
    )
    op.execute(f"DROP FUNCTION IF EXISTS {SEQUENCE}")
    op.execute(f"DROP FUNCTION IF EXISTS {HAS_PENDING}")
    op.execute("DROP TABLE IF EXISTS footprint.pending")
