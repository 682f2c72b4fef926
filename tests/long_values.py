"""A registry in which another program stored plain-text values far longer than any write
allows: an id, a label, a scope, an event type, a lease owner, its incarnation and host, a
grant's scope and label, a signal name, an abandon request's requester and reason, a
failure's code and message, and an operator's audit entry. The long id has a row of its
own: a read takes no id whole past 4,096 characters (a cut id,
lashtui/registry/sql/long_id.py), so that row lists as a stand-in and shows no other value.

lashtui writes every row first with a `LONG` marker in each such value (through the
registry and the real command line, so every table holds its usual shape), then every text
column of every table has the marker replaced by `LONG_CHARS` characters, as another
program writing the file could (one committed UPDATE a column, SQLite's `replace`).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

from lashtui.cli import main
from lashtui.model import (
    AbandonRequest,
    FailureOutput,
    LeaseOwnerIdentity,
    LocalProcessLiveness,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessProvenance,
    ProcessStarted,
    SessionOriginator,
    SessionScope,
    WaitKind,
    WaitState,
)
from lashtui.registry import open_registry
from lashtui.untrusted import CUT_MARK, SHOWN_CHARS
from tests.builders import ext, ob
from tests.registry.rows import finish

# Far past every write limit (4,096 characters at most: a reason) and past what a one-line
# cell or a printed line shows (lashtui.untrusted.SHOWN_CHARS), yet quick to store and read.
LONG_CHARS = 300_000
LONG_RUN = "y" * LONG_CHARS
# More of a long value than anything shows of one: where it was shown whole.
SHOWN_WHOLE = re.compile(f"y{{{SHOWN_CHARS + 1},}}")
MARKER = "LONG"
# The ids as stored once the markers are replaced, and the long one as every read holds it.
LONG_ID = f"{LONG_RUN}ID"
CUT_ID = LONG_ID[:SHOWN_CHARS] + CUT_MARK
LABELLED = "labelled"  # the row whose label, scope, event type and abandon request are long
LEASED = "leased"
FAILED = "failed"
SHORT = "short"  # a row with no long value, for lines that must stay as they were


def long(name: str) -> str:
    """What a marked value becomes: `LONG_CHARS` characters, then its name."""
    return f"{LONG_RUN}{name}"


async def write_rows(db: Path) -> None:
    async with open_registry(str(db), create=True) as registry:
        await registry.register_process(ext("LONGID"))
        await registry.register_process(
            ext(
                LABELLED,
                identity=ProcessIdentity(kind="external", label="LONGLABEL"),
                provenance=ProcessProvenance(
                    originator=SessionOriginator(scope=SessionScope(session_id="LONGSESSION"))
                ),
                event_types=[ProcessEventType.plain("x.LONGTYPE")],
            )
        )
        await registry.append_event(
            LABELLED, ProcessEventAppendRequest(event_type="x.LONGTYPE", payload={"n": 1})
        )
        await registry.request_process_abandon(
            LABELLED, AbandonRequest(requested_by="LONGBY", requested_at_ms=1, reason="LONGWHY")
        )

        await registry.register_process(ob(LEASED))
        liveness = LocalProcessLiveness(
            host_id="LONGHOST", boot_id="boot", pid=1, process_start="1"
        )
        owner = LeaseOwnerIdentity(
            owner_id="LONGOWNER", incarnation_id="LONGINCARNATION", liveness=liveness
        )
        lease = (await registry.claim_process_lease(LEASED, owner, 3_600_000)).acquired()
        assert lease is not None
        started = ProcessStarted(owner=owner, started_at_ms=lease.claimed_at_epoch_ms)
        await registry.record_first_started(LEASED, started, lease)
        await registry.grant_handle(
            SessionScope(session_id="LONGGRANT"), LEASED,
            ProcessHandleDescriptor(label="LONGGRANTLABEL"),
        )  # fmt: skip
        kind = WaitKind(
            name="LONGSIGNAL", event_type="signal.x", key=f"process:{LEASED}:signal.x:1",
            ordinal=1,
        )  # fmt: skip
        await registry.set_process_wait(LEASED, WaitState(kind=kind, since_ms=1))

        await registry.register_process(ext(SHORT))
        await registry.register_process(ext(FAILED))
        failure = {"class": "execution", "code": "LONGCODE", "message": "LONGMESSAGE"}
        await finish(registry, FAILED, FailureOutput.model_validate(failure))


def lengthen(db: Path) -> None:
    """Every marker in every text column of every table becomes `LONG_RUN`."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = [row[0] for row in listed]
            for table in tables:
                for column in conn.execute(f"PRAGMA table_info({table})").fetchall():
                    name, kind = column[1], column[2]
                    if kind.upper() == "TEXT" or not kind:
                        conn.execute(
                            f"UPDATE {table} SET {name} = replace({name}, ?, ?) "
                            f"WHERE {name} LIKE '%' || ? || '%'",
                            (MARKER, LONG_RUN, MARKER),
                        )
    finally:
        conn.close()


def long_values_registry(db: Path) -> None:
    """The registry described above, at `db`: five processes (`LONG_ID`, `LABELLED`,
    `LEASED`, `FAILED`, and `SHORT` with no long value) and an operator's cancels of the
    second and then the first in the audit table. Call it outside an event loop (the
    command line runs its own)."""
    asyncio.run(write_rows(db))
    for process_id in (LABELLED, "LONGID"):
        cancel = ["cancel", process_id, "--reason", "LONGCANCEL"]
        assert main(["--db", str(db), "--as", "LONGOPERATOR", *cancel]) == 0
    lengthen(db)
