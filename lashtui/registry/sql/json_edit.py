"""Saving a record's changed top-level fields: `save_changes` for one row, `save_same_changes`
for a batch claim's rows in one statement.

Where the dialect can (SQLite), the stored JSON is edited in place (`JsonEdit`, built before
the transaction where sql/prepared.py can), which costs a fraction of encoding the whole
record again; elsewhere, or for a change that removes a field, the whole record is saved
(row.py `save_record`). Every save takes its change sequence and stages its result in the
connection's cache as row.py's do.
"""

from __future__ import annotations

from dataclasses import dataclass

from lashtui.model import ProcessRecord, RecoveryDisposition
from lashtui.model.wire import WireModel
from lashtui.registry.sql.backlog_mark import CARRY_MARK, carries, mark
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.fetch import fetch_rows
from lashtui.registry.sql.row import _stage, next_change_seq, save_record, touch


def save_changes(
    conn: Tx,
    record: ProcessRecord,
    now_ms: int,
    key: str | None = None,
    **changes: WireModel | None,
) -> ProcessRecord:
    """`touch(record, now_ms, **changes)`, saved by editing the stored JSON in place: each
    changed top-level field set (or removed, for None) and `updated_at_ms` bumped, which
    costs a fraction of encoding the whole record again (what an append, a first-started
    fact or a terminal does). A changed `status` is projected to its column too. A store
    whose dialect cannot edit JSON in place saves the whole record instead, as does a
    change that removes a field the record has (`removes_a_field`). `key` as for
    `save_record`."""
    removes = removes_a_field(record, changes)
    record = touch(record, now_ms, **changes)
    if removes or not dialect(conn).edits_json_in_place:
        save_record(conn, record, key)
        return record
    apply_edit(conn, JsonEdit.of(record, changes), key)
    return record


def removes_a_field(record: ProcessRecord, changes: dict[str, WireModel | None]) -> bool:
    """Whether `changes` remove a field `record` holds (a terminal's `wait`). Such a change
    is saved as a whole record: SQLite 3.40's `json_remove` matches a key as it is
    written, so another program's `"w\u0061it"`, which JSON and the models read as `wait`,
    would stay in the stored JSON of a row that then reads as ended and still waiting
    (tests/registry/test_facts.py). Rare enough (a row that ends while waiting) that the
    whole record's encoding costs little."""
    return any(value is None and getattr(record, name) is not None
               for name, value in changes.items())


@dataclass(frozen=True)
class JsonEdit:
    """`save_changes`'s statement for a record already touched, made before its
    transaction: the values encoded and the SQL built, so that the transaction only runs
    it (see sql/prepared.py). Its bound values leave ?2 (the change sequence) and ?3
    (the key) to `apply_edit`."""

    record: ProcessRecord
    sql: str
    values: tuple[object, ...]  # ?1, then ?4 on
    # The same statement carrying the row's `backlog_seq` mark to its new sequence, for a
    # registry with the column, or None where the record is not rerunnable, the edit may
    # take it out of the backlog or ends the row (sql/backlog_mark.py): a rerunnable row's
    # appended event or wait would otherwise move it into the drive's index.
    marked_sql: str | None = None

    @classmethod
    def of(
        cls,
        record: ProcessRecord,
        changes: dict[str, WireModel | None],
        held: str | None = None,
        encoded: dict[str, str] | None = None,
    ) -> JsonEdit:
        """`held`: the stored JSON the edit will apply to, where the caller's transaction
        checks it is exactly that text (sql/prepared.py). A field to remove whose quoted
        name the text does not hold is left out of the statement: `json_remove` would
        change nothing (SQLite 3.40 matches a key as it is written) but still parse and
        render the whole ~1.3 kB record, ~50,000 instructions inside the write lock, for
        the `wait` every completion clears and nearly no row has. `json_set` renders the
        same tree either way, so the bytes are the same
        (tests/registry/test_prepared_completion.py). A field the record holds under a
        spelling with escapes never gets here: `removes_a_field`. `encoded`: a change's
        JSON where the caller has it already (a terminal's status, prepared.py)."""
        values: list[object] = [record.updated_at_ms, None, None]
        paths = ["'$.updated_at_ms', ?1"]
        stored = "record_json"
        for name, value in changes.items():
            if value is None:
                if held is None or f'"{name}"' in held:
                    stored = f"json_remove({stored}, '$.{name}')"
                continue
            text = encoded.get(name) if encoded else None
            values.append(value.model_dump_json() if text is None else text)
            paths.append(f"'$.{name}', json(?{len(values)})")
        status = ""
        if "status" in changes:
            values.append(record.status.state.value)
            status = f"status = ?{len(values)}, "
        sql = (
            f"UPDATE processes SET updated_at_ms = ?1, change_seq = ?2, {status}"
            f"record_json = json_set({stored}, {', '.join(paths)}) "
            "WHERE process_id = ?3 RETURNING record_json"
        )
        marked = None
        # (The identity test first: an append to a row that is not rerunnable, P2's, pays
        # one comparison for the mark.)
        rerunnable = record.disposition is RecoveryDisposition.RERUNNABLE
        if rerunnable and not status and carries(record.disposition.value, changes):
            marked = sql.replace("?2, ", f"?2, {_CARRY_AT_2}", 1)  # after change_seq's
        return cls(record, sql, (values[0], *values[3:]), marked)


