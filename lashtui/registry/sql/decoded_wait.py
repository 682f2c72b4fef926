"""Whether a running row's record decodes waiting, as the models read it: the question
SQLite's census and state filters ask of each row their SQL found waiting (filter.py
`waiting_sql`).

A row whose record does not decode is shown as its stand-in, which runs and never waits
(decoded_row.py `undecodable_record`). The SQL that found a `wait` key cannot say whether the models
take the record: a `wait` of the right JSON type that pydantic still refuses (`"since_ms":
1.5`), one with an escape or a repeated member, a record that fails validation anywhere
outside `wait`. Each was counted waiting by the census and listed by `ls --status waiting`
while the table showed it running. So the rows found waiting are asked this function, the
models' own answer, registered on each of the store's connections (repeated.py `install`):
exact, where SQL tests of the wait's shape could only catch the refusals they spelled out.

It costs a decode a row found waiting (~28 us for a 1.3 kB record), where the tests it
replaces (the repeated-key call, the wait's shape in SQL) cost ~20 us: see filter.py
`_waiting_on_sqlite` for the census's figures. Where the models are not loaded, the stdlib's
reading of the record (record_shape.py `vouched_record`, ~33 us) answers first: the
command line's model-free `ls --json` runs this same SQL and must not import the models
(~325 ms) for records lash or lashtui wrote; one it does not vouch for is left to them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from lashtui.record_shape import vouched_record

if TYPE_CHECKING:
    import sqlite3

    from lashtui.model import ProcessRecord

DECODES_WAITING = "lashtui_decodes_waiting"


def decodes_waiting(value: object) -> int:
    """1 if the record JSON `value` (read as a blob: another program may store any bytes,
    and sqlite3 fails the whole statement on a text argument it cannot decode) decodes,
    running, with a wait: what the row shows when its status column says `running`, the
    only rows this is asked of. 0 otherwise (not UTF-8, not a record the models take, or
    one whose state is not running: its stand-in runs, decoded_row.py `checked`)."""
    if not isinstance(value, bytes):
        return 0
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return 0
    if "lashtui.model" not in sys.modules:
        # The command line's model-free read: the stdlib's reading answers for nearly
        # every record, and only one it does not vouch for loads the models.
        vouched = vouched_record(text)
        if vouched is not None:
            status = vouched.get("status") or {}
            return int(vouched.get("wait") is not None and status.get("state") == "running")
    # The models decide, as they do for the row shown (where they are not loaded yet,
    # only for a record the stdlib did not vouch for).
    decode, errors = _models()
    try:
        record = decode(text)
    except errors:
        return 0
    return int(record.wait is not None and record.status.state == "running")


@functools.cache
def _models() -> tuple[Callable[[str], ProcessRecord], tuple[type[BaseException], ...]]:
    """decoded_row.py's `decode_record` and what it raises, imported on first use (this module is
    imported where the models must not be: see the module docstring)."""
    from lashtui.registry.sql.decoded_row import DECODE_ERRORS, decode_record

    return decode_record, DECODE_ERRORS


def install(conn: sqlite3.Connection) -> None:
    """Give `conn` the function filter.py's waiting test calls."""
    conn.create_function(DECODES_WAITING, 1, decodes_waiting, deterministic=True)
