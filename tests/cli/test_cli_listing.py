"""`lashtui ls -o json|jsonl` read without the models (lashtui/listing.py) against the same
command through the facade, as it ran before: every byte of stdout and stderr and the exit
status, over a real registry file holding rows of every shape the fast printer vouches for
and hostile ones it must leave to the models (stand-ins for rows that do not decode, unknown
fields, an id that is not UTF-8, control characters), for every option `ls` takes.

The facade's path is the reference: `lashtui.listing.eligible` is made to decline, which is
what sends every other `ls` there.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lashtui import listing
from lashtui.admin import processes as admin_processes
from lashtui.command import query
from lashtui.model import PAGE_CHARS
from lashtui.registry import open_registry
from tests.cli.template import in_process
from tests.cli.test_cli import LASHTUI
from tests.cli.test_cli_hostile import run_cli
from tests.raw import store_id_as_bytes
from tests.test_observed_json import LEASES, RECORDS, START_MS

Result = tuple[int, bytes, bytes]


def both(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[Result, Result]:
    """The fast read's result and the facade's, for the same command."""
    fast = run_cli(*argv)
    with monkeypatch.context() as patched:
        patched.setattr(listing, "eligible", lambda args: None)
        reference = run_cli(*argv)
    return fast, reference


HOSTILE_RECORDS = [
    "not json",
    '{"id": 1}',
    "[" * 300 + "]" * 300,
]


# Each row's originator scope (the lineage lens reads `owner_scope_id`), and its grants (the
# security lens reads the grants table), by the row's number.
SCOPES = ["host", "session:s", "session:s/frame:f", "session:s/frame:g", "session:st"]
GRANTS = [("session:s",), ("session:s/frame:f",), (), ("session:s", "session:s/frame:f")]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The store's file, then rows written raw as other programs would: every model-made
    record (with a lease on some), unknown fields, rows that do not decode, a label full of
    terminal controls, an id that is not UTF-8. For the lenses: rows originated by the host,
    by session `s` at its root and in two of its frames, and by a session whose id starts
    with `s`; grants to `session:s` and to its frame `f` (`SCOPES`, `GRANTS`)."""
    path = tmp_path_factory.mktemp("listing") / "r.db"

    async def make() -> None:
        async with open_registry(str(path)):
            pass

    asyncio.run(make())
    conn = sqlite3.connect(path, isolation_level=None)
    rows = []
    for n, record in enumerate(RECORDS):
        pid = f"p-{n:03d}"
        stored = record.model_copy(update={"id": pid})
        text = stored.stored_json() if n % 2 else stored.model_dump_json()
        if n % 9 == 4:  # an unknown field, which the models keep and print
            text = text[:-1] + ',"from_newer_lash":{"x":[1,2]}}'
        if n % 11 == 5:  # terminal controls and bidi in the label and the payload
            text = text.replace('"kind":"k"', '"kind":"\\u001b]0;pwned\\u0007\\u202e"', 1)
        rows.append((pid, stored.status.state.value, text, n))
    for n, text in enumerate(HOSTILE_RECORDS):
        rows.append((f"q-{n:03d}", ["running", "failed", "completed"][n % 3], text, n))
    for pid, status, text, n in rows:
        conn.execute(
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json) "
            "VALUES (?, 'h', ?, ?, ?, 0, ?, ?)",
            (pid, SCOPES[n % len(SCOPES)], START_MS, START_MS, status, text),
        )
        for scope in GRANTS[n % len(GRANTS)]:
            conn.execute(
                "INSERT INTO process_handle_grants (session_id, scope_id, process_id, "
                "descriptor_json) VALUES (?, ?, ?, '{}')",
                (scope.removeprefix("session:").partition("/")[0], scope, pid),
            )
        lease = LEASES[n % len(LEASES)]
        if lease is not None:
            conn.execute(
                "INSERT INTO process_leases (process_id, lease_owner_id, "
                "lease_owner_incarnation_id, lease_owner_liveness_json, lease_token, "
                "lease_fencing_token, lease_claimed_at_ms, lease_expires_at_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, *lease),
            )
    conn.close()
    store_id_as_bytes(str(path), "q-000", b"q-\xff-raw")
    yield path


