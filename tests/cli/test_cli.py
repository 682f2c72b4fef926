"""The installed `lashtui` command, run as a subprocess against a registry file: the happy
path a script takes, and every error path (one line on stderr naming the bad value, exit 1,
the file left as it was)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lashtui.model import (
    ProcessHandleDescriptor,
    ProcessProvenance,
    SessionOriginator,
    SessionScope,
    SuccessOutput,
)
from lashtui.registry import open_registry
from tests.builders import ext
from tests.cli.template import in_process

LASHTUI = str(Path(sys.executable).parent / "lashtui")
WAIT_STEPS = json.dumps(
    {"steps": [{"emit": {"type": "job.note", "payload": 1}}, {"wait_signal": "approve"}]}
)


def lashtui(
    *args: str, db: Path | None = None, timeout: float = 60, **kw: object
) -> subprocess.CompletedProcess[str]:
    argv = [LASHTUI, *(("--db", str(db)) if db else ()), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload, no-any-return]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lashtui: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """`job`, a steps process waiting for `approve`, granted to session:alice: started by
    the command's own code in this process (tests/cli/template.py says why)."""
    path = tmp_path / "reg.db"
    in_process(
        path, "start", "job", "--engine", "steps", "--payload", WAIT_STEPS,
        "--disposition", "rerunnable", "--grant", "session:alice", "--label", "job",
    )  # fmt: skip
    return path


