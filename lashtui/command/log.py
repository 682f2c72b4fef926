"""Where the engine's log lines go when `lashtui worker` (or `sweep`) runs: stderr, in
text or JSON, from `--log-level` up.

The engine only logs (`logging.getLogger("lashtui.worker")` and its siblings under
`lashtui`); configuring handlers is the program's job, so it happens here, when the command
runs, never at import. Both formats write one line per record, and a line never carries a
character a terminal would obey, because what the engine logs quotes stored strings (ids,
kinds, messages) that any program may have written:

- text: `2026-12-03T11:40:00.123Z INFO run ended: job-1 (kind steps) completed after
  0.012s`, the whole line passed through `lashtui.untrusted.visible` (a newline in an id
  shows as `\\x0a`, so it cannot forge a second line); a traceback follows on lines
  indented by two spaces, which no record's first line is.
- json: one object per line, `{"time", "level", "logger", "message", ...fields}` where the
  fields are the facts the engine attached (`extra={"fields": {...}}`: event, process_id,
  kind, outcome, duration_s, verdict...). `json.dumps` with its default `ensure_ascii`
  writes every control and non-ASCII character as a `\\u` escape.

The libraries under the stores log too: psycopg's pool says when it drops a broken
connection or fails to make one (several times a second while the server is away), and
aiosqlite when closing fails. With no handler of their own those records fell to Python's
last-resort handler: bare text, from WARNING whatever `--log-level` said, and a JSON log
with lines that are not JSON. They go through the same handler now, from `--log-level` or
WARNING, whichever is higher: psycopg's pool logs every connection it hands out at INFO,
a line per transaction that would bury the worker's own.

A tiny `Formatter` subclass each: python-json-logger would do the second, but it is a
dependency for twenty lines, and neither it nor the stdlib knows about `visible`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from lashtui.untrusted import bounded, shown, visible


def _timestamp(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC with milliseconds: the same clock whatever the machine's zone."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = visible(f"{_timestamp(record)} {record.levelname} {bounded(record.getMessage())}")
        if record.exc_info:
            # Indented, so that no line of it, a stored string's own newline included, can
            # pass for a record of its own (each starts with its timestamp).
            trace = self.formatException(record.exc_info).splitlines()
            line += "".join(f"\n  {shown(part)}" for part in trace)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# The stores' libraries (`psycopg.pool` is `psycopg`'s child), and the least a record of
# theirs must be to be written (module docstring).
LIBRARY_LOGGERS = ("psycopg", "aiosqlite")
LIBRARY_FLOOR = logging.WARNING


class CommandHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, and how the loggers it was given to were set before, to set them back."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.before: dict[str, tuple[int, bool]] = {}

    def attach(self, name: str, level: int) -> None:
        logger = logging.getLogger(name)
        self.before[name] = (logger.level, logger.propagate)
        logger.addHandler(self)
        logger.setLevel(level)
        logger.propagate = False  # a host's root handlers would print each line twice


def configure_logging(level: str, fmt: str) -> logging.Handler:
    """Send the `lashtui` loggers' records from `level` up, and the stores' libraries' from
    `level` or WARNING up, to stderr in `fmt`; returns the handler, which
    `unconfigure_logging` removes (a test runs several commands in one process)."""
    handler = CommandHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    chosen = logging.getLevelName(level.upper())
    handler.attach("lashtui", chosen)
    for name in LIBRARY_LOGGERS:
        handler.attach(name, max(chosen, LIBRARY_FLOOR))
    return handler


def unconfigure_logging(handler: logging.Handler) -> None:
    before = handler.before if isinstance(handler, CommandHandler) else {}
    for name, (level, propagate) in before.items():
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
