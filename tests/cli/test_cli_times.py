"""Times another program stored that no date holds, or none at all, through the real
command line: `show`, `events`, `audit` and `errors` each ended in a traceback on a time
past the year 9999 (`datetime` cannot hold it), a created time in the future read `0ms
ago`, and an error group whose rows hold no whole-number time said 1970. Each now says
what is known: `no date (<n> ms since 1970)`, `... from now`, `unknown`. And an event's
sequence that its JSON and its row disagree on, which `lashtui events` read on from for
ever.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.template import in_process
from tests.cli.test_cli import lashtui
from tests.stored_times import FAR, NO_DATE, times_registry


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("times") / "times.db"
    times_registry(path)
    return path


def test_show_says_a_time_no_date_holds_and_one_in_the_future(db: Path) -> None:
    shown = lashtui("show", "a", db=db)
    assert shown.returncode == 0, shown.stderr
    assert f"from now ({NO_DATE})" in shown.stdout  # created: was a traceback
    assert f"ago (no date ({-FAR} ms since 1970))" in shown.stdout  # updated


def test_events_and_audit_say_no_date(db: Path) -> None:
    wide = ("-o", "wide")
    for args in (("events", "b"), ("events", "b", *wide), ("audit",), ("audit", *wide)):
        result = lashtui(*args, db=db)
        assert result.returncode == 0, (args, result.stderr)
        assert NO_DATE in result.stdout, (args, result.stdout)
        assert "Traceback" not in result.stderr
    audit = lashtui("audit", db=db).stdout.splitlines()
    assert [line.split()[0] for line in audit if "  c  " in line] == ["unknown"]  # not 1970


def test_an_event_that_does_not_decode_and_holds_no_whole_time_says_its_time_is_unknown(
    db: Path,
) -> None:
    """`c`'s event: its JSON does not decode, so its time is read from its column, which
    holds text. It read as 0: `1970-01-01 00:00:00.000Z`, 56 years old."""
    for wide in ((), ("-o", "wide")):
        table = lashtui("events", "c", *wide, db=db)
        assert table.returncode == 0, table.stderr
        (line,) = table.stdout.splitlines()[1:]
        assert line.split()[1:4] == ["time", "unknown", "-"], line
        assert "1970" not in table.stdout
    assert "its time column holds 'soon', which is no whole number" in line  # (wide: whole)
    (event,) = json.loads(lashtui("events", "c", "--json", db=db).stdout)
    assert event["time_unknown"] is True and event["occurred_at_ms"] == 0
    assert event["undecodable"].endswith("its time column holds 'soon', which is no whole number")
    shown = lashtui("show", "c", db=db)
    assert shown.returncode == 0 and "1970" not in shown.stdout, shown.stdout


def test_an_error_group_with_no_whole_time_says_unknown(db: Path) -> None:
    result = lashtui("errors", db=db)
    assert result.returncode == 0, result.stderr
    gone = next(line for line in result.stdout.splitlines() if " gone" in line)
    assert gone.split()[2:4] == ["unknown", "unknown"], gone
    assert "1970" not in result.stdout
    by_time = lashtui("errors", "--sort", "last_seen", db=db)
    assert by_time.stdout.splitlines()[-1].endswith("gone")  # no time: last


def test_events_ends_over_an_event_whose_json_names_another_sequence(tmp_path: Path) -> None:
    """`lashtui events` read on from each page's last sequence as the JSON said it: a JSON
    of -1 under a row of 1 made it print the same event for ever (10 MB in 10 s). It ends,
    the event marked undecodable."""
    db = tmp_path / "r.db"
    for argv in (("start", "p", "--external"), ("abandon", "p"), ("sweep",)):
        in_process(db, *argv)  # one event: process.abandoned, 1 (set up in this process)
    with sqlite3.connect(db) as conn:
        edit = "UPDATE process_events SET event_json = json_set(event_json, '$.sequence', -1)"
        conn.execute(edit)
    for args in (("events", "p"), ("events", "p", "--json")):
        result = lashtui(*args, db=db, timeout=20)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout) < 1000 and result.stdout.count("its JSON says sequence -1") == 1


def test_an_age_in_the_future_says_so(db: Path) -> None:
    """`ls -o wide`'s AGE of `a`, created past the year 9999, and `events`' AGE of `b`'s
    event, which happens then, read `0ms`; they say `... from now`, as `show` does."""
    listed = lashtui("ls", "--status", "any", "-o", "wide", db=db)
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if line.startswith("a ")]
    assert "from now" in row and "0ms" not in row, row
    events = lashtui("events", "b", db=db)
    assert events.returncode == 0, events.stderr
    (line,) = events.stdout.splitlines()[1:]
    assert "from now" in line and "0ms" not in line, line
