"""The PostgreSQL registry's change feed: how a save's `change_seq` is numbered and how far a
reader may read it, with the server-side functions and the writer lock that make it exact.

Apart from schema.py, which lays out the tables that use it, because this is one argument
(why the feed misses nothing without a write lock) that its constants and functions share;
the tables and the other server-side functions do not depend on it.

The change feed without a write lock. Writers commit concurrently, each process's rows
locked by the transaction that changes them (transaction.py), so a sequence taken in one
order may commit in another: a reader that saw sequence N would miss an N-1 committed
later. So a save's `change_seq` is its writing transaction's id (`pg_current_xact_id()`,
64 bits, taken at BEGIN) times 2^24, plus a count of the saves before it in that
transaction, plus the registry's `change_base`; and a reader reads the feed only up to the
position `lashtui_change_position()` gives in its own snapshot: just below the first
sequence of the oldest transaction that may still write (the "xid8 high-water mark" of
transactional outboxes). Why that is exact:

- every transaction with an id below the horizon had ended when the reader's snapshot was
  taken (it is below the snapshot's xmin, or in its in-progress list but known not to be a
  writer of this registry, see below), so the reader's snapshot holds all it committed;
- every transaction that commits later has an id at or above the horizon, so every save it
  makes is above the position. The feed's order is the order of transaction ids, not of
  commits, and the position never passes a transaction that could still commit;
- a transaction whose id is at or above the snapshot's xmax (the last id completed, plus
  one) is in no in-progress list, so the horizon does not stop at it though it may still
  be writing. The feed needs no more: every save the snapshot sees has a smaller id, so
  the position (the last save visible below the horizon) lies below each of its saves.
  But the horizon is no sign that every writer has ended, and `data_version` lists the
  writers in flight itself (postgres/store.py).

The snapshot's in-progress list covers the whole server, and a transaction that never
writes here (another database's, a long report) would hold the feed back for as long as it
runs. So each write transaction takes a shared advisory lock keyed on the registry's
schema before it takes its id, and holds it until it ends; the horizon only stops at an
in-progress id whose backend holds that lock (read from `pg_locks` first), or which has
ended since the snapshot (`pg_xact_status`, read after: such an id was in progress the
whole time before, so it held the lock then if it was ever going to). The cost: a read
with writers in flight scans `pg_locks` once; a long write transaction of this registry
holds the feed back while it runs (never its exactness).

`change_base` is 0 in a registry made at version 11; a migrated one, or one restored onto
another server (whose transaction ids start lower), gets the base that puts every new
sequence above every stored one (`BASE_FOR_STORED`).

`process_commit_counter` counts write transactions without a lock (a sequence is never
rolled back or waited for): `data_version` is it with the ids of the registry's writers in
flight (the holders of the writer lock), which moves after every commit, once it is
visible (and for some writes that roll back).
"""

from __future__ import annotations

__all__ = [
    "BASE_FOR_STORED",
    "BEGIN_WRITE_DDL",
    "BEGIN_WRITE_FUNCTION",
    "CHANGE_BOUND_DDL",
    "CHANGE_FEED_DDL",
    "SEQ_BITS",
    "WRITER_LOCK_CLASS",
]

# A save's sequence is its transaction's id shifted by this many bits, plus its count
# within the transaction: room for 16,777,216 saves a transaction, and for 2^39 ids (128
# wraparound epochs of the 32-bit counter) in a signed BIGINT.
SEQ_BITS = 24
# The write transaction's start (`BEGIN_WRITE_DDL`), version 12's.
BEGIN_WRITE_FUNCTION = "lashtui_begin_write"
# The first key of the write transactions' shared advisory lock ('lash'); the second is
# hashtext(schema), so registries in different schemas do not hold each other back.
WRITER_LOCK_CLASS = 1818325864


