"""A running row whose record names a `wait` the models refuse does not decode: its stand-in
runs, never waits (registry/sql/decoded_row.py `undecodable_record`). The census and the state
filters (`ls --waiting`, the dashboard's waiting lens) must count it running too, not
waiting because SQLite's SQL found a `wait` key that is not null (sql/filter.py
`waiting_sql`, which asks the models: decoded_wait.py). A wait the models take
(pydantic's lax ints: `"since_ms": "5"`) still waits, as does one that names a member
twice when the last is one they take.

On PostgreSQL the models cannot be asked in SQL: its census and filters test the wait
against exactly the shape `WaitState` takes, through jsonb (filter.py `_wait_taken`), and
a record refused only outside its wait is still counted waiting there (README says so).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from lashtui.clock import ManualClock
from lashtui.model import ProcessPageQuery, ProcessState
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.long_id import MAX_READ_ID_CHARS
from lashtui.registry.sql.repeated import REPEATED_KEY
from tests.builders import ext
from tests.cli.test_cli import LASHTUI
from tests.raw import raw_connection
from tests.registry.rows import park

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])

Change = Callable[[dict[str, object]], object]


def _set(path: str, value: object) -> Change:
    def change(wait: dict[str, object]) -> object:
        *parents, last = path.split(".")
        at: dict[str, object] = wait
        for part in parents:
            at = at[part]  # type: ignore[assignment]
        at[last] = value
        return wait

    return change


def _drop(member: str) -> Change:
    def change(wait: dict[str, object]) -> object:
        del wait["kind"][member]  # type: ignore[attr-defined]
        return wait

    return change


# Refused by the models: counted running.
REFUSED: dict[str, Change] = {
    "a-string": lambda wait: "soon",
    "a-number": lambda wait: 7,
    "an-array": lambda wait: [wait],
    "no-kind": lambda wait: {"since_ms": wait["since_ms"]},
    "kind-a-string": _set("kind", "signal"),
    "no-since": lambda wait: {"kind": wait["kind"]},
    "since-null": _set("since_ms", None),
    "since-an-object": _set("since_ms", {}),
    "name-a-number": _set("kind.name", 5),
    "no-key": _drop("key"),
    "ordinal-null": _set("kind.ordinal", None),
    "tag-other": _set("kind.kind", "timer"),
}
# Taken by the models (lax ints, extra members): still waiting.
TAKEN: dict[str, Change] = {
    "plain": lambda wait: wait,
    "since-a-string": _set("since_ms", "5"),
    "ordinal-true": _set("kind.ordinal", True),
    "extra": _set("note", "x"),
}


def _rewrite_wait(target: str, pid: str, change: Change) -> None:
    with raw_connection(target) as conn:
        (text,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
        ).fetchone()
        record = json.loads(text)
        record["wait"] = change(record["wait"])
        conn.execute(
            "UPDATE processes SET record_json = ? WHERE process_id = ?",
            (json.dumps(record), pid),
        )


async def test_a_wait_the_models_refuse_counts_and_filters_as_running(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    for pid, change in {**REFUSED, **TAKEN}.items():
        await registry.register_process(ext(pid))
        await park(registry, pid, clock.now_ms())
        _rewrite_wait(registry_target, pid, change)
    for pid in REFUSED:
        record = await registry.get_process(pid)
        assert record is not None and record.undecodable is not None, pid
        assert record.wait is None
    for pid in TAKEN:
        record = await registry.get_process(pid)
        assert record is not None and record.undecodable is None, pid
        assert record.wait is not None

    census = await registry.process_census()
    assert census.live == {
        **dict.fromkeys(REFUSED, "running"), **dict.fromkeys(TAKEN, "waiting")
    }
    waiting = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.WAITING}), limit=100)
    )
    assert sorted(r.id for r in waiting) == sorted(TAKEN)
    running = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.RUNNING}), limit=100)
    )
    assert sorted(r.id for r in running) == sorted(REFUSED)


async def test_a_wait_that_may_name_a_member_twice_is_left_waiting(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """SQLite reads a repeated member's first value, the models its last: a wait whose
    first `name` is a number and whose last is a string decodes waiting, and is not
    counted running on the strength of the first. Nor is one whose kind is named twice,
    the first a string (its one `"kind"` beside the tag's made it look like a kind and
    its tag)."""
    for pid in ("name-twice", "kind-twice"):
        await registry.register_process(ext(pid))
        await park(registry, pid, clock.now_ms())
    with raw_connection(registry_target) as conn:
        for pid, old, new in (
            ("name-twice", '"name":', '"name": 5, "name":'),
            ("kind-twice", '"wait": {"kind": {', '"wait": {"kind": "x", "kind": {'),
        ):
            (text,) = conn.execute(
                "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
            ).fetchone()
            text = json.dumps(json.loads(text))  # (spaced, as the replacements are)
            at = text.index('"wait": ')
            assert old in text[at:]
            changed = text[:at] + text[at:].replace(old, new, 1)
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (changed, pid)
            )
    for pid in ("name-twice", "kind-twice"):
        record = await registry.get_process(pid)
        assert record is not None and record.undecodable is None and record.wait is not None
    census = await registry.process_census()
    assert census.live == {"name-twice": "waiting", "kind-twice": "waiting"}


# Refused by the models where no SQL test of the wait's shape could tell (an escape, a
# member named twice, a value of the right JSON type, a field outside the wait): each was
# counted waiting while shown as its running stand-in. As (old, new) edits of the record's
# text after its `"wait": `, or of the whole text (`None` as the anchor).
TEXT_REFUSED: dict[str, tuple[str | None, str, str]] = {
    "escaped-name": ("wait", '"name":', '"n\\u0061me": 5, "zz":'),
    "name-twice-last-bad": ("wait", '"name":', '"name": "go", "name": 5, "zz":'),
    "since-a-fraction": ("wait", '"since_ms": ', '"since_ms": 1.5, "zz": '),
    "ordinal-a-word": ("wait", '"ordinal": ', '"ordinal": "soon", "zz": '),
    "bad-elsewhere": (None, '"created_at_ms": ', '"created_at_ms": "soon", "zz": '),
}
# What PostgreSQL's SQL cannot tell (see the module docstring): counted waiting there.
NOT_ON_POSTGRES = ("bad-elsewhere",)


async def test_a_record_the_models_refuse_anywhere_counts_and_filters_as_running(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock, backend: str
) -> None:
    refused = [
        pid for pid in TEXT_REFUSED if backend == "sqlite" or pid not in NOT_ON_POSTGRES
    ]
    pids = [*refused, "plain"]
    for pid in pids:
        await registry.register_process(ext(pid))
        await park(registry, pid, clock.now_ms())
    with raw_connection(registry_target) as conn:
        for pid in refused:
            anchor, old, new = TEXT_REFUSED[pid]
            (text,) = conn.execute(
                "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
            ).fetchone()
            text = json.dumps(json.loads(text))  # (spaced, as the edits are)
            at = text.index('"wait": ') if anchor else 0
            assert old in text[at:], pid
            changed = text[:at] + text[at:].replace(old, new, 1)
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (changed, pid)
            )
    for pid in refused:  # shown as the running stand-in
        record = await registry.get_process(pid)
        assert record is not None and record.undecodable is not None, pid
        assert record.wait is None
    plain = await registry.get_process("plain")
    assert plain is not None and plain.wait is not None

    census = await registry.process_census()
    assert census.live == {**dict.fromkeys(refused, "running"), "plain": "waiting"}
    waiting = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.WAITING}), limit=100)
    )
    assert [r.id for r in waiting] == ["plain"]
    for order in ("id", "label"):
        running = await registry.page_processes(
            ProcessPageQuery(states=frozenset({ProcessState.RUNNING}), limit=100, order=order)
        )
        assert sorted(r.id for r in running) == sorted(refused), order


@SQLITE_ONLY
async def test_the_model_free_listing_asks_without_loading_the_models(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """`ls --json --waiting` runs the same waiting test without importing pydantic
    for the records the stdlib vouches for (decoded_wait.py), and lists the waiting row."""
    await registry.register_process(ext("parked"))
    await park(registry, "parked", clock.now_ms())
    await registry.register_process(ext("runs"))
    probe = (
        "import sys; from lashtui.cli import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in ('pydantic', 'lashtui.model') if m in sys.modules),"
        " file=sys.stderr); sys.exit(code)"
    )
    for flag, listed in (("--waiting", ["parked"]), ("--not-waiting", ["runs"])):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", probe, "--db", registry_target, "ls", "--json",
             flag],
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stderr.decode().strip() == "[]"
        assert [row["process_id"] for row in json.loads(done.stdout)] == listed


async def test_a_postgres_registry_without_the_function_tells_a_refused_wait(
    postgres_schema: str,
) -> None:
    """A PostgreSQL registry without `lashtui_repeated_key` (one only ever opened read-only
    since, or by a role that may not create functions) asks the wait's shape all the same
    (filter.py `waiting_sql`'s other branch)."""
    clock = ManualClock(1_000_000)
    async with open_registry(postgres_schema, clock=clock) as registry:
        for pid in (*REFUSED, "plain"):
            await registry.register_process(ext(pid))
            await park(registry, pid, clock.now_ms())
    for pid, change in REFUSED.items():
        _rewrite_wait(postgres_schema, pid, change)
    with raw_connection(postgres_schema) as conn:
        conn.execute(f"DROP FUNCTION {REPEATED_KEY}(text)")
    async with open_registry(postgres_schema, read_only=True) as registry:
        census = await registry.process_census()
        assert census.live == {**dict.fromkeys(REFUSED, "running"), "plain": "waiting"}
        waiting = await registry.page_processes(
            ProcessPageQuery(states=frozenset({ProcessState.WAITING}), limit=100)
        )
        assert [r.id for r in waiting] == ["plain"]


@SQLITE_ONLY
async def test_a_waiting_row_whose_id_is_not_read_counts_and_filters_as_running(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """A waiting row another program gave an id longer than any reader takes, or a blob
    id, is shown as its running stand-in (its record unread: decoded_row.py `decode_row`); the
    census and `ls --waiting` read its record and counted it waiting."""
    for pid in ("long", "blob", "plain"):
        await registry.register_process(ext(pid))
        await park(registry, pid, clock.now_ms())
    with raw_connection(registry_target) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(
            "UPDATE processes SET process_id = ? WHERE process_id = 'long'",
            ("L" * (MAX_READ_ID_CHARS + 1),),
        )
        conn.execute(
            "UPDATE processes SET process_id = CAST('b' AS BLOB) WHERE process_id = 'blob'"
        )
    shown = await registry.page_processes(ProcessPageQuery(limit=100))
    assert sorted((r.wait is not None, r.undecodable is None) for r in shown) == [
        (False, False), (False, False), (True, True),
    ]  # fmt: skip
    census = await registry.process_census()
    assert sorted(census.live.values()) == ["running", "running", "waiting"]
    waiting = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.WAITING}), limit=100)
    )
    assert [r.id for r in waiting] == ["plain"]
    running = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.RUNNING}), limit=100)
    )
    assert len(running) == 2


