"""Small defects of the command line an audit of the README found, each through the
installed `lashtui` in its own OS process: a signal to an id too long for a signal's
replay key, the refusals of `rerun` and `transfer` on a long id, a bad `--as`, the
columns of `ls --watch`, the page notice's plural, and the times `errors` and `audit`
print."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path

from lashtui.model import failure
from lashtui.registry import open_registry
from tests.builders import ext
from tests.cli.template import in_process
from tests.cli.test_cli import lashtui
from tests.cli.test_cli_follow import Follower
from tests.raw import copy_row

WAIT_APPROVE = json.dumps({"steps": [{"wait_signal": "approve"}]})

# A time as `show` prints it (tui/format.py `timestamp`).
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z"


def with_foreign_row(path: Path, process_id: str) -> None:
    """A registry holding `good`, a steps process waiting for `approve`, and a copy of it
    under `process_id`, as another program with no id limit could have stored it. (`good`
    is started in this process: tests/cli/template.py says why.)"""
    in_process(
        path, "start", "good", "--engine", "steps", "--payload", WAIT_APPROVE,
        "--disposition", "rerunnable", "--grant", "session:a",
    )  # fmt: skip
    conn = sqlite3.connect(path)
    (record,) = conn.execute("SELECT record_json FROM processes").fetchone()
    conn.close()
    copy_row(path, "good", process_id, record.replace('"good"', json.dumps(process_id)))


def refused_line(result: object, process_id: str) -> tuple[str, str]:
    """The one stdout line and the one stderr line of a refused single target."""
    assert result.returncode == 1, result.stderr[-400:]  # type: ignore[attr-defined]
    (printed,) = result.stdout.splitlines()  # type: ignore[attr-defined]
    (said,) = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert printed.startswith(process_id[:100]) and ": refused: " in printed, printed[-400:]
    assert said.startswith("lashtui: "), said[-400:]
    return printed, said


def test_a_signal_to_an_id_too_long_for_its_replay_key_is_the_targets_refusal(
    tmp_path: Path,
) -> None:
    """The key is `process:<id>:signal.<name>:<signal id>`: for an id of 2,030 characters
    (another program's) it is over 2,048, and the refusal escaped as the command's error,
    "a replay key may be at most 2,048 characters", a key the operator never gave, with no
    line for the target."""
    db = tmp_path / "reg.db"
    long_id = "q" * 2030
    with_foreign_row(db, long_id)
    why = (
        "has an id of 2,030 characters, too long for the replay key a signal is stored under "
        "(`process:<id>:signal.<name>:<signal id>`, here 2,086 characters; at most 2,048), "
        "so nothing was sent"
    )
    printed, said = refused_line(lashtui("signal", long_id, "approve", db=db), long_id)
    assert printed.endswith(why) and said.endswith(why), printed[-300:]
    as_json = lashtui("signal", long_id, "approve", "--json", db=db)
    assert as_json.returncode == 1
    outcome = json.loads(as_json.stdout)
    assert (outcome["process_id"], outcome["outcome"]) == (long_id, "refused")
    assert outcome["sentence"].endswith(why)
    # Nothing was stored, and a signal to an id that fits is sent as ever.
    events = lashtui("events", long_id, "--json", db=db)
    assert json.loads(events.stdout) == [], events.stderr
    assert lashtui("signal", "good", "approve", db=db).returncode == 0


def test_rerun_and_transfer_refusals_of_a_long_id_say_why_whole(tmp_path: Path) -> None:
    """Their sentences quoted an id of 5,000 characters whole, so the line, bounded at
    4,096 characters, ended inside the id and never said why (stdout and stderr)."""
    db = tmp_path / "reg.db"
    long_id = "q" * 5000
    with_foreign_row(db, long_id)
    quoted = f"`{'q' * 64}…`"
    rerun = lashtui("rerun", long_id, db=db)
    printed, said = refused_line(rerun, long_id)
    for line in (printed, said):
        assert f"process {quoted} cannot be run again" in line, line[-400:]
        assert line.endswith("so its input is unknown"), line[-400:]
    transfer = lashtui("transfer", "--from", "session:b", "--to", "session:c", long_id, db=db)
    printed, said = refused_line(transfer, long_id)
    for line in (printed, said):
        assert line.endswith(f"process handle {quoted} is not granted to session `b`"), line[-300:]
    # `--json` keeps the sentence whole, the id in it too.
    as_json = lashtui("rerun", long_id, "--json", db=db)
    (outcome,) = json.loads(as_json.stdout)
    assert f"process `{long_id}` cannot be run again" in outcome["sentence"]


def test_an_operator_name_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    """`--as 'x y'` exited 1, as if the registry had refused it, where an `--as` that is not
    UTF-8 exits 2: both are a bad value of an option."""
    db = tmp_path / "reg.db"
    in_process(db, "start", "p", "--external")
    for argv, flag in (
        (("--as", "x y", "cancel", "p"), "--as"),
        (("cancel", "p", "--as", "x\x1b[2Jy"), "--as"),
        (("abandon", "p", "--by", "dana smith"), "--by"),
    ):
        result = lashtui(*argv, db=db)
        assert result.returncode == 2, (argv, result.returncode, result.stderr)
        last = result.stderr.splitlines()[-1]
        assert f"error: argument {flag} must be 1 to 128 printable characters" in last, last
        assert "\x1b" not in result.stderr
    assert "x\\x1b[2Jy" in lashtui("cancel", "p", "--as", "x\x1b[2Jy", db=db).stderr
    assert "'x y'" in lashtui("--as", "x y", "cancel", "p", db=db).stderr
    audit = lashtui("audit", "--json", db=db)
    assert json.loads(audit.stdout)["entries"] == [], audit.stdout  # nothing was done
    # audit's `--by` is a filter, not a name an action records: any text is looked for.
    assert lashtui("audit", "--by", "x y", db=db).returncode == 0


def test_ls_watch_prints_the_list_as_ls_aligns_it(tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    in_process(db, "start", "a", "--external")
    in_process(db, "start", "bb", "--external", "--label", "a longer label")
    listed = lashtui("ls", db=db).stdout.splitlines()
    follower = Follower(str(db), "ls", "--watch")
    try:
        watched = [follower.next()[1] for _ in listed]
        assert watched == listed
        # A change after the list is in the same columns.
        assert lashtui("start", "c", "--external", db=db).returncode == 0
        line = follower.next()[1]
        header = listed[0]
        for column, cell in (("STATUS", "running"), ("DISPOSITION", "externally_owned")):
            assert line.index(cell) == header.index(column), (line, header)
    finally:
        assert follower.interrupt()[0] == 0


def cells(line: str) -> list[str]:
    """A table line's cells (two spaces or more apart; a label here holds single ones),
    without the wide table's AGE and UPDATED, which count from when the line is printed."""
    found = re.split(r"\s{2,}", line)
    return found[:-2] if len(found) == 12 else found


def test_ls_watch_prints_each_format_ls_does_or_refuses_it(tmp_path: Path) -> None:
    """`ls --watch -o wide` printed the narrow table, and `-o json` printed JSONL, one
    object a line, not the one document `ls -o json` prints: `-o wide` now prints `ls -o
    wide`'s table and changes in its columns, `-o jsonl` `ls -o jsonl`'s lines, and `-o
    json` (or `--json`) is refused in one sentence (a stream cannot close a document)."""
    db = tmp_path / "reg.db"
    in_process(db, "start", "a", "--external")
    in_process(db, "start", "bb", "--external", "--label", "a longer label")
    listed = lashtui("ls", "-o", "wide", db=db).stdout.splitlines()
    assert listed[0].split()[:4] == ["ID", "STATUS", "LABEL", "WHY"], listed
    follower = Follower(str(db), "ls", "--watch", "-o", "wide")
    try:
        watched = [follower.next()[1] for _ in listed]
        # The same header, aligned alike up to the ages: AGE's width follows its values,
        # which count from when each table is printed (a slow machine prints `1m 5s`).
        assert watched[0].split() == listed[0].split()
        age = listed[0].index("AGE")
        assert watched[0][:age] == listed[0][:age]
        assert [cells(line) for line in watched] == [cells(line) for line in listed]
        assert lashtui("start", "c", "--external", db=db).returncode == 0
        line = follower.next()[1]  # a change, in the wide table's columns
        assert len(re.split(r"\s{2,}", line)) == 12, line
        assert line.index("externally_owned") == listed[0].index("DISPOSITION"), line
    finally:
        assert follower.interrupt()[0] == 0

    lines = lashtui("ls", "-o", "jsonl", db=db).stdout.splitlines()
    follower = Follower(str(db), "ls", "--watch", "-o", "jsonl")
    try:
        assert [follower.next()[1] for _ in lines] == lines
    finally:
        assert follower.interrupt()[0] == 0

    for flags in (["-o", "json"], ["--json"]):
        refused = lashtui("ls", "--watch", *flags, db=db)
        assert refused.returncode == 2, refused
        assert refused.stdout == ""
        assert refused.stderr.splitlines()[-1] == (
            "lashtui ls: error: argument --watch: not with -o json (or --json), one JSON "
            "document, which a list that never ends cannot close: -o jsonl prints one JSON "
            "object a line"
        ), refused.stderr


def test_the_page_notice_counts_one_process_in_the_singular(tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    for pid in ("a", "b", "c"):
        in_process(db, "start", pid, "--external")
    one = lashtui("ls", "--limit", "1", db=db).stderr.strip()
    assert one == (
        "lashtui: showing the first matching process; --after a for the next page, "
        "--limit 0 for all"
    )
    two = lashtui("ls", "--limit", "2", db=db).stderr.strip()
    assert two.startswith("lashtui: showing the first 2 matching processes;"), two


def test_errors_and_audit_print_times_as_show_does(tmp_path: Path) -> None:
    """`errors` printed `2026-12-06T19:40:01.123Z` and `audit` `2026-12-06T19:40:01Z`,
    where `show` prints `2026-12-06 19:40:01.123Z`: one format in every human output."""
    db = tmp_path / "reg.db"

    async def build() -> None:
        async with open_registry(str(db), create=True) as registry:
            await registry.register_process(ext("f"))
            await registry.complete_process("f", failure("timeout", "no answer"))
            await registry.register_process(ext("p"))

    asyncio.run(build())
    assert lashtui("cancel", "p", db=db).returncode == 0  # an entry in the audit
    show = lashtui("show", "f", db=db).stdout
    assert re.search(rf"created +\S+ ago \({TIME}\)", show), show
    errors = lashtui("errors", db=db).stdout.splitlines()
    assert re.fullmatch(rf"failed +1 +{TIME} +{TIME} +timeout +no answer", errors[2]), errors
    (entry,) = lashtui("audit", db=db).stdout.splitlines()
    assert re.match(rf"{TIME}  \S+  cancel  p  requested: ", entry), entry
    # JSON keeps its own: epoch milliseconds.
    (group,) = json.loads(lashtui("errors", "--json", db=db).stdout)["groups"]
    assert isinstance(group["first_seen_ms"], int)


def test_prune_names_its_cutoff_as_show_prints_a_time(tmp_path: Path) -> None:
    """`prune`'s sentence named its cutoff `2100-01-01 00:00:00 UTC`, a fourth format beside
    the one `show`, `errors` and `audit` print (628717e): a dry run's, a prune's and a prune
    with nothing to delete now name it as they print a time."""
    db = tmp_path / "reg.db"

    async def build() -> None:
        async with open_registry(str(db), create=True) as registry:
            await registry.register_process(ext("f"))
            await registry.complete_process("f", failure("timeout", "no answer"))

    asyncio.run(build())
    cutoff = "4102444800000"  # 2100-01-01, after every row
    dry = lashtui("prune", "--before", cutoff, "--dry-run", db=db)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("unchanged: would prune 1 terminal process and "), dry.stdout
    assert " last changed before 2100-01-01 00:00:00.000Z; " in dry.stdout, dry.stdout
    pruned = lashtui("prune", "--before", cutoff, db=db)
    assert re.fullmatch(
        r"done: pruned 1 terminal process and \d+ events? last changed before "
        r"2100-01-01 00:00:00\.000Z\n", pruned.stdout
    ), pruned.stdout  # fmt: skip
    none = lashtui("prune", "--before", "0", db=db)
    assert "last changed before 1970-01-01 00:00:00.000Z: " in none.stdout, none.stdout
    assert "UTC" not in dry.stdout + pruned.stdout + none.stdout
