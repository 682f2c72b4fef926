"""`lashtui show`'s human output: one process as the dashboard's detail view reads it (the
key facts first, times relative to now, then its input and output as indented JSON last),
without loading Textual.

The facts and their order follow lashtui/tui/screens/detail.py; the formatting rules are
the dashboard's own pure ones (lashtui/tui/format.py). Every stored string goes through
`visible`, so a label can neither drive the terminal nor break a line. Lease owners and
hosts are printed whole here (the table and the dashboard clip them), up to what any write
allows: a longer stored value shows its first 4,096 characters and a count of the rest
(`bounded`), and the input and output, bounded by the write limits, are printed whole.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from lashtui.model import (
    ObservedProcess,
    ProcessEvent,
    ProcessHandleGrant,
    ProcessLease,
    ProcessPageQuery,
    silent_not_dead,
)
from lashtui.model.rerun import RerunLink
from lashtui.registry.sql.blob_id import (
    BLOB_NOT_READ,
    NULL_ID_WORDS,
    NULL_SHOWN,
    blob_key,
    is_blob_row,
    null_rowid,
    sql_literal,
)
from lashtui.tui import format as fmt
from lashtui.tui.holder import fence_text, owner_health, sweep_identity
from lashtui.untrusted import (
    CUT_NOT_READ,
    SHOWN_CHARS,
    bounded,
    is_cut_id,
    json_preview,
    shell_word,
    visible,
    visible_json,
)


@dataclass
class Detail:
    """A process and what the detail view shows beside it, read once."""

    process: ObservedProcess
    now_ms: int
    cancel: ProcessEvent | None = None
    rerun_of: RerunLink | None = None
    reruns: list[RerunLink] = field(default_factory=list)
    grants: list[tuple[str, ProcessHandleGrant]] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    lease_read: ProcessLease | None = None  # the held lease (its fencing token)
    health: str | None = None  # its holder's, as a sweep on this host would judge it
    also: str | None = None  # another row that reads as this id (`also_read_as`)

    @classmethod
    async def read(cls, processes: Any, process: ObservedProcess) -> Detail:
        pid = process.process_id
        if is_cut_id(pid):  # its row's other tables are keyed by the id it was cut from
            return cls(process, processes.clock.now_ms())
        if is_blob_row(process.undecodable):  # and a blob's by none (blob_id.py)
            return cls(process, processes.clock.now_ms())
        leases = await processes.registry.get_process_leases([pid])
        holder = process.lease_holder
        # Judged as the dashboard's detail and Leases view judge it (reads /proc: a thread).
        health = (
            await asyncio.to_thread(owner_health, holder, sweep_identity(None)) if holder else None
        )
        return cls(
            process,
            processes.clock.now_ms(),
            lease_read=leases.get(pid),
            health=health,
            cancel=await processes.cancel_request(pid),
            rerun_of=await processes.rerun_link(pid),
            reruns=await processes.reruns(pid) if process.terminal else [],
            grants=await processes.registry.handle_grant_scopes(pid),
            pending=await processes.pending_wakes(pid),
            also=await also_read_as(processes, pid),
        )

    def when(self, epoch_ms: int) -> str:
        """`5m ago (2026-05-28 14:06:40.000Z)`: relative first, the exact time beside it."""
        return f"{fmt.ago(epoch_ms, self.now_ms)} ({fmt.timestamp(epoch_ms)})"

    def lines(self) -> list[str]:
        p, why = self.process, fmt.why(self.process, self.now_ms)
        lines = [
            f"{bounded(p.process_id)}  {bounded(fmt.badge(p))}  {bounded(p.label)} "
            f"({bounded(p.kind)})",
            *([f"why            {bounded(why)}"] if why else []),
            *self.undecodable(),
            *([f"also           {self.also}"] if self.also else []),
            f"disposition    {p.disposition_text()}",
            f"originator     {bounded(p.originator.scope_id())}",
            f"created        {self.when(p.created_at_ms)}",
            f"updated        {self.when(p.updated_at_ms)}",
            f"lease          {self.lease()}",
            f"first started  {self.first_started()}",
            f"abandon        {self.abandon()}",
            *self.cancelled(),
            f"wait           {self.wait()}",
            *self.rerun_lines(),
            f"grants         {self.grants_text()}",
            f"wake target    {self.wakes()}",
        ]
        if is_cut_id(p.process_id):  # (nothing keyed by the id it was cut from was read)
            unread = ("lease ", "grants ", "wake target ")
            lines = [
                next((f"{w:<15}not read" for w in unread if ln.startswith(w)), ln) for ln in lines
            ]
        if silent_not_dead(p, self.now_ms):
            lines.append(fmt.silent_sentence(p))
        shown = [visible(line) for line in lines]
        if p.undecodable is not None:
            # The stand-in's input and output are placeholders (registry/sql/decoded_row.py).
            output = fmt.UNKNOWN_VALUE if p.terminal else "-"
            return [*shown, f"input:  {fmt.UNKNOWN_VALUE}", f"output: {output}"]
        # JSON last, as lash's wire shapes (what `show --json` holds), indented for reading.
        document = p.model_dump(mode="json")
        output = document["status"].get("await_output")
        if p.placeholders():  # ended by end-undecodable: its output is its own, not its input
            shown.append(f"input:  {fmt.UNKNOWN_VALUE}")
        else:
            shown += ["input:", visible_json(document["input"], indent=2)]
        shown += ["output:", visible_json(output, indent=2) if output is not None else "-"]
        return shown

    def undecodable(self) -> list[str]:
        """Why the stored record cannot be decoded, and the one way to end it."""
        if self.process.undecodable is None:
            return []
        if is_cut_id(self.process.process_id):  # (its words say so: nothing ends it here)
            return [
                f"undecodable    {bounded(self.process.undecodable)}",
                f"not read       {CUT_NOT_READ}",
            ]
        if is_blob_row(self.process.undecodable):  # (its words say nothing ends it here)
            return [
                f"undecodable    {bounded(self.process.undecodable)}",
                f"not read       {BLOB_NOT_READ}",
            ]
        pid = bounded(self.process.process_id)
        way_out = f"lashtui end-undecodable {shell_word(pid)} --reason R"
        return [f"undecodable    {bounded(self.process.undecodable)}; only `{way_out}` changes it"]

    def lease(self) -> str:
        holder = self.process.lease_holder
        if holder is None:
            return "-"
        if self.process.lease_undecodable is not None:  # a stand-in's numbers are 0, not read
            expires = "could not be decoded: expiry unknown"
        else:
            expires = fmt.countdown(self.process.lease_expires_at_ms, self.now_ms)
        incarnation = bounded(holder.incarnation_id)
        health = self.health if self.health is not None else "not judged"
        return (
            f"{self.owner_text(holder)} ({expires}), fence {fence_text(self.lease_read)}, "
            f"health {health}, incarnation {incarnation}"
        )

    @staticmethod
    def owner_text(identity: Any) -> str:
        liveness = getattr(identity.liveness, "host_id", None)
        where = f" on {bounded(liveness)}:{identity.liveness.pid}" if liveness is not None else ""
        return f"{bounded(identity.owner_id)}{where}"

    def first_started(self) -> str:
        started = self.process.first_started
        if started is None:
            return "-"
        return f"{self.owner_text(started.owner)}, {fmt.ago(started.started_at_ms, self.now_ms)}"

    def abandon(self) -> str:
        request = self.process.abandon_request
        if request is None:
            return "-"
        reason = request.reason or "no reason given"
        asked = fmt.ago(request.requested_at_ms, self.now_ms)
        return f"requested by {bounded(request.requested_by)} {asked}: {bounded(reason)}"

    def cancelled(self) -> list[str]:
        if self.cancel is None:
            return []
        payload = self.cancel.payload
        reason = payload.get("reason") if isinstance(payload, dict) else None
        if isinstance(reason, str):
            asked = cancel_reason(reason)
        else:
            asked = json_preview(payload, SHOWN_CHARS)
        return [f"cancel         {asked}, {fmt.event_ago(self.cancel, self.now_ms)}"]

    def wait(self) -> str:
        wait = self.process.wait
        return f"signal {bounded(wait.kind.name)} #{wait.kind.ordinal}" if wait else "-"

    def rerun_lines(self) -> list[str]:
        lines = []
        if self.rerun_of is not None:
            link = self.rerun_of
            lines.append(
                f"re-runs        {bounded(link.rerun_of)}, by {bounded(link.by)} "
                f"{fmt.ago(link.at_ms, self.now_ms)}"
            )
        if self.reruns:
            runs = [
                f"{bounded(r.process_id)} (by {bounded(r.by)} {fmt.ago(r.at_ms, self.now_ms)})"
                for r in self.reruns
            ]
            lines.append(f"re-run as      {', '.join(runs)}")
        return lines

    def grants_text(self) -> str:
        parts = []
        for scope_id, grant in self.grants:
            label, scope = grant.descriptor.label, bounded(scope_id)
            parts.append(f"{scope} ({bounded(label)})" if label else scope)
        return ", ".join(parts) or "-"

    def wakes(self) -> str:
        target = self.process.wake_target
        if target is None:
            return "-"
        waiting = ", ".join(f"#{seq}" for seq in self.pending) or "none"
        return f"{bounded(target.id())}, pending delivery {waiting}"


def cancel_reason(reason: str) -> str:
    """A cancel request's reason as `show` prints it. lashtui stores `requested by
    <operator>: <why>` in lash's one field, and each part is cut on its own (`bounded`), as
    the abandon line's are: the operator's reason, at most what a write allows, then shows
    whole after its prefix. Any other reason is one value. (An operator name has no space,
    so the first `: ` ends it.)"""
    head, colon, why = reason.partition(": ")
    if colon and head.startswith("requested by ") and " " not in head[len("requested by ") :]:
        return f"{bounded(head)}{colon}{bounded(why)}"
    return bounded(reason)


async def also_read_as(processes: Any, process_id: str) -> str | None:
    """For a text id spelled as a stand-in is (`NULL`, `b'zz'`: blob_id.py), the row whose
    id is not text that reads the same, if there is one, and how it is named: the text row
    wins the spelling (every command names it, as an operator who typed what `ls` printed
    for a row lashtui wrote expects), and `show b'zz'` said nothing of the blob that reads
    the same. SQLite only: PostgreSQL's ids are text."""
    blob = blob_key(process_id) if process_id.startswith(("b'", 'b"')) else None
    if blob is not None:
        other = await processes.registry.get_process(sql_literal(blob))
        if other is None or not is_blob_row(other.undecodable):
            return None
        return (
            f"a row whose process_id column holds a blob reads as {process_id} too; "
            f"`lashtui show {shell_word(sql_literal(blob))}` shows it"
        )
    if null_rowid(process_id) is not None:
        return await _null_row_renamed(processes, process_id)
    if process_id != NULL_SHOWN:
        return None
    first = await processes.registry.page_processes(ProcessPageQuery(states=None, limit=1))
    if not first or not (first[0].undecodable or "").startswith(NULL_ID_WORDS):
        return None  # (SQLite sorts NULL first: a NULL id's row would be the first)
    # (`NULL` names the first such row only while no row has that text as its id.)
    named = first[0].id
    return (
        f"a row whose process_id column is NULL is listed as {named}, which `NULL` names "
        f"while no row has that id; `lashtui show {shell_word(named)}` shows it"
    )


async def _null_row_renamed(processes: Any, process_id: str) -> str | None:
    """For a text id spelled as a NULL id's row is named (`NULL#4`), the NULL row at that
    rowid, if this text row took its name: that row is then listed with one `#` more
    (blob_id.py `null_name_sql`), which `show` names. Asked by a spelling no text row has
    (a `#` more each time one has), which names the NULL row whatever its `#`s."""
    spelled = process_id
    for _ in range(_MOST_TEXT_ROWS_ASKED):
        spelled = "NULL#" + spelled[len("NULL") :]
        other = await processes.registry.get_process(spelled)
        if other is None:
            return None  # (no NULL row at that rowid; on PostgreSQL, never one)
        if (other.undecodable or "").startswith(NULL_ID_WORDS):
            if len(other.id) <= len(process_id):
                return None  # (its name never was this row's: a shorter one was free)
            return (
                f"the row whose process_id column is NULL at rowid {null_rowid(process_id)} "
                f"is listed as {other.id}, since this row has its name; "
                f"`lashtui show {shell_word(other.id)}` shows it"
            )
    return None


# How many more text rows spelled as NULL rows' names `_null_row_renamed` walks past.
_MOST_TEXT_ROWS_ASKED = 16
