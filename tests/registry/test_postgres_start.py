"""A worker's start as one call to the schema's function (postgres/start.py), and the schema
version that brought it (13, migrated from 12).

It must write what the shared path (`run.start_for_run`) writes, byte for byte (the same
rows in a twin schema run through the shared path), answer a replay, a conflict and an
undecodable stored row as the shared path does, leave every start it does not cover to the
shared path, lose no race between two handles starting one id, and keep the change feed's
sequences distinct and visible when it commits in a group with other saves."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import ProcessConflict, UndecodableProcess
from lashtui.model import (
    Engine,
    External,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessExecutionEnvSpec,
    ProcessIdentity,
    ProcessPageQuery,
    ProcessRecord,
    ProcessRunClaim,
    ProcessStartGrant,
    ProcessStartRequest,
    RecoveryDisposition,
    SessionScope,
)
from lashtui.registry import open_registry
from lashtui.registry.postgres import PostgresProcessRegistry, notice
from lashtui.registry.postgres.schema import SEQ_BITS, START_FUNCTION
from lashtui.registry.postgres.start import prepare_start, start_in_server
from lashtui.registry.sql import run
from lashtui.registry.sql.backlog_mark import STALE_INDEX, UNMARKED_INDEX
from lashtui.registry.sql.filter import HELD_INDEX
from tests.builders import own, started
from tests.raw import raw_connection
from tests.registry.server_functions import (
    as_version_13_layout,
    as_version_14_layout,
    calls,
    counted,
)

TTL = 60_000
START = 1_780_000_000_000


def _request(pid: str, **fields: Any) -> ProcessStartRequest:
    values: dict[str, Any] = {
        "id": pid,
        "input": Engine(kind="echo", payload={}),
        "disposition": RecoveryDisposition.RERUNNABLE,
        **fields,
    }
    return ProcessStartRequest.model_validate(values)


# Starts the function covers: rows a worker runs, with the default env (or one known).
COVERED = [
    _request("a"),
    _request("b", disposition=RecoveryDisposition.OWNER_BOUND),
    _request(
        "c\u00fc\"\\",
        input=Engine(kind="echo", payload={"n": 1, "text": "\u00fc\"\\\n", "deep": [[{}]]}),
        identity=ProcessIdentity(kind="echo", label="l\u00e4bel \u2603"),
        wake_target=SessionScope(session_id="s1"),
    ),
    _request(
        "d",
        event_types=[
            ProcessEventType.model_validate({"name": "custom.step", "semantics": {}}),
        ],
    ),
]


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every column a start writes. A row's change sequence is its transaction's id shifted,
    plus the registry's base and its count within the transaction: the count is compared
    (the ids differ between two schemas' transactions)."""
    mask = (1 << SEQ_BITS) - 1
    with raw_connection(url) as conn:
        return {
            "processes": conn.execute(
                "SELECT p.process_id, p.registration_hash, p.owner_scope_id, p.created_at_ms, "
                f"p.updated_at_ms, (p.change_seq - m.change_base) & {mask}, p.status, "
                "p.record_json FROM processes p, process_registry_meta m ORDER BY 1"
            ).fetchall(),
            "leases": conn.execute("SELECT * FROM process_leases ORDER BY 1").fetchall(),
            "envs": conn.execute("SELECT * FROM process_execution_envs ORDER BY 1").fetchall(),
            "events": conn.execute("SELECT * FROM process_events ORDER BY 1, 2").fetchall(),
            "grants": conn.execute("SELECT * FROM process_handle_grants ORDER BY 1, 2").fetchall(),
        }


def _shared_path_not_taken(*args: object) -> NoReturn:
    raise AssertionError("the start took the shared path")


def _prepared(registry: PostgresProcessRegistry, request: ProcessStartRequest) -> bool:
    """Whether the registry would start `request` through the function now."""
    envs = registry._server.shared.envs
    prepared = prepare_start(envs, request, own("w:1"), TTL, started("w"), START)
    return registry.starts_in_server and prepared is not None


Outcome = tuple[ProcessRecord, ProcessRunClaim | None] | str


