"""lash's process registry layout (semantics §14.2-§14.3) in PostgreSQL, and its version.

The tables, columns and indexes are the SQLite store's, typed for PostgreSQL: integers that
hold milliseconds or sequences are BIGINT, and every text column collates as "C", so ids sort
byte-wise as they do in SQLite and in Python (the dashboard's keyset pages and the lineage
lens's id ranges rely on that order; a database's default collation could be anything).

lashtui's additions are the SQLite store's too: the page indexes, the partial index of
operator events, and the audit table `lashtui_operator_actions` (a schema made before it
gets it with its first recorded action; lashtui/registry/sql/audit.py); and one of its own,
the held leases' partial index (sql/filter.py `HELD_INDEX`: a fleet's drives read it
instead of every lease row the history left).

SQLite keeps the version in the file header (`user_version`); here it is a one-row table,
`process_registry_meta`. Its version is lashtui's own for PostgreSQL, 15: lash's layout 10
with the change feed ordered by writing transaction (change_feed.py; version 11), the leased
completion's function (`COMPLETE_DDL`; version 12), a worker's start's (version 13), the
label's column `sort_label` (14), and the backlog's mark `backlog_seq` with its trigger
(sql/backlog_mark.py) and the start's function that writes both (`START_DDL`; 15). A
registry stamped 10 to 14 by an earlier lashtui is migrated on its first writable open
(upgrade.py). Any other version is refused untouched.

One addition is not lash's: `lashtui_try_jsonb`, the record JSON as jsonb or NULL where the
cast fails, which the shared SQL falls back to when a row's text is not what jsonb reads
(sql/dialect.py says why and when). Every writable open adds it if it is missing, in the
same transaction and under the same advisory lock as the tables; a read-only open never
does, and reads that need it then say so in one sentence. A second is added the same way:
`lashtui_repeated_key`, which tells a record that names twice a key the SQL reads
(sql/repeated.py); a registry without it (a read-only open, or a role that may not create
functions) counts such a row by jsonb's last value, as before it existed.
"""

from __future__ import annotations

from lashtui.registry.postgres.change_feed import (
    BASE_FOR_STORED,
    BEGIN_WRITE_DDL,
    BEGIN_WRITE_FUNCTION,
    CHANGE_FEED_DDL,
    SEQ_BITS,
    WRITER_LOCK_CLASS,
)
from lashtui.registry.sql import backlog_mark
from lashtui.registry.sql.activity import TRANSITION_INDEX
from lashtui.registry.sql.audit import OPERATOR_EVENTS_INDEX
from lashtui.registry.sql.dialect import POSTGRES, POSTGRES_TRY, TRY_JSONB
from lashtui.registry.sql.filter import HELD_INDEX_DDL, holds_wait_sql
from lashtui.registry.sql.log_read import CANCEL_REQUESTED_INDEX
from lashtui.registry.sql.order import index_ddl
from lashtui.registry.sql.repeated import POSTGRES_DDL as REPEATED_KEY_DDL
from lashtui.registry.sql.version import SCHEMA_VERSION as LASH_SCHEMA_VERSION

# The change feed's names stay importable from here, where the store, the migration and the
# tests have always found them; change_feed.py owns them.
__all__ = [
    "BASE_FOR_STORED",
    "BEGIN_WRITE_DDL",
    "BEGIN_WRITE_FUNCTION",
    "CHANGE_FEED_DDL",
    "COMPLETE_DDL",
    "DDL",
    "LABEL_VERSION",
    "REPEATED_KEY_DDL",
    "SCHEMA_VERSION",
    "SEQ_BITS",
    "START_DDL",
    "SUPERSEDED",
    "TRY_JSONB_DDL",
    "WRITER_LOCK_CLASS",
    "unsupported_schema_message",
]

# lashtui's PostgreSQL layout: lash's 10 with the change feed ordered by transaction (11),
# the leased completion's server-side function (12), a worker's start's (13), the label's
# column `sort_label`, with the start's function that fills it (14), and the backlog's mark
# `backlog_seq` (sql/backlog_mark.py), with its trigger and the start's function that
# marks (15).
SCHEMA_VERSION = 15
# The registry stamped by lashtui before the feed was ordered so: migrated on open.
MIGRATES_FROM = LASH_SCHEMA_VERSION
# The registry stamped by lashtui before the completion's function: migrated on a writable
# open (the function added); a read-only open reads it as it is (it never completes).
FEED_VERSION = 11
# The registry stamped by lashtui before the start's function: migrated on a writable open
# (the function added); a read-only open reads it as it is (it never starts anything).
COMPLETE_VERSION = 12
# The registry stamped by lashtui before the `sort_label` column: migrated on a writable
# open (the column and the start's new function added); a read-only open reads it as it is.
START_VERSION = 13
# The registry stamped by lashtui before the `backlog_seq` column: migrated on a writable
# open (the column, its trigger and the start's new function added); a read-only open
# reads it as it is.
LABEL_VERSION = 14

