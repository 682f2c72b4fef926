"""lash's process registry layout (semantics §14.2-§14.3) and its version stamp.

There are no migrations: the durable contract lives in each row's JSON, and a file stamped
with another version is refused untouched. Version 10 is lash's layout with the change feed
(`change_seq` and the clock row); the env table is where lashtui keeps captured execution
envs beside the processes that reference them.

lashtui adds indexes for the dashboard's keyset pages over a large registry, by status and
by originator scope, each ending in the process id; three for its sorted orders (status with
created, updated or the label, then the id; registry/sql/order.py); one for the audit
trail's event source: a partial index of the operator events (cancel requests, re-run links)
by time; two for the Health view's charts: by creation time, and a partial index of the
terminal and wait events by time (only those six event types pay for it on append;
registry/sql/activity.py); two for a worker's drive: partial indexes of the running rows
not marked plainly the backlog's (sql/backlog_mark.py), with a trigger; the
sorted orders' (status, updated_at_ms, process_id) also serves a prune's count and delete
(sql/prune.py). An index is not a layout change (no row or column means anything new), so
the version stays 10; they are created with a new file only, because opening an existing
registry writes nothing, and every query is correct without them; `lashtui index` adds those
an older build did not make, when the operator asks (sql/indexes.py). lashtui's audit table
(`lashtui_operator_actions`) is no part of lash's layout either, and nothing of lash's reads
it: a new file gets it, an existing one with its first recorded action
(lashtui/registry/sql/audit.py). Leases get no index by expiry: renewal is the worker's hot
path, and measured here such an index made each renewal ~80% dearer (1M lease rows), to save
the lease list a ~70 ms scan.
"""

from __future__ import annotations

from lashtui.registry.sql import backlog_mark
from lashtui.registry.sql.activity import TRANSITION_INDEX
from lashtui.registry.sql.audit import OPERATOR_EVENTS_INDEX
from lashtui.registry.sql.dialect import SQLITE
from lashtui.registry.sql.log_read import CANCEL_REQUESTED_INDEX
from lashtui.registry.sql.order import index_ddl
from lashtui.registry.sql.version import SCHEMA_VERSION, unsupported_schema_message

__all__ = ["COLUMNS", "DDL", "SCHEMA_VERSION", "SUPERSEDED", "unsupported_schema_message"]

# What `lashtui index` gives a registry an older build made besides the missing indexes
# (sql/indexes.py `add_missing`): the `sort_label` and `backlog_seq` columns, before the
# indexes that read them, and, once the label index is built, no more the JSON-only label
# index it replaces.
COLUMNS = (
    ("sort_label", ("ALTER TABLE processes ADD COLUMN sort_label TEXT",)),
    ("backlog_seq", backlog_mark.ADD_COLUMN),
)
SUPERSEDED = ("processes_status_label_idx",)

# One statement per entry: the DDL runs inside the opener's IMMEDIATE transaction, and
# sqlite3's executescript() would commit it behind our back.
# lashtui's two columns beyond lash's layout (last, nullable: lash's inserts name their
# columns and leave them NULL): `sort_label`, the label the label index sorts by, written
# once with the row (order.py `label_key` says why), and `backlog_seq`, which marks a
# record lashtui wrote plainly the backlog's while no other program has saved it since
# (sql/backlog_mark.py). `lashtui index` adds them to an older file.
DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS processes (
        process_id TEXT PRIMARY KEY,
        registration_hash TEXT NOT NULL,
        owner_scope_id TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        change_seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        record_json TEXT NOT NULL,
        sort_label TEXT,
        backlog_seq INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS processes_status_idx ON processes(status)",
    "CREATE INDEX IF NOT EXISTS processes_change_seq_idx ON processes(change_seq)",
    # lashtui's page indexes: a status-filtered page and the lineage lens each walk one
    # index in process-id order instead of sorting every matching row.
    "CREATE INDEX IF NOT EXISTS processes_status_process_idx ON processes(status, process_id)",
    "CREATE INDEX IF NOT EXISTS processes_owner_scope_idx ON processes(owner_scope_id, process_id)",
    # lashtui's sorted pages (the Processes view's orders): see registry/sql/order.py.
    *index_ddl(SQLITE),
    # The Health view's charts (sql/activity.py): starts per minute walk this index.
    "CREATE INDEX IF NOT EXISTS processes_created_idx ON processes(created_at_ms)",
    # A worker's drive: the running rows not marked plainly the backlog's, and the trigger
    # that keeps the marks true (sql/backlog_mark.py).
    *backlog_mark.INDEX_DDL,
    backlog_mark.TRIGGER_DDL,
    """CREATE TABLE IF NOT EXISTS process_change_clock (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        current_seq INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO process_change_clock (singleton, current_seq) VALUES (1, 0)",
    """CREATE TABLE IF NOT EXISTS process_events (
        process_id TEXT NOT NULL REFERENCES processes(process_id) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        payload_hash TEXT NOT NULL,
        idempotency_key TEXT,
        occurred_at_ms INTEGER NOT NULL,
        event_json TEXT NOT NULL,
        PRIMARY KEY (process_id, sequence)
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS process_events_idempotency_idx
        ON process_events(process_id, idempotency_key) WHERE idempotency_key IS NOT NULL""",
    # lashtui's audit trail (lashtui.registry.sql.audit): the operator events by time, a
    # partial index that only cancel requests and re-run links enter; and its own table.
    OPERATOR_EVENTS_INDEX,
    # Which live rows have a cancel request pending, for the lists (sql/log_read.py).
    CANCEL_REQUESTED_INDEX,
    SQLITE.audit_table_ddl(),
    # The Health view's charts: terminals and waits by time, covering (see sql/activity.py).
    f"CREATE INDEX IF NOT EXISTS process_events_transition_idx {TRANSITION_INDEX}",
    """CREATE TABLE IF NOT EXISTS process_wake_acks (
        process_id TEXT NOT NULL REFERENCES processes(process_id) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        PRIMARY KEY (process_id, sequence)
    )""",
    """CREATE TABLE IF NOT EXISTS process_handle_grants (
        session_id TEXT NOT NULL,
        scope_id TEXT NOT NULL,
        process_id TEXT NOT NULL REFERENCES processes(process_id) ON DELETE CASCADE,
        descriptor_json TEXT NOT NULL,
        PRIMARY KEY (scope_id, process_id)
    )""",
    "CREATE INDEX IF NOT EXISTS process_handle_grants_session_idx "
    "ON process_handle_grants(session_id)",
    "CREATE INDEX IF NOT EXISTS process_handle_grants_process_idx "
    "ON process_handle_grants(process_id)",
    """CREATE TABLE IF NOT EXISTS process_leases (
        process_id TEXT PRIMARY KEY REFERENCES processes(process_id) ON DELETE CASCADE,
        lease_owner_id TEXT,
        lease_owner_incarnation_id TEXT,
        lease_owner_liveness_json TEXT,
        lease_token TEXT,
        lease_fencing_token INTEGER NOT NULL DEFAULT 0,
        lease_claimed_at_ms INTEGER NOT NULL DEFAULT 0,
        lease_expires_at_ms INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS process_execution_envs (
        env_ref TEXT PRIMARY KEY,
        spec_json TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    )""",
)

