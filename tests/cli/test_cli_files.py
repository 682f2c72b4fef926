"""The real `lashtui` command against files that are missing, not ours, not regular,
damaged, full or not writable: one sentence naming the path, the exit code the README
gives, and nothing created or changed. Each runs the CLI in a subprocess whose stdin and
stdout are pipes (no terminal), except where a dashboard needs a terminal to get as far as
the file: those get a pseudo-terminal."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pty
import select
import socket
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.template import in_process
from tests.filesystem import fill, small_disk
from tests.unprivileged import lashtui_as_reader, popen_as_reader, seal, shared_directory

ROOT = Path(__file__).resolve().parents[2]
LASHTUI = [sys.executable, "-m", "lashtui.cli"]

READS = (("ls",), ("ls", "--json"), ("show", "x"), ("events", "x"), ("await", "x"))
ACTIONS = (
    ("cancel", "x"),
    ("signal", "x", "go"),
    ("abandon", "x", "--by", "me"),
    ("transfer", "--from", "session:a", "--to", "session:b", "x"),
    ("prune", "--older-than", "1d"),
    ("sweep", "--once"),
)
DASHBOARDS = (("dash",), ("dash", "--read-only"), ("dash", "--no-worker"))


def lashtui(
    db: Path | str, *args: str, terminal: bool = False, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    argv = [*LASHTUI, "--db", str(db), *args]
    if not terminal:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    leader, follower = pty.openpty()
    try:
        env = {**os.environ, "TERM": "xterm-256color"}
        process = subprocess.Popen(
            argv, stdin=follower, stdout=follower, stderr=subprocess.PIPE, text=True,
            cwd=ROOT, env=env,
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        return subprocess.CompletedProcess(argv, process.returncode, "", stderr)
    finally:
        os.close(follower)
        os.close(leader)


def one_sentence(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert result.returncode == code, (result.args, result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lashtui: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def listing(directory: Path) -> dict[str, str]:
    return {
        entry.name: hashlib.sha256(entry.read_bytes()).hexdigest() if entry.is_file() else "-"
        for entry in sorted(directory.iterdir())
    }


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """`a`, labelled `kept`: started by the command's own code in this process (setup:
    tests/cli/template.py says why)."""
    db = tmp_path / "reg.db"
    in_process(db, "start", "a", "--external", "--label", "kept")
    return db


# --- nothing is created by accident ----------------------------------------------------------


@pytest.mark.parametrize("args", READS + ACTIONS, ids=" ".join)
def test_reads_and_actions_name_a_missing_registry_and_create_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    typo = tmp_path / "typo.db"
    result = lashtui(typo, *args)
    one_sentence(result, 1, f"no process registry at `{typo}`")
    assert listing(tmp_path) == {}


@pytest.mark.parametrize("args", DASHBOARDS, ids=" ".join)
def test_the_dashboard_names_a_missing_registry_and_creates_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    typo = tmp_path / "typo.db"
    result = lashtui(typo, *args, terminal=True)
    one_sentence(result, 1, f"no process registry at `{typo}`")
    assert listing(tmp_path) == {}


@pytest.mark.parametrize("args", [("dash",), ("dash", "--read-only"), ()], ids=repr)
def test_the_dashboard_refuses_a_bad_file_in_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """(Moved from tests/tui: with a terminal, the file is judged before any screen.)"""
    path = tmp_path / "notes.db"
    path.write_text("not a registry\n")
    result = lashtui(path, *args, terminal=True)
    line = one_sentence(result, 1)
    assert line == f"lashtui: not a lash process registry: {path} is not a SQLite database"


@pytest.mark.parametrize("args", (*DASHBOARDS, ("demo",)), ids=" ".join)
def test_a_dashboard_without_a_terminal_refuses_before_opening_anything(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    db = tmp_path / "any.db"
    result = lashtui(db, *args)
    one_sentence(result, 2, f"`{args[0]}`", "needs a terminal", "stdin and stdout are not")
    assert listing(tmp_path) == {}


def test_the_creating_commands_still_create(tmp_path: Path) -> None:
    assert lashtui(tmp_path / "a.db", "start", "a", "--external").returncode == 0
    assert lashtui(tmp_path / "w.db", "worker", "--once").returncode == 0
    assert {"a.db", "w.db"} <= set(listing(tmp_path))


# --- bad files: refused in one sentence, untouched --------------------------------------------

EVERY_OPEN = (("ls", "--status", "any"), ("cancel", "a"), ("start", "b", "--external"))


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_fifo, "is a FIFO (named pipe)"), (_socket, "is a socket"), (Path.mkdir, "is a directory")],
    ids=["fifo", "socket", "directory"],
)
@pytest.mark.parametrize("args", EVERY_OPEN, ids=" ".join)
def test_a_file_that_is_not_regular_is_refused_without_blocking(
    tmp_path: Path, make: object, kind: str, args: tuple[str, ...]
) -> None:
    odd = tmp_path / "odd.db"
    make(odd)  # type: ignore[operator]
    before = listing(tmp_path)
    one_sentence(lashtui(odd, *args, timeout=20), 1, str(odd), kind)
    assert listing(tmp_path) == before


def test_a_device_is_refused_without_reading_it() -> None:
    one_sentence(lashtui("/dev/zero", "ls", timeout=20), 1, "/dev/zero", "character device")
    one_sentence(lashtui("/dev/zero", "start", "b", "--external", timeout=20), 1, "/dev/zero")


def _foreign(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def _truncated(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE big (body TEXT)")
    conn.executemany("INSERT INTO big VALUES (?)", [("x" * 500,) for _ in range(400)])
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_FILES = {
    # Another application's SQLite file that happens to carry lash's version stamp: the
    # WAL switch would rewrite its header bytes 18-19 if it came first.
    "foreign-v10": (lambda p: _foreign(p, 10), "has no process registry tables"),
    "foreign-v0": (lambda p: _foreign(p, 0), "not a lash process registry"),
    "other-version": (lambda p: _foreign(p, 9), "reports version 9 — lashtui also reads"),
    "not-sqlite": (lambda p: p.write_text("my notes\n" * 50), "is not a SQLite database"),
    "truncated": (_truncated, "is damaged (SQLite: database disk image is malformed)"),
}


@pytest.mark.parametrize("bad", BAD_FILES, ids=str)
@pytest.mark.parametrize("args", EVERY_OPEN, ids=" ".join)
def test_a_file_that_is_not_a_registry_is_refused_untouched(
    tmp_path: Path, bad: str, args: tuple[str, ...]
) -> None:
    path = tmp_path / "other.db"
    make, needle = BAD_FILES[bad]
    make(path)
    before = listing(tmp_path)
    one_sentence(lashtui(path, *args), 1, needle)
    assert listing(tmp_path) == before


def test_a_damaged_registry_is_refused_in_one_sentence(registry: Path) -> None:
    conn = sqlite3.connect(registry)
    conn.executemany(
        "INSERT INTO processes (process_id, registration_hash, owner_scope_id, created_at_ms, "
        "updated_at_ms, change_seq, status, record_json) "
        "VALUES (?, 'h', 'host', 0, 0, 0, 'running', ?)",
        [(f"pad{i}", "x" * 2000) for i in range(200)],
    )
    conn.commit()
    conn.close()
    data = registry.read_bytes()
    registry.write_bytes(data[: len(data) * 2 // 3])
    before = listing(registry.parent)
    for args in (("ls", "--status", "any"), ("cancel", "a")):
        one_sentence(lashtui(registry, *args), 1, str(registry))
    assert listing(registry.parent) == before


@pytest.mark.parametrize("args", (("ls",), ("cancel", "a")), ids=" ".join)
def test_an_empty_file_is_not_a_registry_to_read_or_act_on(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    one_sentence(lashtui(empty, *args), 1, f"{empty} is empty")
    assert listing(tmp_path) == {"empty.db": hashlib.sha256(b"").hexdigest()}


# --- a full disk --------------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path) as mount:
        yield mount


def test_a_full_disk_is_one_sentence_and_loses_nothing(disk: Path) -> None:
    db = disk / "reg.db"
    in_process(db, "start", "a", "--external", "--label", "kept")  # (setup, in this process)
    in_process(db, "start", "b", "--external")
    filler = fill(disk)
    for args in (
        ("start", "c", "--external"),
        ("cancel", "a"),
        ("signal", "b", "go"),
        ("abandon", "a", "--by", "me"),
        ("prune", "--older-than", "0s"),
    ):
        one_sentence(lashtui(db, *args), 1, f"the disk holding process registry `{db}` is full")
    listed = lashtui(db, "ls", "--status", "any")  # reads still work on the full disk
    assert listed.returncode == 0, listed.stderr
    filler.unlink()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in conn.execute("SELECT process_id FROM processes ORDER BY 1")] == [
        "a",
        "b",
    ]
    assert conn.execute("SELECT count(*) FROM process_events").fetchone()[0] == 0
    conn.close()
    assert lashtui(db, "cancel", "a").returncode == 0  # and it works once there is room


# --- files and folders the user may not write -------------------------------------------------


@contextlib.contextmanager
def sealed(mode: int, process_id: str) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A directory the unprivileged user may enter, holding a registry `reg.db` with the
    external process `process_id`, sealed with `mode` (`seal`); with its listing then."""
    with shared_directory() as directory:
        db = directory / "reg.db"
        in_process(db, "start", process_id, "--external")  # (setup, in this process)
        seal(directory, mode)
        yield directory, db, listing(directory)


