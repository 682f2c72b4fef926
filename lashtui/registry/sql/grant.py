"""Handle grants and session deletion (semantics §5.4-§5.8).

Grants never touch the process row or its change sequence: who may address a process is not
a change to the process.
"""

from __future__ import annotations

from lashtui.errors import InvalidRequest
from lashtui.model import (
    ProcessHandleDescriptor,
    ProcessHandleGrant,
    ProcessRecord,
    ProcessSessionDeleteReport,
    SessionScope,
)
from lashtui.registry.sql.blob_id import shown_id
from lashtui.registry.sql.decoded_row import (
    DECODE_ERRORS,
    checked,
    decode_record,
    decode_row,
    undecodable_reason,
)
from lashtui.registry.sql.dialect import MAX_STORED_BYTES, Tx, dialect
from lashtui.registry.sql.fetch import row_columns
from lashtui.registry.sql.row import fetch_rows, require_exists, save_record, touch
from lashtui.registry.sql.stored_text import as_read, read_text


def _grant(session_id: str, process_id: str, descriptor_json: str | None) -> ProcessHandleGrant:
    """A grant row as read (its session id through `read_text`, its descriptor through
    `stored_json`). A descriptor another
    program stored that does not decode, or that is past the ceiling (None), is a stand-in
    labelled with why, as an undecodable record is: one grant row must not fail the read of
    a process's grants, a session's or the security lens's list. A session id past what a
    reader takes is held cut (stored_text.py), which says so where it is shown; no action
    is keyed by a grant as read (a transfer names its scopes, whose session and frame ids
    are held to 256 characters each, so a cut scope is refused as too long)."""
    session_id = as_read(session_id)
    try:
        if not isinstance(session_id, str):  # a blob another program stored (blob_id.py)
            session_id = shown_id(session_id)
            raise ValueError(BLOB_SESSION_WORDS)
        if descriptor_json is None:
            raise ValueError(DESCRIPTOR_TOO_LARGE)
        descriptor = ProcessHandleDescriptor.model_validate_json(descriptor_json)
    except DECODE_ERRORS as error:
        why = undecodable_reason(error)
        descriptor = ProcessHandleDescriptor(label=f"undecodable: {why}").marked_undecodable(why)
    return ProcessHandleGrant(session_id=session_id, process_id=process_id, descriptor=descriptor)


# Why a grant whose session id is a blob is a stand-in: it failed every read of its
# process's grants (`show`: "failed to decode process registry row: session_id").
BLOB_SESSION_WORDS = "its session_id column holds a blob, not text"

DESCRIPTOR_TOO_LARGE = (
    f"the descriptor is over {MAX_STORED_BYTES >> 20} MiB of JSON, more than any reader takes"
)


def _upsert(
    conn: Tx, scope: SessionScope, process_id: str, descriptor_json: str
) -> None:
    conn.execute(
        "INSERT INTO process_handle_grants (session_id, scope_id, process_id, descriptor_json) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(scope_id, process_id) DO UPDATE SET "
        "session_id = excluded.session_id, descriptor_json = excluded.descriptor_json",
        (scope.session_id, scope.id(), process_id, descriptor_json),
    )


def grant(
    conn: Tx,
    scope: SessionScope,
    process_id: str,
    descriptor: ProcessHandleDescriptor,
) -> ProcessHandleGrant:
    scope.check_limits("the granted scope")
    descriptor.check_limits()
    require_exists(conn, process_id)
    _upsert(conn, scope, process_id, descriptor.model_dump_json())
    return ProcessHandleGrant(
        session_id=scope.session_id, process_id=process_id, descriptor=descriptor
    )


def revoke(conn: Tx, scope: SessionScope, process_id: str) -> None:
    conn.execute(
        "DELETE FROM process_handle_grants WHERE scope_id = ? AND process_id = ?",
        (scope.id(), process_id),
    )


def has_grant(conn: Tx, scope: SessionScope, process_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM process_handle_grants g JOIN processes p ON p.process_id = g.process_id "
        "WHERE g.scope_id = ? AND g.process_id = ?",
        (scope.id(), process_id),
    ).fetchone()
    return row is not None