@pytest.fixture
def worker(db: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        # --grace 0: `job` parks on a signal, and stopping would wait the default 30 s for it
        [LASHTUI, "--db", str(db), "worker", "--ttl-ms", "3000", "--grace", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    process.terminate()
    process.communicate(timeout=30)


def test_start_ls_signal_await_events(db: Path, worker: subprocess.Popen[str]) -> None:
    listed = lashtui("ls", "--json", "--granted-to", "session:alice", db=db)
    assert listed.returncode == 0, listed.stderr
    assert [p["process_id"] for p in json.loads(listed.stdout)] == ["job"]
    waiting = lashtui("await", "job", "--timeout", "0.2", db=db)
    one_line_error(waiting, "process `job` did not finish within 0.2s")
    sent = lashtui(
        "signal", "job", "approve", "--signal-id", "s1", "--payload", '"yes"', "--json", db=db
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["event"]["event_type"] == "signal.approve"
    done = lashtui("await", "job", "--timeout", "20", "--json", db=db)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"type": "success", "value": "yes"}
    events = json.loads(lashtui("events", "job", "--json", db=db).stdout)
    types = [e["event_type"] for e in events]
    assert types[0] == "job.note" and types[-1] == "process.completed"
    assert "signal.approve" in types and "process.resumed" in types
    shown = json.loads(lashtui("show", "job", "--json", db=db).stdout)
    assert shown["lifecycle"] == "completed" and shown["first_started"]["owner"]["owner_id"]


def test_cancel_abandon_transfer_prune(db: Path) -> None:
    assert (
        lashtui(
            "start", "ext", "--external", "--label", "placeholder", "--grant", "session:a", db=db
        ).returncode
        == 0
    )
    cancelled = json.loads(lashtui("cancel", "job", "--json", db=db).stdout)
    # lash's ProcessCancelSummary fields stay at the top of the outcome document.
    assert {k: cancelled[k] for k in ("process_id", "status", "outcome")} == {
        "process_id": "job",
        "status": "running",
        "outcome": "requested",
    }
    abandoned = lashtui("abandon", "ext", "--by", "operator", "--reason", "gone", db=db)
    assert abandoned.returncode == 0 and "will abandon" in abandoned.stdout
    assert (
        lashtui("transfer", "--from", "session:a", "--to", "session:b", "ext", db=db).returncode
        == 0
    )
    moved = json.loads(lashtui("ls", "--json", "--granted-to", "session:b", db=db).stdout)
    assert [p["process_id"] for p in moved] == ["ext"]
    swept = lashtui("sweep", "--once", db=db)
    assert swept.returncode == 0, swept.stderr
    report = json.loads(lashtui("prune", "--older-than", "0s", "--json", db=db).stdout)
    assert report["pruned_processes"] >= 1
    assert lashtui("show", "ext", db=db).returncode == 1


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("show", "nope"), ("unknown process `nope`",)),
        (("cancel", "nope"), ("unknown process `nope`",)),
        (("signal", "job", "bad!"), ("got `bad!`",)),
        (
            ("signal", "job", "approve", "--payload", "{bad"),
            ("--payload is not valid JSON", "`{bad`"),
        ),
    ],
)
def test_bad_values_are_one_line_and_change_nothing(
    db: Path, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    before = digest(db)
    one_line_error(lashtui(*args, db=db), *needles)
    assert digest(db) == before


def test_a_wrong_version_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    before = digest(path)
    for args in (("ls",), ("start", "x", "--external")):
        one_line_error(
            lashtui(*args, db=path), "the database reports version 3 — lashtui also reads",
            "lash's versions 6 and 21 to 24"
        )
    assert digest(path) == before


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database at all\n")
    before = digest(path)
    for args in (("ls",), ("start", "x", "--external"), ("cancel", "x")):
        one_line_error(lashtui(*args, db=path), f"not a lash process registry: {path}")
    assert digest(path) == before


def test_missing_directory_and_missing_file(tmp_path: Path) -> None:
    missing_dir = tmp_path / "nowhere" / "reg.db"
    one_line_error(
        lashtui("start", "x", "--external", db=missing_dir),
        f"directory `{missing_dir.parent}` does not exist",
    )
    missing = tmp_path / "typo.db"
    # The store's sentence, and the command line's advice after it (a Python caller of
    # open_registry gets the sentence alone: tests/registry/test_sqlite_file.py).
    said = (
        f"no process registry at `{missing}`: no such file (only `start`, `worker` and `demo` "
        "create one; check --db or $LASHTUI_DB)"
    )
    one_line_error(lashtui("ls", db=missing), said)
    one_line_error(lashtui("ls", "-o", "json", db=missing), said)
    one_line_error(lashtui("cancel", "x", db=missing), said)
    assert not missing.exists()


def _without_root_overrides() -> tuple[str, ...]:
    """Root ignores file modes; without CAP_DAC_OVERRIDE (and FOWNER) a 0444 file is really
    read-only, even for root."""
    if os.geteuid() != 0:
        return ()
    return ("setpriv", "--bounding-set=-dac_override,-fowner", "--")


def test_a_read_only_file_reads_but_refuses_writes_unchanged(db: Path) -> None:
    db.chmod(0o444)
    before = digest(db)
    prefix = _without_root_overrides()
    run = [*prefix, LASHTUI, "--db", str(db)]
    listed = subprocess.run([*run, "ls", "--json"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert [p["process_id"] for p in json.loads(listed.stdout)] == ["job"]
    refused = subprocess.run([*run, "cancel", "job"], capture_output=True, text=True, timeout=60)
    one_line_error(refused, f"process registry `{db}` is read-only")
    assert digest(db) == before


def test_help_does_not_load_the_dashboard() -> None:
    code = (
        "import sys\nfrom lashtui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('textual' in sys.modules, 'rich' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stderr.strip() == "False False"
    assert "usage: lashtui" in result.stdout


def test_usage_errors_exit_2() -> None:
    assert lashtui("frobnicate").returncode == 2
    assert lashtui("prune").returncode == 2


# --- ls in pages --------------------------------------------------------------------------

MANY = 23
NEXT_PAGE = re.compile(r"^lashtui: showing the first (\d+) matching processes(?: after `[^`]*`)?; "
                       r"--after (\S+) for the next page, --limit 0 for all$")  # fmt: skip


@pytest.fixture
async def many(tmp_path: Path) -> Path:
    """23 processes `p-00`..`p-22`: every third completed, the rest running; the even ones
    granted to session:a; those divisible by 5 originated by session:o."""
    path = tmp_path / "many.db"
    async with open_registry(str(path), create=True) as registry:
        for n in range(MANY):
            pid = f"p-{n:02d}"
            kw = {}
            if n % 5 == 0:
                originator = SessionOriginator(scope=SessionScope(session_id="o"))
                kw["provenance"] = ProcessProvenance(originator=originator)
            await registry.register_process(ext(pid, **kw))
            if n % 2 == 0:
                descriptor = ProcessHandleDescriptor(label=pid)
                await registry.grant_handle(SessionScope(session_id="a"), pid, descriptor)
            if n % 3 == 0:
                await registry.complete_process(pid, SuccessOutput(value=n))
    return path


def read_pages(db: Path, limit: int, *args: str) -> list[list[str]]:
    """Every page of `ls --json --limit N ARGS`, following the stderr notice's --after."""
    pages: list[list[str]] = []
    after: tuple[str, ...] = ()
    while True:
        listed = lashtui("ls", "--json", "--limit", str(limit), *args, *after, db=db)
        assert listed.returncode == 0, listed.stderr
        pages.append([p["process_id"] for p in json.loads(listed.stdout)])
        if not listed.stderr:
            return pages
        notice = NEXT_PAGE.match(listed.stderr.strip())
        assert notice is not None and len(listed.stderr.splitlines()) == 1, listed.stderr
        assert int(notice[1]) == len(pages[-1]) == limit
        assert notice[2] == pages[-1][-1]
        after = ("--after", notice[2])
        assert len(pages) <= MANY, "the pages never ended"


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (("--status", "any"), range(MANY)),
        ((), [n for n in range(MANY) if n % 3]),  # running, the default: 15 rows
        (("--status", "completed"), [n for n in range(MANY) if n % 3 == 0]),  # 8: pages of 4
        (("--granted-to", "session:a", "--status", "any"), range(0, MANY, 2)),
        (("--originated-by", "session:o", "--not-waiting"), [5, 10, 20]),
        (("--status", "any", "--waiting"), []),
        # sorted: running ('running' > 'completed') first, ids descending within each status
        (
            ("--status", "any", "--sort", "status", "--desc"),
            [n for n in reversed(range(MANY)) if n % 3]
            + [n for n in reversed(range(MANY)) if n % 3 == 0],
        ),
        (("--granted-to", "session:a", "--sort", "age", "--desc"), [2, 4, 8, 10, 14, 16, 20, 22]),
    ],
)
def test_ls_pages_through_every_matching_row_exactly_once(
    many: Path, args: tuple[str, ...], wanted: range | list[int]
) -> None:
    pages = read_pages(many, 4, *args)
    assert [pid for page in pages for pid in page] == [f"p-{n:02d}" for n in wanted]
    assert all(len(page) == 4 for page in pages[:-1])  # every page but the last is full
    # A last page that comes out exactly full says nothing more: ls read one row past it.
    assert len(pages[-1]) == len(wanted) % 4 or (len(wanted) % 4 == 0 and len(pages[-1]) == 4)


def test_ls_says_on_stderr_when_it_stopped_at_the_limit(many: Path) -> None:
    everything = lashtui("ls", "--json", "--status", "any", "--limit", "0", db=many)
    assert everything.returncode == 0 and everything.stderr == ""
    assert len(json.loads(everything.stdout)) == MANY
    default = lashtui("ls", "--json", "--status", "any", db=many)  # under the default 1000
    assert default.stderr == "" and json.loads(default.stdout) == json.loads(everything.stdout)

    cut = lashtui("ls", "--json", "--status", "any", "--limit", "2", "--after", "p-03", db=many)
    assert cut.returncode == 0, cut.stderr
    assert [p["process_id"] for p in json.loads(cut.stdout)] == ["p-04", "p-05"]
    assert cut.stderr == (
        "lashtui: showing the first 2 matching processes after `p-03`; "
        "--after p-05 for the next page, --limit 0 for all\n"
    )
    table = lashtui("ls", "--limit", "1", db=many)  # the table says it too
    assert table.returncode == 0 and table.stdout.splitlines()[1].startswith("p-01 ")
    assert "--after p-01 for the next page" in table.stderr


@pytest.mark.parametrize("value", ["-1", "abc", "1.5"])
def test_a_bad_limit_is_a_usage_error_naming_it(db: Path, value: str) -> None:
    before = digest(db)
    result = lashtui("ls", "--limit", value, db=db)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "lashtui ls: error: argument --limit: "
        f"a limit is a whole number of processes, 0 for no limit, got `{value}`"
    )
    assert digest(db) == before


def test_ls_waiting_lists_a_process_parked_on_a_signal(
    db: Path, worker: subprocess.Popen[str]
) -> None:
    deadline = time.monotonic() + 20  # a guard: the worker parks `job` on its signal
    while True:
        waiting = lashtui("ls", "--json", "--waiting", db=db)
        assert waiting.returncode == 0, waiting.stderr
        if json.loads(waiting.stdout):
            break
        assert time.monotonic() < deadline, "the job never waited"
        time.sleep(0.1)
    assert [p["process_id"] for p in json.loads(waiting.stdout)] == ["job"]
    for args in (("--not-waiting",), ("--status", "completed", "--waiting")):
        assert json.loads(lashtui("ls", "--json", *args, db=db).stdout) == []
