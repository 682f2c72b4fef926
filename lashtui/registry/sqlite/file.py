"""What is at a registry path, judged before SQLite opens it, and how a read-only handle
opens it without writing a byte.

Refusals come first and cost a stat or two: a missing file (only `create=True` makes one),
a missing directory, anything that is not a regular file (a FIFO would block the open
itself, a device would be read forever), a file whose header is not SQLite's, and, for a
handle that writes, a file or directory it may not write. Every refusal is one sentence
naming the path and what is wrong with it; nothing is created or changed.

Nothing here opens the file, its -wal or its -shm with a plain `open`: closing such a
descriptor drops every POSIX lock this process holds on the file, SQLite's included. The
header is read by SQLite (`_check_format` says why and how), and a new file is linked into
place already closed (`create_private`). Stats are harmless.

Read-only opens never create, write or truncate the database, its `-wal` or its `-shm`
(measured with SQLite 3.40, listing and hashing the three before and after):

- a plain `mode=ro` open of a WAL database creates a `-wal` and a 32 KiB `-shm` when they
  are absent and leaves them behind, and without write access to the directory it fails
  ("attempt to write a readonly database", SQLITE_READONLY_DIRECTORY);
- with a live writer it writes its read mark into the writer's `-shm`;
- `readonly_shm=1` maps an existing `-shm` read-only (SQLite then keeps a private copy of
  the WAL index when it must) and sees every commit of a live writer, but cannot open a
  database whose `-shm` is absent (SQLITE_CANTOPEN);
- `immutable=1` opens anything, writes nothing and takes no lock, but trusts the main file
  alone: it cannot see commits still in a `-wal`, and a checkpoint that copies pages into
  the main file while it reads can show it a torn mix of old and new pages.

So the choice follows the files. When the `-wal` is absent no connection has the database
open at that instant and every commit is in the main file: the handle opens it immutable.
When the `-wal` and `-shm` exist (a live writer made them, or a writer that died left them)
it opens `mode=ro&readonly_shm=1`. A `-wal` without its `-shm` holds commits that only a
read-write open can recover: refused. An immutable connection can be overtaken by a writer
that starts after it opened, so after each of its read transactions the handle checks, with
two stats, that no `-wal` has appeared and the main file is unchanged (inode, size, mtime,
ctime); if not, the read is redone on a connection opened afresh by the same rule. The one
window left is a writer that opens, commits, checkpoints and closes within the
file system's timestamp granularity (a clock tick, ~4 ms) and without growing the file.
Scans cost the same both ways; an immutable point read is ~2 us cheaper (no shm locks).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import tempfile
import time
from typing import NamedTuple
from urllib.parse import quote

from lashtui.errors import (
    NotARegistry,
    RegistryGone,
    RegistryMissing,
    RegistryNotWritable,
    StoreError,
)
from lashtui.registry.lash.detect import lash_layout

# The -shm SQLite makes beside a WAL database, and the -wal it appends commits to.
WAL, SHM = "-wal", "-shm"

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def gone_registry(path: str) -> RegistryGone:
    """A registry a handle opened that is no longer at its path."""
    return RegistryGone(
        f"process registry `{path}` is gone: it was deleted or moved after it was opened"
    )


def missing_registry(path: str) -> RegistryMissing:
    # No advice on making one: a Python caller opens with `create=True`, the command line
    # names its commands that create (lashtui/command/advice.py).
    return RegistryMissing(f"no process registry at `{path}`: no such file")


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_path(path: str, read_only: bool, create: bool) -> int | None:
    """Refuse what can't be (or must not become) a registry before SQLite opens anything.
    `os.stat` first: opening a FIFO blocks until a writer appears. Returns the lash version
    of a registry lash itself wrote (registry/lash/detect.py), which only a read-only
    connection may open: such a file need not be writable."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise StoreError(
            f"cannot open process registry `{path}`: directory `{directory}` does not exist"
        )
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if read_only or not create:
            raise missing_registry(path) from None
        if not os.access(directory, os.W_OK | os.X_OK):
            raise StoreError(
                f"cannot create process registry `{path}`: directory `{directory}` "
                "is not writable"
            ) from None
        return None
    except OSError as error:
        raise StoreError(f"cannot open process registry `{path}`: {error.strerror}") from None
    kind = _kind(info.st_mode)
    if kind is not None:
        raise NotARegistry(f"not a lash process registry: {path} is {kind}")
    lash = _check_format(path)
    if not read_only and lash is None:
        _check_writable(path, directory)
    return lash