@pytest.mark.parametrize("mode", [0o444, 0o644], ids=["file-0444", "file-0644-not-theirs"])
def test_acting_on_a_registry_the_user_may_not_write_is_refused(mode: int) -> None:
    with sealed(mode, "a") as (directory, db, before):
        result = lashtui_as_reader(db, "cancel", "a")
        assert listing(directory) == before
        one_sentence(result, 1, f"process registry `{db}` is read-only")
        assert lashtui_as_reader(db, "ls", "--json").returncode == 0  # reading still works


def test_acting_in_a_folder_the_user_may_not_write_is_refused() -> None:
    """The file is theirs to write, but SQLite needs the -wal and -shm beside it."""
    with sealed(0o666, "a") as (directory, db, before):
        result = lashtui_as_reader(db, "cancel", "a")
        assert listing(directory) == before
        one_sentence(result, 1, f"its directory `{directory}` is not writable")


def drawn_until(process: subprocess.Popen[bytes], leader: int, *shown: bytes) -> bytes:
    """What `process` drew on its pseudo-terminal until every one of `shown` is there; then
    `q`, and the process's exit awaited."""
    screen = b""
    deadline = time.monotonic() + 30
    while not all(s in screen for s in shown) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if select.select([leader], [], [], 0.5)[0]:
            try:
                screen += os.read(leader, 65536)
            except OSError:
                break
    assert all(s in screen for s in shown), screen[-3000:]
    os.write(leader, b"q")
    while process.poll() is None and time.monotonic() < deadline:
        if select.select([leader], [], [], 0.2)[0]:
            try:
                os.read(leader, 65536)
            except OSError:
                break
    return screen


