"""Columns another program filled with a value of another type than lashtui writes there
(SQLite takes any type in any column): a blob in `sort_label`, text in `created_at_ms`, a
blob id that holds a lease. Each read through the real command line, on a real file made
by lashtui and changed with raw SQL: every reading command exits 0 with no traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_cli_hostile import assert_nothing_obeyed, run_cli

PWNED = "\x1b]0;PWNED\x07"


def registry(tmp_path: Path, *ids: str, fail: str | None = None) -> Path:
    """A registry holding running `ids`; `fail` is ended failed (so the rows are in two of
    the status index's ranges, which a sorted page reads apart and merges)."""
    db = tmp_path / "reg.db"
    for pid in ids:
        code, _, err = run_cli("--db", str(db), "start", pid, "--external")
        assert code == 0, err
    if fail is not None:
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE processes SET status = 'failed' WHERE process_id = ?", (fail,))
            conn.execute(
                "UPDATE processes SET record_json = json_set(record_json, '$.status', "
                "json('{\"state\":\"failed\",\"await_output\":{\"type\":\"failure\","
                "\"class\":\"execution\",\"code\":\"x\",\"message\":\"y\"}}')) "
                "WHERE process_id = ?",
                (fail,),
            )
        conn.close()
    return db


def listed(db: Path, *args: str) -> list[str]:
    code, out, err = run_cli("--db", str(db), "ls", "--status", "any", *args)
    assert code == 0, err
    assert_nothing_obeyed(out)
    code, out, err = run_cli("--db", str(db), "ls", "--status", "any", "--json", *args)
    assert code == 0, err
    return [p["process_id"] for p in json.loads(assert_nothing_obeyed(out))]


@pytest.mark.parametrize("desc", [(), ("--desc",)], ids=["asc", "desc"])
def test_a_sort_key_of_another_type_is_ordered_as_sqlite_orders_it(
    tmp_path: Path, desc: tuple[str, ...]
) -> None:
    """`ls --sort label` over a row whose `sort_label` is a blob beside a failed row, and
    `ls --sort age` over a row whose `created_at_ms` holds text: the page merges each
    status range's rows by their keys in Python, which compares no bytes with str nor str
    with int, so both listings ended in a TypeError traceback (the dashboard's sorted
    views read the same pages). The keys now merge in SQLite's own order of types:
    numbers, then text, then blobs."""
    db = registry(tmp_path, "a-plain", "b-blob-label", "c-text-age", fail="a-plain")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE processes SET sort_label = CAST(? AS BLOB) WHERE process_id = 'b-blob-label'",
            (f"zz\xff{PWNED}".encode("latin-1"),),
        )
        conn.execute(
            "UPDATE processes SET created_at_ms = ? WHERE process_id = 'c-text-age'",
            (f"NaN{PWNED}",),
        )
    conn.close()

    by_label = listed(db, "--sort", "label", *desc)
    assert by_label.index("b-blob-label") == (0 if desc else 2)  # a blob sorts last
    by_age = listed(db, "--sort", "age", *desc)  # (newest first: text above any number)
    assert by_age.index("c-text-age") == (2 if desc else 0)


def test_a_blob_id_s_held_lease_leaves_ls_json_whole(tmp_path: Path) -> None:
    """A row keyed by a blob, whose lease row (keyed by the same blob) holds a lease:
    `ls -o json` and `-o jsonl` read the page's leases by the stored key and validated one
    for the blob, and ended in pydantic's ValidationError traceback (the table said `-`:
    a blob id's lease is not read, as `show` says). Now the JSON says what the table says."""
    db = registry(tmp_path, "good")
    blob = f"id\xff{PWNED}".encode("latin-1")
    conn = sqlite3.connect(db)
    with conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(processes)")]
        rest = ", ".join(c for c in columns if c != "process_id")
        conn.execute(
            f"INSERT INTO processes (process_id, {rest}) SELECT ?, {rest} FROM processes "
            "WHERE process_id = 'good'",
            (blob,),
        )
        conn.execute(
            "INSERT INTO process_leases (process_id, lease_owner_id, "
            "lease_owner_incarnation_id, lease_token, lease_fencing_token, "
            "lease_claimed_at_ms, lease_expires_at_ms) VALUES (?, 'w', 'w:1', 't', 1, 1, ?)",
            (blob, 2**62),
        )
    conn.close()

    shown = "b'id\\xff\\x1b]0;PWNED\\x07'"
    assert listed(db) == ["good", shown]
    code, out, err = run_cli("--db", str(db), "ls", "--status", "any", "-o", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in assert_nothing_obeyed(out).splitlines()]
    assert [(r["process_id"], r.get("lease")) for r in rows] == [("good", None), (shown, None)]


@pytest.mark.parametrize("key", [f"id\xff{PWNED}".encode("latin-1"), None], ids=["blob", "null"])
def test_check_leaves_out_what_show_does_not_read(tmp_path: Path, key: bytes | None) -> None:
    """A row keyed by a blob or NULL, copied from a started owner_bound row, holding a
    lease that lapsed in 1970: `show` says its lease is not read and its record not
    decoded (disposition unknown, no first start), while `check` counted that lease held
    and lapsed and the row silent-not-dead, and exited 1 (WARNING) over a registry whose
    every readable row is fine. Now `check` leaves both out, as `show` does, and says so.
    (SQLite only: PostgreSQL's process_id is text, NOT NULL.)"""
    db = tmp_path / "reg.db"
    plan = ("--engine", "steps", "--disposition", "owner_bound", "--payload", '{"steps": []}')
    code, _, err = run_cli("--db", str(db), "start", "good", *plan)
    assert code == 0, err
    started = '{"owner":{"owner_id":"w","incarnation_id":"w:1"},"started_at_ms":1}'
    conn = sqlite3.connect(db)
    with conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(processes)")]
        rest = ", ".join(c for c in columns if c not in ("process_id", "record_json"))
        conn.execute(
            f"INSERT INTO processes (process_id, record_json, {rest}) SELECT ?, "
            f"json_set(record_json, '$.first_started', json(?)), {rest} FROM processes "
            "WHERE process_id = 'good'",
            (key, started),
        )
        conn.execute(
            "INSERT INTO process_leases (process_id, lease_owner_id, "
            "lease_owner_incarnation_id, lease_token, lease_fencing_token, "
            "lease_claimed_at_ms, lease_expires_at_ms) VALUES (?, 'w', 'w:1', 't', 1, 1, 2)",
            (key,),
        )
    conn.close()
    shown = "b'id\\xff\\x1b]0;PWNED\\x07'" if key is not None else "NULL#2"
    code, out, err = run_cli("--db", str(db), "show", shown)
    assert code == 0, err
    assert "not read       its lease" in assert_nothing_obeyed(out)

    code, out, err = run_cli("--db", str(db), "check", "--json")
    probe = json.loads(assert_nothing_obeyed(out))
    checks = {c["name"]: c for c in probe["checks"]}
    assert (checks["silent_not_dead"]["value"], checks["lapsed_leases"]["value"]) == (0, 0)
    assert checks["lapsed_leases"]["sentence"] == (
        "no lease held (1 lease of a row keyed by a blob or NULL left out: not read)"
    )
    assert (code, probe["status"]) == (0, "OK"), probe["summary"]
