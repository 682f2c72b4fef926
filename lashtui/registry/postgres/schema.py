"""lash's process registry layout (semantics §14.2-§14.3) in PostgreSQL, and its version.

The tables, columns and indexes are the SQLite store's, typed for PostgreSQL: integers that
hold milliseconds or sequences are BIGINT, and every text column collates as "C", so ids sort
byte-wise as they do in SQLite and in Python (the dashboard's keyset pages and the lineage
lens's id ranges rely on that order; a database's default collation could be anything).

lashtui's additions are the SQLite store's too: the page indexes, the partial index of
operator events, and the audit table `lashtui_operator_actions` (a schema made before it
gets it with its first recorded action; lashtui/registry/sql/audit.py).

SQLite keeps the version in the file header (`user_version`); here it is a one-row table,
`process_registry_meta`, which also serves as the write lock (see connection.py) and counts
commits for `data_version`. As in SQLite there are no migrations: a database stamped with
another version is refused untouched.

One addition is not lash's: `lashtui_try_jsonb`, the record JSON as jsonb or NULL where the
cast fails, which the shared SQL falls back to when a row's text is not what jsonb reads
(sql/dialect.py says why and when). Every writable open adds it if it is missing, in the
same transaction and under the same advisory lock as the tables; a read-only open never
does, and reads that need it then say so in one sentence.
"""

from __future__ import annotations

from lashtui.registry.sql.activity import TRANSITION_INDEX
from lashtui.registry.sql.audit import OPERATOR_EVENTS_INDEX
from lashtui.registry.sql.dialect import POSTGRES, POSTGRES_TRY, TRY_JSONB
from lashtui.registry.sql.filter import waiting_sql
from lashtui.registry.sql.order import index_ddl
from lashtui.registry.sql.version import SCHEMA_VERSION, unsupported_schema_message

__all__ = ["DDL", "SCHEMA_VERSION", "TRY_JSONB_DDL", "unsupported_schema_message"]

# PARALLEL UNSAFE because the exception block starts a subtransaction, which a parallel
# worker cannot. WHEN OTHERS never catches a cancel (statement_timeout still stops it).
# IMMUTABLE as the cast is, and STRICT: NULL in, NULL out, without a call.
TRY_JSONB_DDL = f"""CREATE OR REPLACE FUNCTION {TRY_JSONB}(value text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE AS $$
    BEGIN
        RETURN value::jsonb;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END $$"""

# The waiting rows, for the census (sql/page.py `_live_on_postgres`): the one state that is
# not a status of its own. Through the try-cast function, so that it never fails a write;
# its predicate casts only a record that may hold a `wait` key (`Dialect.may_hold_key`).
WAITING_INDEX = (
    "CREATE INDEX processes_waiting_idx ON processes(process_id) WHERE status = 'running' "
    f"AND {waiting_sql(POSTGRES_TRY, 'record_json')}"
)

DDL: tuple[str, ...] = (
    """CREATE TABLE process_registry_meta (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        schema_version INTEGER NOT NULL,
        commits BIGINT NOT NULL
    )""",
    """CREATE TABLE processes (
        process_id TEXT COLLATE "C" PRIMARY KEY,
        registration_hash TEXT NOT NULL,
        owner_scope_id TEXT COLLATE "C" NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        change_seq BIGINT NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        record_json TEXT NOT NULL
    )""",
    "CREATE INDEX processes_status_idx ON processes(status)",
    "CREATE INDEX processes_change_seq_idx ON processes(change_seq)",
    "CREATE INDEX processes_status_process_idx ON processes(status, process_id)",
    "CREATE INDEX processes_owner_scope_idx ON processes(owner_scope_id, process_id)",
    "CREATE INDEX processes_created_idx ON processes(created_at_ms)",
    """CREATE TABLE process_change_clock (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        current_seq BIGINT NOT NULL
    )""",
    "INSERT INTO process_change_clock (singleton, current_seq) VALUES (1, 0)",
    """CREATE TABLE process_events (
        process_id TEXT COLLATE "C" NOT NULL
            REFERENCES processes(process_id) ON DELETE CASCADE,
        sequence BIGINT NOT NULL,
        event_type TEXT COLLATE "C" NOT NULL,
        payload_hash TEXT NOT NULL,
        idempotency_key TEXT COLLATE "C",
        occurred_at_ms BIGINT NOT NULL,
        event_json TEXT NOT NULL,
        PRIMARY KEY (process_id, sequence)
    )""",
    """CREATE UNIQUE INDEX process_events_idempotency_idx
        ON process_events(process_id, idempotency_key) WHERE idempotency_key IS NOT NULL""",
    # lashtui's audit trail (lashtui.registry.sql.audit): the operator events by time, a
    # partial index that only cancel requests and re-run links enter; and its own table.
    OPERATOR_EVENTS_INDEX,
    POSTGRES.audit_table_ddl(),
    f"CREATE INDEX process_events_transition_idx {TRANSITION_INDEX}",
    """CREATE TABLE process_wake_acks (
        process_id TEXT COLLATE "C" NOT NULL
            REFERENCES processes(process_id) ON DELETE CASCADE,
        sequence BIGINT NOT NULL,
        PRIMARY KEY (process_id, sequence)
    )""",
    """CREATE TABLE process_handle_grants (
        session_id TEXT COLLATE "C" NOT NULL,
        scope_id TEXT COLLATE "C" NOT NULL,
        process_id TEXT COLLATE "C" NOT NULL
            REFERENCES processes(process_id) ON DELETE CASCADE,
        descriptor_json TEXT NOT NULL,
        PRIMARY KEY (scope_id, process_id)
    )""",
    "CREATE INDEX process_handle_grants_session_idx ON process_handle_grants(session_id)",
    "CREATE INDEX process_handle_grants_process_idx ON process_handle_grants(process_id)",
    """CREATE TABLE process_leases (
        process_id TEXT COLLATE "C" PRIMARY KEY
            REFERENCES processes(process_id) ON DELETE CASCADE,
        lease_owner_id TEXT COLLATE "C",
        lease_owner_incarnation_id TEXT COLLATE "C",
        lease_owner_liveness_json TEXT,
        lease_token TEXT COLLATE "C",
        lease_fencing_token BIGINT NOT NULL DEFAULT 0,
        lease_claimed_at_ms BIGINT NOT NULL DEFAULT 0,
        lease_expires_at_ms BIGINT NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE process_execution_envs (
        env_ref TEXT COLLATE "C" PRIMARY KEY,
        spec_json TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    )""",
    f"INSERT INTO process_registry_meta (singleton, schema_version, commits) "
    f"VALUES (1, {SCHEMA_VERSION}, 0)",
    TRY_JSONB_DDL,
    # lashtui's sorted pages (the Processes view's orders): see registry/sql/order.py. After
    # the try-cast function, which the label's index reads the record through: an index on
    # the plain cast would refuse the write of any row whose text jsonb refuses.
    *index_ddl(POSTGRES_TRY),
    WAITING_INDEX,
)
