"""Reading and writing the `processes` row: record JSON plus its projected columns.

Every save takes a fresh `change_seq` from the clock row in the same transaction, which is
what makes the change feed exact: a reader that saw sequence N has seen every save <= N.

A connection that is a `RecordCache` (the SQLite store's are) keeps the records it last
decoded or saved, with their JSON text, and skips decoding a row whose text is still exactly
that (the database compares the two, so the text only comes back when it differs): a worker
reads back each record it wrote a moment before, and decoding one costs 30-300 us, the GC's
share included. Comparing the text itself, not a
version column, means nothing else that writes the file has to keep any promise for this
to be right.
"""

from __future__ import annotations

from collections import OrderedDict

from pydantic import ValidationError

from lashtui.errors import StoreError, UnknownProcess
from lashtui.model import ProcessExecutionEnvSpec, ProcessRecord
from lashtui.model.wire import WireModel
from lashtui.registry.sql.dialect import Tx, dialect

StagedMark = tuple[dict[str, tuple[str, ProcessRecord]], dict[str, ProcessExecutionEnvSpec]]


class RecordCache:
    """A connection's cache of decoded records (see the module docstring), mixed into the
    connection class. Saves are staged and enter the cache only once their transaction
    commits: the store's transaction runner calls `committed` or `rolled_back`."""

    # Enough for a worker reading back what it wrote a moment before: its claims and starts
    # in flight (16 start slots) and the runs they feed. Larger costs more than it saves in
    # a long-lived process: every record held is ~25 objects the garbage collector walks on
    # each full pass. Measured: 4,096 records doubled the dashboard's worst loop stall (D3)
    # to ~90 ms; going from 256 to 64 took ~6k objects off the dashboard's ~38k and its
    # full passes from 11-31 ms to 5-17 ms, and cost P1 (where the worker reads back most)
    # 1-3%, within its noise.
    CACHED_RECORDS = 64

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.records: OrderedDict[str, tuple[str, ProcessRecord]] = OrderedDict()
        self.staged: dict[str, tuple[str, ProcessRecord]] = {}
        # Execution envs are content-addressed and never change or go away, so one this
        # connection has read or committed is known for good (every start captures one).
        self.envs: dict[str, ProcessExecutionEnvSpec] = {}
        self.staged_envs: dict[str, ProcessExecutionEnvSpec] = {}
        # The change clock within the open transaction (see `next_change_seq`): the last
        # sequence handed out, and whether the clock row still holds an older one.
        self.last_seq: int | None = None
        self.seq_unsaved = False

    def save_clock(self) -> None:
        """Before COMMIT: the clock row takes the last sequence handed out."""
        if self.seq_unsaved:
            self.execute(  # type: ignore[attr-defined]
                "UPDATE process_change_clock SET current_seq = ? WHERE singleton = 1",
                (self.last_seq,),
            )

    def cached(self, process_id: str) -> tuple[str, ProcessRecord] | None:
        return self.staged.get(process_id) or self.records.get(process_id)

    def remember(self, process_id: str, text: str, record: ProcessRecord) -> None:
        records = self.records
        records[process_id] = (text, record)
        records.move_to_end(process_id)
        if len(records) > self.CACHED_RECORDS:
            records.popitem(last=False)

    def _end_transaction(self) -> None:
        self.staged.clear()
        self.staged_envs.clear()
        self.last_seq, self.seq_unsaved = None, False

    def committed(self) -> None:
        for process_id, (text, record) in self.staged.items():
            self.remember(process_id, text, record)
        if len(self.envs) > self.CACHED_RECORDS:
            self.envs.clear()
        self.envs.update(self.staged_envs)
        self._end_transaction()

    def rolled_back(self) -> None:
        self._end_transaction()

    def mark(self) -> StagedMark:
        """What is staged now, for `rolled_back_to` when a savepoint is rolled back."""
        return dict(self.staged), dict(self.staged_envs)

    def rolled_back_to(self, mark: StagedMark) -> None:
        # The clock keeps counting: if the savepoint took back the clock row's update, the
        # sequences handed out since are a gap (the feed needs them increasing, not dense),
        # and any later save sets the row past them at COMMIT.
        self.staged, self.staged_envs = dict(mark[0]), dict(mark[1])


