"""Stored values far longer than any write allows, through the real command line: every
human read shows each such value as its first `SHOWN_CHARS` characters and a count of the
rest, so what is printed stays proportionate to what is shown (one id of 12 MB padded
every line of `ls` to 12 MB; a lease incarnation of 50 MB was printed whole by `show`).
JSON output still carries every stored value a read takes whole: a program reading it
asked for them. No plain-text column is read past 4,096 characters
(lashtui/registry/sql/stored_text.py): such a value is held cut, and says the rest was not
read; an id's row lists as a stand-in under its cut id (long_id.py), a lease whose owner or
incarnation is cut as a stand-in lease.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from lashtui.model.limit import MAX_REASON_CHARS
from lashtui.registry.sql.stored_text import as_read
from lashtui.untrusted import CUT_MARK, SHOWN_CHARS, bounded
from tests.cli.test_cli_hostile import assert_nothing_obeyed, run_cli
from tests.long_values import (
    CUT_ID,
    FAILED,
    LABELLED,
    LEASED,
    LONG_CHARS,
    LONG_ID,
    LONG_RUN,
    SHORT,
    SHOWN_WHOLE,
    long,
    long_values_registry,
)
from tests.raw import copy_row

# How a cut id is shown: its first `SHOWN_CHARS` characters, and that the rest was not read.
CUT_SHOWN = f"{'y' * SHOWN_CHARS}… (more than {SHOWN_CHARS:,} characters: not read)"
# A plain-text value past what a reader takes, as held (registry/sql/stored_text.py).
CUT = "y" * SHOWN_CHARS + CUT_MARK



def cut(name: str) -> str:
    """How `long(name)` is shown: its first `SHOWN_CHARS` characters, the rest counted."""
    return f"{'y' * SHOWN_CHARS}… ({LONG_CHARS + len(name) - SHOWN_CHARS:,} more characters)"



@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.db"
    long_values_registry(path)
    return path


def human(db: Path, *argv: str, code: int = 0, whole_payloads: bool = False) -> str:
    """A command's human output (stdout and stderr), which holds no stored value longer
    than `SHOWN_CHARS` (but the payloads `-o wide` prints whole, with `whole_payloads`:
    JSON within the write limits, shown as the operator asked)."""
    status, out, err = run_cli("--db", str(db), *argv)
    assert status == code, err.decode()[:300]
    text = assert_nothing_obeyed(out) + assert_nothing_obeyed(err)
    shown = re.sub(r"\{.*\}$", "{}", text, flags=re.M) if whole_payloads else text
    found = SHOWN_WHOLE.search(shown)
    where = found.span() if found else None
    assert where is None, f"`{argv[0]}` printed a stored value whole, at {where}"
    return text


def test_the_bound_is_the_longest_field_a_write_allows() -> None:
    assert SHOWN_CHARS == MAX_REASON_CHARS
    assert bounded("x" * SHOWN_CHARS) == "x" * SHOWN_CHARS
    assert bounded("x" * (SHOWN_CHARS + 5)) == "x" * SHOWN_CHARS + "… (5 more characters)"


@pytest.mark.parametrize("wide", [False, True])
def test_ls_cuts_a_long_value_and_it_pads_no_other_line(db: Path, wide: bool) -> None:
    out = human(db, "ls", "--status", "any", *(["-o", "wide"] if wide else []))
    header, *rows = out.splitlines()
    long_row = next(row for row in rows if row.startswith("y"))  # (the cut id's stand-in)
    assert long_row.startswith(CUT_SHOWN) and "undecodable: its id is over 4,096" in long_row
    # A row with no long value is as short as ever, its columns under the header's.
    short = next(row for row in rows if row.startswith(SHORT))
    assert len(short) < 300 and short.index("running") == header.index("STATUS")


def test_show_cuts_each_long_value_on_its_own(db: Path) -> None:
    out = human(db, "show", LEASED)
    # Every long value is cut, and each line still has what follows its long value.
    # The lease's owner and incarnation are read cut (registry/sql/stored_text.py): the
    # lease is a stand-in saying why, its time left and its fence unknown.
    lease = next(line for line in out.splitlines() if line.startswith("lease "))
    assert lease == (
        f"lease          {CUT_SHOWN} on {cut('HOST')}:1 (could not be decoded: expiry unknown), "
        f"fence unknown, health ? unknown: other host, incarnation {CUT_SHOWN}"
    )
    why = "its lease row's lease_owner_id is over 4,096 characters, more than any reader takes"
    assert f"why            lease could not be decoded: {why}" in out
    assert f"signal {cut('SIGNAL')} #1" in out
    # The scope id, read cut as one value (registry/sql/stored_text.py).
    scope = bounded(as_read("session:" + long("GRANT")))
    assert scope.endswith("… (more than 4,096 characters: not read)")
    assert f"grants         {scope} ({cut('GRANTLABEL')})" in out

    first = human(db, "show", LABELLED).splitlines()[0]
    assert first.startswith(LABELLED) and f"{cut('LABEL')} (external)" in first

    # The long id, typed whole (another program's: nothing lashtui writes is this long),
    # and its cut id as `ls --json` lists it: the stand-in, which says what was not read.
    for typed in (LONG_ID, CUT_ID):
        shown = human(db, "show", "--", typed).splitlines()
        assert shown[0].startswith(CUT_SHOWN) and "(undecodable)" in shown[0]
        assert "lease          not read" in shown and "grants         not read" in shown
        assert not any("end-undecodable" in line for line in shown)  # nothing ends it here


def test_events_audit_and_the_errors_of_actions_cut_too(db: Path) -> None:
    wide = human(db, "events", "-o", "wide", LABELLED, whole_payloads=True)
    assert "x." + "y" * (SHOWN_CHARS - 2) + "… (" in wide

    audit = human(db, "audit", "-o", "wide")
    entry = audit.splitlines()[0]
    # The operator, the id and the sentence, each read cut (registry/sql/stored_text.py),
    # and the detail, a reason of 300,000 characters, past its own ceiling: not read.
    assert entry.count("characters: not read)") >= 3
    assert '{"undecodable":"more than 65,536 characters of JSON: not read"}' in entry

    # A refusal quotes the id it refused, cut. (An id past 4,096 characters is looked up by
    # those: `LONG_ID + "?"` would name the long id's row.)
    err = human(db, "show", "--", "z" * LONG_CHARS, code=1)
    assert err.startswith("lashtui: unknown process") and "more characters)" in err

    # The failure's code and message are grouped on their start; the whole is in JSON.
    human(db, "errors", "-o", "wide")


def test_json_output_keeps_every_stored_value_a_read_takes_whole(db: Path) -> None:
    status, out, _ = run_cli("--db", str(db), "ls", "--status", "any", "--json")
    assert status == 0
    listed = {p["process_id"]: p for p in json.loads(out)}
    assert set(listed) == {CUT_ID, LABELLED, LEASED, FAILED, SHORT}
    assert listed[CUT_ID]["undecodable"].startswith("its id is over 4,096 characters")
    assert listed[LABELLED]["identity"]["label"] == long("LABEL")
    # A plain-text column past what a reader takes is read cut, and says so: the lease's
    # owner and incarnation (registry/sql/stored_text.py), as the id.
    lease = listed[LEASED]
    assert lease["lease_holder"]["incarnation_id"] == lease["lease_holder"]["owner_id"] == CUT
    assert lease["lease_undecodable"].endswith(
        "is over 4,096 characters, more than any reader takes"
    )
    assert lease["lease_holder"]["liveness"]["host_id"] == long("HOST")  # (JSON: its own ceiling)
    assert out.count(LONG_RUN.encode()) >= 8



# An id another program stored, past what any read takes (and so under any argv limit).
FOREIGN_ID = "y" * 5_000


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding one row whose id is `FOREIGN_ID`, copied by `sqlite3` from a row
    lashtui started (no event, no lease: nothing but the row)."""
    path = tmp_path_factory.mktemp("foreign") / "foreign.db"
    assert run_cli("--db", str(path), "start", "good", "--external")[0] == 0
    conn = sqlite3.connect(path)
    (record,) = conn.execute("SELECT record_json FROM processes").fetchone()
    conn.close()
    copy_row(path, "good", FOREIGN_ID, record.replace('"good"', f'"{FOREIGN_ID}"'))
    return path