# Waits written as text, as another program's encoder may write them, each in its own
# running row: the census and the waiting filter must say what the row shows (its record
# as the models decode it), on both stores. PostgreSQL's SQL tests the shape `WaitState`
# takes (filter.py `_wait_taken`); these are the edges of that shape.
_KIND = '"name": "n", "event_type": "e", "key": "k"'
_DEEP = "[" * 64 + "]" * 64  # nests 64 levels: what an unknown member may
_TOO_DEEP = "[" * 65 + "]" * 65
WRITTEN_WAITS: dict[str, tuple[str, str]] = {  # (since_ms, ordinal) as written
    name: pair
    for name, pair in {
        "since-1e3": ("1e3", "1"),
        "since-1E3": ("1E3", "1"),
        "since-1.0": ("1.0", "1"),
        "since-near-1": ("1.0000000000000000001", "1"),
        "since-9.2e18": ("9.2e18", "1"),
        "since-9.3e18": ("9.3e18", "1"),
        "since-i64-max-float": ("9223372036854775807.0", "1"),
        "since-1e30": ("1e30", "1"),
        "since-30-digits": ("1" + "0" * 30, "1"),
        "since-1e400": ("1e400", "1"),
        "since-tiny": ("1e-400", "1"),
        "since-least-double": ("4e-324", "1"),
        "since-fraction": ("1.5", "1"),
        "since-minus-zero": ("-0.0", "1"),
        "since-text-1e3": ('"1e3"', "1"),
        "since-text-underscores": ('"1_000"', "1"),
        "since-text-double-underscore": ('"1__0"', "1"),
        "since-text-signed": ('"+5"', "1"),
        "since-text-spaced": ('" 5 "', "1"),
        "since-text-nbsp": ('"\\u00a05"', "1"),
        "since-text-mongolian-space": ('"\\u180e5"', "1"),
        "since-text-zeros": ('"0005.000"', "1"),
        "since-text-dot": ('"1."', "1"),
        "since-text-hex": ('"0x10"', "1"),
        "since-text-arabic": ('"\\u0661"', "1"),
        "since-true": ("true", "1"),
        "ordinal-1e3": ("5", "1e3"),
        "ordinal-text-1e3": ("5", '"1e3"'),
        "ordinal-text-1.0": ("5", '"1.0"'),
    }.items()
}
WRITTEN_EXTRAS: dict[str, str] = {  # the whole wait, as written
    "extra-member": f'{{"kind": {{{_KIND}, "ordinal": 1}}, "since_ms": 5, "note": "x"}}',
    "extra-long-name": (
        f'{{"kind": {{{_KIND}, "ordinal": 1}}, "since_ms": 5, "{"n" * 257}": 1}}'
    ),
    "extra-name-at-limit": (
        f'{{"kind": {{{_KIND}, "ordinal": 1}}, "since_ms": 5, "{"n" * 256}": 1}}'
    ),
    "extra-deep": f'{{"kind": {{{_KIND}, "ordinal": 1}}, "since_ms": 5, "d": {_DEEP}}}',
    "extra-too-deep": f'{{"kind": {{{_KIND}, "ordinal": 1}}, "since_ms": 5, "d": {_TOO_DEEP}}}',
    "kind-extra-too-deep": (
        f'{{"kind": {{{_KIND}, "ordinal": 1, "d": {_TOO_DEEP}}}, "since_ms": 5}}'
    ),
    "kind-extra-long-name": (
        f'{{"kind": {{{_KIND}, "ordinal": 1, "{"n" * 257}": {{}}}}, "since_ms": 5}}'
    ),
    "tag-null": f'{{"kind": {{{_KIND}, "ordinal": 1, "kind": null}}, "since_ms": 5}}',
    "tag-signal": f'{{"kind": {{{_KIND}, "ordinal": 1, "kind": "signal"}}, "since_ms": 5}}',
}


