"""Exporting what the operator is looking at as JSON Lines: the rows matching the
Processes view's lens and filters (every page, not just the window), or one process's
event timeline. Each line is the wire JSON of one `ObservedProcess` / `ObservedProcessEvent`.

The file is written beside its final name and renamed into place, so a failed export
leaves nothing half written; the writes run on a thread, off the event loop.

What it never writes over: the registry itself. A typed `:export` of the registry's own path
replaced the open database with JSONL (the embedded worker then wrote to the replaced file),
so the registry's files, and its -wal, -shm and -journal, are refused by resolved path and,
for a file that exists, by device and inode (a symlink, a hard link). Any other existing
file is replaced only after a question that names it, No focused, as every action asks;
otherwise the file is linked into place, which fails rather than replace a file that
appeared meanwhile. A read-only dashboard writes no file at all, so it offers no export and
says which command writes the same from a shell.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.screen import Screen

from lashtui.admin import Processes
from lashtui.errors import InvalidRequest, LashError
from lashtui.model import ProcessPageQuery
from lashtui.registry import registry_files
from lashtui.tui import text
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.modals import ConfirmScreen

EXPORT_PAGE = 1_000
# The most of a process id a timeline's default file name keeps. A file name is at most 255
# bytes on the usual file systems, and an id may be 512 characters (more, if another
# program wrote it): the whole id in the name failed the export of a legal 300-character id
# ("File name too long").
NAMED_ID_CHARS = 64


def default_path(what: str, now_ms: int) -> Path:
    return Path.cwd() / f"lashtui-{what}-{now_ms}.jsonl"


def id_in_file_name(process_id: str) -> str:
    """A process id as a part of a file name that any file system takes: its first
    `NAMED_ID_CHARS` characters with every one but ASCII letters, digits, `-`, `_` and `.`
    as `_` (a `/` would name a directory; a non-ASCII letter is up to 4 bytes), then a short
    hash of the whole id, so two ids that read the same once cut or replaced (`a/b`, `a_b`)
    still name two files. At most `NAMED_ID_CHARS` + 9 ASCII characters."""
    kept = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_." else "_"
        for c in process_id[:NAMED_ID_CHARS]
    )
    digest = hashlib.sha256(process_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{kept}-{digest}"


Batches = Callable[[], AsyncIterator[list[str]]]


@dataclass(frozen=True)
class Export:
    """One export: what it writes (`noun`, e.g. "processes"), the file as typed (empty for
    the default name), the default name, where its lines come from, and the command that
    writes the same from a shell (said by a read-only dashboard, which writes no file)."""

    noun: str
    typed: str
    default: Path
    lines: Batches
    instead: str


def rows_export(processes: Processes, query: ProcessPageQuery, typed: str, now_ms: int) -> Export:
    """Every process matching `query` (ignoring its paging), one per line."""

    async def lines() -> AsyncIterator[list[str]]:
        # In the view's order, so the file reads as the table does; pages bounded by their
        # records' size too, so a registry of large records is never held whole.
        async for rows in processes.pages(
            query.after(None).model_copy(update={"limit": EXPORT_PAGE})
        ):
            yield [row.to_json() for row in rows]  # (an id that is not UTF-8: to_json)

    instead = "lashtui ls --status any --limit 0 -o jsonl > FILE (with the same --db)"
    return Export("processes", typed, default_path("processes", now_ms), lines, instead)


def timeline_export(processes: Processes, process_id: str, now_ms: int) -> Export:
    """One process's events, in sequence order, one per line."""

    async def lines() -> AsyncIterator[list[str]]:
        async for page in processes.event_pages(process_id):  # never the whole log held
            yield [event.model_dump_json() for event in page]

    named = id_in_file_name(process_id)
    instead = "lashtui events ID -o jsonl > FILE (with the same --db)"
    return Export("events", "", default_path(f"events-{named}", now_ms), lines, instead)


