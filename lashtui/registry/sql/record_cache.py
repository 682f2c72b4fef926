"""A connection's cache of the records it last decoded or saved (row.py's module docstring
says why and how the reads use it), mixed into the SQLite store's connection class.

Apart from row.py, so that the connection class (sqlite/connect.py) can be made without
importing the models: the command line's `ls --json` read opens its connection through
the same code without loading pydantic. The models appear here in annotations only.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lashtui.model import ProcessExecutionEnvSpec, ProcessRecord

StagedMark = tuple[
    "dict[str, tuple[str, ProcessRecord]]", "dict[str, ProcessExecutionEnvSpec]"
]


class Verdicts:
    """Whether each failed, cancelled or abandoned row of the Errors view's last window
    decodes (sql/error_window.py `undecodable_keys`), by the row's key in its store (SQLite's
    rowid, PostgreSQL's ctid), each kept with a hash of the row's columns and their types
    (error_window.py `_typed_hash`): the view reads the same window every few seconds, and
    hashing a row costs a fraction of decoding it. A verdict is reused only for the same
    row key whose columns hash alike, types included, so a text id and a blob of the same
    bytes never share one (a module-wide `hash` of the row alone chose them before, which
    reads those two alike: a sound row took a blob copy's verdict). Only the last read's
    rows are kept, and a row that changed or left the window is forgotten at the next read."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: dict[object, tuple[int, bool]] = {}


class RecordCache:
    """A connection's cache of decoded records (see the module docstring), mixed into the
    connection class. Saves are staged and enter the cache only once their transaction
    commits: the store's transaction runner calls `committed` or `rolled_back`."""

    # Enough for a worker reading back what it wrote a moment before: its claims and starts
    # in flight (32 start slots) and the runs they feed (counted with 32: every completion
    # of a 10,000-row drain found its record here, with one worker and with four, and of a
    # 2,000-row drain on PostgreSQL with four). Larger costs more than it saves in
    # a long-lived process: every record held is ~25 objects the garbage collector walks on
    # each full pass. Measured: 4,096 records doubled the dashboard's worst loop stall (D3)
    # to ~90 ms; going from 256 to 64 took ~6k objects off the dashboard's ~38k and its
    # full passes from 11-31 ms to 5-17 ms, and cost P1 (where the worker reads back most)
    # 1-3%, within its noise.
    CACHED_RECORDS = 64

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.records: OrderedDict[str, tuple[str, ProcessRecord]] = OrderedDict()
        self.staged: dict[str, tuple[str, ProcessRecord]] = {}
        # Execution envs are content-addressed and never change or go away, so one this
        # connection has read or committed is known for good (every start captures one).
        self.envs: dict[str, ProcessExecutionEnvSpec] = {}
        self.staged_envs: dict[str, ProcessExecutionEnvSpec] = {}
        # The change clock within the open transaction (see `next_change_seq`): the last
        # sequence handed out, and whether the clock row still holds an older one.
        self.last_seq: int | None = None
        self.seq_unsaved = False
        # The last event sequence this connection appended to each process (a guess, never
        # trusted: sql/prepared.py checks it in SQL before relying on it).
        self.sequences: dict[str, int] = {}
        # The rows this connection found with a record past the ceiling (fetch.py
        # `past_ceiling`): a worker's drive probes them again by their headers and leaves
        # them out of its SQL, which on SQLite would load each to measure it (drive.py
        # `drive_work_items`).
        self.large_records: set[str] = set()
        self.large_looked_for = False  # (whether a drive has looked for them yet)
        # The Errors view's verdicts of its last window (`Verdicts`).
        self.verdicts = Verdicts()
        # The rowids of the rows a read found with a record past the ceiling (ceiling.py
        # `unread_past_ceiling`).
        self.unread_rowids: tuple[int, ...] = ()

    def save_clock(self) -> None:
        """Before COMMIT: the clock row takes the last sequence handed out."""
        if self.seq_unsaved:
            self.execute(  # type: ignore[attr-defined]
                "UPDATE process_change_clock SET current_seq = ? WHERE singleton = 1",
                (self.last_seq,),
            )

    def note_sequence(self, process_id: str, sequence: int) -> None:
        if len(self.sequences) >= 4 * self.CACHED_RECORDS:
            self.sequences.clear()
        self.sequences[process_id] = sequence

    def cached(self, process_id: str) -> tuple[str, ProcessRecord] | None:
        return self.staged.get(process_id) or self.records.get(process_id)

    def remember(self, process_id: str, text: str, record: ProcessRecord) -> None:
        records = self.records
        records[process_id] = (text, record)
        records.move_to_end(process_id)
        if len(records) > self.CACHED_RECORDS:
            records.popitem(last=False)

    def _end_transaction(self) -> None:
        self.staged.clear()
        self.staged_envs.clear()
        self.last_seq, self.seq_unsaved = None, False

    def committed(self) -> None:
        # (A claim, a release or a renewal stages nothing: most transactions skip both.)
        if self.staged:
            for process_id, (text, record) in self.staged.items():
                self.remember(process_id, text, record)
        if self.staged_envs:
            if len(self.envs) > self.CACHED_RECORDS:
                self.envs.clear()
            self.envs.update(self.staged_envs)
        self._end_transaction()

    def rolled_back(self) -> None:
        self._end_transaction()

    def mark(self) -> StagedMark:
        """What is staged now, for `rolled_back_to` when a savepoint is rolled back."""
        return dict(self.staged), dict(self.staged_envs)

    def rolled_back_to(self, mark: StagedMark) -> None:
        # The clock keeps counting: if the savepoint took back the clock row's update, the
        # sequences handed out since are a gap (the feed needs them increasing, not dense),
        # and any later save sets the row past them at COMMIT.
        self.staged, self.staged_envs = dict(mark[0]), dict(mark[1])
