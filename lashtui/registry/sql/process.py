"""Process rows: registration, the set-once facts, waits, reads, the change feed and the
captured-env store (semantics §5.1, §5.3, §5.12-§5.16, §5.19, §5.22)."""

from __future__ import annotations

import functools

from lashtui.errors import InvalidRequest, ProcessConflict, UnknownProcess
from lashtui.model import (
    AbandonRequest,
    ExternalRef,
    FailureOutput,
    ProcessEventAppendRequest,
    ProcessExecutionEnvSpec,
    ProcessIdentity,
    ProcessLease,
    ProcessListFilter,
    ProcessRecord,
    ProcessRegistration,
    ProcessStarted,
    ProcessStartRequest,
    ProcessStatus,
    ProcessStatusFilter,
    ProcessTerminalState,
    ToolFailureClass,
    WaitState,
    limit,
)
from lashtui.model.record import ENDED_UNDECODABLE_LABEL, UNDECODABLE_KIND
from lashtui.model.wire import canonical_json, check_extras_size
from lashtui.registry.sql import grant
from lashtui.registry.sql.blob_id import (
    blob_of,
    is_null_spelling,
    not_text,
    null_row,
    refuse_blob,
)
from lashtui.registry.sql.decoded_row import (
    DECODE_ERRORS,
    UNDECODABLE_CODE,
    UNDECODABLE_WORDS,
    checked,
    decode_record,
    decode_row,
    keyed,
    refuse_undecodable,
    stored_id,
    undecodable_reason,
    undecodable_record,
)
from lashtui.registry.sql.dialect import MAX_STORED_BYTES, Dialect, Tx, dialect
from lashtui.registry.sql.event import append_to
from lashtui.registry.sql.fetch import (
    CUT_ROW_COLUMNS,
    NULL_ROW_COLUMNS,
    ROW_COLUMN_LIST,
    UNREAD_RECORD_CHARS,
    past_ceiling,
    row_column_list,
    row_columns,
    row_columns_in,
    sized_page,
)
from lashtui.registry.sql.json_edit import save_changes
from lashtui.registry.sql.lease import require_current_lease
from lashtui.registry.sql.lease_row import LeaseRow, lease_row_problem, lease_row_statement
from lashtui.registry.sql.long_id import CUT_QUOTED, cut_rows, is_cut, refuse_cut
from lashtui.registry.sql.page import check_size
from lashtui.registry.sql.row import (
    RecordCache,
    fetch_rows,
    insert_record,
    load_record,
    require_record,
    runnable,
    save_record,
    touch,
)
from lashtui.registry.sql.stored_text import past_read, read_text


def register(
    conn: Tx, registration: ProcessRegistration, now: int
) -> ProcessRecord:
    return register_new(conn, registration, now)[0]


def register_new(
    conn: Tx,
    registration: ProcessRegistration,
    now: int,
    first_started: ProcessStarted | None = None,
) -> tuple[ProcessRecord, bool]:
    """`register`, and whether it inserted the row (False: the row was there already, an
    idempotent replay). With `first_started`, a new row a worker would run (`to_run`) is
    inserted with that fact already recorded (run.py `start_for_run`)."""
    prepared, registration_hash = registration.prepare()
    row = conn.execute(_registered_sql(dialect(conn)), (prepared.id,)).fetchone()
    if row is not None:
        return replayed(prepared.id, registration_hash, row[0], row[1]), False
    if first_started is not None and not runnable(prepared.id, prepared.disposition):
        first_started = None  # (`to_run` of the new record)
    record = ProcessRecord.new(prepared, registration_hash, now, first_started)
    insert_record(conn, record)
    return record, True


@functools.cache
def _registered_sql(sql: Dialect) -> str:
    """`register_new`'s existence read (made once per dialect: every start runs it)."""
    return (
        f"SELECT {read_text('registration_hash')}, {sql.stored_json('record_json')} "
        "FROM processes "
        "WHERE process_id = ?"
    )


def replayed(
    process_id: str, registration_hash: str, stored_hash: str, stored_text: str | None
) -> ProcessRecord:
    """A registration whose id is stored already: the stored record when the hashes agree
    (an idempotent replay), else a conflict; a stored record that does not decode is
    refused. (Also PostgreSQL's start in one call, postgres/start.py, from what its
    function returns for a stored id.)"""
    if stored_hash != registration_hash:
        # A stored hash past what a reader takes (stored_text.py; a hash is 64 characters)
        # is quoted by its start: it matches no registration's, whatever follows.
        existing = f"{stored_hash[:CUT_QUOTED]}…" if past_read(stored_hash) else stored_hash
        raise ProcessConflict(
            f"process `{process_id}` registration hash conflict: "
            f"existing {existing}, new {registration_hash}"
        )
    try:
        return decode_record(stored_text)
    except DECODE_ERRORS as error:
        raise refuse_undecodable(process_id, undecodable_reason(error)) from None


