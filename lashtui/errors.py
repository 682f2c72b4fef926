"""The errors lashtui raises, one tree so callers catch `LashError` and nothing else.

    LashError                     every domain error; str() is lash's message (semantics §15)
     ├── InvalidRequest           bad input: registration, filters, signal names, payloads, timings
     ├── UnknownProcess           « unknown process `<pid>` » and the other "not there" lookups
     ├── ProcessConflict          the request contradicts durable state: hash/replay/ref
     │                            conflicts, already terminal, refusals on terminal rows
     ├── LeaseLost                « process lease for `<pid>` is missing or expired »
     ├── AwaitTimeout             an await's own deadline passed before the process ended
     │                            (also a builtin TimeoutError, so `except TimeoutError` works)
     └── StoreError               the database itself: wrong schema, not a registry, locked,
          ├── UnsupportedSchema   read-only, unreadable rows
          ├── NotARegistry
          ├── RegistryMissing     nothing at the target, and the open was not one that creates
          ├── WritableOpenNeeded  a read-only open lacks what one writable open would add
          ├── RegistryNotWritable a writable open of a file the user may only read
          ├── StorageFull         the disk (or quota) is full; the transaction wrote nothing
          ├── RegistryGone        the file a handle opened is no longer at its path
          ├── UndecodableProcess  a write to a row whose record cannot be decoded
          └── EventLogFull        an append to a log whose last sequence is the largest stored

Shaped like httpx/_exceptions.py: a shallow tree whose leaves say what kind of thing went
wrong, while the message says which value. A raw sqlite3 or pydantic error never reaches a
caller; the store and the model translate them into one of these.
"""

from __future__ import annotations


class LashError(Exception):
    """Base of every error lashtui raises on purpose. `str(error)` is one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidRequest(LashError):
    """The caller's input is malformed; nothing was written."""


class UnknownProcess(LashError):
    """The named process (or env, or grant) does not exist."""

    @classmethod
    def process(cls, process_id: str) -> UnknownProcess:
        return cls(f"unknown process `{process_id}`")


class ProcessConflict(LashError):
    """The request contradicts what the registry already holds; nothing was written."""


class LeaseLost(LashError):
    """The presented lease is not the current, live lease of its process."""

    @classmethod
    def for_process(cls, process_id: str) -> LeaseLost:
        return cls(f"process lease for `{process_id}` is missing or expired")


class AwaitTimeout(LashError, TimeoutError):
    """`Processes.await_output(pid, timeout=...)` ran out of time while the process was still
    running; nothing was written and the process runs on. lash's awaiter never times out by
    itself (semantics §12: callers bound it), so the name and the sentence are lashtui's.
    It is also the builtin `TimeoutError`, the one `asyncio.timeout` raises, so code that
    bounds waits that way catches both alike."""

    @classmethod
    def after(cls, process_id: str, timeout: float) -> AwaitTimeout:
        return cls(f"process `{process_id}` did not finish within {timeout:g}s")


class StoreError(LashError):
    """The database cannot serve the request: it is locked, read-only, or not ours."""


class UnsupportedSchema(StoreError):
    """The file is a process registry of another schema version (there are no migrations)."""


class NotARegistry(StoreError):
    """The file is not a SQLite database, or is one that belongs to something else."""


class RegistryMissing(StoreError):
    """No registry is at the target (no file; an empty PostgreSQL schema) and the open was
    read-only or `create=False`, so none was made."""


class WritableOpenNeeded(StoreError):
    """A read-only open found the registry lacking what only a writable open adds (the
    migration to this build's schema, a function a read needs); opening it once without
    `read_only` adds it."""


class RegistryNotWritable(StoreError):
    """A writable open of a registry the user may not write: the file, or the directory
    where SQLite makes the -wal and -shm beside it. Nothing was opened; a read-only open of
    it works (`dash` makes one, and says so). `why` names what is not writable, in words
    that follow "read-only: "."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


class StorageFull(StoreError):
    """The disk holding the registry is full: the transaction was rolled back whole, and
    everything committed before it is still there."""


class RegistryGone(StoreError):
    """The registry file a handle opened is no longer at its path (deleted, moved away,
    replaced by another file): that handle can never serve the registry at the path again,
    though another opened now can."""


class UndecodableProcess(StoreError):
    """The row's record cannot be decoded (another program or an older build wrote it), so
    nothing may change it but `end_undecodable_process`; reads show it marked instead.
    `process_id` is the row's id when a write was refused (`refusing`), else None."""

    process_id: str | None = None

    @classmethod
    def refusing(cls, process_id: str, reason: str) -> UndecodableProcess:
        """A write refused on the row (`reason`: why its record does not decode)."""
        error = cls(
            f"process `{process_id}` could not be decoded ({reason}); nothing can change it "
            "but ending it"
        )
        error.process_id = process_id
        return error

    @classmethod
    def output(cls, process_id: str, state: str | None, reason: str) -> UndecodableProcess:
        """Awaiting a row that ended but does not decode: its output is in that record (the
        stand-in's is a placeholder, and a success with no value would be made up). `state`
        None: the row's status column holds no state (the stand-in's is a placeholder too)."""
        return cls(
            f"process `{process_id}` is {state or 'in no state'}, but its record could not be "
            f"decoded ({reason}), so its output cannot be read"
        )


class EventLogFull(StoreError):
    """The process's event log ends at the largest sequence a registry stores (2^63-1, a
    signed 64-bit integer, as lash persists it): no event can follow it, so no append,
    signal, cancel request or terminal is ever written to that row. Only another program
    stores such a sequence; nothing lashtui does changes it, so nobody retries it."""

    @classmethod
    def at(cls, process_id: str, last: int) -> EventLogFull:
        return cls(
            f"process `{process_id}` cannot take another event: its event log holds sequence "
            f"{last}, the largest a registry stores, so nothing was written"
        )