ARGS = [
    (),
    ("-o", "jsonl"),
    ("--status", "any"),
    ("--status", "any", "-o", "jsonl"),
    ("--status", "completed"),
    ("--status", "failed", "--desc"),
    ("--status", "abandoned", "-o", "jsonl"),
    ("--status", "cancelled"),
    ("--waiting",),
    ("--not-waiting", "--status", "any"),
    ("--status", "completed", "--waiting"),  # no state at all: an empty list
    ("--status", "completed", "--waiting", "-o", "jsonl"),  # and nothing at all
    ("--status", "any", "--limit", "7"),
    ("--status", "any", "--limit", "7", "-o", "jsonl"),
    ("--status", "any", "--limit", "0"),
    ("--status", "any", "--after", "p-010", "--limit", "5"),
    ("--status", "any", "--after", "p-010", "--limit", "5", "--desc"),
    ("--status", "any", "--desc", "--limit", "3"),
    ("--status", "any", "--after", "zzz"),
    ("--status", "any", "--after", "\x1b[2J; rm -rf ~", "--limit", "1", "--desc"),
    ("--status", "any", "--sort", "label"),  # the facade's own (not this read's)
    # The lenses: the security lens (the grants to exactly that scope) and the lineage lens
    # (a frame: its own rows; a session's root: its rows and every frame's, not `st`'s).
    ("--status", "any", "--granted-to", "session:s"),
    ("--granted-to", "session:s/frame:f"),
    ("--status", "any", "--granted-to", "session:s/frame:f", "-o", "jsonl"),
    ("--status", "any", "--originated-by", "session:s"),
    ("--originated-by", "session:s", "-o", "jsonl"),
    ("--status", "any", "--originated-by", "session:s/frame:f"),
    ("--status", "completed", "--originated-by", "session:st"),
    ("--status", "any", "--granted-to", "session:none"),  # a scope holding none: `[]`
    ("--status", "any", "--originated-by", "session:none", "-o", "jsonl"),  # nothing
    ("--status", "any", "--originated-by", "session:\x1b]0;x\x07%_/frame:s%"),  # literal
    ("--waiting", "--originated-by", "session:s"),
    ("--status", "any", "--granted-to", "session:s", "--after", "p-010", "--limit", "5"),
    ("--status", "any", "--originated-by", "session:s", "--after", "p-030", "--limit", "4",
     "--desc"),
    ("--status", "any", "--originated-by", "session:s", "--limit", "3", "-o", "jsonl"),
    ("--status", "any", "--granted-to", "session:s", "--limit", "0"),
    ("--status", "any", "--granted-to", "session:s", "--sort", "label"),  # the facade's
]


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
@pytest.mark.parametrize(
    ("page", "chars"),
    [(listing.LS_PAGE, None), (3, None), (listing.LS_PAGE, 1)],
    ids=["page-2000", "page-3", "cut-by-size"],
)
def test_the_fast_read_prints_what_the_facade_prints(
    registry: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    page: int,
    chars: int | None,
) -> None:
    # Pages of 3 rows: the keyset paging, the row past the limit and the notice, many times.
    # Pages cut by size (one row each, as records of a mebibyte would be cut): the same
    # bytes again, each path reading on past its short pages.
    command = ("--db", str(registry), "ls", "--json", *args)
    whole = run_cli(*command) if chars is not None else None
    monkeypatch.setattr(listing, "LS_PAGE", page)
    monkeypatch.setattr(query, "LS_PAGE", page)
    if chars is not None:
        monkeypatch.setattr(listing, "LS_PAGE_CHARS", chars)
        monkeypatch.setattr(admin_processes, "PAGE_CHARS", chars)
    fast, reference = both(monkeypatch, *command)
    assert fast == reference
    assert whole is None or fast == whole
    assert gc.isenabled()  # paused for the read, not for the rest of a caller's process
    if args == ("--status", "any"):  # the rows are really there, stand-ins and all
        listed = json.loads(fast[1])
        assert len(listed) == len(RECORDS) + len(HOSTILE_RECORDS)
        assert sum("undecodable" in row for row in listed) == len(HOSTILE_RECORDS)
    if args == ("--status", "any", "--originated-by", "session:s"):  # and the lens selects
        numbers = [*range(len(RECORDS)), *range(len(HOSTILE_RECORDS))]  # (as `registry`)
        assert len(json.loads(fast[1])) == sum(n % len(SCOPES) in (1, 2, 3) for n in numbers)


def test_both_paths_cut_pages_at_the_same_size() -> None:
    assert listing.LS_PAGE_CHARS == PAGE_CHARS


# The rows of the copy `test_the_fast_read_serves_the_common_case` reads, by the row's
# number: `p-NNN` whose record names no unknown field (the hostile rows are pruned too).
VOUCHED = [n for n in range(len(RECORDS)) if n % 9 != 4]


