"""The stored lease row (`process_leases`) as the lease code reads it: `LeaseRow`, its
statement, and the checks that refuse, or show as a stand-in, a row another program wrote
with something other than whole numbers and text; and the reads of held leases (`get`,
`get_many`).

Kept apart from the writes (lease.py, claim.py) because every reader of a lease goes
through it: the writes, the worklist (work_item.py) and the listings (listing.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from lashtui.model import LeaseOwnerIdentity, ProcessLease
from lashtui.model.lease import LeaseOwnerLiveness, OpaqueLiveness
from lashtui.registry.sql.decoded_row import refuse_undecodable
from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.fetch import LEASE_ROW_COLUMNS, Statement, held_lease_rows
from lashtui.registry.sql.stored_text import READ_CHARS, as_read, past_read
from lashtui.untrusted import clipped

_LIVENESS = TypeAdapter[LeaseOwnerLiveness](LeaseOwnerLiveness)


@dataclass(frozen=True)
class LeaseRow:
    owner_id: str | None
    incarnation_id: str | None
    liveness_json: str | None
    token: str | None
    fence: int
    claimed_at_ms: int
    expires_at_ms: int

    @property
    def held(self) -> bool:
        return self.owner_id is not None and self.token is not None

    def lease(self, process_id: str) -> ProcessLease:
        assert self.owner_id is not None and self.token is not None
        owner = LeaseOwnerIdentity(
            owner_id=self.owner_id,
            incarnation_id=self.incarnation_id or self.owner_id,
            liveness=_decode_liveness(self.liveness_json),
        )
        return ProcessLease(
            process_id=process_id,
            owner=owner,
            lease_token=self.token,
            fencing_token=self.fence,
            claimed_at_epoch_ms=self.claimed_at_ms,
            expires_at_epoch_ms=self.expires_at_ms,
        )


def _decode_liveness(text: str | None) -> LeaseOwnerLiveness:
    """Unparsable liveness reads as opaque: unknown, so never provably dead."""
    if not text:
        return OpaqueLiveness()
    try:
        return _LIVENESS.validate_json(text)
    except ValidationError:
        return OpaqueLiveness()


def lease_row_statement(conn: Tx, process_id: str) -> Statement:
    """`load_lease_row`'s read (for `read_ahead`)."""
    return (
        f"SELECT {LEASE_ROW_COLUMNS} FROM process_leases l "
        f"WHERE l.process_id = ?{dialect(conn).row_lock}",
        (process_id,),
    )


def load_lease_row(conn: Tx, process_id: str) -> LeaseRow | None:
    row = conn.execute(*lease_row_statement(conn, process_id)).fetchone()
    return lease_row(process_id, row) if row else None


# --- lease rows another program wrote ---------------------------------------------------
#
# A lease row's fence and times are whole numbers; SQLite stores whatever another program
# gives it (text, a real, a blob). One such row failed every read that joins the leases
# (`ls`, `show`, the dashboard's views) and every sweep, and a claim compared its text with
# a number (a TypeError). Now a write (claim, renew, release...) refuses it in one sentence,
# as a row whose record does not decode; a read shows its process as such a row (the lease
# a stand-in saying why: `read_lease`); the worker and the sweep skip it; and
# `end_undecodable` ends it and rewrites the numbers.
_WHOLE_COLUMNS = {
    "fence": "lease_fencing_token",
    "claimed_at_ms": "lease_claimed_at_ms",
    "expires_at_ms": "lease_expires_at_ms",
}
# The text columns, which SQLite lets hold a blob too: one that is not UTF-8 failed every
# read of its process (`ls --json` with a traceback), as the numbers did. One longer than a
# reader takes (stored_text.py) is read cut, and a cut name is no lease: every check of a
# presented lease (and a reclaim's, of the holder it observed) compares it with the stored
# one, which it never equals, so the row is a stand-in and refused, as these are, with why.
_TEXT_COLUMNS = {
    "owner_id": "lease_owner_id",
    "incarnation_id": "lease_owner_incarnation_id",
    "token": "lease_token",
}


def lease_row_problem(row: LeaseRow) -> str | None:
    """Why the row's numbers or names cannot be read, or None."""
    for field, column in _WHOLE_COLUMNS.items():
        value = getattr(row, field)
        if type(value) is not int:
            return f"its lease row's {column} holds {clipped(repr(value), 40)}, not a whole number"
    for field, column in _TEXT_COLUMNS.items():
        value = getattr(row, field)
        if value is not None and not isinstance(value, str):
            return f"its lease row's {column} holds {clipped(repr(value), 40)}, not text"
        if past_read(value):
            return (
                f"its lease row's {column} is over {READ_CHARS:,} characters, more than "
                "any reader takes"
            )
    return None


def lease_row(process_id: str, columns: Sequence[Any]) -> LeaseRow:
    """The lease columns as a `LeaseRow`, refused (`UndecodableProcess`) when another
    program stored something other than a whole number in its fence or times, or other
    than text in its owner, incarnation or token."""
    row = LeaseRow(*columns)
    problem = lease_row_problem(row)
    if problem is not None:
        raise refuse_undecodable(process_id, problem)
    return row


def read_lease(process_id: str, columns: Sequence[Any]) -> ProcessLease:
    """A held lease row as a read shows it: its lease, or a stand-in saying why it does not
    decode (its owner as stored, its numbers 0; `ProcessLease.undecodable`)."""
    row = LeaseRow(*columns)
    problem = lease_row_problem(row)
    if problem is None:
        return row.lease(process_id)
    # (A name that is not text is shown as Python writes what was stored: `b'\xff'`.)
    names = {f: _as_text(getattr(row, f)) for f in _TEXT_COLUMNS}
    fixed = dataclasses.replace(row, fence=0, claimed_at_ms=0, expires_at_ms=0, **names)
    return fixed.lease(process_id).model_copy(update={"undecodable": problem})


def _as_text(value: object) -> str | None:
    """A name as a stand-in shows it: cut past what a reader takes (stored_text.py)."""
    return as_read(value) if value is None or isinstance(value, str) else repr(value)


def get(conn: Tx, process_id: str) -> ProcessLease | None:
    """The held lease, expired or not (a raw fact); None when free, released or unknown; a
    stand-in saying why for a row whose numbers do not decode (`read_lease`)."""
    row = conn.execute(*lease_row_statement(conn, process_id)).fetchone()
    if row is None or not LeaseRow(*row).held:
        return None
    return read_lease(process_id, row)


def get_many(conn: Tx, process_ids: list[str]) -> dict[str, ProcessLease]:
    rows = held_lease_rows(conn, process_ids)
    return {process_id: read_lease(process_id, row) for process_id, row in rows.items()}
