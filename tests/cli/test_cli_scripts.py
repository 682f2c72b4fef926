"""The command line for scripts (issue 18, items 6 and 9): global options before or after the
subcommand, `-o table|wide|json|jsonl` on every read, `show` as the detail view reads, the
event log's time column, `sweep` and `worker --once` in words unless asked for JSON, and
help text on every option."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest

from lashtui.cli import build_parser, main
from lashtui.parser.subcommand import OUTPUTS
from lashtui.registry import open_registry
from tests.builders import ob, started
from tests.registry.rows import claim

STEPS_OK = json.dumps(
    {
        "steps": [
            {"emit": {"type": "job.note", "payload": {"text": "\x1b[31mred"}}},
            {"finish": "ok"},
        ]
    }
)
STEPS_FAIL = json.dumps({"steps": [{"fail": {"code": "E1", "message": "boom"}}]})


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """`job` (completed after a note event, granted to session:alice), `bad` (failed E1),
    `ext` (a running external placeholder, its cancel requested by dana), run by one
    `worker --once`."""
    monkeypatch.delenv("LASHTUI_DB", raising=False)
    path = tmp_path / "reg.db"
    db = str(path)
    job = ("--engine", "steps", "--disposition", "rerunnable")
    assert run(capsys, "--db", db, "start", "job", *job, "--payload", STEPS_OK,
               "--grant", "session:alice", "--label", "my job")[0] == 0  # fmt: skip
    assert run(capsys, "--db", db, "start", "bad", *job, "--payload", STEPS_FAIL)[0] == 0
    assert run(capsys, "--db", db, "start", "ext", "--external", "--label", "ext")[0] == 0
    code, out, _ = run(capsys, "--db", db, "worker", "--once")
    # (the external placeholder is looked at too, and left to its owner)
    assert (code, out) == (0, "worker: one pass, 3 rows looked at: 2 ran, 1 untouched\n")
    assert run(capsys, "--db", db, "--as", "dana", "cancel", "ext")[0] == 0
    return path


# --- item 6: global options anywhere ---------------------------------------------------------


def test_db_works_before_and_after_the_subcommand(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = run(capsys, "--db", str(db), "ls", "--json")
    after = run(capsys, "ls", "--json", "--db", str(db))
    assert before[0] == after[0] == 0
    assert before[1] == after[1] and [p["process_id"] for p in json.loads(after[1])] == ["ext"]
    # Given both, the later (the subcommand's) wins: the missing file is never opened.
    missing = tmp_path / "missing.db"
    assert run(capsys, "--db", str(missing), "ls", "--json", "--db", str(db))[1] == after[1]
    code, _, err = run(capsys, "--db", str(db), "ls", "--db", str(missing))
    assert code == 1 and str(missing) in err and not missing.exists()


def test_every_subcommand_takes_the_global_options_after_it() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        flags = {flag for action in command._actions for flag in action.option_strings}
        assert {"--db", "--as"} <= flags, name
    # Not given after the subcommand, the global value stays (SUPPRESS, not None).
    args = parser.parse_args(["--db", "x.db", "--as", "dana", "cancel", "p"])
    assert (args.db, args.operator) == ("x.db", "dana")
    args = parser.parse_args(["--as", "dana", "cancel", "p", "--as", "erin"])
    assert args.operator == "erin"


def test_as_after_any_action_is_recorded(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "abandon", "ext", "--db", str(db), "--as", "erin")
    assert code == 0 and "requested by erin" in out
    code, out, _ = run(capsys, "audit", "--db", str(db), "-o", "jsonl")
    assert code == 0 and json.loads(out.splitlines()[0])["operator"] == "erin"


def test_by_names_who_asks_and_the_audit_keeps_the_operator(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`abandon --by WHO` (and `end-undecodable --by`) names who asks; the audit trail took
    it for the operator, so the operator who ran the command (`--as`) was nowhere in it and
    `audit --by` could not find them. It records the operator now, and who asked beside."""
    code, out, _ = run(capsys, "--db", str(db), "--as", "ops", "abandon", "ext", "--by",
                       "mallory", "--reason", "r")  # fmt: skip
    assert code == 0 and "requested by mallory" in out
    code, out, _ = run(capsys, "--db", str(db), "audit", "--by", "ops", "-o", "jsonl")
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert (entry["operator"], entry["action"]) == ("ops", "abandon")
    assert entry["detail"] == {"reason": "r", "requested_by": "mallory"}
    assert run(capsys, "--db", str(db), "audit", "--by", "mallory")[1].count("abandon") == 0