@pytest.mark.parametrize(
    ("lens", "listed"),
    [
        ((), VOUCHED),
        (("--granted-to", "session:s"), [n for n in VOUCHED if n % len(GRANTS) in (0, 3)]),
        (("--originated-by", "session:s"), [n for n in VOUCHED if n % len(SCOPES) in (1, 2, 3)]),
        (("--originated-by", "session:s/frame:f"), [n for n in VOUCHED if n % len(SCOPES) == 2]),
    ],
    ids=["no-lens", "security-lens", "lineage-lens", "lineage-lens-frame"],
)
def test_the_fast_read_serves_the_common_case(
    registry: Path, tmp_path: Path, lens: tuple[str, ...], listed: list[int]
) -> None:
    """Not a decline in disguise: `ls --json` on these rows, with a lens or without, imports
    neither pydantic nor asyncio (the models only for the rows it cannot vouch for: here,
    none, since the hostile ones are pruned from this copy), and lists the rows it should."""
    copy = tmp_path / "vouched.db"
    copy.write_bytes(registry.read_bytes())
    conn = sqlite3.connect(copy)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(
        "DELETE FROM processes WHERE process_id LIKE 'q-%' OR record_json LIKE '%from_newer%'"
    )
    conn.commit()
    conn.close()
    probe = (
        "import sys; from lashtui.cli import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in ('pydantic', 'asyncio', 'lashtui.model') if m in sys.modules),"
        " file=sys.stderr); sys.exit(code)"
    )
    argv = ["--db", str(copy), "ls", "--json", "--status", "any", *lens]
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().strip() == "[]"
    assert [row["process_id"] for row in json.loads(done.stdout)] == [f"p-{n:03d}" for n in listed]


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_text("my notes\n" * 50),
        lambda p: p.touch(),
        lambda p: p.mkdir(),
    ],
    ids=["not-sqlite", "empty", "directory"],
)
def test_a_bad_file_gets_the_same_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: object
) -> None:
    path = tmp_path / "bad.db"
    make(path)  # type: ignore[operator]
    fast, reference = both(monkeypatch, "--db", str(path), "ls", "--json")
    assert fast == reference
    assert fast[0] == 1 and fast[1] == b"" and fast[2].count(b"\n") == 1


def test_a_registry_held_exclusively_gets_the_same_sentence(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer in exclusive locking mode with a commit in its -wal and no -shm: a read-only
    open cannot see that commit, and says so in the store's one sentence. (A read-only
    open of a file at rest is immutable and takes no lock, so a writer's lock alone cannot
    stop it; tests/registry/test_sqlite_file.py covers the locked sentence of the store.)"""
    copy = registry.parent / "held.db"
    copy.write_bytes(registry.read_bytes())
    holder = sqlite3.connect(copy, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("UPDATE processes SET updated_at_ms = 1 WHERE process_id = 'p-000'")
    holder.execute("BEGIN IMMEDIATE")
    try:
        fast, reference = both(monkeypatch, "--db", str(copy), "ls", "--json")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert fast == reference
    assert fast[0] == 1 and b"has commits in its -wal but no -shm" in fast[2]


def test_a_writer_that_starts_after_the_open_is_seen(registry: Path) -> None:
    """The read opened the file at rest (immutable, no lock); a writer then commits. The
    page is read again on a fresh connection, which sees the commit (as the store does)."""
    from lashtui.registry.sqlite.connect import READ_ONLY_BUSY_TIMEOUT_MS, connect_file

    copy = registry.parent / "overtaken.db"
    copy.write_bytes(registry.read_bytes())
    conn = connect_file(str(copy), True, False, READ_ONLY_BUSY_TIMEOUT_MS)
    assert conn.immutable_at is not None
    reader = listing._Reader(conn, str(copy))
    writer = sqlite3.connect(copy, isolation_level=None)
    try:
        writer.execute("UPDATE processes SET process_id = 'a-first' WHERE process_id = 'p-000'")
        page = listing._Page(frozenset(listing.ls_states("any", None) or ()), None, 1)
        rows, _, _ = reader.page(page, False)
    finally:
        writer.close()
        reader.conn.close()
    assert [row[1] for row in rows] == ["a-first"]
    assert reader.conn is not conn  # read again, on a connection opened afresh


def test_the_next_page_hint_reads_on_from_an_id_with_control_characters(tmp_path: Path) -> None:
    """`ls` ends a page with `--after ID` for the next one. An id holding a control
    character was quoted, then shown escaped (`--after 'a\\x0ab'`): another id, and
    following it skipped rows. Such an id is now written as `$'a\\x0ab'`, which a shell
    reads back as the id: followed through bash, the pages list every row once, in order."""
    db = str(tmp_path / "h.db")
    for pid in ("a\nb", "a\x1bc", "a b", "r-w", "a~z"):
        in_process(db, "start", pid, "--external")  # (setup: tests/cli/template.py says why)
    store_id_as_bytes(db, "r-w", b"r\xffw")  # (another program's id, not UTF-8)
    everything = subprocess.run(
        [LASHTUI, "--db", db, "ls", "--limit", "0", "--json"], capture_output=True, timeout=60
    )
    ids = [p["process_id"] for p in json.loads(everything.stdout)]
    seen: list[str] = []
    after = ""
    while True:
        page = subprocess.run(
            ["bash", "-c", f"{LASHTUI} --db {db} ls --limit 1 --json {after}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert page.returncode == 0, page.stderr
        seen += [p["process_id"] for p in json.loads(page.stdout)]
        if "--after " not in page.stderr:
            break
        hint = page.stderr.split("--after ", 1)[1].split(" for the next page")[0]
        assert "\x1b" not in hint and "\n" not in hint
        after = f"--after {hint}"
        assert len(seen) <= len(ids), seen
    assert seen == ids and len(ids) == 5