def set_external_ref(
    conn: Tx, process_id: str, ref: ExternalRef, now: int
) -> ProcessRecord:
    limit.check_text("an external ref's backend", ref.backend, limit.MAX_NAME_CHARS)
    limit.check_text("an external ref's id", ref.id, limit.MAX_ID_CHARS)
    limit.check_depth("an external ref's metadata", ref.metadata)
    # (From the dumped value: pydantic's own JSON encoder fails on a lone surrogate.)
    limit.encode_json(
        "an external ref", canonical_json(ref.model_dump(mode="json"), "an external ref")
    )
    record = require_record(conn, process_id)
    if record.external_ref is not None:
        if record.external_ref == ref:
            return record
        raise ProcessConflict(
            f"process `{process_id}` external ref conflict: "
            f"existing {record.external_ref!r}, new {ref!r}"
        )
    record = touch(record, now, external_ref=ref)
    save_record(conn, record)
    return record


def record_first_started(
    conn: Tx,
    process_id: str,
    started: ProcessStarted,
    lease: ProcessLease,
    now: int,
) -> ProcessRecord:
    """Lease-fenced (port decision 3) and first-writer-wins."""
    record = require_record(conn, process_id)
    require_current_lease(conn, process_id, lease, now)
    if record.is_terminal():
        raise ProcessConflict(f"process `{process_id}` is already terminal")
    if record.first_started is not None:
        return record
    return save_changes(conn, record, now, first_started=started)


def request_abandon(
    conn: Tx, process_id: str, request: AbandonRequest, now: int
) -> ProcessRecord:
    check_abandon_request(request)
    record = require_record(conn, process_id)
    if record.is_terminal():
        raise ProcessConflict(f"terminal process `{process_id}` cannot accept an abandon request")
    if record.abandon_request is not None:
        return record
    record = touch(record, now, abandon_request=request)
    save_record(conn, record)
    return record


def check_abandon_request(request: AbandonRequest) -> None:
    limit.check_text("requested_by", request.requested_by, limit.MAX_NAME_CHARS)
    limit.check_text("an abandon reason", request.reason, limit.MAX_REASON_CHARS)
    check_extras_size("an abandon request", request)


def set_wait(conn: Tx, process_id: str, wait: WaitState, now: int) -> ProcessRecord:
    record = require_record(conn, process_id)
    if record.is_terminal():
        raise ProcessConflict(f"terminal process `{process_id}` cannot enter a wait state")
    if record.wait == wait:
        return record
    record = touch(record, now, wait=wait)
    save_record(conn, record)
    return record


def clear_wait(conn: Tx, process_id: str, now: int) -> ProcessRecord:
    record = require_record(conn, process_id)
    if record.wait is None:
        return record
    record = touch(record, now, wait=None)
    save_record(conn, record)
    return record


def get(conn: Tx, process_id: str) -> ProcessRecord | None:
    """The row's record, or its stand-in. On SQLite a record past the ceiling is told
    from its row's header first (fetch.py `past_ceiling`): the process detail reads its
    row again on every change, and measuring the value in SQL loads it each time. A cut
    id (long_id.py) is the stand-in of the row it was read from, if that is still there."""
    if is_cut(process_id):
        rows = cut_rows(conn, CUT_ROW_COLUMNS, [process_id])
        return decode_row(rows[0]) if rows else None
    if past_ceiling(conn, [process_id]):
        unread = row_columns_in(dialect(conn), "TRUE")
        rows = fetch_rows(conn, f"SELECT {unread} FROM processes p WHERE p.process_id = ?",
                          (process_id,))  # fmt: skip
        return decode_row(rows[0]) if rows else None
    record = load_record(conn, process_id, lenient=True)
    blob = blob_of(conn, process_id) if record is None else None
    if blob is not None:  # no row has this id: a blob's, as a read shows it (blob_id.py)
        rows = fetch_rows(
            conn, f"SELECT {row_columns(conn)} FROM processes p WHERE p.process_id = ?", (blob,)
        )
        return decode_row(rows[0]) if rows else None
    if record is None and is_null_spelling(process_id):  # nor this: a NULL id's (blob_id.py)
        row = null_row(conn, NULL_ROW_COLUMNS, process_id)
        return decode_row(row) if row is not None else None
    return record