def test_an_end_by_someone_else_is_the_operators_in_the_audit(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE processes SET record_json = '{bad' WHERE process_id = 'ext'")
    code, _, err = run(capsys, "--db", str(db), "--as", "ops", "end-undecodable", "ext",
                       "--by", "mallory", "--reason", "mended")  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "--db", str(db), "events", "ext", "--json")
    assert json.loads(out)[-1]["payload"]["await_output"]["message"].endswith(
        "ended by mallory: mended"
    )
    code, out, _ = run(capsys, "--db", str(db), "audit", "--by", "ops", "-o", "jsonl")
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert entry["action"] == "end-undecodable"
    assert entry["detail"] == {"reason": "mended", "by": "mallory"}


def test_a_start_given_again_says_nothing_started(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`job` completed (the fixture's worker pass). The same start again printed `started
    job (rerunnable)`, and added its grant without a word (a replay re-grants: semantics
    §5.2)."""
    job = ("--engine", "steps", "--disposition", "rerunnable", "--payload", STEPS_OK,
           "--label", "my job")  # fmt: skip
    code, out, _ = run(capsys, "--db", str(db), "start", "job", *job, "--grant", "session:eve")
    assert code == 0
    assert out == (
        "unchanged: job was started before with the same registration and is completed: "
        "nothing started again; granted to session:eve (a start given again grants)\n"
    )
    granted = ("ls", "--granted-to", "session:eve", "--status", "any")
    code, out, _ = run(capsys, "--db", str(db), *granted)
    assert code == 0 and "job" in out
    code, out, _ = run(capsys, "--db", str(db), "start", "new", *job)
    assert (code, out) == (0, "started new (rerunnable)\n")


def test_a_row_ended_as_undecodable_is_not_run_again_as_a_placeholder(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`end-undecodable` saves the stand-in's placeholders (an external input, externally
    owned) in place of the record it could not read. `rerun` then made a copy of those: an
    externally owned process nobody owns, where `job` was a rerunnable steps process, and
    `show` said `disposition externally_owned`, input `{"type":"external"}`."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE processes SET record_json = 'notjson' WHERE process_id = 'job'")
    assert run(capsys, "--db", str(db), "end-undecodable", "job", "--reason", "fix")[0] == 0
    code, _, err = run(capsys, "--db", str(db), "rerun", "job")
    assert code == 1
    assert "cannot be run again: its record could not be decoded when it was ended" in err
    code, out, _ = run(capsys, "--db", str(db), "show", "job")
    assert code == 0 and "disposition    unknown" in out, out
    assert "input:  unknown: it is in the record that could not be decoded" in out
    assert "external" not in out and "ended by" in out  # (the output, its own, is shown)


def test_an_abandon_request_honoured_on_an_external_row_says_so(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sweep honours an abandon request on an externally owned row, which has no lease:
    its WHY said `abandon request, lease lapsed`, and its ABANDON column still said
    `requested` after the request was honoured."""
    assert run(capsys, "--db", str(db), "abandon", "ext", "--reason", "gone")[0] == 0
    assert run(capsys, "--db", str(db), "sweep")[0] == 0
    code, out, _ = run(capsys, "--db", str(db), "ls", "--status", "any", "-o", "wide")
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("ext ")]
    assert "abandon request honoured (externally owned: it had no lease)" in line, line
    assert "lease lapsed" not in line and " honoured  " in line and "requested  " not in line


def test_a_sweep_says_why_it_leaves_started_owner_bound_work_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its owner holds no live lease, so the sweep's claim took the row without looking at
    the owner (semantics §8): it said "owner may be alive" of a worker killed on this host.
    The lease here was released, as an orderly stop without `--drain` leaves it (README, the
    worker as a service): the line said "its lease had lapsed", an expiry that never came."""
    db = str(tmp_path / "s.db")

    async def released() -> None:
        async with open_registry(db) as registry:
            await registry.register_process(ob("k3"))
            lease = await claim(registry, "k3", "gone")
            await registry.record_first_started("k3", started("gone"), lease)
            await registry.release_process_lease(lease)

    asyncio.run(released())
    code, out, _ = run(capsys, "--db", db, "sweep")
    assert (code, out) == (
        0,
        "sweep: one pass, 1 row looked at: 1 left running (no live lease, lapsed or "
        "released: nothing proves the owner dead, and only an abandon request ends it)\n",
    )


# --- item 6: -o table|wide|json|jsonl on every read ------------------------------------------

READS = [
    ("ls", "--status", "any"),
    ("show", "job"),
    ("events", "job"),
    ("await", "job", "--timeout", "0"),
    ("errors",),
    ("audit", "--source", "events"),
]


def read_commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name
        for name, command in sub.choices.items()
        if any("--output" in action.option_strings for action in command._actions)
    }


def test_every_read_command_takes_output() -> None:
    # `check` has -o too, with a probe's formats (text: the Nagios line, json, jsonl).
    assert {argv[0] for argv in READS} | {"worker", "sweep", "check"} == read_commands()


@pytest.mark.parametrize("argv", READS, ids=[argv[0] for argv in READS])
def test_each_output_of_each_read(
    db: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    outputs = {}
    for output in OUTPUTS:
        code, out, err = run(capsys, "--db", str(db), *argv, "-o", output)
        assert code == 0, err
        outputs[output] = out
    assert run(capsys, "--db", str(db), *argv, "--json")[1] == outputs["json"]
    document = json.loads(outputs["json"])
    lines = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    assert lines and all(isinstance(line, dict) for line in lines)
    if isinstance(document, list):  # a list is its items, one a line
        assert lines == document
    for human in ("table", "wide"):
        assert not outputs[human].lstrip().startswith(("{", "["))
        assert "\x1b" not in outputs[human]  # stored text is shown, never obeyed


def test_ls_wide_shows_every_column_unclipped(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long = "L" * 200
    assert run(capsys, "--db", str(db), "start", "long", "--external", "--label", long)[0] == 0
    table = run(capsys, "--db", str(db), "ls", "--status", "any")[1]
    wide = run(capsys, "--db", str(db), "ls", "--status", "any", "-o", "wide")[1]
    assert long not in table and long in wide
    header = wide.splitlines()[0].split()
    for column in ("WHY", "EXPIRES", "STARTED", "AGE", "UPDATED"):
        assert column in header and column not in table.splitlines()[0]
    bad = next(line for line in wide.splitlines() if line.startswith("bad "))
    assert "E1: boom" in bad and "lashtui-worker" in bad


def test_wide_and_jsonl_show_stored_text_and_obey_none(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "\x1b]0;pwned\x07 [red]x[/] \u202e"
    assert run(capsys, "--db", str(db), "start", "h", "--external", "--label", hostile)[0] == 0
    wide = run(capsys, "--db", str(db), "ls", "-o", "wide")[1]
    shown = run(capsys, "--db", str(db), "show", "h")[1]
    for text in (wide, shown):
        assert "\\x1b]0;pwned\\x07 [red]x[/] \\u202e" in text
        assert not {"\x1b", "\x07", "\u202e"} & set(text)
    lines = run(capsys, "--db", str(db), "ls", "-o", "jsonl")[1]
    assert not {"\x1b", "\x07", "\u202e"} & set(lines)
    assert json.loads(lines.splitlines()[-1])["label"] == hostile


def test_ls_jsonl_is_one_process_a_line(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--db", str(db), "ls", "--status", "any", "-o", "jsonl")
    assert code == 0
    assert [json.loads(line)["process_id"] for line in out.splitlines()] == ["bad", "ext", "job"]
    # Nothing matches: no line at all (a JSON document would be `[]`).
    empty = run(capsys, "--db", str(db), "ls", "--status", "cancelled", "-o", "jsonl")
    assert empty[:2] == (0, "")
    assert run(capsys, "--db", str(db), "ls", "--status", "cancelled", "--json")[1] == "[]\n"


# --- item 9: show, events, sweep, worker --once, help ----------------------------------------


def test_show_reads_like_the_detail_view(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--db", str(db), "show", "job")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "job  ✓ completed  my job (steps)"  # the key facts first
    facts = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in lines[1:] if "  " in line)
    assert re.fullmatch(r"\d+(ms|s) ago \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z\)",
                        facts["created"])  # fmt: skip
    assert facts["grants"] == "session:alice (my job)"
    assert facts["first started"].startswith("lashtui-worker@")
    # The JSON last: input, then output, indented, the payload's ESC as an escape.
    at = lines.index("input:")
    assert lines.index("output:") > at and lines[-1] == "}"
    assert json.loads("\n".join(lines[lines.index("output:") + 1 :])) == {
        "type": "success",
        "value": "ok",
    }
    assert "\\u001b[31mred" in out and "\x1b" not in out


def test_show_says_why_a_failure_ended(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "--db", str(db), "show", "bad")[1]
    assert out.splitlines()[1] == "why            E1: boom"


def test_a_row_that_does_not_decode_shows_no_made_up_facts(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`job` ended completed; another program then stored a record that is not one. Its
    stand-in's disposition, input, output and why are placeholders (registry/sql/decoded_row.py):
    shown as unknown, and `await` says the output cannot be read instead of printing a
    success with no value (exit 0, as a script would take it)."""
    from tests.raw import store_record_json

    store_record_json(str(db), "job", '{"not": "a record"}')
    out = run(capsys, "--db", str(db), "show", "job")[1].splitlines()
    assert out[1] == "why            record could not be decoded: id: Field required"
    assert "disposition    unknown" in out
    assert out[-2:] == [
        "input:  unknown: it is in the record that could not be decoded",
        "output: unknown: it is in the record that could not be decoded",
    ]
    wide = run(capsys, "--db", str(db), "ls", "--status", "any", "-o", "wide")[1]
    row = next(line for line in wide.splitlines() if line.startswith("job "))
    assert "record could not be decoded: id: Field required  unknown  " in row
    for timeout in ("0", "5"):
        code, out_, err = run(capsys, "--db", str(db), "await", "job", "--timeout", timeout)
        assert (code, out_) == (1, "")
        assert err == (
            "lashtui: process `job` is completed, but its record could not be decoded "
            "(id: Field required), so its output cannot be read\n"
        )


def test_events_have_a_time_column(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--db", str(db), "events", "job")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["SEQ", "AT", "AGO", "TYPE", "PAYLOAD"]
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z"
    assert re.match(rf"1\s+{stamp}\s+\S+\s+job\.note\s+\{{", rows[0]), rows[0]
    assert rows[-1].split()[4] == "process.completed"


def test_events_of_mebibyte_payloads_show_their_start_and_stream_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table shows each payload's start (`-o wide` all of it); JSON is written a page at
    a time (`Processes.event_pages`, its pages cut to one event here) and is the whole log."""
    import asyncio

    from lashtui.admin import processes as processes_module
    from lashtui.command.query import PAYLOAD_WIDTH
    from lashtui.model import ProcessEventAppendRequest, ProcessEventType
    from lashtui.registry import open_registry
    from tests.builders import ext
    from tests.raw import raw_connection

    db = str(tmp_path / "r.db")
    big = "\x1b]0;t\x07" + "z" * 900_000

    async def fill() -> None:
        async with open_registry(db) as registry:
            await registry.register_process(
                ext("big", event_types=[ProcessEventType.plain("note")])
            )
            for n in range(3):
                note = ProcessEventAppendRequest.new("note", {"n": n, "blob": big})
                await registry.append_event("big", note)

    asyncio.run(fill())
    monkeypatch.setattr(processes_module, "EVENT_PAGE_CHARS", 1)
    code, out, _ = run(capsys, "--db", db, "events", "big")
    assert code == 0
    _, *rows = out.splitlines()
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]
    shown = rows[1][rows[1].index('{"n":1'):]
    assert shown == '{"n":1,"blob":"\\u001b]0;t\\u0007' + "z" * (PAYLOAD_WIDTH - 32) + "…"
    assert len(shown) == PAYLOAD_WIDTH
    wide = run(capsys, "--db", db, "events", "big", "-o", "wide")[1]
    assert wide.count("z" * 900_000) == 3 and "\x1b" not in wide
    listed = json.loads(run(capsys, "--db", db, "events", "big", "-o", "json")[1])
    assert [(e["sequence"], e["payload"]) for e in listed] == [
        (n + 1, {"n": n, "blob": big}) for n in range(3)
    ]
    lines = run(capsys, "--db", db, "events", "big", "-o", "jsonl")[1].splitlines()
    assert [json.loads(line) for line in lines] == listed
    # An event that does not decode shows its type column as another program stored it:
    # cut to the type limit in the table; with -o wide up to what any write allows, the
    # rest not read (no plain-text column is read past 4,096 characters:
    # registry/sql/stored_text.py).
    with raw_connection(db) as conn:
        conn.execute(
            "INSERT INTO process_events (process_id, sequence, event_type, payload_hash, "
            "occurred_at_ms, event_json) VALUES ('big', 4, ?, 'h', 1, 'not json')",
            ("t" * 100_000,),
        )
    last = run(capsys, "--db", db, "events", "big")[1].splitlines()[-1]
    assert "t" * 255 + "…" in last and "t" * 256 not in last
    # Its payload was never read: the row says why, where `null` would say null was stored.
    assert last.endswith("  undecodable: Invalid JSON: expected ident at line 1 column 2")
    wide = run(capsys, "--db", db, "events", "big", "-o", "wide")[1]
    assert "t" * 4096 + "… (more than 4,096 characters: not read)" in wide
    assert "t" * 4097 not in wide
    assert wide.rstrip().endswith("  undecodable: Invalid JSON: expected ident at line 1 column 2")


def test_sweep_is_one_pass_in_words_or_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `--once` is the only mode, so it may be left out; README's `sweep --once` still works.
    for argv in (("sweep",), ("sweep", "--once")):
        code, out, _ = run(capsys, "--db", str(db), *argv)
        # (the externally owned row, which a sweep leaves alone without an abandon request)
        assert (code, out) == (0, "sweep: one pass, 1 row looked at: 1 untouched\n")
    # Every count, 0 when nothing came to it (it printed `{}`: neither that it had looked,
    # nor at what): tests/cli/test_cli_pass_counts.py.
    counts = json.loads(run(capsys, "--db", str(db), "sweep", "-o", "json")[1])
    assert counts.pop("looked_at") == 1
    assert {k: v for k, v in counts.items() if v} == {"untouched": 1}


def test_sweep_defers_runnable_work_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    job = ("--engine", "steps", "--disposition", "rerunnable", "--payload", STEPS_OK)
    assert run(capsys, "--db", db, "start", "new", *job)[0] == 0
    code, out, _ = run(capsys, "--db", db, "sweep")
    assert (code, out) == (0, "sweep: one pass, 1 row looked at: 1 runnable, left for a worker\n")
    assert json.loads(run(capsys, "--db", db, "ls", "--json")[1])[0]["lifecycle"] == "running"


def test_worker_once_prints_json_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    job = ("--engine", "steps", "--disposition", "rerunnable", "--payload", STEPS_OK)
    for name, output in (("a", ("--json",)), ("b", ("-o", "json"))):
        assert run(capsys, "--db", db, "start", name, *job)[0] == 0
        counts = json.loads(run(capsys, "--db", db, "worker", "--once", *output)[1])
        assert (counts["looked_at"], counts["ran"], sum(counts.values())) == (1, 1, 2)


def walk(parser: argparse.ArgumentParser, path: str = "lashtui") -> list[tuple[str, str]]:
    """(command, action) for every argument of every (sub)command, help included."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                found += walk(command, f"{path} {name}")
            continue
        found.append(
            (path, action.dest if not action.option_strings else action.option_strings[-1])
        )
        if not action.help or action.help == argparse.SUPPRESS:
            found[-1] = (path, f"{found[-1][1]} HAS NO HELP")
    return found


def test_every_option_of_every_command_has_help() -> None:
    actions = walk(build_parser())
    assert len(actions) > 100  # the walk reached every subcommand
    assert [a for a in actions if a[1].endswith("HAS NO HELP")] == []


def test_the_walk_finds_an_option_without_help() -> None:
    parser = build_parser()
    parser.add_argument("--bare")
    assert ("lashtui", "--bare HAS NO HELP") in walk(parser)


# --- item 10: a closed pipe is not an error --------------------------------------------------


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 processes: `ls --limit 0` prints ~1.3 MB of JSON, far past a pipe's buffer."""
    import asyncio

    from lashtui.registry import open_registry
    from tests.builders import ext

    path = tmp_path_factory.mktemp("large") / "large.db"

    async def seed() -> None:
        async with open_registry(str(path), create=True) as store:
            for n in range(3000):
                await store.register_process(ext(f"p-{n:05d}"))

    asyncio.run(seed())
    return path


@pytest.mark.parametrize("output", ["json", "jsonl", "table"])
def test_a_reader_that_stops_early_ends_the_output_quietly(large: Path, output: str) -> None:
    """`lashtui ls --json | head -c 300`, with the test as `head`: it reads 300 bytes and
    closes the pipe while lashtui is still writing."""
    import subprocess
    import sys

    lashtui = str(Path(sys.executable).parent / "lashtui")
    argv = [lashtui, "--db", str(large), "ls", "--limit", "0", "-o", output]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    head = process.stdout.read(300)
    process.stdout.close()
    err = process.stderr.read().decode()
    code = process.wait(timeout=60)
    assert len(head) == 300
    assert code in (0, 141) and err == "", (code, err)
