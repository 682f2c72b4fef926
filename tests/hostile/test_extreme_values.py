"""Values past every limit lashtui writes, stored with raw SQL in a SQLite registry lashtui
made: a 1 MiB label and event payload string, bytes that are not UTF-8 in a record, NaN
and 1e400 in JSON, JSON nested 10,000 levels, a record naming its label twice. Each read
by the installed `lashtui` in a subprocess, as a terminal gets it: exit 0, no traceback,
no byte a terminal obeys, and in bounded time and memory. Regression tests: nothing here
failed when written; they fail with `visible()` (lashtui/untrusted.py) passing text
through unchanged, since each value ends with an OSC retitle."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.cli.test_cli import LASHTUI
from tests.cli.test_cli_hostile import assert_nothing_obeyed

PWNED = "\x1b]0;PWNED\x07"
MIB = "A" * 1_048_576 + PWNED
DEEP = "[" * 10_000 + "]" * 10_000


def _copies(db: Path) -> list[str]:
    """`good` (a running external process with an event) copied once for each value."""
    conn = sqlite3.connect(db)
    (record,) = conn.execute("SELECT record_json FROM processes").fetchone()
    (event,) = conn.execute("SELECT event_json FROM process_events").fetchone()
    columns = [r[1] for r in conn.execute("PRAGMA table_info(processes)")]
    rest = ", ".join(c for c in columns if c not in ("process_id", "record_json"))
    label = '"identity":{'
    records = {
        "mib-label": record.replace(label, label + f'"label":{json.dumps(MIB)},', 1),
        "nan": record.replace('"input":{', '"input":{"n":NaN,', 1),
        "inf": record.replace('"input":{', '"input":{"n":1e400,', 1),
        "deep": record.replace('"input":{', f'"input":{{"d":{DEEP},', 1),
        "twice": record.replace(label, label + f'"label":{json.dumps(PWNED)},', 1),
        "not-utf8": record.replace(label, label + '"label":"@@",', 1)
        .encode()
        .replace(b"@@", b"\xff\xfe" + PWNED.encode()),
    }
    events = {
        "mib-event": event.replace('"payload":', f'"payload":{json.dumps(MIB)},"x":', 1),
        "deep-event": event.replace('"payload":', f'"payload":{DEEP},"x":', 1),
        "nan-event": event.replace('"payload":', '"payload":NaN,"x":', 1),
    }
    with conn:
        for name, text in {**records, **{n: record for n in events}}.items():
            pid = f"good-{name}"
            conn.execute(
                f"INSERT INTO processes (process_id, record_json, {rest}) SELECT ?, "
                f"replace(?, '\"id\":\"good\"', ?), {rest} FROM processes "
                "WHERE process_id = 'good'",
                (pid, text, f'"id":{json.dumps(pid)}'),
            )
        for name, text in events.items():
            conn.execute(
                "INSERT INTO process_events SELECT ?, sequence, event_type, payload_hash, "
                "NULL, occurred_at_ms, ? FROM process_events WHERE process_id = 'good'",
                (f"good-{name}", text.replace('"good"', json.dumps(f"good-{name}"))),
            )
    conn.close()
    return [f"good-{name}" for name in {**records, **events}]


@pytest.fixture(scope="module")
def extreme(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    db = tmp_path_factory.mktemp("extreme") / "reg.db"
    for argv in (["start", "good", "--external"], ["signal", "good", "note", "--payload", "{}"]):
        subprocess.run([LASHTUI, "--db", str(db), *argv], check=False, timeout=60)
    conn = sqlite3.connect(db)
    if conn.execute("SELECT count(*) FROM process_events").fetchone() == (0,):
        conn.execute(
            "INSERT INTO process_events VALUES ('good', 1, 'note', 'h', NULL, 1, "
            "'{\"process_id\":\"good\",\"sequence\":1,\"event_type\":\"note\",\"payload\":{},"
            "\"semantics\":{},\"occurred_at\":{\"secs_since_epoch\":1,\"nanos_since_epoch\":0}}')"
        )
        conn.commit()
    conn.close()
    return db, _copies(db)


def _read(db: Path, *argv: str) -> str:
    return _read_measured(db, *argv)[0]


# Runs the command and writes its peak resident size (kB) to the file named first. Linux
# counts in a child's peak the image it was forked from (exec keeps the old image's high-water
# mark), so a command forked straight from a pytest worker grown to 574 MB read 574 MB. A
# small interpreter in between is forked from that, and the command from it.
MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def _read_measured(db: Path, *argv: str) -> tuple[str, int]:
    """What the command printed, and its own peak resident size in kB (not the test
    process's, nor another test's reader: RUSAGE_CHILDREN here is the largest child this
    pytest worker ever reaped)."""
    with tempfile.TemporaryDirectory() as scratch:
        peak = Path(scratch) / "peak"
        result = subprocess.run(
            [sys.executable, "-c", MEASURE, str(peak), LASHTUI, "--db", str(db), *argv],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, (argv, result.stderr[-2000:])
        peak_kb = int(peak.read_text())
    assert b"Traceback" not in result.stderr
    assert_nothing_obeyed(result.stderr)
    return assert_nothing_obeyed(result.stdout), peak_kb


@pytest.mark.parametrize("output", ["table", "wide", "json", "jsonl"])
def test_ls_reads_every_row_in_bounded_memory(
    extreme: tuple[Path, list[str]], output: str
) -> None:
    db, made = extreme
    text, peak_kb = _read_measured(db, "ls", "--status", "any", "--limit", "0", "-o", output)
    for pid in made:
        assert pid in text
    assert len(text) < 4 * len(MIB)  # (the JSON holds the 1 MiB label, once)
    # No reader took more than 500 MB for a registry of 1 MiB values (it took ~90).
    assert peak_kb < 500_000


def test_show_and_events_of_each(extreme: tuple[Path, list[str]]) -> None:
    db, made = extreme
    for pid in made:
        for argv in (["show", pid], ["show", "-o", "json", pid], ["events", pid],
                     ["events", "-o", "json", pid]):  # fmt: skip
            _read(db, *argv)
    assert "\\x1b]0;PWNED\\x07" in _read(db, "show", "good-twice")
