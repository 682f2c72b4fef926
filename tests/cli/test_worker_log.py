"""The worker command's log formats (lashtui/command/log.py): one line per record, no
character a terminal would obey, the engine's fields as JSON keys."""

from __future__ import annotations

import json
import logging

from lashtui.command.log import JsonFormatter, TextFormatter

HOSTILE = "id\x1b[2J\x07\n\u202e\ud800"


def _record(exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad {HOSTILE}")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord(
        "lashtui.worker", logging.INFO, __file__, 1, "run started: %s (kind %s)",
        (HOSTILE, "steps"), exc_info,
    )  # fmt: skip


def test_a_text_line_escapes_what_a_terminal_would_obey() -> None:
    line = TextFormatter().format(_record())
    assert line.endswith(" INFO run started: id\\x1b[2J\\x07\\x0a\\u202e\\ud800 (kind steps)")
    assert line[:24].endswith("Z") and "\n" not in line


def test_a_traceback_is_indented_so_no_line_of_it_passes_for_a_record() -> None:
    text = TextFormatter().format(_record(exc=True))
    assert "\x1b" not in text and "\u202e" not in text
    first, *trace = text.splitlines()
    assert first.endswith("(kind steps)") and trace[0] == "  Traceback (most recent call last):"
    assert all(line.startswith("  ") for line in trace)
    # The message's own newline starts a line too, indented like the rest.
    assert trace[-2:] == ["  ValueError: bad id\\x1b[2J\\x07", "  \\u202e\\ud800"]


def test_a_json_line_is_ascii_and_carries_the_fields() -> None:
    record = _record()
    record.fields = {"event": "run_started", "process_id": HOSTILE, "message": "not mine"}
    line = JsonFormatter().format(record)
    assert line.isascii() and "\n" not in line
    entry = json.loads(line)
    assert entry["process_id"] == HOSTILE
    assert entry["message"] == f"run started: {HOSTILE} (kind steps)"  # a field cannot clobber it
    assert (entry["level"], entry["logger"], entry["event"]) == ("info", "lashtui.worker",
                                                                 "run_started")  # fmt: skip