async def _start_each(registry: PostgresProcessRegistry, in_server: bool) -> list[Outcome]:
    await registry.put_process_execution_env(ProcessExecutionEnvSpec())  # (known from here)
    outcomes: list[Outcome] = []
    replays = [COVERED[0], COVERED[2].model_copy(update={"wake_target": None})]
    for request in [*COVERED, *replays]:  # the last two: a replay, then a conflict
        assert _prepared(registry, request) is in_server
        try:
            outcomes.append(
                await registry.start_process_for_run(request, own("w:1"), TTL, started("w"))
            )
        except ProcessConflict as conflict:
            outcomes.append(str(conflict))
    return outcomes


async def test_it_writes_what_the_shared_path_writes(
    postgres_schema: str, twin_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twin runs the shared path; here the shared path is made to fail, so every start
    (but the env's own write) is the function's: the same rows, the same answers."""
    answers = []
    for url, in_server in ((postgres_schema, True), (twin_schema, False)):
        async with open_registry(counted(url), clock=ManualClock(START)) as registry:
            assert isinstance(registry, PostgresProcessRegistry)
            registry.starts_in_server = in_server
            with monkeypatch.context() as patch:
                if in_server:
                    patch.setattr(run, "start_for_run", _shared_path_not_taken)
                answers.append(await _start_each(registry, in_server))
            for request in COVERED:  # each as it committed
                assert (await registry.get_process(request.id)) is not None
        expected = len(COVERED) + 2 if in_server else 0
        assert calls(url, START_FUNCTION, expected) == expected
    assert answers[0] == answers[1]
    assert _rows(postgres_schema) == _rows(twin_schema)
    outcomes = answers[0]
    for outcome, request in zip(outcomes[: len(COVERED)], COVERED, strict=True):
        assert not isinstance(outcome, str)
        record, claim = outcome
        assert record.id == request.id and record.first_started == started("w")
        assert claim is not None and claim.started and claim.outcome.acquired() is not None
    replay, conflict = outcomes[len(COVERED) :]
    assert replay == (outcomes[0][0], None)  # type: ignore[index]
    assert isinstance(conflict, str) and "registration hash conflict" in conflict
    rows = _rows(postgres_schema)
    assert [fence for *_, fence, _, _ in rows["leases"]] == [1] * len(COVERED)


async def test_a_start_it_does_not_cover_takes_the_shared_path(postgres_schema: str) -> None:
    """A grant to make, an env not yet stored, a row no worker runs, a bad ttl: the shared
    path, as before (and the function is never called)."""
    async with open_registry(counted(postgres_schema)) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        fresh_env = _request("env")
        assert not _prepared(registry, fresh_env)  # (no env known yet)
        _, claim = await registry.start_process_for_run(
            fresh_env, own("w:1"), TTL, started("w")
        )
        assert claim is not None and claim.started
        granted = _request(
            "granted", grant=ProcessStartGrant(session_scope=SessionScope(session_id="s"))
        )
        external = ProcessStartRequest(
            id="ext", input=External(), disposition=RecoveryDisposition.EXTERNALLY_OWNED
        )
        for request in (granted, external):
            assert not _prepared(registry, request)
        _, claim = await registry.start_process_for_run(granted, own("w:1"), TTL, started("w"))
        assert claim is not None and claim.started
        assert await registry.list_handle_grants(SessionScope(session_id="s"))
        _, claim = await registry.start_process_for_run(external, own("w:1"), TTL, started("w"))
        assert claim is None
        envs = registry._server.shared.envs
        bad_ttl = prepare_start(envs, _request("t"), own("w:1"), -1, started("w"), START)
        assert bad_ttl is None
        assert _prepared(registry, _request("covered"))  # (the env is known now)
    assert calls(postgres_schema, START_FUNCTION, 0) == 0


async def test_an_undecodable_stored_row_is_refused_as_on_the_shared_path(
    postgres_schema: str,
) -> None:
    async with open_registry(postgres_schema) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        await registry.put_process_execution_env(ProcessExecutionEnvSpec())
        await registry.start_process(_request("p"))
    with raw_connection(postgres_schema) as conn:
        conn.execute("UPDATE processes SET record_json = '{\"id\": 1' WHERE process_id = 'p'")
    refusals = []
    for in_server in (True, False):
        async with open_registry(postgres_schema) as registry:
            assert isinstance(registry, PostgresProcessRegistry)
            registry.starts_in_server = in_server
            await registry.put_process_execution_env(ProcessExecutionEnvSpec())
            assert _prepared(registry, _request("p")) is in_server
            with pytest.raises(UndecodableProcess) as refused:
                await registry.start_process_for_run(_request("p"), own("w:1"), TTL, started("w"))
            refusals.append(str(refused.value))
    assert refusals[0] == refusals[1] and "could not be decoded" in refusals[0]


async def test_two_handles_starting_one_id_race_to_one_row_and_one_claim(
    postgres_schema: str,
) -> None:
    """The second insert of one new id fails on the primary key and its transaction runs
    again, to find the row: a replay, claiming nothing."""
    async with open_registry(postgres_schema) as first, open_registry(postgres_schema) as second:
        handles = (first, second)
        for handle in handles:
            await handle.put_process_execution_env(ProcessExecutionEnvSpec())
        for n in range(20):
            request = _request(f"race-{n}")
            assert all(_prepared(h, request) for h in handles)  # type: ignore[arg-type]
            outcomes = await asyncio.gather(
                *(h.start_process_for_run(request, own(f"w{i}:1"), TTL, started(f"w{i}"))
                  for i, h in enumerate(handles))
            )  # fmt: skip
            claims = [claim for _, claim in outcomes if claim is not None]
            assert len(claims) == 1
            assert outcomes[0][0] == outcomes[1][0]
            lease = await first.get_process_lease(request.id)
            assert lease == claims[0].outcome.acquired()


async def test_in_a_group_its_change_sequence_is_its_own_and_in_the_feed(
    postgres_schema: str,
) -> None:
    """Starts through the function commit in one group with appends (their sequences
    counted in the client) and with each other: every save has a sequence of its own, and
    a follower from before sees every row after the commit. The commits are quiet."""
    assert notice.is_quiet([start_in_server])
    async with open_registry(postgres_schema) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        await registry.put_process_execution_env(ProcessExecutionEnvSpec())
        old = [f"o{n}" for n in range(3)]
        for pid in old:
            await registry.start_process(_request(pid))
        _, cursor = await registry.processes_changed_since(0, 100)
        new = [_request(f"n{n}") for n in range(6)]
        assert all(_prepared(registry, request) for request in new)
        append = ProcessEventAppendRequest.new("process.cancel_requested", {"reason": "a"}, "c")
        conflicting = _request("o0", disposition=RecoveryDisposition.OWNER_BOUND)
        assert _prepared(registry, conflicting)
        outcomes = await asyncio.gather(
            *(registry.start_process_for_run(r, own("w:1"), TTL, started("w")) for r in new),
            *(registry.append_event(pid, append) for pid in old),
            registry.start_process_for_run(conflicting, own("w:1"), TTL, started("w")),
            return_exceptions=True,
        )
        # The conflict is its caller's alone: everything else in its group committed.
        assert isinstance(outcomes[-1], ProcessConflict)
        assert not any(isinstance(outcome, BaseException) for outcome in outcomes[:-1])
        changed, _ = await registry.processes_changed_since(cursor, 100)
        assert sorted(record.id for record in changed) == sorted(
            [*old, *(request.id for request in new)]
        )
        with raw_connection(postgres_schema) as conn:
            seqs = [s for (s,) in conn.execute("SELECT change_seq FROM processes")]
        assert len(set(seqs)) == len(seqs)


def _as_version_12(url: str) -> None:
    """What lashtui stamped before the start's function."""
    as_version_13_layout(url)
    with raw_connection(url) as conn:
        conn.execute("UPDATE process_registry_meta SET schema_version = 12")


def _state(url: str) -> tuple[int, bool]:
    """The schema's version, and whether it has the start's function."""
    with raw_connection(url) as conn:
        version = conn.execute("SELECT schema_version FROM process_registry_meta").fetchone()
        found = conn.execute(f"SELECT to_regproc('{START_FUNCTION}')").fetchone()
    return int(version[0]), found[0] is not None


async def test_a_version_12_registry_is_read_as_it_is_and_migrated_by_a_writable_open(
    postgres_schema: str,
) -> None:
    async with open_registry(postgres_schema) as registry:
        await registry.put_process_execution_env(ProcessExecutionEnvSpec())
        await registry.start_process(_request("p"))
    _as_version_12(postgres_schema)
    assert _state(postgres_schema) == (12, False)
    async with open_registry(postgres_schema, read_only=True) as reader:
        assert (await reader.get_process("p")) is not None
    assert _state(postgres_schema) == (12, False)
    async with open_registry(counted(postgres_schema)) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        assert _state(postgres_schema) == (15, True)
        await registry.get_process_execution_env(ProcessExecutionEnvSpec().stable_ref())
        assert _prepared(registry, _request("q"))
        request = _request("q")
        _, claim = await registry.start_process_for_run(request, own("w:1"), TTL, started("w"))
        assert claim is not None and claim.started
    assert calls(postgres_schema, START_FUNCTION, 1) == 1


def _has_column(conn: Any, name: str) -> bool:
    """Whether the schema's `processes` has the column `name`."""
    return bool(conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = 'processes' AND column_name = ?",
        (name,),
    ).fetchone()[0])


def _labels(url: str) -> dict[str, object]:
    with raw_connection(url) as conn:
        version = conn.execute("SELECT schema_version FROM process_registry_meta").fetchone()[0]
        column = _has_column(conn, "sort_label")
        rows = dict(conn.execute("SELECT process_id, sort_label FROM processes")) if column else {}
    return {"version": version, "rows": rows}


async def test_a_version_13_registry_gets_the_label_column_and_keeps_sorting_by_label(
    postgres_schema: str,
) -> None:
    """Version 13 to 15, through 14 (postgres/upgrade.py): a read-only open reads it as
    it is; a writable one adds `sort_label` and the start function that fills it, and
    leaves the rows it had NULL (they sort by their JSON) and the JSON-only label index in
    place until `lashtui index` replaces it. Label pages sort the same all along."""
    def labelled(label: str) -> Any:
        return {"kind": "echo", "label": label}

    async with open_registry(postgres_schema) as registry:
        await registry.put_process_execution_env(ProcessExecutionEnvSpec())
        for pid, label in (("a", "zulu"), ("b", "alpha")):
            await registry.start_process(_request(pid, identity=labelled(label)))
    as_version_13_layout(postgres_schema)
    with raw_connection(postgres_schema) as conn:
        conn.execute("UPDATE process_registry_meta SET schema_version = 13")
    query = ProcessPageQuery(order="label")
    async with open_registry(postgres_schema, read_only=True) as reader:
        assert [r.id for r in await reader.page_processes(query)] == ["b", "a"]
    assert _labels(postgres_schema) == {"version": 13, "rows": {}}
    async with open_registry(counted(postgres_schema)) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        await registry.get_process_execution_env(ProcessExecutionEnvSpec().stable_ref())
        request = _request("m", identity=labelled("mike"))
        assert _prepared(registry, request)
        _, claim = await registry.start_process_for_run(request, own("w:1"), TTL, started("w"))
        assert claim is not None and claim.started
        assert [r.id for r in await registry.page_processes(query)] == ["b", "m", "a"]
        report = await registry.add_missing_indexes()
        assert (report.created, report.dropped) == (
            [HELD_INDEX, "processes_status_sort_label_idx", UNMARKED_INDEX, STALE_INDEX],
            ("processes_status_label_idx",),
        )
        assert [r.id for r in await registry.page_processes(query)] == ["b", "m", "a"]
    assert _labels(postgres_schema) == {"version": 15, "rows": {"a": None, "b": None, "m": "mike"}}
    assert calls(postgres_schema, START_FUNCTION, 1) == 1


def _marks(url: str) -> dict[str, object]:
    """The schema's version, whether it has the mark's trigger, and each row's mark
    (True where it equals the row's change sequence), when it has the column."""
    with raw_connection(url) as conn:
        version = conn.execute("SELECT schema_version FROM process_registry_meta").fetchone()[0]
        trigger = conn.execute(
            "SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = "
            "current_schema() AND trigger_name = 'processes_backlog_seq_stale'"
        ).fetchone()[0]
        column = _has_column(conn, "backlog_seq")
        rows = (
            dict(conn.execute(
                "SELECT process_id, backlog_seq IS NOT NULL AND backlog_seq = change_seq "
                "FROM processes"
            ))
            if column else {}
        )
    return {"version": version, "trigger": bool(trigger), "marks": rows}


async def test_a_version_14_registry_gets_the_backlog_mark_and_its_drive_reads_the_same(
    postgres_schema: str,
) -> None:
    """Version 14 to 15 (postgres/upgrade.py): a read-only open reads it as it is; a
    writable one adds `backlog_seq`, its trigger and the start function that marks, and
    leaves the rows it had unmarked; `lashtui index` builds the drive's two indexes. A
    worker's drive lists the same rows at every step."""
    async with open_registry(postgres_schema) as registry:
        await registry.put_process_execution_env(ProcessExecutionEnvSpec())
        for pid in ("a", "b", "c"):
            await registry.start_process(_request(pid))
    as_version_14_layout(postgres_schema)
    with raw_connection(postgres_schema) as conn:
        conn.execute("UPDATE process_registry_meta SET schema_version = 14")
    async with open_registry(postgres_schema, read_only=True) as reader:
        before = await reader.list_drive_work_items(START)
        assert [item.process_id for item in before] == ["a", "b"]  # the backlog's first two
    assert _marks(postgres_schema) == {"version": 14, "trigger": False, "marks": {}}
    async with open_registry(counted(postgres_schema)) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        assert await registry.list_drive_work_items(START) == before
        await registry.get_process_execution_env(ProcessExecutionEnvSpec().stable_ref())
        request = _request("d")
        assert _prepared(registry, request)
        _, claim = await registry.start_process_for_run(request, own("w:1"), TTL, started("w"))
        assert claim is not None and claim.started
        await registry.start_process(_request("e"))
        assert _marks(postgres_schema) == {
            "version": 15,
            "trigger": True,
            "marks": {"a": False, "b": False, "c": False, "d": True, "e": True},
        }
        unindexed = await registry.list_drive_work_items(START)
        report = await registry.add_missing_indexes()
        assert report.created == [HELD_INDEX, UNMARKED_INDEX, STALE_INDEX]
        assert await registry.list_drive_work_items(START) == unindexed
        assert [item.process_id for item in unindexed] == ["a", "b", "d"]  # d: its lease
    assert calls(postgres_schema, START_FUNCTION, 1) == 1


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        # A stored hash past the ceiling on plain text (sql/stored_text.py), quoted by its
        # start, and a record past the ceiling on stored JSON, left unread: the server's
        # answer takes them as every read does, so both paths say the same.
        ("registration_hash", "'h' || repeat('o', 6000)", "existing hoooo"),
        ("record_json", "'{\"pad\": \"' || repeat('x', 17000000) || '\"}'", "over 16 MiB"),
    ],
)
async def test_a_stored_row_past_the_ceilings_is_answered_as_on_the_shared_path(
    postgres_schema: str, column: str, value: str, said: str
) -> None:
    async with open_registry(postgres_schema) as registry:
        await registry.put_process_execution_env(ProcessExecutionEnvSpec())
        await registry.start_process(_request("p"))
    with raw_connection(postgres_schema) as conn:
        conn.execute(f"UPDATE processes SET {column} = {value} WHERE process_id = 'p'")
    refusals = []
    for in_server in (True, False):
        async with open_registry(postgres_schema) as registry:
            assert isinstance(registry, PostgresProcessRegistry)
            registry.starts_in_server = in_server
            await registry.put_process_execution_env(ProcessExecutionEnvSpec())
            assert _prepared(registry, _request("p")) is in_server
            with pytest.raises((ProcessConflict, UndecodableProcess)) as refused:
                await registry.start_process_for_run(_request("p"), own("w:1"), TTL, started("w"))
            refusals.append(str(refused.value))
    assert refusals[0] == refusals[1] and said in refusals[0], refusals
    assert len(refusals[0]) < 300
