"""Run a terminal process again (issue 17 item 4): the operator's `rerun` and the reads
that show the link both ways.

A re-run is a new process with the old one's input, disposition, identity, provenance,
wake target, env and grants, under the id `<old>~rerun-<n>` (lashtui.model.rerun says
why that id), whose log's first event names the process it re-runs and who asked. The
registry does it in one transaction (lashtui/registry/sql/rerun.py); here the next free
n is found, and the result is reported like every other action: done (and what was
started), unchanged (another operator's re-run took that id a moment before: it is
named, and nothing more is started) or refused (and why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lashtui.admin.target_outcome import outcome, refused_unknown
from lashtui.errors import InvalidRequest, ProcessConflict, UndecodableProcess, UnknownProcess
from lashtui.model import PAGE_CHARS, ProcessPageQuery, RecoveryDisposition
from lashtui.model.outcome import ProcessActionOutcome, ago, check_operator_name
from lashtui.model.rerun import RERUN_OF, RerunLink, rerun_id, rerun_number, rerun_prefix
from lashtui.registry import ProcessRegistry

if TYPE_CHECKING:
    from lashtui.admin.processes import Processes

# How many ids of a row's re-run range one read takes; re-runs of re-runs share the range.
_RANGE_PAGE = 200


async def rerun_ids(registry: ProcessRegistry, process_id: str) -> list[str]:
    """Every id in `<process_id>~rerun-` range, in id order: keyset pages of the primary key."""
    prefix, after, found = rerun_prefix(process_id), rerun_prefix(process_id), []
    while True:
        query = ProcessPageQuery(after_id=after, limit=_RANGE_PAGE)
        records, cut = await registry.page_processes_within(query, PAGE_CHARS)
        page = [record.id for record in records]
        inside = [pid for pid in page if pid.startswith(prefix)]
        found.extend(inside)
        if len(inside) < len(page) or not (cut or len(page) == _RANGE_PAGE):
            return found
        after = inside[-1]


async def next_rerun_id(registry: ProcessRegistry, process_id: str) -> str:
    numbers = [rerun_number(process_id, pid) for pid in await rerun_ids(registry, process_id)]
    return rerun_id(process_id, max((n for n in numbers if n is not None), default=0) + 1)


async def rerun_link(registry: ProcessRegistry, process_id: str) -> RerunLink | None:
    """Which process `process_id` re-runs, if it is a re-run (one read of its log's key
    range, decoding only the link event)."""
    try:
        event = await registry.first_event_after(process_id, RERUN_OF, 0)
    except UnknownProcess:
        return None
    return RerunLink.from_event(event) if event is not None else None


async def reruns_of(registry: ProcessRegistry, process_id: str) -> list[RerunLink]:
    """The re-runs of `process_id` still in the registry, oldest first: the ids of its range
    whose link event names it (an id someone chose by hand in that range does not count)."""
    links = []
    for candidate in await rerun_ids(registry, process_id):
        if rerun_number(process_id, candidate) is None:
            continue
        link = await rerun_link(registry, candidate)
        if link is not None and link.rerun_of == process_id:
            links.append(link)
    return sorted(links, key=lambda link: (link.at_ms, link.process_id))


async def rerun(processes: Processes, process_id: str, operator: str) -> ProcessActionOutcome:
    """Start a copy of terminal `process_id` under its next re-run id, recorded as
    `operator`'s; drive the worker so the copy runs promptly."""
    operator = check_operator_name(operator)
    registry = processes.registry
    record = await registry.get_process(process_id)
    if record is None:
        return await refused_unknown(processes, process_id, "rerun")
    if record.undecodable is not None:
        sentence = (
            f"process `{process_id}` cannot be run again: its stored record cannot be "
            f"decoded ({record.undecodable}), so its input is unknown"
        )
        return await outcome(processes, process_id, "rerun", "refused", sentence)
    if record.was_undecodable():  # (it was re-run as an externally owned placeholder)
        sentence = (
            f"process `{process_id}` cannot be run again: its record could not be decoded "
            "when it was ended (end-undecodable), so its input is unknown"
        )
        return await outcome(processes, process_id, "rerun", "refused", sentence)
    if not record.is_terminal():
        sentence = (
            f"process `{process_id}` is {record.status.state.value}: only a terminal "
            "process can be run again"
        )
        return await outcome(processes, process_id, "rerun", "refused", sentence)
    try:
        new_id = await next_rerun_id(registry, process_id)
    except InvalidRequest as error:
        return await outcome(processes, process_id, "rerun", "refused", str(error))
    try:
        started = await registry.rerun_process(process_id, new_id, operator)
    except ProcessConflict as error:
        return await _raced(processes, process_id, new_id, error)
    except (UnknownProcess, InvalidRequest, UndecodableProcess) as error:
        return await outcome(processes, process_id, "rerun", "refused", str(error))
    if processes.worker is not None:
        processes.worker.drive_started(started)
    grants = len(await registry.handle_grant_scopes(new_id))
    then = (
        "externally owned: its owner must run it"
        if started.disposition is RecoveryDisposition.EXTERNALLY_OWNED
        else "the next worker runs it"
    )
    copied = f"{grants} grant(s) copied" if grants else "it had no grants to copy"
    sentence = f"re-run as `{new_id}` by {operator}; {copied}; {then}"
    return await outcome(
        processes, process_id, "rerun", "done", sentence, started=await processes.get(new_id)
    )


async def _raced(
    processes: Processes, process_id: str, new_id: str, error: ProcessConflict
) -> ProcessActionOutcome:
    """The new id was taken between choosing it and starting it: by another operator's
    re-run of the same row (unchanged: theirs is named, nothing more is started), or by
    something else (refused: try again)."""
    link = await rerun_link(processes.registry, new_id)
    if link is not None and link.rerun_of == process_id:
        now = processes.clock.now_ms()
        sentence = (
            f"already re-run as `{link.process_id}` by {link.by} {ago(link.at_ms, now)}, "
            "while this re-run was being made; nothing more was started"
        )
        return await outcome(processes, process_id, "rerun", "unchanged", sentence)
    return await outcome(processes, process_id, "rerun", "refused", str(error))
