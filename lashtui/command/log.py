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

At WARNING, a PostgreSQL outage still flooded the log: the pool warns at each attempt to
connect and each broken connection it drops, ~20 lines in 20 s, all the same news.
`RepeatedWarnings`, the handler's filter, writes the first of an outage as it is and
counts the rest, said in one line (`... repeated N times ...`, event `warnings_repeated`)
at most every `REPEATS_SAID_EVERY_S` while they go on, and once they stop: when the pool
connects again (said at once, at WARNING, the level of the outage's lines: event
`reconnected`, after the repeats' summary), else at the first line after `OUTAGE_QUIET_S`
without one, or when the command ends. The pool says it has connected again only at INFO,
below the floor (the summary waited for the next line 30 s on, or the exit, and nothing
said the outage was over): so while an outage is on, and only then, the pool's logger is
let down to INFO, where its one record a transaction would cost every transaction, and
the filter drops every INFO record of the libraries but that one.

A tiny `Formatter` subclass each: python-json-logger would do the second, but it is a
dependency for twenty lines, and neither it nor the stdlib knows about `visible`.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

from lashtui.untrusted import bounded, shown, visible


def _timestamp(record: logging.LogRecord) -> str:
    return _utc(record.created)


def _utc(epoch_s: float) -> str:
    """ISO 8601 in UTC with milliseconds: the same clock whatever the machine's zone."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s))
    return f"{seconds}.{int((epoch_s - int(epoch_s)) * 1000):03d}Z"


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


# A library warning this long after the last one starts an outage, written as it is; one
# sooner is a repeat, counted. A long outage's reconnection attempts back off past it (1,
# 2, 4 ... 32 s apart), and each is then written again: a line a minute or rarer.
OUTAGE_QUIET_S = 30.0
# How often repeats still coming are summarised.
REPEATS_SAID_EVERY_S = 60.0
# psycopg's pool's logger, and its INFO record when a connection it made has been added:
# during an outage, the pool connected again.
POOL_LOGGER = "psycopg.pool"
POOL_RECONNECTED = "adding new connection to the pool"


class RepeatedWarnings(logging.Filter):
    """The libraries' WARNING records, the first of an outage written and the rest
    summarised (module docstring). Times are the records' own (`created`). The pool logs
    from its threads, hence the lock; a summary is written through the handler outside
    it, marked so that it passes here."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self._handler = handler
        self._lock = threading.Lock()
        self._last_at = float("-inf")  # the last library warning, written or counted
        self._said_at = 0.0  # the outage's last line: its first, or a summary
        self._repeats = 0  # counted since then
        # The last of those: its logger and message (not the record, whose arguments may
        # hold a dropped connection).
        self._last: tuple[str, str] | None = None
        # While an outage is on: when its first warning was, and the pool logger's level
        # before it was let down to INFO to hear the pool connect again (module docstring).
        self._outage_at: float | None = None
        self._pool_level = logging.NOTSET

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "repeats_summary", False):
            return True
        from_library = record.name.startswith(LIBRARY_LOGGERS)
        if from_library and record.levelno < LIBRARY_FLOOR:
            if record.name == POOL_LOGGER and record.msg == POOL_RECONNECTED:
                self._reconnected(record)
            return False  # (only heard while an outage is on)
        library = record.levelno == logging.WARNING and from_library
        with self._lock:
            quiet = record.created - self._last_at >= OUTAGE_QUIET_S
            summary = self._summary() if quiet else None  # the outage before is over
            if library:
                self._last_at = record.created
                if quiet:
                    self._said_at = record.created
                    self._outage_began(record.created)
                else:
                    self._repeats, self._last = self._repeats + 1, (record.name, _message(record))
                    if record.created - self._said_at >= REPEATS_SAID_EVERY_S:
                        summary, self._said_at = self._summary(), record.created
        if summary is not None:
            self._handler.handle(summary)
        return not library or quiet

    def flush(self) -> None:
        """Say the repeats not yet said (the command is ending)."""
        with self._lock:
            summary = self._summary()
            self._outage_over()
        if summary is not None:
            self._handler.handle(summary)

    def _outage_began(self, at: float) -> None:
        """Let the pool's logger down to INFO, to hear it connect again (module docstring)."""
        if self._outage_at is None:
            pool = logging.getLogger(POOL_LOGGER)
            self._pool_level = pool.level
            pool.setLevel(logging.INFO)
        self._outage_at = at

    def _outage_over(self) -> None:
        if self._outage_at is not None:
            logging.getLogger(POOL_LOGGER).setLevel(self._pool_level)
            self._outage_at = None

    def _reconnected(self, record: logging.LogRecord) -> None:
        """The pool connected again during an outage: the repeats not yet said, then that
        it is over, at once and at WARNING, the level its lines were written at; the next
        warning starts a new outage."""
        with self._lock:
            began = self._outage_at
            if began is None:
                return
            summary = self._summary()
            self._outage_over()
            self._last_at = float("-inf")
        since = _utc(began)
        line = logging.makeLogRecord({
            "name": POOL_LOGGER, "levelno": logging.WARNING, "levelname": "WARNING",
            "created": record.created, "msecs": record.msecs,
            "msg": "psycopg's pool connected again: the outage its warnings told of since "
                   "%s is over",
            "args": (since,), "repeats_summary": True,
            "fields": {"event": "reconnected", "since": since},
        })  # fmt: skip
        for said in (summary, line):
            if said is not None:
                self._handler.handle(said)

    def _summary(self) -> logging.LogRecord | None:
        """The line for the repeats counted since the outage's last line, if any."""
        last, repeats = self._last, self._repeats
        if last is None or not repeats:
            return None
        self._repeats, self._last = 0, None
        (name, message), since = last, _utc(self._said_at)
        return logging.makeLogRecord({
            "name": name, "levelno": logging.WARNING, "levelname": "WARNING",
            "msg": "%s's warnings repeated %d more time%s since %s; the last (%s): %s",
            "args": (name.partition(".")[0], repeats, "" if repeats == 1 else "s", since, name,
                     message),
            "repeats_summary": True,
            "fields": {"event": "warnings_repeated", "repeated": repeats, "since": since},
        })  # fmt: skip


def _message(record: logging.LogRecord) -> str:
    """A library record's message, never an error: a filter runs in the caller's thread."""
    try:
        return record.getMessage()
    except Exception:  # its arguments do not fit its format: the format, as the library wrote it
        return str(record.msg)


class CommandHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, and how the loggers it was given to were set before, to set them back."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.before: dict[str, tuple[int, bool]] = {}
        self.repeated = RepeatedWarnings(self)
        self.addFilter(self.repeated)

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
    if isinstance(handler, CommandHandler):
        handler.repeated.flush()
    for name, (level, propagate) in before.items():
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
