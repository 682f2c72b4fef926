"""`lashtui check`, the Nagios-style probe, run as the installed command against real
registries in each state: OK, WARNING, CRITICAL and UNKNOWN, with the exit status, the one
line on stdout (and its perfdata), `--json`, and usage errors (UNKNOWN too, exit 3). The
registry files are made through the store with a clock set in the past, so leases lapse and
requests age as they would; `check` then reads them at the real time, and writes nothing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.model import AbandonRequest, FailureOutput, ProcessStarted
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import ext, ob, own, rr
from tests.cli.test_cli import digest, lashtui
from tests.raw import raw_connection
from tests.registry.rows import finish

MINUTE = 60_000
HOUR = 60 * MINUTE
# With no lease held, that is said once (by the lapsed-leases check): the line said both
# "0 lapsed leases of 0 held" and, for the renewal age, "no lease held".
OK_LINE = (
    "LASHTUI OK - 0 silent-not-dead rows, no lease held, no abandon request pending, "
    "0 failed in the last 15m, no lease renewal to judge, 0 rows whose state is unknown, "
    "0 rows whose id is over 512 characters | "
    "silent_not_dead=0;1;;0 lapsed_leases=0;1;10;0 abandon_request_age=U;600;3600;0 "
    "failed=0;1;;0 renewal_age=U;300;900;0 unknown_state=0;1;;0 long_ids=0;1;;0"
)


def real_now() -> int:
    return time.time_ns() // 1_000_000


def failure() -> FailureOutput:
    return FailureOutput.model_validate({"class": "execution", "code": "boom", "message": "m"})


async def start(registry: ProcessRegistry, pid: str, ttl_ms: int) -> None:
    lease = (await registry.claim_process_lease(pid, own("w"), ttl_ms)).acquired()
    assert lease is not None
    started = ProcessStarted(owner=own("w"), started_at_ms=lease.claimed_at_epoch_ms)
    await registry.record_first_started(pid, started, lease)


async def healthy(target: str) -> None:
    async with open_registry(target, clock=ManualClock(real_now() - HOUR)) as registry:
        await registry.register_process(ext("done"))
        await finish(registry, "done")
        await registry.register_process(ext("import-7"))


async def one_lapsed_lease(target: str) -> None:
    """A rerunnable row whose worker claimed it 10 s ago for 5 s and went quiet."""
    async with open_registry(target, clock=ManualClock(real_now() - 10_000)) as registry:
        await registry.register_process(rr("r"))
        assert (await registry.claim_process_lease("r", own("w"), 5_000)).acquired()


async def troubled(target: str) -> None:
    """Two hours ago: three owner_bound rows started and their worker died; an abandon
    request made then; just now, two failures."""
    clock = ManualClock(real_now() - 2 * HOUR)
    async with open_registry(target, clock=clock) as registry:
        for pid in ("ob-1", "ob-2", "ob-3"):
            await registry.register_process(ob(pid))
            await start(registry, pid, 30_000)
        await registry.register_process(ext("stuck"))
        request = AbandonRequest(requested_by="dana", requested_at_ms=clock.now_ms())
        await registry.request_process_abandon("stuck", request)
        clock.advance(2 * HOUR)
        for pid in ("f-1", "f-2"):
            await registry.register_process(ext(pid))
            await finish(registry, pid, failure())


def nagios_line(result: object) -> str:
    lines = result.stdout.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stdout  # type: ignore[attr-defined]
    return str(lines[0])


async def test_ok_and_nothing_written(tmp_path: Path) -> None:
    db = tmp_path / "ok.db"
    await healthy(str(db))
    before = digest(db)
    result = lashtui("check", db=db)
    assert result.returncode == 0, result.stderr
    assert nagios_line(result) == OK_LINE
    assert digest(db) == before
    assert sorted(os.listdir(tmp_path)) == ["ok.db"]  # no -wal, no -shm


async def test_warning_names_the_check_and_its_level(tmp_path: Path) -> None:
    db = tmp_path / "warn.db"
    await one_lapsed_lease(str(db))
    result = lashtui("check", db=db)
    assert result.returncode == 1, result.stdout
    line = nagios_line(result)
    assert line.startswith("LASHTUI WARNING - 1 lapsed lease of 1 held (warning at 1) | "), line
    assert " lapsed_leases=1;1;10;0 " in line
    # The renewal 10 s ago is fresh: a TTL of 5 s dates it from the claim.
    renewal_s = float(line.split("renewal_age=")[1].split("s;")[0])
    assert 10 <= renewal_s < 60, line
    # A level turned off does not alert; the value is still reported.
    quiet = lashtui("check", "--lapsed", "off", db=db)
    assert quiet.returncode == 0, quiet.stdout
    assert "1 lapsed lease of 1 held" in quiet.stdout


async def test_a_row_of_unknown_state_warns_and_is_named(tmp_path: Path) -> None:
    """A row whose status column another program set to no state, with an abandon request
    pending on it: nothing lists it under a state, and no sweep will honour the request.
    `check` said OK; now it warns, naming the row and how to see why."""
    db = tmp_path / "odd.db"
    await healthy(str(db))
    async with open_registry(str(db)) as registry:
        request = AbandonRequest(requested_by="dana", requested_at_ms=real_now())
        await registry.request_process_abandon("import-7", request)
    with raw_connection(str(db)) as conn:
        conn.execute("UPDATE processes SET status = 'zombie' WHERE process_id = 'import-7'")
    result = lashtui("check", db=db)
    assert result.returncode == 1, result.stdout
    assert nagios_line(result).startswith(
        "LASHTUI WARNING - 1 row whose state is unknown, first import-7 (`lashtui show "
        "import-7` says why) (warning at 1) | "
    )
    shown = lashtui("show", "import-7", db=db)
    assert "its status column holds 'zombie', which is no state" in shown.stdout
    assert lashtui("check", "--unknown-state", "off", db=db).returncode == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_live_row_that_names_a_read_key_twice_warns_as_unknown(
    registry_target: str,
) -> None:
    """Two live rows whose records another program rewrote naming `disposition` twice,
    `owner_bound` first: `ls` shows both undecodable (which holds is not known), yet
    `check` read SQLite's first value: it said OK over the one not started, and counted
    the started one, whose worker died, silent-not-dead. Each is now a row whose state is
    unknown, as every other row `ls` shows undecodable and `check` sees, and neither is
    counted by the first value. On PostgreSQL `check` read jsonb's last value: OK over
    the started one, and the other, `owner_bound` first, counted no more (sql/repeated.py
    asks both stores now)."""
    db = registry_target
    await healthy(db)
    async with open_registry(db, clock=ManualClock(real_now() - HOUR)) as registry:
        await registry.register_process(ob("ob-1"))
        lease = (await registry.claim_process_lease("ob-1", own("w"), 30_000)).acquired()
        assert lease is not None
        started = ProcessStarted(owner=own("w"), started_at_ms=lease.claimed_at_epoch_ms)
        await registry.record_first_started("ob-1", started, lease)
        await registry.release_process_lease(lease)  # (its worker stopped: no lease held)
    with raw_connection(db) as conn:
        for pid in ("import-7", "ob-1"):
            (text,) = conn.execute(
                "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
            ).fetchone()
            record = json.loads(text)
            del record["disposition"]
            body = json.dumps({"disposition": "owner_bound", **record})[:-1]
            text = f'{body}, "disposition": "rerunnable"}}'
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (text, pid)
            )
    listed = lashtui("--db", db, "ls", "-o", "wide")
    assert listed.stdout.count("undecodable: its record names `disposition` twice") == 2
    result = lashtui("--db", db, "check")
    assert result.returncode == 1, result.stdout
    line = nagios_line(result)
    assert line.startswith(
        "LASHTUI WARNING - 2 rows whose state is unknown, first import-7 (`lashtui show "
        "import-7` says why) (warning at 1) | "
    ), line
    assert " silent_not_dead=0;" in f" {line}", line
    assert lashtui("--db", db, "check", "--unknown-state", "off").returncode == 0


async def test_an_id_past_the_write_limit_warns_and_is_named_by_its_start(
    tmp_path: Path,
) -> None:
    """Another program stored an id of 5 MB (a write allows 512 characters): every read takes
    it whole, and one of a few hundred megabytes made the dashboard spend a core and
    gigabytes. `check` warns, naming its start and never printing it whole."""
    db = tmp_path / "long.db"
    await healthy(str(db))
    long_id = "L" * 5_000_000
    with raw_connection(str(db)) as conn:
        rename = "UPDATE processes SET process_id = ? WHERE process_id = 'import-7'"
        conn.execute(rename, (long_id,))
    result = lashtui("check", db=db)
    assert result.returncode == 1, result.stdout
    assert nagios_line(result).startswith(
        f"LASHTUI WARNING - 1 row whose id is over 512 characters, first {'L' * 64}... "
        "(warning at 1) | "
    )
    assert len(result.stdout) < 2_000
    assert lashtui("check", "--long-ids", "off", db=db).returncode == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_critical_worst_first_and_json(registry_target: str) -> None:
    await troubled(registry_target)
    result = lashtui("--db", registry_target, "check", "--lapsed", "1,3", "--failed", "1,5")
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = nagios_line(result)
    status, perfdata = line.split(" | ")
    assert status == (
        "LASHTUI CRITICAL - 3 lapsed leases of 3 held (critical at 3); oldest of 1 abandon "
        "request 2h old (critical at 1h); last lease renewal 2h ago (critical at 15m); "
        "3 silent-not-dead rows (warning at 1); 2 failed in the last 15m (warning at 1)"
    )
    assert perfdata.startswith("silent_not_dead=3;1;;0 lapsed_leases=3;1;3;0 ")

    as_json = lashtui("--db", registry_target, "check", "--json", "--lapsed", "1,3")
    assert as_json.returncode == 2
    document = json.loads(as_json.stdout)
    assert (document["status"], document["exit_status"]) == ("CRITICAL", 2)
    checks = {c["name"]: c for c in document["checks"]}
    assert checks["lapsed_leases"] == {
        "name": "lapsed_leases",
        "value": 3,
        "unit": "leases",
        "warning": 1,
        "critical": 3,
        "verdict": "CRITICAL",
        "sentence": "3 lapsed leases of 3 held",
    }
    assert checks["silent_not_dead"]["verdict"] == "WARNING"
    assert checks["failed"]["value"] == 2
    assert 2 * HOUR <= checks["abandon_request_age"]["value"] < 2 * HOUR + 5 * MINUTE
    assert (checks["abandon_request_age"]["warning"], checks["renewal_age"]["critical"]) == (
        10 * MINUTE,
        15 * MINUTE,
    )


def test_unknown_when_the_registry_cannot_be_read(tmp_path: Path) -> None:
    missing = lashtui("check", db=tmp_path / "missing.db")
    assert missing.returncode == 3
    assert nagios_line(missing).startswith("LASHTUI UNKNOWN - no process registry at `")
    assert not (tmp_path / "missing.db").exists()
    piped = lashtui("check", db=tmp_path / "a|b.db")  # `|` would start Nagios's perfdata
    assert piped.returncode == 3 and "|" not in piped.stdout and "a\\x7cb.db" in piped.stdout

    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    result = lashtui("check", "--json", db=other)
    assert result.returncode == 3
    document = json.loads(result.stdout)
    assert (document["status"], document["checks"]) == ("UNKNOWN", [])
    assert "not" in document["summary"] and "notes.txt" in document["summary"]


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--abandon-age", "10q", "got `10q`"),
        ("--failed-window", "0s", "a duration is a number and a unit"),
        ("--lapsed", "5,2", "must not be below the warning level"),
        ("--silent", "1,2,3", "levels are WARN[,CRIT]"),
        ("--bogus", "1", "unrecognized arguments: --bogus 1"),
    ],
)
def test_usage_errors_are_unknown(tmp_path: Path, flag: str, value: str, says: str) -> None:
    result = lashtui("check", flag, value, db=tmp_path / "never-opened.db")
    assert result.returncode == 3, result
    line = nagios_line(result)
    assert line.startswith("LASHTUI UNKNOWN - usage: ") and says in line, line
    assert "usage: lashtui check" in result.stderr


NOT_UTF8 = os.fsdecode(b"\xff")  # as Python hands over an argv byte that is not UTF-8


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["--db", "", "check"], {}, "argument --db: must not be empty"),
        (["check"], {"LASHTUI_DB": ""}, "$LASHTUI_DB is empty"),
        (["--as", NOT_UTF8, "check"], {}, "--as: not valid UTF-8 (byte 0xff"),
        (["check", "--as", NOT_UTF8], {}, "--as: not valid UTF-8 (byte 0xff"),
        (["--bogus", "check"], {}, "unrecognized arguments: --bogus"),
    ],
)
@pytest.mark.parametrize("output", [[], ["--json"], ["-o", "jsonl"]])
def test_usage_errors_before_or_around_the_command_are_unknown(
    tmp_path: Path, argv: list[str], env: dict[str, str], says: str, output: list[str]
) -> None:
    """What the top-level parser or the command line refuses before `check` runs is check's
    usage error too: exit 3 and the UNKNOWN line (or object), where it was argparse's exit 2
    (CRITICAL to a monitor) or exit 1 with nothing on stdout (and `--operator` named)."""
    environ = {k: v for k, v in os.environ.items() if k != "LASHTUI_DB"}
    environ |= {"LASHTUI_DB": str(tmp_path / "never-opened.db")} | env
    result = lashtui(*argv, *output, env=environ)
    assert result.returncode == 3, (result.stdout, result.stderr)
    if output:
        document = json.loads(nagios_line(result))
        assert (document["status"], document["exit_status"], document["checks"]) == (
            "UNKNOWN", 3, [],
        )
        summary = document["summary"]
    else:
        summary = nagios_line(result).removeprefix("LASHTUI UNKNOWN - ")
    assert summary.startswith("usage: ") and says in summary, summary
    assert "usage: lashtui check" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "never-opened.db").exists()


def test_other_commands_keep_their_usage_exit(tmp_path: Path) -> None:
    """Only `check` reads the top-level parser's usage errors as UNKNOWN; `ls` names `--as`."""
    assert lashtui("--db", "", "ls").returncode == 2
    refused = lashtui("--as", NOT_UTF8, "ls", db=tmp_path / "never-opened.db")
    assert refused.returncode == 2
    assert "lashtui ls: error: argument --as: not valid UTF-8" in refused.stderr, refused.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_lease_dated_ahead_does_not_hide_that_no_worker_renews(
    registry_target: str,
) -> None:
    """Another program's lease row (or a host's clock ahead) claimed in 2100: the newest
    claim was taken as a renewal, so the renewal age read 0 s for ever and `check` said OK
    over a fleet whose workers stopped two hours ago. Such a lease is left out and said."""
    await troubled(registry_target)
    year_2100 = 4_102_444_800_000
    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE process_leases SET lease_claimed_at_ms = ?, lease_expires_at_ms = ? "
            "WHERE process_id = 'ob-3'",
            (year_2100, year_2100 + 30_000),
        )
    result = lashtui("--db", registry_target, "check", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    renewal = checks["renewal_age"]
    assert renewal["verdict"] == "CRITICAL", renewal
    assert 2 * HOUR <= renewal["value"] < 2 * HOUR + 5 * MINUTE
    assert renewal["sentence"].endswith(" ago (1 lease dated ahead of now left out)")
    assert result.returncode == 2