def transfer(
    conn: Tx, from_scope: SessionScope, to_scope: SessionScope, ids: list[str]
) -> None:
    """All or nothing: one missing grant rolls back the grants already moved."""
    to_scope.check_destination()
    for process_id in ids:
        row = conn.execute(
            "SELECT descriptor_json FROM process_handle_grants WHERE scope_id = ? "
            "AND process_id = ?",
            (from_scope.id(), process_id),
        ).fetchone()
        if row is None:
            raise InvalidRequest(
                f"process handle `{process_id}` is not granted to session `{from_scope.session_id}`"
            )
        revoke(conn, from_scope, process_id)
        _upsert(conn, to_scope, process_id, row[0])


def list_grants(
    conn: Tx, scope: SessionScope, live_only: bool
) -> list[tuple[ProcessHandleGrant, ProcessRecord]]:
    live = "AND p.status = 'running'" if live_only else ""
    rows = fetch_rows(
        conn,
        f"SELECT {row_columns(conn)}, {read_text('g.session_id')}, "
        f"{dialect(conn).stored_json('g.descriptor_json')} "
        "FROM process_handle_grants g JOIN processes p ON p.process_id = g.process_id "
        f"WHERE g.scope_id = ? {live} ORDER BY g.process_id",
        (scope.id(),),
    )
    return [(_grant(row[-2], row[1], row[-1]), decode_row(row[:-2])) for row in rows]


# A process's grants in scope order, sorted by the scopes as read (stored_text.py): SQLite's
# sorter keeps each row's whole sort key, so ordering by the stored columns held a session id
# of 200 MB several times over (`show` 1.2 GB, against 240 MB sorted by what is read).
_BY_SCOPE = f"{read_text('session_id')}, {read_text('scope_id')}"


def grants_for_process(conn: Tx, process_id: str) -> list[ProcessHandleGrant]:
    require_exists(conn, process_id)
    rows = fetch_rows(
        conn,
        f"SELECT {read_text('session_id')}, process_id, "
        f"{dialect(conn).stored_json('descriptor_json')} "
        f"FROM process_handle_grants WHERE process_id = ? ORDER BY {_BY_SCOPE}",
        (process_id,),
    )
    return [_grant(*row) for row in rows]


def scopes_for_process(conn: Tx, process_id: str) -> list[tuple[str, ProcessHandleGrant]]:
    """`grants_for_process` with each grant's scope id: what a transfer must name."""
    require_exists(conn, process_id)
    rows = fetch_rows(
        conn,
        f"SELECT {read_text('scope_id')}, {read_text('session_id')}, process_id, "
        f"{dialect(conn).stored_json('descriptor_json')} "
        f"FROM process_handle_grants WHERE process_id = ? ORDER BY {_BY_SCOPE}",
        (process_id,),
    )
    return [(_scope_text(scope_id), _grant(*rest)) for scope_id, *rest in rows]


def _scope_text(scope_id: object) -> str:
    """A scope id as read: cut past the ceiling, a blob as Python writes bytes."""
    return shown_id(scope_id) if isinstance(scope_id, bytes) else str(as_read(scope_id))


def delete_session(
    conn: Tx, session_id: str, now: int
) -> ProcessSessionDeleteReport:
    """Revoke every grant of the session (all frames) and clear it as a wake target. Never
    cancels or deletes a process: a process outlives the sessions that know it."""
    removed = conn.execute(
        "SELECT g.process_id, p.status FROM process_handle_grants g "
        "JOIN processes p ON p.process_id = g.process_id WHERE g.session_id = ?",
        (session_id,),
    ).fetchall()
    revoked = conn.execute(
        "DELETE FROM process_handle_grants WHERE session_id = ?", (session_id,)
    ).rowcount
    orphaned: set[str] = set()
    preserved: set[str] = set()
    for process_id, status in removed:
        if status != "running":
            continue
        remaining = conn.execute(
            "SELECT count(*) FROM process_handle_grants WHERE process_id = ?", (process_id,)
        ).fetchone()[0]
        (preserved if remaining else orphaned).add(process_id)
    targeted = conn.execute(
        f"SELECT {dialect(conn).stored_json('record_json')}, status FROM processes "
        f"WHERE {dialect(conn).json_text('record_json', 'wake_target.session_id')} = ?",
        (session_id,),
    ).fetchall()
    for text, status in targeted:
        try:
            record = checked(decode_record(text), status)
        except DECODE_ERRORS:
            continue  # not ours to rewrite: only `end_undecodable` changes such a row
        save_record(conn, touch(record, now, wake_target=None))
    return ProcessSessionDeleteReport(
        session_id=session_id,
        revoked_handle_count=revoked,
        orphaned_process_ids=sorted(orphaned),
        preserved_process_ids=sorted(preserved),
    )