# The leased completion's function (`COMPLETE_DDL`), version 12's (the write transaction's
# start, `BEGIN_WRITE_DDL`, is change_feed.py's).
COMPLETE_FUNCTION = "lashtui_complete"
# A start through a worker's facade (`START_DDL`, postgres/start.py), version 15's: it
# writes `sort_label` and `backlog_seq` too. Version 13's, `lashtui_start`, and 14's,
# `lashtui_start_labelled`, stay in a migrated registry for the writers of those versions
# still running (their rows leave the columns NULL: they sort by their JSON, order.py
# `label_key`, and a drive reads them as rows it cannot tell, sql/backlog_mark.py).
START_FUNCTION = "lashtui_start_marked"


def unsupported_schema_message(found: int) -> str:
    return (
        "Unsupported lash process registry schema: this binary supports PostgreSQL schema "
        f"version {SCHEMA_VERSION} (and migrates {MIGRATES_FROM}, {FEED_VERSION}, "
        f"{COMPLETE_VERSION}, {START_VERSION} and {LABEL_VERSION}), but the "
        "database reports "
        f"version {found}; open it with the lashtui that made it, or start a fresh schema."
    )


# A leased completion prepared before its transaction (postgres/complete.py), in one call:
# the checks that the preparation still holds (the row's JSON is the text it was built
# from, the log ends where assumed, nothing is stored under the terminal's replay key),
# then the fenced release, the terminal event and the record, with the row's change
# sequence computed here from the transaction's id as the BEGIN computes the first
# (`offset` saves after it). Returns 0 when written, 1 when the lease is not current
# (nothing written), 2 when the preparation no longer holds (nothing written: the caller
# runs the shared path instead). The statements and their values are the shared path's
# (event.py `complete_with_lease`), in its order, so a completion writes the same rows
# either way. The row is locked first, as the shared path's first read locks it.
COMPLETE_DDL = f"""CREATE OR REPLACE FUNCTION {COMPLETE_FUNCTION}(
        p_id text, p_held text, p_seq bigint, p_key text, p_token text, p_owner text,
        p_incarnation text, p_fence bigint, p_now bigint, p_type text, p_hash text,
        p_event text, p_updated bigint, p_status text, p_record text, p_offset bigint)
    RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        stored text;
    BEGIN
        SELECT p.record_json INTO stored FROM processes p
            WHERE p.process_id = p_id FOR NO KEY UPDATE;
        IF NOT FOUND OR stored IS DISTINCT FROM p_held
            OR (SELECT COALESCE(MAX(e.sequence), 0) FROM process_events e
                WHERE e.process_id = p_id) <> p_seq - 1
            OR EXISTS (SELECT 1 FROM process_events e
                WHERE e.process_id = p_id AND e.idempotency_key = p_key) THEN
            RETURN 2;
        END IF;
        UPDATE process_leases l SET lease_owner_id = NULL,
            lease_owner_incarnation_id = NULL, lease_owner_liveness_json = NULL,
            lease_token = NULL, lease_claimed_at_ms = 0, lease_expires_at_ms = 0
            WHERE l.process_id = p_id AND l.lease_token = p_token
            AND l.lease_owner_id = p_owner
            AND COALESCE(l.lease_owner_incarnation_id, l.lease_owner_id) = p_incarnation
            AND l.lease_fencing_token = p_fence AND l.lease_expires_at_ms > p_now;
        IF NOT FOUND THEN
            RETURN 1;
        END IF;
        INSERT INTO process_events (process_id, sequence, event_type, payload_hash,
            idempotency_key, occurred_at_ms, event_json)
            VALUES (p_id, p_seq, p_type, p_hash, p_key, p_now, p_event);
        UPDATE processes p SET updated_at_ms = p_updated,
            change_seq = (pg_current_xact_id()::text::bigint << {SEQ_BITS})
                + (SELECT m.change_base FROM process_registry_meta m) + p_offset,
            status = p_status, record_json = p_record
            WHERE p.process_id = p_id;
        RETURN 0;
    END $$"""

