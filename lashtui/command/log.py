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


def configure_logging(level: str, fmt: str) -> logging.Handler:
    """Send the `lashtui` loggers' records from `level` up to stderr in `fmt`; returns the
    handler, which `unconfigure_logging` removes (a test runs several commands in one
    process)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("lashtui")
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False  # a host's root handlers would print each line twice
    return handler


def unconfigure_logging(handler: logging.Handler) -> None:
    root = logging.getLogger("lashtui")
    root.removeHandler(handler)
    root.setLevel(logging.NOTSET)
    root.propagate = True