def _written_wait(name: str) -> str:
    if name in WRITTEN_EXTRAS:
        return WRITTEN_EXTRAS[name]
    since, ordinal = WRITTEN_WAITS[name]
    return f'{{"kind": {{{_KIND}, "ordinal": {ordinal}}}, "since_ms": {since}}}'


async def test_the_census_counts_a_written_wait_as_the_row_shows_it(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    names = [*WRITTEN_WAITS, *WRITTEN_EXTRAS]
    for pid in names:
        await registry.register_process(ext(pid))
        await park(registry, pid, clock.now_ms())
    with raw_connection(registry_target) as conn:
        for pid in names:
            (text,) = conn.execute(
                "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
            ).fetchone()
            record = json.loads(text)
            record["wait"] = "@wait@"
            written = json.dumps(record).replace('"@wait@"', _written_wait(pid))
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (written, pid)
            )
    shown = {
        r.id: "waiting" if r.wait is not None else "running"
        for r in await registry.page_processes(ProcessPageQuery(limit=500))
    }
    assert sorted(shown) == sorted(names)
    # What the models make of them (each side of the edges is here).
    for pid in ("since-text-1e3", "since-1e30", "since-9.3e18", "since-i64-max-float",
                "since-least-double", "ordinal-text-1e3", "extra-long-name",
                "extra-too-deep", "kind-extra-too-deep", "kind-extra-long-name", "tag-null"):
        assert shown[pid] == "running", pid
    for pid in ("since-1e3", "since-near-1", "since-9.2e18", "since-30-digits", "since-tiny",
                "since-text-underscores", "since-text-nbsp", "since-text-zeros",
                "ordinal-text-1.0", "extra-member", "extra-name-at-limit", "extra-deep"):
        assert shown[pid] == "waiting", pid  # fmt: skip
    census = await registry.process_census()
    assert census.live == shown
    waiting = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.WAITING}), limit=500)
    )
    assert sorted(r.id for r in waiting) == sorted(p for p, s in shown.items() if s == "waiting")
    running = await registry.page_processes(
        ProcessPageQuery(states=frozenset({ProcessState.RUNNING}), limit=500)
    )
    assert sorted(r.id for r in running) == sorted(p for p, s in shown.items() if s == "running")
    # `lashtui ls --json` (its model-free reading: observed_json.py) shows each row so too.
    done = await asyncio.to_thread(
        subprocess.run,
        [LASHTUI, "--db", registry_target, "ls", "--json", "--status", "any", "--limit", "500"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = {
        row["process_id"]: "waiting" if row.get("wait") else "running"
        for row in json.loads(done.stdout)
    }
    assert listed == shown