# A start through a worker's facade prepared before its transaction (postgres/start.py), in
# one call: the shared path's existence read (sql/process.py `register_new`: unlocked, as
# there), then, for an id not stored, the row's insert (row.py `insert_record`) and its
# lease's (claim.py `save_new_leases`, the first fence: the leases' foreign key rules out
# a lease row for a row this transaction inserts), with the shared path's statements and
# values, the row's change sequence computed from the transaction's id as the BEGIN
# computes the first (`offset` saves after it). For an id stored it writes nothing and
# returns the stored row's registration hash and record JSON, from which the caller takes
# the shared path's replay or conflict outcome; NULLs when it inserted. Two starts of one
# new id racing: the second's insert fails on the primary key, and the transaction runs
# again (transaction.py), to find the row, as on the shared path.
START_DDL = f"""CREATE OR REPLACE FUNCTION {START_FUNCTION}(
        p_id text, p_hash text, p_scope text, p_created bigint, p_updated bigint,
        p_status text, p_record text, p_offset bigint, p_owner text, p_incarnation text,
        p_liveness text, p_token text, p_fence bigint, p_claimed bigint, p_expires bigint,
        p_label text, p_plain boolean, OUT stored_hash text, OUT stored_record text)
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        seq bigint;
    BEGIN
        SELECT p.registration_hash, p.record_json INTO stored_hash, stored_record
            FROM processes p WHERE p.process_id = p_id;
        IF FOUND THEN
            RETURN;
        END IF;
        seq := (pg_current_xact_id()::text::bigint << {SEQ_BITS})
            + (SELECT m.change_base FROM process_registry_meta m) + p_offset;
        INSERT INTO processes (process_id, registration_hash, owner_scope_id, created_at_ms,
            updated_at_ms, change_seq, status, record_json, sort_label, backlog_seq)
            VALUES (p_id, p_hash, p_scope, p_created, p_updated, seq, p_status, p_record,
                p_label, CASE WHEN p_plain THEN seq END);
        INSERT INTO process_leases (process_id, lease_owner_id, lease_owner_incarnation_id,
            lease_owner_liveness_json, lease_token, lease_fencing_token, lease_claimed_at_ms,
            lease_expires_at_ms)
            VALUES (p_id, p_owner, p_incarnation, p_liveness, p_token, p_fence, p_claimed,
                p_expires)
            ON CONFLICT (process_id) DO UPDATE SET lease_owner_id = excluded.lease_owner_id,
            lease_owner_incarnation_id = excluded.lease_owner_incarnation_id,
            lease_owner_liveness_json = excluded.lease_owner_liveness_json,
            lease_token = excluded.lease_token,
            lease_fencing_token = excluded.lease_fencing_token,
            lease_claimed_at_ms = excluded.lease_claimed_at_ms,
            lease_expires_at_ms = excluded.lease_expires_at_ms;
    END $$"""

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
    f"AND {holds_wait_sql(POSTGRES_TRY, 'record_json')}"
)

# The label index of version 13 and before, on the JSON alone: `lashtui index` drops it
# once it has built the one that reads `sort_label` (order.py `index_ddl`). A migration
# does not build that one: on a large registry the build holds writers off for as long.
SUPERSEDED = ("processes_status_label_idx",)

DDL: tuple[str, ...] = (
    """CREATE TABLE process_registry_meta (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        schema_version INTEGER NOT NULL,
        change_base BIGINT NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE processes (
        process_id TEXT COLLATE "C" PRIMARY KEY,
        registration_hash TEXT NOT NULL,
        owner_scope_id TEXT COLLATE "C" NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        change_seq BIGINT NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        record_json TEXT NOT NULL,
        sort_label TEXT,
        backlog_seq BIGINT
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
    # Which live rows have a cancel request pending, for the lists (sql/log_read.py).
    CANCEL_REQUESTED_INDEX,
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
    # The held leases (sql/filter.py says why PostgreSQL's only).
    HELD_INDEX_DDL,
    """CREATE TABLE process_execution_envs (
        env_ref TEXT COLLATE "C" PRIMARY KEY,
        spec_json TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    )""",
    f"INSERT INTO process_registry_meta (singleton, schema_version, change_base) "
    f"VALUES (1, {SCHEMA_VERSION}, 0)",
    *CHANGE_FEED_DDL,
    COMPLETE_DDL,
    BEGIN_WRITE_DDL,
    START_DDL,
    TRY_JSONB_DDL,
    REPEATED_KEY_DDL,
    # lashtui's sorted pages (the Processes view's orders): see registry/sql/order.py. After
    # the try-cast function, which the label's index reads the record through: an index on
    # the plain cast would refuse the write of any row whose text jsonb refuses.
    *index_ddl(POSTGRES_TRY),
    WAITING_INDEX,
    # A worker's drive: the running rows not marked plainly the backlog's, and the trigger
    # that keeps the marks true (sql/backlog_mark.py).
    *backlog_mark.INDEX_DDL,
    *backlog_mark.POSTGRES_TRIGGER_DDL,
)
