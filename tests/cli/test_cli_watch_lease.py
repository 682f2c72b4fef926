"""`ls --watch` and a row's lease: a claim, a release, a takeover, a renewal write the lease
row and not the record, so the change feed (the records') never carried them, and the watch
kept a row's LEASE cell as first printed: a worker SIGKILLed while holding a row kept its
countdown running on, and another worker's claim of the row never showed. The lease writes
come from other OS processes (tests/cli/committer.py, as a worker makes them, and real
`lashtui worker` processes); the lines are read from the installed command's stdout."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.service import Worker, start, steps
from tests.cli.test_cli_follow import Committer, Follower, committer

__all__ = ["committer"]  # (the fixture, used by name; `workers` is tests/cli/conftest.py's)

QUIET_S = 1.5  # how long a follower is watched for a line that must not come


def cells(line: str) -> list[str]:
    """A table line's cells (they are padded by two spaces or more; none holds two)."""
    return re.split(r"\s{2,}", line.strip())


def lease_cell(line: str) -> str:
    return cells(line)[5]  # ID STATUS LABEL DISPOSITION ORIGINATOR LEASE ABANDON


def no_line(follower: Follower) -> None:
    """Nothing is printed for `QUIET_S`."""
    time.sleep(QUIET_S)
    assert follower.lines.empty(), follower.lines.get()


def test_a_claim_a_release_and_a_takeover_print_the_row_again(
    registry_target: str, committer: Committer
) -> None:
    committer("register a")
    follower = Follower(registry_target, "ls", "--watch")
    assert cells(follower.next()[1])[5] == "LEASE"
    assert lease_cell(follower.next()[1]) == "-"
    committer("claim a w-1 60000")
    line = follower.next()[1]
    assert (cells(line)[0], lease_cell(line)) == ("a", "w-1")
    committer("release a")
    assert lease_cell(follower.next()[1]) == "-"
    committer("claim a w-2 60000")
    assert lease_cell(follower.next()[1]) == "w-2"
    # The table does not show the expiry: a renewal changes nothing it shows.
    committer("renew a 90000")
    no_line(follower)
    committer("register b")  # a record's change still prints that row, once
    assert cells(follower.next()[1])[0] == "b"
    no_line(follower)
    assert follower.interrupt() == (0, "")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_wide_shows_a_killed_holder_lapse_and_the_next_claim(registry_target: str) -> None:
    """`-o wide` shows the expiry: the holder is SIGKILLed (its lease left as it was), the
    expiry passes with no commit (the row is printed again, `lapsed`), another claims it,
    and its renewal moves the expiry (printed again)."""
    setup = Committer(registry_target)
    setup("register a")
    follower = Follower(registry_target, "ls", "--watch", "-o", "wide")
    header = follower.next()[1]
    assert "EXPIRES" in header
    assert cells(follower.next()[1])[0] == "a"
    doomed = Committer(registry_target)  # a worker holding `a`, then killed
    doomed("claim a w-1 2000")
    held = follower.next()[1]
    assert " w-1 " in held and re.search(r"\d+s left", held), held
    doomed.process.kill()
    doomed.process.wait(timeout=15)
    lapsed = follower.next(timeout=10)[1]
    assert " w-1 " in lapsed and "lapsed" in lapsed, lapsed
    setup("claim a w-2 60000")
    taken = follower.next()[1]
    assert " w-2 " in taken and re.search(r"\d+s left", taken), taken
    setup("renew a 120000")
    renewed = follower.next()[1]
    assert " w-2 " in renewed and re.search(r"(1m\d+s|2m) left", renewed), renewed
    assert follower.interrupt() == (0, "")
    setup.close()


def until_line(follower: Follower, wanted: Callable[[list[str]], bool]) -> list[str]:
    """The cells of the first line printed from now on that `wanted` accepts (a renewal
    prints the row again under `-o wide`: a run's lines come every half second)."""
    while True:
        line = follower.next(timeout=10)[1]
        if wanted(cells(line)):
            return cells(line)


def test_wide_shows_a_sigkilled_worker_lapse_and_the_worker_that_takes_over(
    tmp_path: Path, workers: list[Worker]
) -> None:
    """Real `lashtui worker` processes (TTL 1.5 s): the one running `held` is SIGKILLed; its
    lease's expiry passing is printed (no commit makes it), then the row as another worker
    takes it over (the sweep finds the holder dead and runs the rerunnable row again)."""
    db = tmp_path / "r.db"
    start(db, "held", steps({"sleep_ms": 600_000}))
    follower = Follower(str(db), "ls", "--watch", "-o", "wide")
    header = cells(follower.next()[1])
    lease, expires = header.index("LEASE"), header.index("EXPIRES")
    assert cells(follower.next()[1])[lease] == "-"
    first = Worker(db)
    workers.append(first)
    held = until_line(follower, lambda row: row[lease] != "-" and "left" in row[expires])
    first.kill()  # SIGKILL: its lease stays as it was, held, until it expires
    lapsed = until_line(follower, lambda row: "lapsed" in row[expires])
    assert lapsed[lease] == held[lease]
    second = Worker(db)
    workers.append(second)
    taken = until_line(follower, lambda row: row[lease] not in ("-", held[lease]))
    assert "left" in taken[expires], taken
    assert follower.interrupt() == (0, "")