# The first sequence the oldest transaction that may still save to this registry could
# hold, as seen from the snapshot `snap` (the caller's: `pg_current_snapshot()` as the
# argument is read in the caller's statement); the largest BIGINT if none may. Below it,
# every save is visible in `snap`, and every save committed later is at or above it. An id
# in the snapshot's in-progress list is passed over only when it cannot have saved here:
# - still in progress now, and its backend held no writer lock at the earlier read of the
#   locks (it had its id before the snapshot, so a writer of this registry would have
#   held the lock then, as writers take it before their id);
# - or ended since, and aborted or, under READ COMMITTED, with no save of its own in the
#   table now (VOLATILE: that check runs in a snapshot of its own, later than the ending;
#   a save since overwritten by another transaction is that one's change, which the
#   horizon then stops at or lies below). Under REPEATABLE READ every statement reads the
#   transaction's snapshot, where such saves are not visible, so an id that ended since
#   holds the horizon there, and such a read only lags.
CHANGE_BOUND_DDL = f"""CREATE OR REPLACE FUNCTION lashtui_change_bound(snap pg_snapshot)
    RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        writers xid[];
        x xid8;
        first bigint;
        status text;
    BEGIN
        IF pg_snapshot_xmin(snap) = pg_snapshot_xmax(snap) THEN
            RETURN 9223372036854775807;
        END IF;
        -- The writers first, the ends after (see above).
        writers := ARRAY(
            SELECT t.transactionid FROM pg_locks a
            JOIN pg_locks t ON t.pid = a.pid AND t.locktype = 'transactionid'
            WHERE a.locktype = 'advisory' AND a.classid = {WRITER_LOCK_CLASS}
              AND a.objid = hashtext(current_schema())::oid AND a.objsubid = 2
              AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database()));
        FOR x IN SELECT * FROM pg_snapshot_xip(snap) AS xip ORDER BY 1 LOOP
            first := (x::text::bigint << {SEQ_BITS})
                + (SELECT change_base FROM process_registry_meta);
            IF xid(x) = ANY(writers) THEN
                RETURN first;
            END IF;
            status := pg_xact_status(x);
            CONTINUE WHEN status = 'in progress' OR status = 'aborted';
            IF current_setting('transaction_isolation') <> 'read committed' OR EXISTS (
                SELECT 1 FROM processes
                WHERE change_seq >= first AND change_seq < first + {1 << SEQ_BITS}
            ) THEN
                RETURN first;
            END IF;
        END LOOP;
        RETURN 9223372036854775807;
    END $$"""


# The base that puts the sequences of the calling transaction (and every later one) above
# every sequence stored, and at least the current base.
BASE_FOR_STORED = f"""SELECT GREATEST(m.change_base,
        COALESCE((SELECT max(change_seq) FROM processes), 0) + 1
            - (pg_current_xact_id()::text::bigint << {SEQ_BITS}))
    FROM process_registry_meta m"""

# A write transaction's start after its BEGIN, in one statement (connection.py): the
# registry's writer lock, taken before the transaction's id (see above), then the first
# sequence from that id, the commit counter's step and the NOTIFY queued (delivered only if
# the transaction commits). In a function so that the lock comes first whatever order a
# plan would evaluate one SELECT's expressions in.
BEGIN_WRITE_DDL = f"""CREATE OR REPLACE FUNCTION {BEGIN_WRITE_FUNCTION}(
        p_channel text, p_payload text) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        first bigint;
    BEGIN
        PERFORM pg_advisory_xact_lock_shared({WRITER_LOCK_CLASS}, hashtext(current_schema()));
        SELECT (pg_current_xact_id()::text::bigint << {SEQ_BITS}) + m.change_base
            INTO first FROM process_registry_meta m;
        PERFORM nextval('process_commit_counter');
        PERFORM pg_notify(p_channel, p_payload);
        RETURN first;
    END $$"""

# What version 11 adds to lash's tables, in a new registry and in a migrated one.
CHANGE_FEED_DDL: tuple[str, ...] = (
    "CREATE SEQUENCE process_commit_counter",
    CHANGE_BOUND_DDL,
)