def decode_error(error: ValidationError) -> StoreError:
    """A stored row that does not decode, as one sentence naming the field."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    return StoreError(f"failed to decode process registry row: {where}: {first['msg']}")


def decode_record(text: str) -> ProcessRecord:
    return ProcessRecord.model_validate_json(text)


def load_record(conn: Tx, process_id: str) -> ProcessRecord | None:
    if not isinstance(conn, RecordCache):
        row = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = ?", (process_id,)
        ).fetchone()
        return decode_record(row[0]) if row else None
    held = conn.cached(process_id)
    # The JSON only comes back when the row has moved on from the version held.
    row = conn.execute(
        "SELECT CASE WHEN record_json = ? THEN NULL ELSE record_json END "
        "FROM processes WHERE process_id = ?",
        (held[0] if held else None, process_id),
    ).fetchone()
    if row is None:
        return None
    if row[0] is None and held is not None:
        return held[1]
    record = decode_record(row[0])
    conn.remember(process_id, row[0], record)
    return record


def require_record(conn: Tx, process_id: str) -> ProcessRecord:
    record = load_record(conn, process_id)
    if record is None:
        raise UnknownProcess.process(process_id)
    return record


def require_exists(conn: Tx, process_id: str) -> None:
    """The existence check, without decoding the row."""
    row = conn.execute("SELECT 1 FROM processes WHERE process_id = ?", (process_id,)).fetchone()
    if row is None:
        raise UnknownProcess.process(process_id)


def next_change_seq(conn: Tx) -> int:
    """The next change sequence. A transaction's first takes it from the clock row (which
    also takes the row's lock: on PostgreSQL, what orders commits); the rest are counted
    here and the row takes the last one at COMMIT (`RecordCache.save_clock`), one statement
    instead of one per save: a group commit saves three times per process in P1."""
    if isinstance(conn, RecordCache) and conn.last_seq is not None:
        conn.last_seq += 1
        conn.seq_unsaved = True
        return conn.last_seq
    row = conn.execute(
        "UPDATE process_change_clock SET current_seq = current_seq + 1 "
        "WHERE singleton = 1 RETURNING current_seq"
    ).fetchone()
    seq = int(row[0])
    if isinstance(conn, RecordCache):
        conn.last_seq = seq
    return seq


def _stage(conn: Tx, record: ProcessRecord, text: str) -> None:
    if isinstance(conn, RecordCache):
        conn.staged[record.id] = (text, record)


def insert_record(conn: Tx, record: ProcessRecord) -> None:
    text = record.stored_json()
    conn.execute(
        "INSERT INTO processes (process_id, registration_hash, owner_scope_id, created_at_ms, "
        "updated_at_ms, change_seq, status, record_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.registration_hash,
            record.originator_scope_id(),
            record.created_at_ms,
            record.updated_at_ms,
            next_change_seq(conn),
            record.status.state.value,
            text,
        ),
    )
    _stage(conn, record, text)


def save_record(conn: Tx, record: ProcessRecord) -> None:
    # The record's own serialisation, so a row lash wrote keeps lash's field order.
    change_seq, text = next_change_seq(conn), record.model_dump_json()
    if not record.is_terminal():
        # A running row was running before (status only ever moves running -> terminal), so
        # leave the column out: SQLite then skips the two indexes on it, which is most of
        # the cost they add to a save (measured: 142 -> 85 us).
        conn.execute(
            "UPDATE processes SET updated_at_ms = ?, change_seq = ?, record_json = ? "
            "WHERE process_id = ?",
            (record.updated_at_ms, change_seq, text, record.id),
        )
    else:
        conn.execute(
            "UPDATE processes SET updated_at_ms = ?, change_seq = ?, status = ?, "
            "record_json = ? WHERE process_id = ?",
            (
                record.updated_at_ms,
                change_seq,
                record.status.state.value,
                text,
                record.id,
            ),
        )
    _stage(conn, record, text)


def save_changes(
    conn: Tx, record: ProcessRecord, now_ms: int, **changes: WireModel | None
) -> ProcessRecord:
    """`touch(record, now_ms, **changes)`, saved by editing the stored JSON in place: each
    changed top-level field set (or removed, for None) and `updated_at_ms` bumped, which
    costs a fraction of encoding the whole record again (what an append, a first-started
    fact or a terminal does). A changed `status` is projected to its column too. A store
    whose dialect cannot edit JSON in place saves the whole record instead."""
    record = touch(record, now_ms, **changes)
    if not dialect(conn).edits_json_in_place:
        save_record(conn, record)
        return record
    values: list[object] = [record.updated_at_ms, next_change_seq(conn), record.id]
    paths = ["'$.updated_at_ms', ?1"]
    stored = "record_json"
    for name, value in changes.items():
        if value is None:
            stored = f"json_remove({stored}, '$.{name}')"
            continue
        values.append(value.model_dump_json())
        paths.append(f"'$.{name}', json(?{len(values)})")
    status = ""
    if "status" in changes:
        values.append(record.status.state.value)
        status = f"status = ?{len(values)}, "
    row = conn.execute(
        f"UPDATE processes SET updated_at_ms = ?1, change_seq = ?2, {status}"
        f"record_json = json_set({stored}, {', '.join(paths)}) "
        "WHERE process_id = ?3 RETURNING record_json",
        values,
    ).fetchone()
    _stage(conn, record, row[0])
    return record


def touch(record: ProcessRecord, now_ms: int, **changes: object) -> ProcessRecord:
    """The record with `changes` applied and `updated_at_ms` bumped (never backwards)."""
    return record.model_copy(update={**changes, "updated_at_ms": max(now_ms, record.updated_at_ms)})