def start_export(screen: Screen[Any], dashboard: Dashboard, export: Export) -> None:
    """Export from `screen`: refused in one sentence on a read-only dashboard; asked first
    when the file exists; else written at once. The writing runs as a worker of the app's,
    so it outlives a detail closed meanwhile."""
    if dashboard.read_only:
        sentence = (
            f"export is not offered: a read-only dashboard writes no file; "
            f"from a shell, {export.instead} writes the same {export.noun}"
        )
        text.say(screen, sentence, title="export", severity="warning")
        return
    guarded = registry_files(dashboard.processes.registry)
    screen.app.run_worker(_export(screen, export, guarded), group="export", name="load_export")


async def _export(screen: Screen[Any], export: Export, guarded: Sequence[str]) -> None:
    app = screen.app
    typed = Path(export.typed) if export.typed else export.default
    try:
        path, exists = await asyncio.to_thread(destination, typed, guarded)
    except LashError as error:
        text.say(app, str(error), title="export refused", severity="error")
        return
    if not exists:
        await _write_and_say(app, export, path, guarded, replace=False)
        return

    def answered(yes: bool | None) -> None:
        if yes:
            write = _write_and_say(app, export, path, guarded, replace=True)
            app.run_worker(write, group="export", name="load_export")
        else:
            text.say(app, f"nothing exported: `{path}` exists and was kept", title="export")

    question = f"Replace `{path}`? The file exists; the export writes the {export.noun} over it."
    app.push_screen(ConfirmScreen(question), answered)


async def _write_and_say(
    app: Any, export: Export, path: Path, guarded: Sequence[str], *, replace: bool
) -> None:
    try:
        count = await _write(path, export.lines(), guarded, replace=replace)
    except LashError as error:
        text.say(app, str(error), title="export failed", severity="error")
        return
    text.say(app, f"wrote {count:,} {export.noun} to {path}", title="export")


def destination(typed: Path, guarded: Sequence[str]) -> tuple[Path, bool]:
    """The export's file, resolved, and whether something is there now; refused when it is
    one of the registry's files (`guarded`). Blocking: run it on a thread."""
    path = typed.expanduser().resolve()
    refuse_registry(path, guarded)
    return path, os.path.lexists(path)


def refuse_registry(path: Path, guarded: Sequence[str]) -> None:
    """Refuse `path` when it names one of `guarded` (the registry's files): by resolved path
    (another spelling, a symlink), and by device and inode when both exist (a hard link)."""
    try:
        info: os.stat_result | None = os.stat(path)
    except OSError:
        info = None
    for name in guarded:
        same = Path(name).resolve() == path
        if not same and info is not None:
            try:
                other = os.stat(name)
            except OSError:
                continue
            same = (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)
        if same:
            raise InvalidRequest(
                f"export refused: `{path}` is the open registry's own file "
                f"(`{name}`); nothing was written"
            )


async def _write(
    path: Path, batches: AsyncIterator[list[str]], guarded: Sequence[str], *, replace: bool
) -> int:
    try:
        fd, temporary = await asyncio.to_thread(
            tempfile.mkstemp, prefix=f".{path.name}.", dir=path.parent
        )
    except OSError as error:
        raise LashError(f"cannot write the export to `{path}`: {error.strerror}") from None
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            async for batch in batches:
                if batch:
                    await asyncio.to_thread(out.write, "\n".join(batch) + "\n")
                    count += len(batch)
        await asyncio.to_thread(_put_in_place, temporary, path, guarded, replace)
    except OSError as error:
        await asyncio.to_thread(Path(temporary).unlink, missing_ok=True)
        raise LashError(f"cannot write the export to `{path}`: {error.strerror}") from None
    except BaseException:
        await asyncio.to_thread(Path(temporary).unlink, missing_ok=True)
        raise
    return count


def _put_in_place(temporary: str, path: Path, guarded: Sequence[str], replace: bool) -> None:
    """Rename the written file to `path`: over what is there only when the operator said
    so (`replace`), else by a link that fails on a file that appeared meanwhile. The
    registry is looked for again first: the path may have become it since it was asked."""
    refuse_registry(path, guarded)
    if replace:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise InvalidRequest(
            f"nothing exported: `{path}` was made meanwhile, and was kept"
        ) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links: the rename, after a last look.
        if os.path.lexists(path):
            raise InvalidRequest(
                f"nothing exported: `{path}` was made meanwhile, and was kept"
            ) from None
        os.replace(temporary, path)
    else:
        os.unlink(temporary)
