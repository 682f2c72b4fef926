"""The real `lashtui demo` in a pseudo-terminal, quit with `q` while another OS process holds
the registry's write lock: what the dashboard still waits for once Textual has left the
screen is said on stderr with how long it may take, the wait ends within that, and Ctrl-C
ends it at once, saying what was left to lapse.

The demo's trickle starts a process every 2-5 s. With the lock held, a start's commit waits
for it (15 s); the app ending cancels the start's caller, and the worker follows the start
to its end (start.py `_end_orphan`). The stop waited for it without bound: the terminal
stayed blank for the rest of those 15 s (8 s as first measured), Ctrl-C unheard, nothing
said. The lock is taken while no row is live (no run in flight, so `q`'s stop inside the
app has nothing to wait for) and `q` pressed once a start must be waiting on it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LASHTUI = [sys.executable, "-m", "lashtui.cli"]
# Timed against a dashboard's real stop: run with no other test process beside it.
pytestmark = pytest.mark.alone

LEFT_SCREEN = b"\x1b[?1049l"  # Textual leaving the alternate screen

# Holds the write lock from a moment no row but `kept` is live, until killed.
LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
while True:
    conn.execute("BEGIN IMMEDIATE")
    live = conn.execute(
        "SELECT count(*) FROM processes WHERE status NOT IN "
        "('completed', 'failed', 'cancelled', 'abandoned') AND process_id <> 'kept'"
    ).fetchone()[0]
    started = conn.execute("SELECT count(*) FROM processes").fetchone()[0]
    if live == 0 and started > 1:
        break
    conn.execute("ROLLBACK")
    time.sleep(0.02)
print("locked", flush=True)
time.sleep(120)
"""


class Terminal:
    """A pseudo-terminal's leader end, read into `screen` with the time each byte came."""

    def __init__(self, leader: int) -> None:
        self.leader = leader
        self.screen = b""
        self.left_at: float | None = None

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if not select.select([self.leader], [], [], min(left, 0.05))[0]:
                continue
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:
                return
            self.screen += chunk
            if self.left_at is None and LEFT_SCREEN in self.screen:
                self.left_at = time.monotonic()

    def until(self, needle: bytes, within: float, process: subprocess.Popen[bytes]) -> float:
        """Read until `needle` is on the terminal; when it came."""
        end = time.monotonic() + within
        while needle not in self.screen:
            assert time.monotonic() < end, (needle, self.screen[-2000:])
            assert process.poll() is None or needle in self.screen, self.after()
            self.read(0.05)
        return time.monotonic()

    def after(self) -> str:
        """What was written once Textual had left the screen."""
        at = self.screen.rfind(LEFT_SCREEN)
        return self.screen[at + len(LEFT_SCREEN) :].decode(errors="replace") if at >= 0 else ""


@pytest.fixture
def locked_demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Terminal]]:
    """`lashtui demo` on a registry holding one external row (reused, not seeded: no live
    run but the trickle's), the write lock taken by another OS process, and `q` pressed
    once the trickle's next start must be waiting for the lock."""
    db = tmp_path / "demo.db"
    kept = subprocess.run(
        [*LASHTUI, "--db", str(db), "start", "kept", "--external", "--label", "kept"],
        capture_output=True, cwd=ROOT, timeout=30,
    )
    assert kept.returncode == 0, kept.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    demo = subprocess.Popen(
        [*LASHTUI, "--db", str(db), "demo"],
        stdin=follower, stdout=follower, stderr=follower, cwd=ROOT, env=env,
    )  # fmt: skip
    os.close(follower)
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)], stdout=subprocess.PIPE, text=True
    )
    terminal = Terminal(leader)
    try:
        terminal.until(b"thumb-0001", 30, demo)
        assert locker.stdout is not None
        line = ""
        while not line:
            terminal.read(0.1)
            if select.select([locker.stdout], [], [], 0)[0]:
                line = locker.stdout.readline()
        assert line.strip() == "locked"
        # The trickle sleeps 2-5 s between starts: by now one waits for the lock, and it
        # waits 15 s before it fails (which would end the app with a traceback).
        terminal.read(6.0)
        os.write(leader, b"q")
        yield demo, terminal
    finally:
        locker.kill()
        locker.wait()
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        os.close(leader)


