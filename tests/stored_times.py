"""A registry whose stored times no date holds, or that are no whole number at all (another
program wrote them), for the command line's and the dashboard's tests: `a` created past the
year 9999 and updated before the year 1, `b`'s event past 9999, every audit entry past
9999 but `c`'s, which is text, and `c`, in an error group of its own, with an update time
that is text, and an event whose JSON does not decode and whose time is text.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.test_cli import lashtui

FAR = 2**63 - 1
NO_DATE = f"no date ({FAR} ms since 1970)"


def times_registry(path: Path) -> None:
    for pid in ("a", "b", "c"):
        assert lashtui("start", pid, "--external", db=path).returncode == 0
        reason = "gone" if pid == "c" else "old"
        assert lashtui("abandon", pid, "--reason", reason, db=path).returncode == 0
    assert lashtui("sweep", db=path).returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE processes SET record_json = json_set(record_json, '$.created_at_ms', ?, "
            "'$.updated_at_ms', ?) WHERE process_id = 'a'",
            (FAR, -FAR),
        )
        conn.execute(
            "UPDATE process_events SET event_json = json_set(event_json, "
            "'$.occurred_at.secs_since_epoch', ?, '$.occurred_at.nanos_since_epoch', ?) "
            "WHERE process_id = 'b'",
            (FAR // 1000, FAR % 1000 * 1_000_000),
        )
        conn.execute("UPDATE lashtui_operator_actions SET at_ms = ?", (FAR,))
        conn.execute("UPDATE lashtui_operator_actions SET at_ms = 'abc' WHERE process_id = 'c'")
        conn.execute("UPDATE processes SET updated_at_ms = 'abc' WHERE process_id = 'c'")
        conn.execute(
            "UPDATE process_events SET event_json = '{bad', occurred_at_ms = 'soon' "
            "WHERE process_id = 'c'"
        )