def quits_after_drawing(spawn: Callable[[int], subprocess.Popen[bytes]], *shown: bytes) -> None:
    """The dashboard `spawn` starts with a new pseudo-terminal's follower end as its stdio
    (Textual draws on stderr: all three are the terminal) draws every one of `shown`, then
    exits 0 on `q`; it is killed if it has not exited by the end."""
    leader, follower = pty.openpty()
    process = spawn(follower)
    os.close(follower)
    try:
        drawn_until(process, leader, *shown)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        (0o644, b"read-only: no write permission on the file"),
        (0o666, b"read-only: its directory is not writable"),
    ],
    ids=["file-0644-not-theirs", "folder-not-theirs"],
)
def test_dash_on_a_registry_the_user_may_not_write_opens_it_read_only(
    mode: int, why: bytes
) -> None:
    """As a real unprivileged user in a pseudo-terminal: `dash` refused the file ("only
    read-only access is possible", exit 1) and never named `--read-only`. It opens it
    read-only now, the header says so and why, and no file is written."""
    with sealed(mode, "kept-row") as (directory, db, before):

        def dash_as_reader(follower: int) -> subprocess.Popen[bytes]:
            # Wide enough for the header's whole subtitle (a temporary directory's path in it).
            fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
            return popen_as_reader(db, "dash", stdin=follower, stdout=follower, stderr=follower)

        quits_after_drawing(dash_as_reader, b"kept-row", why)
        assert listing(directory) == before


def test_dash_read_only_on_a_terminal_writes_nothing(registry: Path) -> None:
    """The real `dash --read-only` code path in a pseudo-terminal: it draws the registry's
    row, quits on `q`, and leaves every file in the directory as it was (no -wal, no -shm)."""
    before = listing(registry.parent)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "30"}

    def dash_read_only(follower: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*LASHTUI, "--db", str(registry), "dash", "--read-only"],
            stdin=follower, stdout=follower, stderr=follower, cwd=ROOT, env=env,
        )

    quits_after_drawing(dash_read_only, b"kept")  # the row's label
    assert listing(registry.parent) == before