def waiting_line(terminal: Terminal, demo: subprocess.Popen[bytes]) -> float:
    """The line saying what the stop waits for, within a second of the screen's end; the
    most it says it waits."""
    terminal.until(LEFT_SCREEN, 10, demo)
    said = terminal.until(b"Ctrl-C stops waiting", 20, demo)
    assert terminal.left_at is not None
    assert said - terminal.left_at < 1.5, terminal.after()
    found = re.search(r"lashtui: the embedded worker is stopping: waiting at most ([\d.]+)s "
                      r"for the registry to take back the claim of 1 start still committing",
                      terminal.after())
    assert found, terminal.after()
    return float(found.group(1))


def test_quit_under_a_held_lock_says_what_it_waits_for_and_ends_within_it(
    locked_demo: tuple[subprocess.Popen[bytes], Terminal],
) -> None:
    demo, terminal = locked_demo
    most = waiting_line(terminal, demo)
    assert most <= 10  # the demo's 6 s TTL, a hurried stop's second and the close's
    said_at = time.monotonic()
    while demo.poll() is None and time.monotonic() - said_at < most + 1:
        terminal.read(0.1)
    assert demo.poll() == 0, terminal.after()
    terminal.read(0.2)
    after = terminal.after()
    assert "lashtui: stopped waiting after 6s: 1 start was still committing" in after, after
    assert "Traceback" not in after


@pytest.mark.parametrize(
    ("signum", "name"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")], ids=str
)
def test_ctrl_c_stops_the_wait_and_says_what_was_left(
    locked_demo: tuple[subprocess.Popen[bytes], Terminal], signum: signal.Signals, name: str
) -> None:
    demo, terminal = locked_demo
    waiting_line(terminal, demo)
    demo.send_signal(signum)
    interrupted_at = time.monotonic()
    while demo.poll() is None and time.monotonic() - interrupted_at < 4:
        terminal.read(0.1)
    # 128 + the signal's number, as a shell reports it (README's exit statuses: 130, 143)
    assert demo.poll() == 128 + signum.value, terminal.after()
    terminal.read(0.2)
    after = terminal.after()
    assert f"lashtui: stopped waiting ({name}): 1 start was still committing" in after, after
    assert "lapse within 6s (their TTL)" in after
    assert "Traceback" not in after
    # Past Textual's own resets, every line is the command's own sentence: no log line, no
    # escape.
    said = re.sub(r"^(\x1b\[[?<0-9;]*[a-zA-Z])+", "", after)
    lines = [line for line in said.replace("\r", "").splitlines() if line.strip()]
    assert len(lines) == 2 and all(line.startswith("lashtui: ") for line in lines), lines
    assert "\x1b" not in said


def test_a_stop_hurried_while_it_waits_for_a_start_says_what_the_registry_took_back(
    tmp_path: Path,
) -> None:
    """Ctrl-C while the stop after the screen waits for a start whose caller gave up (the
    write lock held by another connection), a run `r` in flight, the lock given up 1.8 s
    after Ctrl-C. A hurried stop waits twice (the start, then the runs' releases), each
    within a release's wait (stop.py `_settle`), so it can take ~2.5 s; the stop after the
    screen waited 1.5 s for it (stop_wait.py `HURRIED_S`, "a hurried stop"), then said
    that `r`'s lease was not handed back, though the registry took it back a moment later.
    Now it waits as long as a hurried stop can take (`HURRIED_STOP_S`), and what it says
    of `r` is what the registry holds."""
    db = tmp_path / "stop.db"
    child = subprocess.run(
        [sys.executable, "-m", "tests.cli.hurried_stop_child", str(db), "1.8"],
        capture_output=True, cwd=ROOT, timeout=60, text=True,
    )  # fmt: skip
    said = child.stderr
    assert child.returncode == 130, said
    assert "Traceback" not in said, said
    last = said.strip().splitlines()[-1]
    assert last.startswith("lashtui: stopped waiting (Ctrl-C): "), said
    show = subprocess.run(
        [*LASHTUI, "--db", str(db), "show", "-o", "json", "r"],
        capture_output=True, cwd=ROOT, timeout=30, text=True,
    )  # fmt: skip
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout).get("lease") is None  # the registry took it back
    assert "(r)" not in last and "the leases of 1 run" not in last, last