@pytest.mark.parametrize(
    "action",
    [("cancel",), ("abandon", "--reason", "r"), ("end-undecodable", "--reason", "r")],
)
def test_an_action_on_an_id_past_what_is_read_prints_its_refused_line_whole(
    foreign: Path, action: tuple[str, ...]
) -> None:
    """Each target an action refuses has its line, `<id>: refused: <sentence>`, and the
    sentence again on stderr (README, the command line). `cancel` and `end-undecodable` of
    an id over 4,096 characters printed no line (their refusal escaped as the command's
    error; `--json` printed nothing), and every action's line was bounded as a whole, so
    the id filled it and the sentence saying why was cut off, on stdout and stderr."""
    why = "has an id over 4,096 characters, which no read takes whole, so lashtui cannot act on it"
    status, out, err = run_cli("--db", str(foreign), action[0], FOREIGN_ID, *action[1:])
    assert status == 1
    (printed,) = out.decode().splitlines()
    assert printed.startswith(bounded(FOREIGN_ID) + ": refused: process `"), printed[-300:]
    assert printed.endswith(why), printed[-300:]
    (said,) = err.decode().splitlines()
    assert said.startswith("lashtui: " + bounded(FOREIGN_ID)) and said.endswith(why), said[-300:]

    status, out, _ = run_cli("--db", str(foreign), action[0], FOREIGN_ID, *action[1:], "--json")
    assert status == 1
    result = json.loads(out)
    assert (result["process_id"], result["outcome"]) == (FOREIGN_ID, "refused")
    assert result["sentence"].endswith(why)