@contextlib.contextmanager
def killed_after(*processes: subprocess.Popen[str]) -> Iterator[None]:
    """Each of `processes` killed if still running when the block ends (an assertion that
    fails leaves no watch running after the test)."""
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=15)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_table_prints_a_row_again_when_its_lease_lapses(registry_target: str) -> None:
    """The table has no EXPIRES column, and its LEASE cell named the holder whether or not
    the lease had run out: a holder's lease passing its expiry with no commit printed
    nothing (only `-o wide` did). Now the row is printed again at the expiry, its LEASE cell
    `w-1 (lapsed 1ms ago)`, as the dashboard says a lapse (it read `w-1 (lapsed)`); a
    renewal (which the table does not show) moves the timer with it, so the row is printed
    at the new expiry, not the old, and once only."""
    setup = Committer(registry_target)
    setup("register a")
    follower = Follower(registry_target, "ls", "--watch")
    holder = Committer(registry_target)
    with killed_after(follower.process, holder.process, setup.process):
        follower.next()  # the header
        assert lease_cell(follower.next()[1]) == "-"
        holder("claim a w-1 2000")
        assert lease_cell(follower.next()[1]) == "w-1"
        holder("renew a 3500")  # not printed; the lapse comes 3.5 s from now, not 2 s
        renewed_at = time.time()
        holder.process.kill()  # its lease stays as it was until it expires
        holder.process.wait(timeout=15)
        at, line = follower.next(timeout=10)
        assert cells(line)[0] == "a", line
        assert re.fullmatch(r"w-1 \(lapsed \d+ms ago\)", lease_cell(line)), line
        assert at - renewed_at > 3.0, at - renewed_at  # at the renewed expiry
        no_line(follower)  # once: a lapsed lease sets no timer
        assert follower.interrupt() == (0, "")
        setup.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_jsonl_prints_a_row_again_when_its_lease_lapses(registry_target: str) -> None:
    """JSONL: the row is printed again as its lease lapses (its `lease_expires_at_ms` then
    past the time the line was printed); before, nothing was printed."""
    setup = Committer(registry_target)
    setup("register a")
    follower = Follower(registry_target, "ls", "--watch", "-o", "jsonl")
    holder = Committer(registry_target)
    with killed_after(follower.process, holder.process, setup.process):
        assert json.loads(follower.next()[1])["process_id"] == "a"
        holder("claim a w-1 2000")
        claimed = json.loads(follower.next()[1])
        expires = claimed["lease_expires_at_ms"]
        holder.process.kill()
        holder.process.wait(timeout=15)
        at, line = follower.next(timeout=10)
        again = json.loads(line)
        assert again["process_id"] == "a" and again["lease_expires_at_ms"] == expires, again
        assert at * 1000 >= expires, (at * 1000, expires)
        no_line(follower)
        assert follower.interrupt() == (0, "")
        setup.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_table_prints_a_row_again_when_its_lease_no_longer_decodes(
    registry_target: str,
) -> None:
    """The table's LEASE cell says a lease that does not decode as the dashboard's LEASE
    column does (`w-1 (could not be decoded)`). The watch compared only the holder's id
    and the lapse, so another program's write that left the lease undecodable (its expiry
    made text), the same holder on record, printed nothing: the row kept reading as held."""
    import sqlite3

    setup = Committer(registry_target)
    setup("register a")
    setup("claim a w-1 600000")
    follower = Follower(registry_target, "ls", "--watch")
    with killed_after(follower.process, setup.process):
        follower.next()  # the header
        assert lease_cell(follower.next()[1]) == "w-1"
        other = sqlite3.connect(registry_target)  # another program, no rule about the row
        with other:
            other.execute("UPDATE process_leases SET lease_expires_at_ms = 'soon'")
        other.close()
        line = follower.next(timeout=10)[1]
        assert (cells(line)[0], lease_cell(line)) == ("a", "w-1 (could not be decoded)"), line
        no_line(follower)
        assert follower.interrupt() == (0, "")
        setup.close()
