"""The worker command's log formats (lashtui/command/log.py): one line per record, no
character a terminal would obey, the engine's fields as JSON keys; the stores' libraries'
records in the same format, from the same level (WARNING at least)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from lashtui.command.log import JsonFormatter, TextFormatter, configure_logging, unconfigure_logging
from tests.cli.service import Worker, start, steps
from tests.proxy import Proxy

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


def test_a_worker_whose_server_went_away_still_writes_json_lines(
    postgres_schema: str, proxy: Proxy, worker_through_proxy: Callable[..., Worker]
) -> None:
    """psycopg's pool logs each broken connection and failed attempt (several lines each,
    in its own words): they were bare text in a `--log-format json` log."""
    worker = worker_through_proxy()
    # A run first: past start-up, so that the lines counted below are the pool's.
    start(postgres_schema, "first", steps({"finish": "ok"}))
    worker.until_event("run_ended", "first")
    proxy.kill()

    def pool_said() -> list[dict[str, object]]:
        # `records` parses every line so far: one that is not JSON fails the test here.
        return [r for r in worker.records() if str(r["logger"]).startswith("psycopg")]

    said = worker.until(pool_said, "a line from psycopg's pool")
    assert said[0]["level"] == "warning"


@pytest.mark.parametrize(("level", "shown"), [("info", ["warning"]), ("error", [])])
def test_the_libraries_records_follow_the_level_from_warning_up(
    capsys: pytest.CaptureFixture[str], level: str, shown: list[str]
) -> None:
    handler = configure_logging(level, "json")
    try:
        pool = logging.getLogger("psycopg.pool")
        pool.info("connection given by 'lashtui-registry'")  # one a transaction: never shown
        pool.warning("discarding closed connection:\n<psycopg.Connection [BAD]>")
    finally:
        unconfigure_logging(handler)
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["level"] for line in lines] == shown
    assert handler not in logging.getLogger("psycopg").handlers