def list_matching(conn: Tx, list_filter: ProcessListFilter) -> list[ProcessRecord]:
    """Narrow in SQL by the projected columns, then match the rest in memory."""
    clauses: list[str] = []
    params: list[object] = []
    if list_filter.status is not ProcessStatusFilter.ANY:
        clauses.append("status = ?")
        params.append(list_filter.status.value)
    if list_filter.originator_scope_id is not None:
        clauses.append("owner_scope_id = ?")
        params.append(list_filter.originator_scope_id)
    if list_filter.created_at_start_ms is not None:
        clauses.append("created_at_ms >= ?")
        params.append(list_filter.created_at_start_ms)
    if list_filter.created_at_end_ms is not None:
        clauses.append("created_at_ms < ?")
        params.append(list_filter.created_at_end_ms)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = fetch_rows(
        conn, f"SELECT {row_columns(conn)} FROM processes p {where} ORDER BY p.process_id", params
    )
    records = (decode_row(row) for row in rows)
    return [record for record in records if list_filter.matches_record(record)]


def list_non_terminal(conn: Tx) -> list[ProcessRecord]:
    rows = fetch_rows(
        conn,
        f"SELECT {row_columns(conn)} FROM processes p WHERE p.status = 'running' "
        "ORDER BY p.process_id",
    )
    return [decode_row(row) for row in rows]


def changed_since(
    conn: Tx, cursor: int, limit: int, max_chars: int | None = None
) -> tuple[list[ProcessRecord], int]:
    """lash's change-feed page; with `max_chars` (a lashtui extension) it ends with the row
    whose record takes the page's records to `max_chars` characters (a record may be a
    mebibyte or two, and a page of 1,000 of them gigabytes): only an empty page then says
    the feed has been read to its end."""
    if limit < 0:
        raise InvalidRequest(f"a change feed page limit must be >= 0, got {limit}")
    if not 0 <= cursor < 2**63:
        # Past the stores' signed 64 bits the query failed naming no value ("a number is
        # too large for the registry"); a change sequence is never negative.
        raise InvalidRequest(
            f"a change feed cursor is a change sequence from 0 to {2**63 - 1}, got {cursor}"
        )
    check_size(max_chars, "a change-feed page")
    if limit == 0:
        return [], cursor
    rows = sized_page(
        conn,
        [*row_column_list(conn), "p.change_seq"],
        f"FROM processes p WHERE p.change_seq > ?{dialect(conn).feed_bound('p.change_seq')}",
        (cursor,),
        ["p.change_seq", ROW_COLUMN_LIST[1]],  # (the id as read: `sized_page` names columns)
        limit,
        max_chars,
        UNREAD_RECORD_CHARS,  # (a record left unread is never loaded: it costs nothing)
    )
    if not rows:
        return [], cursor
    return [decode_row(row) for row in rows], int(rows[-1][-1])


def start(conn: Tx, request: ProcessStartRequest, now: int) -> ProcessRecord:
    return start_new(conn, request, now)[0]


def start_new(
    conn: Tx,
    request: ProcessStartRequest,
    now: int,
    first_started: ProcessStarted | None = None,
) -> tuple[ProcessRecord, bool]:
    """`start`, and whether it inserted the row (`register_new`, which `first_started`
    goes to)."""
    if request.grant is not None:  # (the registration's own limits: `prepare`)
        request.grant.session_scope.check_limits("the granted scope")
        request.grant.descriptor.check_limits()
    spec = request.execution_env()
    env_ref = put_env(conn, spec, now) if spec is not None else None
    registration = request.into_registration(env_ref)
    record, inserted = register_new(conn, registration, now, first_started)
    if request.grant is not None:
        grant.grant(conn, request.grant.session_scope, record.id, request.grant.descriptor)
    return record, inserted


def checked_env_ref(spec: ProcessExecutionEnvSpec) -> str:
    """The key an execution env is stored under, once its limits hold (raises otherwise)."""
    if not spec.plugin_options and not spec.policy:
        # The empty env (every engine row started without one: most starts) is within
        # every limit, and its key is a constant: its checks were ~10 us of each start.
        return spec.stable_ref()
    limit.check_depth("an execution env", [spec.plugin_options, spec.policy])
    limit.encode_json(
        "an execution env", canonical_json(spec.model_dump(mode="json"), "an execution env")
    )
    return spec.stable_ref()


def put_env(conn: Tx, spec: ProcessExecutionEnvSpec, now: int) -> str:
    env_ref = checked_env_ref(spec)
    known = isinstance(conn, RecordCache) and env_ref in conn.envs
    if not known:  # (the insert would be ignored anyway)
        conn.execute(
            dialect(conn).insert_or_ignore(
                "INTO process_execution_envs (env_ref, spec_json, created_at_ms) VALUES (?, ?, ?)"
            ),
            (env_ref, spec.model_dump_json(), now),
        )
        if isinstance(conn, RecordCache):
            conn.staged_envs[env_ref] = spec
    return env_ref


