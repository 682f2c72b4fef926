"""Exporting what the operator is looking at as JSON Lines: the rows matching the
Processes view's lens and filters (every page, not just the window), or one process's
event timeline. Each line is the wire JSON of one `ObservedProcess` / `ObservedProcessEvent`.

The file is written beside its final name and renamed into place, so a failed export
leaves nothing half written; the writes run on a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from lashtui.admin import Processes
from lashtui.errors import LashError
from lashtui.model import ProcessPageQuery

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


async def export_rows(
    processes: Processes, query: ProcessPageQuery, path: str, now_ms: int
) -> tuple[Path, int]:
    """Every process matching `query` (ignoring its paging), one per line."""

    async def lines() -> AsyncIterator[list[str]]:
        # In the view's order, so the file reads as the table does; pages bounded by their
        # records' size too, so a registry of large records is never held whole.
        async for rows in processes.pages(
            query.after(None).model_copy(update={"limit": EXPORT_PAGE})
        ):
            yield [row.to_json() for row in rows]  # (an id that is not UTF-8: to_json)

    return await _write(Path(path) if path else default_path("processes", now_ms), lines())


async def export_timeline(
    processes: Processes, process_id: str, path: str, now_ms: int
) -> tuple[Path, int]:
    """One process's events, in sequence order, one per line."""

    async def lines() -> AsyncIterator[list[str]]:
        async for page in processes.event_pages(process_id):  # never the whole log held
            yield [event.model_dump_json() for event in page]

    named = id_in_file_name(process_id)
    return await _write(Path(path) if path else default_path(f"events-{named}", now_ms), lines())


async def _write(path: Path, batches: AsyncIterator[list[str]]) -> tuple[Path, int]:
    path = await asyncio.to_thread(lambda: path.expanduser().resolve())
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
        await asyncio.to_thread(os.replace, temporary, path)
    except OSError as error:
        await asyncio.to_thread(Path(temporary).unlink, missing_ok=True)
        raise LashError(f"cannot write the export to `{path}`: {error.strerror}") from None
    except BaseException:
        await asyncio.to_thread(Path(temporary).unlink, missing_ok=True)
        raise
    return path, count