_CARRY_AT_2 = CARRY_MARK.format(seq="?2")


def apply_edit(conn: Tx, edit: JsonEdit, key: str | None = None) -> None:
    """Run `edit` on the row keyed `key` (default: the record's id) and stage its result."""
    key = key or edit.record.id
    values = (edit.values[0], next_change_seq(conn), key, *edit.values[1:])
    sql = edit.sql
    if edit.marked_sql is not None and getattr(conn, "backlog_seq", False):
        sql = edit.marked_sql
    row = conn.execute(sql, values).fetchone()
    _stage(conn, edit.record, row[0], key)


def save_same_changes(
    conn: Tx, records: list[ProcessRecord], now_ms: int, **changes: WireModel
) -> list[ProcessRecord]:
    """`save_changes` of the same `changes` to each of `records` (each row keyed by its
    record's id), in that order, each with its own change sequence, in one statement: a
    batch claim's first-started facts (sql/run.py). Each of them was a statement of its own
    inside SQLite's write lock, which every other worker process waits for. The values set
    are `save_changes`'s, row by row (a store that cannot edit JSON in place writes each
    whole record, as `save_record` does)."""
    if len(records) < 2:
        return [save_changes(conn, record, now_ms, None, **changes) for record in records]
    touched = [touch(record, now_ms, **changes) for record in records]
    if not dialect(conn).edits_json_in_place:
        return _save_whole_records(conn, touched)
    shared = [value.model_dump_json() for value in changes.values()]
    paths = ", ".join(f"'$.{name}', json(?{n})" for n, name in enumerate(changes, 1))
    # The shared values are ?1..?k; each row's (key, change sequence, updated_at_ms) follow
    # as plain `?`s, which SQLite numbers from k + 1 on.
    rows = ", ".join(["(?, ?, ?)"] * len(touched))
    values: list[object] = list(shared)
    for record in touched:
        values += [record.id, next_change_seq(conn), record.updated_at_ms]
    # A batch claim's rows keep their marks (backlog_mark.py `CARRY_MARK`): they stay out
    # of the drive's indexes while they run.
    marked = ""
    if getattr(conn, "backlog_seq", False) and all(
        carries(record.disposition.value, changes) for record in touched
    ):
        marked = CARRY_MARK.format(seq="v.column2")
    # (fetch_rows: an id another program stored as bytes that are not UTF-8 comes back
    # as `keyed` made it; the statement's re-run then sets the same values again.)
    texts: dict[str, str] = dict(
        fetch_rows(
            conn,
            "UPDATE processes SET updated_at_ms = v.column3, change_seq = v.column2, "
            f"{marked}"
            f"record_json = json_set(record_json, '$.updated_at_ms', v.column3, {paths}) "
            f"FROM (VALUES {rows}) AS v WHERE processes.process_id = v.column1 "
            "RETURNING process_id, record_json",
            values,
        )
    )
    for record in touched:
        _stage(conn, record, texts[record.id])
    return touched


def _save_whole_records(conn: Tx, records: list[ProcessRecord]) -> list[ProcessRecord]:
    """`save_record` of each of `records`, in one statement: on a store that encodes whole
    records (PostgreSQL), a batch claim's first-started facts. (Its status column is set
    too, where `save_record` leaves a running row's alone: SQLite's reason, its status
    indexes, is not this store's, and one statement serves running and terminal rows.)
    With the batch's leases in one statement too (claim.py `save_new_leases`), a batch of
    n rows sends 2n - 2 statements fewer: with batches of 16, a PostgreSQL drain worker ran
    ~4% fewer instructions a row (benchmarks/p3_budget.py's method), the server 11% fewer
    statements."""
    texts = [record.model_dump_json() for record in records]
    # Each row's mark as its insert would make it (backlog_mark.py), where every record is
    # rerunnable; otherwise the column is left out (a mark left behind is only stale).
    marks = getattr(conn, "backlog_seq", False) and all(
        record.disposition is RecoveryDisposition.RERUNNABLE for record in records
    )
    values: list[object] = []
    for record, text in zip(records, texts, strict=True):
        seq = next_change_seq(conn)
        values += [record.id, seq, record.updated_at_ms, record.status.state.value, text]
        if marks:
            values.append(mark(record.disposition.value, text, seq))
    set_mark, mark_column, mark_value = ("", "", "")
    if marks:
        set_mark, mark_column, mark_value = (
            "backlog_seq = v.mark, ", ", mark", ", CAST(? AS BIGINT)"
        )
    rows = ", ".join(
        [f"(?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?{mark_value})"] * len(records)
    )
    conn.execute(
        f"UPDATE processes SET updated_at_ms = v.updated, change_seq = v.seq, {set_mark}"
        f"status = v.status, record_json = v.record FROM (VALUES {rows}) "
        f"AS v(id, seq, updated, status, record{mark_column}) "
        "WHERE processes.process_id = v.id",
        values,
    )
    for record, text in zip(records, texts, strict=True):
        _stage(conn, record, text)
    return records
