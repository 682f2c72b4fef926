"""The worker command's log formats (lashtui/command/log.py): one line per record, no
character a terminal would obey, the engine's fields as JSON keys; the stores' libraries'
records in the same format, from the same level (WARNING at least)."""

from __future__ import annotations

import json
import logging
import signal
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


def test_a_real_outage_s_pool_warnings_are_written_once(
    postgres_schema: str, proxy: Proxy, worker_through_proxy: Callable[..., Worker]
) -> None:
    """The server out of reach for a few seconds (the proxy killed) while the worker
    drives every renew interval: the pool warned at each attempt, a line each, ~20 in
    20 s. Its first warning is written, the rest said in one line when the worker stops."""
    worker = worker_through_proxy()
    start(postgres_schema, "first", steps({"finish": "ok"}))
    worker.until_event("run_ended", "first")
    proxy.kill()

    def pool_said() -> list[dict[str, object]]:
        return [r for r in worker.records() if str(r["logger"]).startswith("psycopg")]

    worker.until(pool_said, "a line from psycopg's pool")
    # The outage goes on: two of the worker's drives fail meanwhile (each waits the pool's
    # connect timeout, the URL's 3 s: conftest.py), while the pool tries again and again.
    worker.until(
        lambda: len([r for r in worker.records() if "drive failed" in str(r["message"])])
        >= 2,
        "two failed drives",
    )
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.lines
    said = pool_said()
    assert said[0]["level"] == "warning" and "event" not in said[0], said
    assert [r.get("event") for r in said[1:]] == ["warnings_repeated"], said
    assert int(str(said[1]["repeated"])) >= 1, said


def test_the_pool_s_reconnection_is_said_at_once_with_the_repeats(
    postgres_schema: str, proxy: Proxy, worker_through_proxy: Callable[..., Worker]
) -> None:
    """The server out of reach (the proxy killed) and back (started again) while the
    worker goes on: the repeats' summary came only with the next line 30 s on, or at the
    exit, and that the pool had connected again was said only at INFO, below the floor.
    Now, as the pool connects again, the summary and a `reconnected` line, at WARNING as
    the outage's lines were, while the worker still runs."""
    worker = worker_through_proxy()
    start(postgres_schema, "first", steps({"finish": "ok"}))
    worker.until_event("run_ended", "first")
    proxy.kill()

    def pool_said() -> list[dict[str, object]]:
        return [r for r in worker.records() if str(r["logger"]).startswith("psycopg")]

    worker.until(pool_said, "a line from psycopg's pool")
    # One drive fails meanwhile (it waits the pool's connect timeout, 3 s), while the pool
    # tries again and again (1, 2, 4 ... s apart): repeats to summarise.
    worker.until(
        lambda: any("drive failed" in str(r["message"]) for r in worker.records()),
        "a failed drive",
    )
    proxy.start()
    back = worker.until_event("reconnected")
    assert back["level"] == "warning" and back["logger"] == "psycopg.pool", back
    assert "connected again" in str(back["message"]), back
    said = pool_said()
    events = [r.get("event") for r in said]
    assert events == [None, "warnings_repeated", "reconnected"], said
    assert int(str(said[1]["repeated"])) >= 1 and said[1]["since"] == back["since"], said
    # The worker runs on (it was said before any exit), through the server again.
    start(postgres_schema, "second", steps({"finish": "ok"}))
    worker.until_event("run_ended", "second")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.lines
    assert [r.get("event") for r in pool_said()] == events, pool_said()  # nothing more


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


def _pool_warning(pool: logging.Logger, at: float, message: str) -> None:
    """A warning of psycopg's pool made at `at` (its `created`), through the pool's own
    logger: the path its records take, filters and handler included."""
    record = pool.makeRecord(pool.name, logging.WARNING, "pool.py", 1, message, (), None)
    record.created = at
    pool.handle(record)


def _said(lines: str) -> list[tuple[str, str, object]]:
    return [
        (entry["logger"], entry["message"], entry.get("repeated"))
        for entry in map(json.loads, lines.splitlines())
    ]


def test_an_outage_s_pool_warnings_are_written_once_then_summarised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """During a PostgreSQL outage the pool warned at each attempt to connect, ~20 lines in
    20 s, all written. The first of an outage is written as it is; the rest are counted
    and said in one line a minute while they go on, and once after they stop (the next
    line after 30 s without one, or the command's end)."""
    t0 = 1_800_000_000.0
    refused = "error connecting in 'lashtui-registry': connection refused"
    handler = configure_logging("info", "json")
    try:
        pool = logging.getLogger("psycopg.pool")
        for second in range(20):  # a line a second
            _pool_warning(pool, t0 + second, refused)
        assert _said(capsys.readouterr().err) == [("psycopg.pool", refused, None)]

        for second in range(20, 71):  # the outage goes on: said a minute after its first
            _pool_warning(pool, t0 + second, f"{refused} ({second})")
        since = "2027-01-15T08:00:00.000Z"  # t0
        assert _said(capsys.readouterr().err) == [(
            "psycopg.pool",
            f"psycopg's warnings repeated 60 more times since {since}; the last (psycopg.pool): "
            f"{refused} (60)", 60,
        )]  # fmt: skip

        worker = logging.getLogger("lashtui.worker")
        record = worker.makeRecord(worker.name, logging.INFO, "w.py", 1, "run started", (), None)
        record.created = t0 + 80  # 10 s after the last: the outage may go on
        worker.handle(record)
        assert _said(capsys.readouterr().err) == [("lashtui.worker", "run started", None)]
        record.created = t0 + 101  # 31 s after it: over, its last ten said first
        worker.handle(record)
        assert _said(capsys.readouterr().err) == [
            ("psycopg.pool", "psycopg's warnings repeated 10 more times since "
             "2027-01-15T08:01:00.000Z; the last (psycopg.pool): " + f"{refused} (70)", 10),
            ("lashtui.worker", "run started", None),
        ]  # fmt: skip

        # A new outage: its first written, the repeats said when the command ends.
        for second in range(200, 203):
            _pool_warning(pool, t0 + second, refused)
        assert _said(capsys.readouterr().err) == [("psycopg.pool", refused, None)]
    finally:
        unconfigure_logging(handler)
    assert _said(capsys.readouterr().err) == [(
        "psycopg.pool", "psycopg's warnings repeated 2 more times since "
        f"2027-01-15T08:03:20.000Z; the last (psycopg.pool): {refused}", 2,
    )]  # fmt: skip