def _check_format(path: str) -> int | None:
    """Refuse a file that is not in SQLite's format, judged by SQLite itself.

    Not by reading the header with a plain `open`: POSIX (fcntl) locks belong to the OS
    process and the inode, and closing any descriptor of the file drops all of them. This
    process may already hold SQLite's locks on it (a second handle, the dashboard beside the
    demo, a plain sqlite3 connection of its own): the shared lock every WAL connection keeps
    on the main file says "in use" to other processes, and without it another process's
    closing connection takes the WAL for abandoned, checkpoints it and deletes the -wal and
    -shm this one still writes to (https://www.sqlite.org/howtocorrupt.html, 2.2). SQLite's
    unix VFS knows which of its descriptors share an inode and defers such a close until
    its locks are gone, so the probe opens through it: `immutable=1` reads the main file
    alone, takes no lock and never creates or writes a byte (~30 us a probe). Its
    SQLITE_NOTADB is the check SQLite's open would make (the 16-byte magic and the page-1
    header); an empty file (another opener made it and has not written yet) passes. Any
    other failure, a damaged file say, is for the real open to name.

    The same probe says whether lash itself wrote the file (its stamp and tables, as the
    main file holds them): the opener then opens it read-only whatever it was asked, since
    a read-write open of a WAL database makes a -wal and -shm beside it before reading a
    byte. The real open judges the file again in its own snapshot.

    One verdict is left to that open: page 1 not SQLite's while the -wal holds commits,
    which is what a file of NULs is while a writer that extends the file before it writes
    (mmap, chunk size) checkpoints a new registry for the first time; SQLite reads page 1
    from the -wal then."""
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read process registry `{path}`: {os.strerror(errno.EACCES)}")
    probe: sqlite3.Connection | None = None
    try:
        probe = sqlite3.connect(f"file:{quote(path)}?mode=ro&immutable=1", uri=True)
        probe.execute("PRAGMA schema_version").fetchone()
        return lash_layout(probe)
    except sqlite3.Error as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_CANTOPEN:
            raise StoreError(f"cannot read process registry `{path}` (SQLite: {error})") from None
        if code == sqlite3.SQLITE_NOTADB and not _wal_has_frames(path):
            raise NotARegistry(
                f"not a lash process registry: {path} is not a SQLite database"
            ) from None
        return None
    finally:
        if probe is not None:
            probe.close()


def _wal_has_frames(path: str) -> bool:
    try:
        return os.stat(path + WAL).st_size > 0
    except OSError:
        return False


def _check_writable(path: str, directory: str) -> None:
    """A handle that writes needs the file, and the directory unless the -wal and -shm are
    already there (SQLite makes them beside the file, and deletes them at the last close)."""
    if not os.access(path, os.W_OK):
        raise RegistryNotWritable(
            f"process registry `{path}` is read-only (no write permission); "
            "only read-only access is possible",
            "no write permission on the file",
        )
    sidecars = all(os.path.exists(path + suffix) for suffix in (WAL, SHM))
    if not sidecars and not os.access(directory, os.W_OK | os.X_OK):
        raise RegistryNotWritable(
            f"cannot write process registry `{path}`: its directory `{directory}` is not "
            "writable (SQLite keeps the -wal and -shm beside the file); "
            "only read-only access is possible",
            "its directory is not writable",
        )


