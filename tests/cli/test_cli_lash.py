"""The CLI on registries lash itself wrote (versions 6, 21, 24; tests/lash/fixture.py): `ls`,
`show`, `events` read them, an action is refused in one sentence, and `dash` draws them
read-only on a real terminal (a pty), its header saying "lash registry vN, read-only". After
each, the folder is byte-for-byte and file-list unchanged."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.lash.fixture import copied, listing

ROOT = Path(__file__).resolve().parents[2]
LASHTUI = [sys.executable, "-m", "lashtui.cli"]
# One process of each fixture, and how many processes each holds.
SAMPLE = {
    6: ("process:8e4bd21b-cd9f-4b21-8218-e1cdcc64aa32", 68),
    21: ("durable-read-waiting-process", 2),
    24: ("durable-read-waiting-process", 2),
}
# A live process of each, which a cancel would change.
LIVE = {
    6: "process:subagent:e34414fc-8be1-43ce-b288-46a025275ceb",
    21: "durable-read-wake-process",
    24: "durable-read-wake-process",
}


def lashtui(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [*LASHTUI, "--db", str(db), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT)


@pytest.mark.parametrize("version", sorted(SAMPLE))
def test_reads_show_what_lash_stored(tmp_path: Path, version: int) -> None:
    db = copied(version, tmp_path)
    sample, count = SAMPLE[version]
    before = listing(tmp_path)
    listed = lashtui(db, "ls", "--status", "any", "--json")
    table = lashtui(db, "ls", "--status", "any")
    shown = lashtui(db, "show", sample, "--json")
    events = lashtui(db, "events", sample, "--json")
    assert listing(tmp_path) == before
    for result in (listed, table, shown, events):
        assert result.returncode == 0, (result.args, result.stderr)
    rows = json.loads(listed.stdout)
    assert len(rows) == count
    assert sample in table.stdout
    record = json.loads(shown.stdout)
    assert record["process_id"] == sample
    assert [event["sequence"] for event in json.loads(events.stdout)] == [1, 2]


@pytest.mark.parametrize("version", sorted(SAMPLE))
def test_an_action_is_refused_in_one_sentence(tmp_path: Path, version: int) -> None:
    db = copied(version, tmp_path)
    before = listing(tmp_path)
    result = lashtui(db, "cancel", LIVE[version])
    assert listing(tmp_path) == before
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"lashtui: process registry `{db}` was written by lash (version {version}) and is "
        "open read-only: nothing was changed"
    ]


# What a terminal would not print: SGR and cursor movements.
_ESCAPE = re.compile(rb"\x1b\[[0-9;?<>=]*[A-Za-z~]")


def dashboard(db: Path, until: bytes, timeout: float = 60) -> tuple[int, bytes]:
    """`lashtui dash` on a pty of 140x30 until its screen shows `until`, then `q`: the exit
    code and the text it drew (escape sequences taken out). Textual draws on stderr, so
    both streams are the terminal."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 140, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [*LASHTUI, "--db", str(db), "dash"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env=env,
    )
    os.close(follower)
    drawn, deadline, quit_at = b"", time.monotonic() + timeout, 0.0
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    drawn += os.read(leader, 65536)
                except OSError:
                    break
            # Keys typed while Textual switches the terminal's mode are flushed with it:
            # `q` again each second until it quits.
            now = time.monotonic()
            if now - quit_at > 1 and until in _ESCAPE.sub(b"", drawn):
                os.write(leader, b"q")
                quit_at = now
        code = process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return code, _ESCAPE.sub(b"", drawn)


@pytest.mark.parametrize("version", [6, 21])
def test_the_dashboard_draws_it_read_only(tmp_path: Path, version: int) -> None:
    db = copied(version, tmp_path)
    before = listing(tmp_path)
    header = f"lash registry v{version}, read-only".encode()
    code, drawn = dashboard(db, header)
    assert listing(tmp_path) == before
    assert header in drawn, drawn[-2000:]
    assert code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("worker",),
        ("sweep", "--once"),
        ("index",),
        ("index", "--dry-run"),
        ("prune", "--older-than", "1d"),
    ],
    ids=" ".join,
)
def test_commands_that_write_refuse_before_they_start(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    db = copied(21, tmp_path)
    before = listing(tmp_path)
    result = lashtui(db, *args)
    assert listing(tmp_path) == before
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"lashtui: process registry `{db}` was written by lash (version 21) and is "
        "open read-only: nothing was changed"
    ]
