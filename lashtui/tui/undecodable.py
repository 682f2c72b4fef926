"""What the dashboard does with a row whose stored record cannot be decoded (it lists as the
registry's stand-in, `ObservedProcess.undecodable` saying why): every write but one refuses
it, so the words here name that one way out (`E`, or `lashtui end-undecodable ID --reason R`), and
ending rows with `Processes.end_undecodable` reports each one (`b: ended: now failed`), and
the marked rows that decode, which are skipped rather than ended. Plain sentences: a screen
shows them through `lashtui.tui.text`, since they quote stored ids and reasons."""

from __future__ import annotations

from collections.abc import Sequence

from lashtui.admin import Processes
from lashtui.errors import LashError
from lashtui.model import ObservedProcess
from lashtui.registry.sql.blob_id import is_blob_row
from lashtui.tui import format as fmt
from lashtui.untrusted import clipped, is_cut_id, shell_word

SHOWN = 5  # ids listed in a sentence; the rest are counted


def way_out(process_id: str, *, read_only: bool = False) -> str:
    """How an undecodable row is ended, from here (the `E` key) and from the command line
    (quoted as the registry's refusal quotes it)."""
    command = f"`lashtui end-undecodable {shell_word(process_id)} --reason R`"
    if read_only:
        return f"{command} ends it (not from a read-only dashboard)"
    return f"press E to end it (or {command})"


def not_text(process: ObservedProcess) -> bool:
    """Whether this row's id is not text (a blob's or a NULL's: blob_id.py), so that no
    statement names it: not one that "cannot be decoded" (its record was never read)."""
    return is_blob_row(process.undecodable)


def unendable(process: ObservedProcess) -> bool:
    """Whether nothing lashtui does can end this undecodable row, so no way out is named:
    a cut id's (long_id.py: the id it was cut from is not read whole) or a blob id's
    (blob_id.py: no statement can name it; `end-undecodable` refuses it)."""
    return is_cut_id(process.process_id) or not_text(process)


def not_offered(action: str, process: ObservedProcess) -> str:
    """Why an action other than ending is not offered on an undecodable row, in one sentence
    (for a row nothing ends, its reason says why: `unendable`)."""
    if unendable(process):  # (nothing ends it from here; a cut id quoted as a refusal does)
        named = clipped(process.process_id, 65)
        return f"{action} is not offered for process {named}: {process.undecodable}"
    return (
        f"{action} is not offered for process {process.process_id}: its record could not be "
        f"decoded ({process.undecodable}); only ending it changes it: "
        f"{way_out(process.process_id)}"
    )


def left_out_unendable(cannot: Sequence[ObservedProcess], held: int) -> str:
    """What ending leaves out of the marked rows before it asks: those nothing here ends
    (`unendable`), named with the first one's reason, e.g. `1 of 3 marked processes cannot
    be ended here: b'abc' (its process_id column holds a blob, ...)`."""
    first = cannot[0]
    # (an id quoted as a refusal quotes a cut one: its first 64 characters)
    ids = [clipped(p.process_id, 65) for p in cannot]
    if len(cannot) == 1:
        named = f"{ids[0]} ({first.undecodable})"
    else:
        named = f"{fmt.first_few(ids, SHOWN)} (the first: {first.undecodable})"
    noun = "process" if held == 1 else "processes"
    return f"{len(cannot):,} of {held:,} marked {noun} cannot be ended here: {named}"


def skipped_outlook(ids: Sequence[str]) -> str:
    """What ending does with the marked rows that decode, said before it is confirmed."""
    if len(ids) == 1:
        return f"1 marked process that can be decoded is skipped: {ids[0]}"
    return f"{len(ids):,} marked processes that can be decoded are skipped: " + fmt.first_few(
        ids, SHOWN
    )


async def end_each(
    processes: Processes, operator: str, targets: Sequence[ObservedProcess], reason: str
) -> tuple[list[str], list[str]]:
    """End every target as `operator`, one at a time (one refusal never hides the rest):
    the `<id>: ended: now failed` lines, and the `<id>: refused: <why>` lines."""
    ended: list[str] = []
    refused: list[str] = []
    for process in targets:
        pid = process.process_id
        try:
            after = await processes.end_undecodable(pid, operator, reason)
        except LashError as error:  # ended meanwhile by someone else, or a bad reason
            refused.append(f"{pid}: refused: {error}")
        else:
            ended.append(f"{pid}: ended: now {after.lifecycle.value}")
    return ended, refused


def result(ended: Sequence[str], refused: Sequence[str], skipped: Sequence[str]) -> list[str]:
    """One notification: the line for one target, or for many a count (`2 ended, 1
    refused`) and the refusals; then the skipped marked rows and what ends them instead."""
    if len(ended) + len(refused) == 1:
        lines = [*ended, *refused]
    else:
        counts = [f"{len(ended):,} ended"] + ([f"{len(refused):,} refused"] if refused else [])
        lines = [", ".join(counts), *refused[:SHOWN]]
        if len(refused) > SHOWN:
            lines.append(f"and {len(refused) - SHOWN:,} more refused")
    if skipped:
        noun, them = ("process", "it") if len(skipped) == 1 else ("processes", "them")
        lines.append(
            f"skipped {len(skipped):,} marked {noun} that can be decoded "
            f"({fmt.first_few(skipped, SHOWN)}): cancel or abandon {them}"
        )
    return lines