def create_private(path: str) -> None:
    """Create a new registry file as 0600; SQLite gives its -wal and -shm the same mode.

    It runs only for a path where nothing exists yet, so no SQLite lock of this process can
    be on the new inode when it starts. But a descriptor opened at `path` would be closed
    after the file is visible there, and a handle of this process that opened the file
    meanwhile (first opens gathered at once, each on its own connection thread) would lose
    its locks (see `_check_format`). So the file is created under a temporary name, closed,
    and only then linked into place (the link fails if `path` exists). Where the file system
    has no hard links it is created in place, and that window of microseconds stays open."""
    if os.path.lexists(path):
        return  # the common case, judged by `check_path` (a dangling symlink too, as before)
    directory = os.path.dirname(path) or "."
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".new", dir=directory
        )
        os.close(fd)  # mkstemp makes it 0600
    except OSError as error:
        raise StoreError(f"cannot create process registry `{path}`: {error.strerror}") from None
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # it exists (the opener checked it) or a concurrent opener won the race
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise StoreError(f"cannot create process registry `{path}`: {error.strerror}") from None
        _create_in_place(path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}


def _create_in_place(path: str) -> None:
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # a concurrent opener won the race; it is the same fresh file
    except OSError as error:
        raise StoreError(f"cannot create process registry `{path}`: {error.strerror}") from None


class FileState(NamedTuple):
    """What an immutable connection's reads depend on: the main file as it was."""

    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int
    wal_size: int  # -1: no -wal


def file_state(path: str) -> FileState | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    try:
        wal_size = os.stat(path + WAL).st_size
    except OSError:
        wal_size = -1
    return FileState(info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, wal_size)


def read_only_uri(path: str) -> tuple[str, FileState | None]:
    """The URI a read-only connection opens `path` with (see the module docstring), and,
    for an immutable one, the file state its reads must still find."""
    target = f"file:{quote(path)}"
    wal, shm = _wal_and_shm(path)
    if wal is not None:
        if not shm and wal > 0:
            raise StoreError(
                f"process registry `{path}` has commits in its -wal but no -shm: only a "
                "read-write open (any write command, by a user who may write the "
                "directory) can recover them"
            )
        if shm:
            return f"{target}?mode=ro&readonly_shm=1", None
    # The state is read before the open: a change between the two is then caught too. (An
    # empty -wal without a -shm is what a writer leaves when it dies before its first
    # commit: nothing in it, so the main file is the whole truth.) `mode=ro`, or SQLite
    # creates an empty file where the registry was deleted since the handle opened it.
    return f"{target}?mode=ro&immutable=1", file_state(path)


# How often, and how far apart, a -wal with frames and no -shm is looked at again before it
# is taken for what a writer that died left (below).
CLOSING_LOOKS, CLOSING_LOOK_S = 5, 0.005


def _wal_and_shm(path: str) -> tuple[int | None, bool]:
    """The -wal's size (None: absent) and whether the -shm exists, as a steady state.

    The last writer to close checkpoints, then deletes the -shm and then the -wal: between
    the two a -wal with frames has no -shm, for a moment, with every commit already in the
    main file. Taken at face value that moment refused the open ("commits in its -wal but
    no -shm"), and a -wal deleted between a look and its size crashed it (`ls --watch`
    ended with FileNotFoundError while `lashtui start` ran beside it; 4,189 of 271,394
    opens failed beside a writer opening and closing in a loop, 2026-12-07). So sizes are
    read by one stat each, and that one state is looked at again before it is believed."""
    for _ in range(CLOSING_LOOKS):
        try:
            wal: int | None = os.stat(path + WAL).st_size
        except OSError:  # (as os.path.exists says: absent)
            wal = None
        shm = os.path.exists(path + SHM)
        if wal is None or shm or wal == 0:
            return wal, shm
        time.sleep(CLOSING_LOOK_S)
    return wal, shm


def write_marks(path: str) -> tuple[int, int, int, int]:
    """The main file's and its -wal's size and modification time (ns; -1 where absent): a
    commit writes the -wal, a checkpoint the main file. Stats only (see the module
    docstring: nothing here opens the -shm, whose locks SQLite holds)."""
    marks: list[int] = []
    for name in (path, path + WAL):
        try:
            info = os.stat(name)
            marks += (info.st_size, info.st_mtime_ns)
        except OSError:
            marks += (-1, -1)
    return marks[0], marks[1], marks[2], marks[3]


def still_immutable(path: str, state: FileState) -> bool:
    """Whether an immutable connection opened when the file was `state` still reads the
    whole truth: no -wal has appeared (or grown) and the main file is as it was."""
    return file_state(path) == state