def get_env(conn: Tx, env_ref: str) -> ProcessExecutionEnvSpec:
    if isinstance(conn, RecordCache) and env_ref in conn.envs:
        return conn.envs[env_ref]
    # (Its JSON under the ceiling on stored JSON: a write allows 1 MiB.)
    row = conn.execute(
        f"SELECT {dialect(conn).stored_json('spec_json')} FROM process_execution_envs "
        "WHERE env_ref = ?",
        (env_ref,),
    ).fetchone()
    if row is None:
        raise UnknownProcess(f"unknown process execution env `{env_ref}`")
    if row[0] is None:
        raise InvalidRequest(
            f"process execution env `{env_ref}` is over {MAX_STORED_BYTES >> 20} MiB of "
            "JSON, more than any reader takes"
        )
    spec = ProcessExecutionEnvSpec.model_validate_json(row[0])
    if isinstance(conn, RecordCache):
        conn.staged_envs[env_ref] = spec
    return spec


def not_undecodable(process_id: str, record: ProcessRecord) -> str:
    """Why `end_undecodable` refuses a row that decodes, saying what is true of it: a live
    one is ended by cancel or abandon; an ended one has nothing left to end (and both of
    those would be refused on it)."""
    if record.is_terminal():
        return (
            f"process `{process_id}` is not undecodable: it has already ended "
            f"({record.status.state.value}), so there is nothing to end"
        )
    return f"process `{process_id}` is not undecodable; cancel or abandon it instead"


def end_undecodable(
    conn: Tx, process_id: str, operator: str, reason: str, now: int
) -> ProcessRecord:
    """End a row whose record cannot be decoded (decoded_row.py), in one transaction: the record is
    rewritten as a minimal valid one from the row's columns (kind `undecodable`, externally
    owned), made `failed` through an ordinary terminal event whose message says why and who,
    and its lease is freed. From then on it reads as any terminal row, and prune removes it.
    A row that decodes is refused: cancel or abandon are the ways to end it.

    An id another program stored as bytes that are not UTF-8 (SQLite only) keys every
    statement here as those bytes, while the new record's and event's JSON hold it as
    `stored_id` writes it (decoded_row.py): the reads give such a row its column's id back."""
    limit.check_text("an operator", operator, limit.MAX_NAME_CHARS)
    limit.check_text("a reason", reason, limit.MAX_REASON_CHARS)
    if is_cut(process_id):
        raise refuse_cut(process_id)
    rows = fetch_rows(
        conn, f"SELECT {row_columns(conn)} FROM processes p WHERE p.process_id = ?", (process_id,)
    )
    if not rows:
        if not_text(conn, process_id):  # a blob's or NULL's, as a read shows it (blob_id.py)
            raise InvalidRequest(refuse_blob(process_id))
        raise UnknownProcess.process(process_id)
    try:
        decoded = checked(decode_record(rows[0][0]), rows[0][6])
    except DECODE_ERRORS as error:
        why = undecodable_reason(error)
    else:
        held = conn.execute(*lease_row_statement(conn, process_id)).fetchone()
        problem = lease_row_problem(LeaseRow(*held)) if held else None
        if problem is None:
            raise ProcessConflict(not_undecodable(process_id, decoded))
        why = problem
    stand_in = undecodable_record(rows[0], why)
    record = stand_in.model_copy(
        update={
            "id": stored_id(process_id),
            "identity": ProcessIdentity(
                kind=UNDECODABLE_KIND, label=f"{ENDED_UNDECODABLE_LABEL}{operator}"
            ),
            "status": ProcessStatus.running(),
            "no_state": False,  # (its column is written with its state from here on)
            "updated_at_ms": max(now, stand_in.updated_at_ms),
        }
    ).marked_undecodable(None)
    save_record(conn, record, process_id)
    message = f"{UNDECODABLE_WORDS} ({why}); ended by {operator}: {reason}"
    output = FailureOutput(class_=ToolFailureClass.INTERNAL, code=UNDECODABLE_CODE, message=message)
    # A key of its own: the old row's log may already hold a `process.failed` under the
    # usual terminal key, with a different payload.
    request = ProcessEventAppendRequest.new(
        ProcessTerminalState.FAILED.event_type(),
        {"await_output": output.model_dump(mode="json")},
        f"process:{record.id}:end_undecodable:{now}",
    )
    _, record = append_to(conn, record, request, now, row_key=process_id)
    # Freed, its numbers whole again: SQLite stores any value another program gives it
    # (`whole`; PostgreSQL's columns hold only integers, and keep their fence).
    fence = dialect(conn).whole("lease_fencing_token")
    conn.execute(
        "UPDATE process_leases SET lease_owner_id = NULL, lease_token = NULL, "
        "lease_claimed_at_ms = 0, lease_expires_at_ms = 0, "
        f"lease_fencing_token = coalesce({fence}, 0) WHERE process_id = ?",
        (process_id,),
    )
    return keyed(record, process_id)
