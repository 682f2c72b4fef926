"""`ProcessTable`: the live list of processes, updated in place by process id.

Rows are keyed by process id and only changed cells are rewritten (a clear-and-re-add of 10k
rows costs seconds; in-place updates cost milliseconds). The cursor follows the selected
process id across inserts, removals and re-sorts, never a row index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from textual.message import Message
from textual.widgets import DataTable

from lashtui.model import ObservedProcess, ProcessLease
from lashtui.tui import format as fmt

COLUMNS = (
    ("id", "ID"),
    ("status", "STATUS"),
    ("label", "LABEL"),
    ("disposition", "DISPOSITION"),
    ("originator", "ORIGINATOR"),
    ("lease", "LEASE"),
    ("started", "STARTED BY"),
    ("abandon", "ABANDON"),
    ("updated", "UPDATED"),
)


def cells(process: ObservedProcess, now_ms: int) -> tuple[str, ...]:
    started = process.first_started
    return (
        process.process_id,
        fmt.badge(process),
        process.label,
        process.disposition.value,
        process.originator.scope_id(),
        fmt.lease(process, now_ms),
        fmt.owner(started.owner) if started else "-",
        "requested" if process.abandon_request else "-",
        fmt.ago(process.updated_at_ms, now_ms),
    )


class ProcessTable(DataTable[str]):
    """Processes by id; `apply` merges a batch of observed rows."""

    class ProcessSelected(Message):
        """The operator moved the cursor onto a process."""

        def __init__(self, process_id: str) -> None:
            super().__init__()
            self.process_id = process_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.known: dict[str, ObservedProcess] = {}  # everything seen, shown or not
        self.processes: dict[str, ObservedProcess] = {}  # the rows on screen
        self.shows: Callable[[ObservedProcess], bool] = lambda _: True

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def filter(self, shows: Callable[[ObservedProcess], bool], now_ms: int) -> None:
        """Show only the processes `shows` accepts (rows come and go; nothing is re-read)."""
        self.shows = shows
        hidden = [pid for pid, process in self.processes.items() if not shows(process)]
        self.drop(hidden)
        self.apply([p for pid, p in self.known.items() if pid not in self.processes], now_ms)

    def apply(self, changed: Iterable[ObservedProcess], now_ms: int) -> None:
        """Insert or update `changed` rows in id order; rows the filter rejects leave."""
        selected = self.selected_id
        inserted = False
        leaving = []
        for process in changed:
            pid = process.process_id
            self.known[pid] = process
            if not self.shows(process):
                leaving.append(pid)
                continue
            row = cells(process, now_ms)
            if pid in self.processes:
                old = cells(self.processes[pid], now_ms)
                for (key, _), new_value, old_value in zip(COLUMNS, row, old, strict=True):
                    if new_value != old_value:
                        self.update_cell(pid, key, new_value)
            else:
                self.add_row(*row, key=pid)
                inserted = True
            self.processes[pid] = process
        if inserted:
            self.sort("id")
        self.drop(leaving)
        self._reselect(selected)

    def apply_leases(self, leases: Mapping[str, ProcessLease], now_ms: int) -> None:
        """Refresh the lease facts of the listed rows (a missing entry means no lease)."""
        changed = []
        for pid, process in self.processes.items():
            lease = leases.get(pid)
            holder = lease.owner if lease else None
            expires = lease.expires_at_epoch_ms if lease else None
            if (holder, expires) != (process.lease_holder, process.lease_expires_at_ms):
                update = {"lease_holder": holder, "lease_expires_at_ms": expires}
                changed.append(process.model_copy(update=update))
        self.apply(changed, now_ms)

    def drop(self, process_ids: Iterable[str]) -> None:
        selected = self.selected_id
        for pid in process_ids:
            if self.processes.pop(pid, None) is not None:
                self.remove_row(pid)
        self._reselect(selected)

    def tick(self, now_ms: int) -> None:
        """Rewrite the time-relative cells (ages, countdowns) for a new now."""
        for pid, process in self.processes.items():
            row = cells(process, now_ms)
            self.update_cell(pid, "lease", row[5])
            self.update_cell(pid, "updated", row[8])

    def _reselect(self, process_id: str | None) -> None:
        if process_id is not None and process_id in self.processes:
            self.move_cursor(row=self.get_row_index(process_id))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.post_message(self.ProcessSelected(str(event.row_key.value)))
