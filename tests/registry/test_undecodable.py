"""Rows the read path cannot decode (written by an older build or another program, here with
raw SQL) never take the registry from its operators: every read shows them marked
`undecodable` with what the SQL columns give, beside the good rows; every write but
`end_undecodable_process` refuses them in one sentence; the worker and the sweep skip them
without ending them; and once an operator ends one it reads as an ordinary failed row that
prune removes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.admin.action import abandon_outlook
from lashtui.clock import ManualClock
from lashtui.errors import LashError, ProcessConflict, UndecodableProcess
from lashtui.model import (
    AbandonRequest,
    ErrorGroupQuery,
    FailureOutput,
    ProcessEvent,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessExecutionEnvSpec,
    ProcessHandleDescriptor,
    ProcessPageQuery,
    ProcessRecord,
    SessionScope,
    in_states,
    sort_key,
)
from lashtui.model.page import NO_STATE_KEY
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.dialect import MAX_STORED_BYTES
from lashtui.worker import ProcessWorker
from lashtui.worker.runtime import Verdict
from tests.builders import ext, ob, own, rr, started
from tests.raw import raw_connection, store_record_json
from tests.registry.rows import ANY, finish


def _deep(record: ProcessRecord, depth: int) -> str:
    """The record's JSON with an external metadata nested `depth` levels: past the 254
    that pydantic-core parses, well within what SQLite and jsonb read."""
    body = json.loads(record.model_dump_json())
    body["input"] = {"type": "external", "metadata": "PLACEHOLDER"}
    return json.dumps(body).replace('"PLACEHOLDER"', "[" * depth + "]" * depth)


def _invalid(record: ProcessRecord) -> str:
    return record.model_dump_json()[:40]  # cut short: not JSON at all


def _lone_surrogate(record: ProcessRecord) -> str:
    # JSON's grammar allows the escape; jsonb and pydantic both refuse it.
    return record.model_dump_json().replace(
        '"registration_hash":"', '"registration_hash":"\\ud800', 1
    )


def _unvalidated(record: ProcessRecord) -> str:
    body = json.loads(record.model_dump_json())
    body["disposition"] = "sometimes"  # JSON, but not a record
    return json.dumps(body)


def _too_large(record: ProcessRecord) -> str:
    """A record that would decode, made larger than any reader takes (sql/dialect.py
    `MAX_STORED_BYTES`) by its label."""
    body = json.loads(record.model_dump_json())
    body["identity"]["label"] = "x" * MAX_STORED_BYTES
    return json.dumps(body)


# (name, how to spoil the record). On PostgreSQL "not json" and "lone surrogate" are texts
# jsonb refuses, which fail the plain `::jsonb` cast: the statements run again in the
# tolerant form (sql/dialect.py).
SPOILERS: list[tuple[str, Callable[[ProcessRecord], str]]] = [
    ("deep", lambda r: _deep(r, 300)),
    ("deeper than sqlite reads", lambda r: _deep(r, 2500)),
    ("not json", _invalid),
    ("not a record", _unvalidated),
    ("lone surrogate", _lone_surrogate),
    ("too large", _too_large),
]


async def _two_rows(registry: ProcessRegistry, target: str, spoil: Callable[..., str]) -> None:
    """`good` and `bad`, both running rerunnable rows; `bad`'s record then spoiled."""
    await registry.register_process(rr("good"))
    bad = await registry.register_process(rr("bad"))
    store_record_json(target, "bad", spoil(bad))


@pytest.mark.parametrize(("name", "spoil"), SPOILERS, ids=[s[0] for s in SPOILERS])
async def test_every_read_shows_an_undecodable_row_beside_the_good_ones(
    registry: ProcessRegistry,
    registry_target: str,
    name: str,
    spoil: Callable[[ProcessRecord], str],
) -> None:
    await _two_rows(registry, registry_target, spoil)

    listed = await registry.list_processes(ANY)
    assert [r.id for r in listed] == ["bad", "good"]
    bad, good = listed
    assert good.undecodable is None
    assert bad.undecodable and bad.identity.kind == "undecodable"
    assert bad.identity.label == f"undecodable: {bad.undecodable}"
    assert bad.status.state.value == "running" and bad.created_at_ms > 0
    got = await registry.get_process("bad")
    assert got is not None and got.undecodable == bad.undecodable
    assert [r.id for r in await registry.list_non_terminal()] == ["bad", "good"]
    page = await registry.page_processes(ProcessPageQuery(limit=10))
    assert [r.id for r in page] == ["bad", "good"]
    assert set((await registry.get_processes(["bad", "good"])).keys()) == {"bad", "good"}
    census = await registry.process_census()
    assert set(census.live) == {"bad", "good"}
    assert [r.id for r in (await registry.processes_changed_since(0, 10))[0]] == ["good", "bad"]
    await registry.list_abandon_candidates(10)
    items = {i.process_id: i for i in await registry.list_work_items()}
    assert set(items) == {"bad", "good"}

    processes = Processes(registry)
    shown = await processes.get("bad")
    assert shown is not None and shown.label.startswith("undecodable: ")
    assert shown.kind == "undecodable" and shown.undecodable == bad.undecodable
    assert "undecodable" in shown.model_dump(mode="json")
    assert "undecodable" not in (await processes.get("good") or shown).model_dump(mode="json")
    assert {p.process_id for p in await processes.page(ProcessPageQuery(limit=10))} == {
        "bad",
        "good",
    }


async def test_writes_refuse_an_undecodable_row_in_one_sentence(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await _two_rows(registry, registry_target, lambda r: _deep(r, 300))
    request = ProcessEventAppendRequest.cancel_requested("bad", "stop")
    with pytest.raises(LashError) as refused:
        await registry.append_event("bad", request)
    message = str(refused.value)
    assert message.startswith("process `bad` could not be decoded (")
    # A Python caller runs no `lashtui end-undecodable`: the command line adds that.
    assert message.endswith("); nothing can change it but ending it"), message
    assert isinstance(refused.value, UndecodableProcess) and refused.value.process_id == "bad"
    # The facade's cancel reaches the same refusal, and nothing was written.
    with pytest.raises(LashError, match="could not be decoded"):
        await Processes(registry).cancel("bad")
    assert await registry.events_after("bad", 0) == []


@pytest.mark.parametrize(("name", "spoil"), SPOILERS, ids=[s[0] for s in SPOILERS])
async def test_an_operator_ends_it_and_prune_removes_it(
    registry: ProcessRegistry,
    registry_target: str,
    clock: ManualClock,
    name: str,
    spoil: Callable[[ProcessRecord], str],
) -> None:
    await _two_rows(registry, registry_target, spoil)
    processes = Processes(registry, clock=clock)

    ended = await processes.end_undecodable("bad", "dana", "host retired")

    assert ended.lifecycle.value == "failed" and ended.terminal
    assert ended.undecodable is None and ended.kind == "undecodable"
    record = await registry.get_process("bad")
    assert record is not None and record.undecodable is None and record.is_terminal()
    (event,) = await registry.events_after("bad", 0)
    assert event.event_type == "process.failed"
    message = str(json.loads(event.model_dump_json())["payload"]["await_output"]["message"])
    assert message.startswith("record could not be decoded (")
    assert message.endswith("; ended by dana: host retired")
    # The good row is untouched, and a row that decodes is refused.
    with pytest.raises(ProcessConflict, match="is not undecodable; cancel or abandon"):
        await processes.end_undecodable("good", "dana", "no")
    clock.advance(1_000)
    report = await processes.prune(clock.now_ms())
    assert report.pruned_processes == 1 and report.pruned_events == 1
    assert [r.id for r in await registry.list_processes(ANY)] == ["good"]


async def test_the_worker_and_sweep_skip_it_and_say_so(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    for name, spoil in SPOILERS[:1] + SPOILERS[2:]:
        await registry.register_process(rr(f"bad-{name}"))
        record = await registry.get_process(f"bad-{name}")
        assert record is not None
        store_record_json(registry_target, record.id, spoil(record))
    await registry.register_process(ext("ext-deep"))
    external = await registry.get_process("ext-deep")
    assert external is not None
    store_record_json(registry_target, "ext-deep", _deep(external, 300))

    worker = ProcessWorker(registry, clock=clock)
    for run in (True, False):  # a worker's pass, then a sweep-only pass
        await worker.drive_pending_processes(run=run)
        await worker.idle()
    assert worker.stats.verdicts["skipped_undecodable"] >= 8  # type: ignore[index]
    still = await registry.list_processes(ANY)
    assert {r.id: r.status.state.value for r in still} == {
        "bad-deep": "running",
        "bad-not json": "running",
        "bad-not a record": "running",
        "bad-lone surrogate": "running",
        "bad-too large": "running",
        "ext-deep": "running",
    }
    assert await registry.get_process_lease("bad-deep") is None


async def test_a_status_column_that_contradicts_its_record_reads_as_undecodable(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Another program set `bad`'s status column to completed and left its record running.
    Lists filter by the column and showed the record: `bad` was listed as running under
    `--status completed` and missing from `--status running`. Now it reads as a row that
    does not decode, in the column's state, so every filter and count agrees with what is
    shown; writes refuse it and the operator ends it. `odd`'s column names no state at all:
    it was shown as its record has it, as if nothing were wrong, while no state filter
    listed it, no count counted it and no worker or sweep would touch it. It reads as a row
    that does not decode too, in its record's state, and the census counts it apart."""
    await registry.register_process(ext("bad"))
    await registry.register_process(ext("odd"))
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET status = 'completed' WHERE process_id = 'bad'")
        conn.execute("UPDATE processes SET status = 'zombie' WHERE process_id = 'odd'")
    why = "its status column says completed, its record running"
    odd_why = "its status column holds 'zombie', which is no state; its record says running"

    async def every_read(pid: str, page: ProcessPageQuery) -> list[ProcessRecord | None]:
        """The row as each read returns it: alone, in a batch, in a page."""
        alone, batch = await registry.get_process(pid), await registry.get_processes([pid])
        return [alone, batch[pid], *await registry.page_processes(page)]

    for pid, page, reason, state in (
        ("bad", ProcessPageQuery(limit=10, states=["completed"]), why, "completed"),
        ("odd", ProcessPageQuery(limit=10, after_id="bad"), odd_why, "running"),
    ):
        for read in await every_read(pid, page):
            assert read is not None and read.id == pid
            assert read.undecodable == reason and read.status.state.value == state
    running = await registry.page_processes(ProcessPageQuery(limit=10, states=["running"]))
    assert [r.id for r in running] == []  # `odd` matches no state filter, `bad` is completed
    census = await registry.process_census()
    assert (census.live, census.no_state, census.total()) == ({}, 1, 2)
    assert census.counts()["completed"] == 1 and census.counts()["no state"] == 1

    with pytest.raises(UndecodableProcess, match=f"could not be decoded \\({why}\\)"):
        await registry.append_event("bad", ProcessEventAppendRequest.cancel_requested("bad", "x"))
    ended = await Processes(registry, clock=clock).end_undecodable("bad", "dana", "mended")
    assert ended.lifecycle.value == "failed" and ended.undecodable is None
    assert (await registry.get_process("bad")).undecodable is None  # type: ignore[union-attr]
    with pytest.raises(UndecodableProcess, match="holds 'zombie', which is no state"):
        await registry.request_process_abandon(
            "odd", AbandonRequest(requested_by="dana", requested_at_ms=clock.now_ms())
        )
    ended = await Processes(registry, clock=clock).end_undecodable("odd", "dana", "mended")
    assert ended.lifecycle.value == "failed" and ended.undecodable is None
    assert (await registry.process_census()).no_state == 0


async def test_awaiting_one_that_ended_says_its_output_cannot_be_read(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """The stand-in's output is a placeholder (a success with no value, an abandonment by a
    request no one made): awaiting such a row says the output is unreadable instead of
    returning it; a running one is awaited as any other."""
    processes = Processes(registry)
    for state in ("completed", "failed", "cancelled", "abandoned", "running"):
        record = await registry.register_process(ext(state))
        with raw_connection(registry_target) as conn:
            conn.execute(
                "UPDATE processes SET status = ? WHERE process_id = ?", (state, state)
            )
        store_record_json(registry_target, state, _unvalidated(record))
    for state in ("completed", "failed", "cancelled", "abandoned"):
        with pytest.raises(UndecodableProcess) as refused:
            await processes.await_output(state, timeout=5)
        assert str(refused.value) == (
            f"process `{state}` is {state}, but its record could not be decoded "
            "(disposition: Input should be 'rerunnable', 'owner_bound' or "
            "'externally_owned'), so its output cannot be read"
        )
    with pytest.raises(LashError, match=r"did not finish within 0\.1s"):
        await processes.await_output("running", timeout=0.1)


async def test_a_row_with_no_state_is_said_to_have_none_whatever_its_stand_in_holds(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Another program set two rows' status column to no state: `odd`'s record decodes (it
    says running), `lost`'s does not. A stand-in needs a state, so `odd`'s took its
    record's and `lost`'s a failure, and the views showed `lost` as failed (`ls`, the
    dashboard's badge, `await`: "process `lost` is failed"), though neither the column nor
    the record says so; which of them was "no state" was told by the words of its reason.
    Now each read marks such a row (`no_state`, in the observed JSON too), and the views,
    the filters, status order, the census and `await` go by the mark."""
    await registry.register_process(ext("fine"))
    await registry.register_process(ext("odd"))
    lost = await registry.register_process(ext("lost"))
    store_record_json(registry_target, "lost", _unvalidated(lost))
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET status = 'zombie' WHERE process_id != 'fine'")
    processes = Processes(registry, clock=clock)

    every = ProcessPageQuery(limit=10)
    for read in [*(await registry.get_processes(["fine", "odd", "lost"])).values(),
                 *await registry.page_processes(every)]:  # fmt: skip
        assert read is not None and read.no_state is (read.id != "fine"), read.id
    observed = {p.process_id: p for p in await processes.page(every)}
    assert observed["lost"].lifecycle.value == "failed"  # (lash's shape needs a state)
    for pid in ("odd", "lost"):
        shown = observed[pid]
        assert shown.no_state and shown.model_dump(mode="json")["no_state"] is True
        assert sort_key("status", shown) == NO_STATE_KEY
        assert not in_states(shown, {"running", "failed"})
        assert abandon_outlook(shown).startswith("not applicable: its status column holds no")
    assert "no_state" not in observed["fine"].model_dump(mode="json")
    assert in_states(observed["fine"], {"running"})
    census = await registry.process_census()
    assert (census.no_state, census.no_state_ids) == (2, frozenset({"odd", "lost"}))

    with pytest.raises(UndecodableProcess) as refused:
        await processes.await_output("lost", timeout=5)
    assert str(refused.value).startswith(
        "process `lost` is in no state, but its record could not be decoded (disposition: "
    )
    # The mark is lashtui's: a stored record saying it is taken for nothing.
    fine = await registry.get_process("fine")
    assert fine is not None
    forging = {**json.loads(fine.stored_json()), "no_state": True}
    store_record_json(registry_target, "fine", json.dumps(forging))
    again = await registry.get_process("fine")
    assert again is not None and again.undecodable is None and not again.no_state
    ended = await processes.end_undecodable("lost", "dana", "mended")
    assert not ended.no_state and ended.lifecycle.value == "failed"
    census = await registry.process_census()
    assert (census.no_state, census.no_state_ids) == (1, frozenset({"odd"}))


@pytest.mark.parametrize(
    ("column", "value", "not_what"),
    [
        ("lease_fencing_token", 1.5, "a whole number"),
        ("lease_expires_at_ms", "abc", "a whole number"),
        ("lease_claimed_at_ms", b"x", "a whole number"),
        ("lease_owner_id", b"\xff\x00", "text"),
        ("lease_owner_incarnation_id", b"\xff", "text"),
        ("lease_token", b"\xfe", "text"),
    ],
)
async def test_a_lease_row_whose_numbers_are_not_whole_hides_nothing(
    tmp_path: Path, clock: ManualClock, column: str, value: object, not_what: str
) -> None:
    """SQLite keeps whatever another program stores in a lease's fence or times, and a blob
    in its names. One such row failed every read that joins the leases (`ls`, `show`, the
    dashboard's views; a blob owner `ls --json` with a traceback) and every sweep. Now reads
    show its holder as stored and say why (its expiry unknown), the worker and the sweep
    skip it, writes refuse it in one sentence, a cancel or an abandon request says it is
    not known what will come of it (they said the lease had lapsed), and the operator ends
    it (PostgreSQL's columns hold only integers and text)."""
    db = str(tmp_path / "r.db")
    async with open_registry(db, clock=clock) as registry:
        for pid in ("held", "other"):
            await registry.register_process(ob(pid))
            lease = (await registry.claim_process_lease(pid, own("w"), 60_000)).acquired()
            assert lease is not None
            await registry.record_first_started(pid, started("w"), lease)
        with raw_connection(db) as conn:
            spoil = f"UPDATE process_leases SET {column} = ? WHERE process_id = 'held'"
            conn.execute(spoil, (value,))
        why = f"its lease row's {column} holds {value!r}, not {not_what}"

        leases = await registry.get_process_leases(["held", "other"])
        assert leases["held"].undecodable == why and leases["other"].undecodable is None
        assert (await registry.get_process_lease("held")).undecodable == why  # type: ignore[union-attr]
        processes = Processes(registry, clock=clock)
        shown = await processes.get("held")
        assert shown is not None and shown.lease_undecodable == why
        assert shown.lease_expires_at_ms is None and shown.lease_holder is not None
        if column == "lease_owner_id":  # shown as the bytes stored
            assert shown.lease_holder.owner_id == repr(value)
        elif column == "lease_owner_incarnation_id":
            assert shown.lease_holder.incarnation_id == repr(value)
        else:
            assert shown.lease_holder == own("w")
        assert {p.process_id for p in await processes.page(ProcessPageQuery(limit=10))} == {
            "held", "other",
        }  # fmt: skip
        items = {i.process_id: i for i in await registry.list_work_items()}
        assert items["held"].undecodable and not items["other"].undecodable
        # `lashtui check`'s facts and the Abandon requests view's next lapse read the
        # leases' numbers in SQL: a text sorted above every number and failed them.
        await processes.probe_facts(60_000)
        other = await registry.get_process_lease("other")
        assert other is not None
        assert await registry.next_lease_lapse(clock.now_ms()) == other.expires_at_epoch_ms

        worker = ProcessWorker(registry, clock=clock)
        await worker.drive_pending_processes(run=False)  # the sweep's pass: no failure
        assert worker.stats.verdicts["skipped_undecodable"] == 1  # type: ignore[index]
        with pytest.raises(UndecodableProcess, match=re.escape(f"could not be decoded ({why})")):
            await registry.claim_process_lease("held", own("x"), 60_000)

        cancel = await processes.actions.cancel("held", operator="dana")
        assert cancel.sentence.endswith(
            f"its lease could not be decoded ({why}), so whether a worker is running it is "
            "not known; no worker or sweep takes it until end-undecodable ends it"
        )
        abandon = await processes.actions.request_abandon("held", "dana")
        assert abandon.sentence.endswith(
            f"not applicable: its lease could not be decoded ({why}); only end-undecodable "
            "ends it"
        )
        await processes.end_undecodable("held", "dana", "a bad lease")
        assert await registry.get_process_lease("held") is None
        with raw_connection(db) as conn:
            kinds = conn.execute(
                "SELECT typeof(lease_fencing_token), typeof(lease_claimed_at_ms), "
                "typeof(lease_expires_at_ms) FROM process_leases WHERE process_id = 'held'"
            ).fetchone()
        assert kinds == ("integer", "integer", "integer")


@pytest.mark.parametrize("value", ["x", 1.5, b"\x00"])
async def test_a_change_position_that_is_not_whole_stops_no_feed(
    tmp_path: Path, value: object
) -> None:
    """Another program stored something other than a whole number as a row's change
    position: a text sorts above every number (the reader failed on it) and a real between
    two (a page ending at it was read again for ever). Such a row has no place in the feed;
    the feed reads the others and ends."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        for pid in ("a", "b", "c"):
            await registry.register_process(ext(pid))
        with raw_connection(db) as conn:
            conn.execute("UPDATE processes SET change_seq = ? WHERE process_id = 'b'", (value,))
        seen, cursor = [], 0
        for _ in range(10):
            page, cursor = await registry.processes_changed_since(cursor, 1)
            if not page:
                break
            seen += [r.id for r in page]
        assert seen == ["a", "c"]


async def test_a_time_or_clock_that_is_not_whole_fails_no_count(tmp_path: Path) -> None:
    """The error groups' first and last seen (`max` of the rows' times) and the census's
    position (the change clock) read only whole numbers: a text won `max` and failed the
    reader (the dashboard ended with a traceback). The clock then reads as the last whole
    position a row holds; a group whose rows hold no whole time has none (it said 0, which
    every view showed as 1970), and sorts last by time."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        for pid in ("a", "b"):
            await registry.register_process(ext(pid))
            await finish(registry, pid, FailureOutput.model_validate(
                {"class": "execution", "code": "E", "message": "m"}
            ))  # fmt: skip
        last = (await registry.process_census()).cursor
        with raw_connection(db) as conn:
            conn.execute("UPDATE processes SET updated_at_ms = 'abc' WHERE process_id = 'a'")
            conn.execute("UPDATE process_change_clock SET current_seq = 'abc'")
        (group,) = (await registry.error_groups(ErrorGroupQuery())).groups
        stored = await registry.get_process("b")
        assert stored is not None and group.count == 2
        assert group.first_seen_ms == group.last_seen_ms == stored.updated_at_ms
        assert (await registry.process_census()).cursor == last
        with raw_connection(db) as conn:
            conn.execute("UPDATE processes SET updated_at_ms = x'00' WHERE process_id = 'b'")
        await registry.register_process(ext("c"))
        await finish(registry, "c", FailureOutput.model_validate(
            {"class": "execution", "code": "F", "message": "m"}
        ))  # fmt: skip
        by_time = await registry.error_groups(ErrorGroupQuery(order="last_seen"))
        timeless, timed = by_time.groups[1], by_time.groups[0]
        assert (timeless.code, timeless.first_seen_ms, timeless.last_seen_ms) == ("E", None, None)
        assert timed.code == "F" and timed.last_seen_ms is not None


async def test_text_that_is_not_utf8_or_holds_lone_surrogates(tmp_path: Path) -> None:
    """SQLite TEXT can hold any bytes another program puts there, and a JSON escape can name
    a lone surrogate: neither stops a read."""
    target = str(tmp_path / "r.db")
    async with open_registry(target) as registry:
        await registry.register_process(rr("good"))
        bad = await registry.register_process(rr("bytes"))
        await registry.register_process(rr("surrogate"))
    text = bad.model_dump_json().replace('"bytes"', '"by\\u00e9tes"', 1).encode()
    with raw_connection(target) as conn:
        conn.execute(
            "UPDATE processes SET record_json = CAST(? AS TEXT) WHERE process_id = 'bytes'",
            (text.replace(b"\\u00e9", b"\xff\xfe"),),
        )
        conn.execute(
            "UPDATE processes SET record_json = replace(record_json, "
            '\'"registration_hash":"\', \'"registration_hash":"\\ud800\') '
            "WHERE process_id = 'surrogate'"
        )
    async with open_registry(target, read_only=True) as registry:
        listed = {r.id: r for r in await registry.list_processes(ANY)}
        assert set(listed) == {"bytes", "good", "surrogate"}
        assert listed["bytes"].undecodable
        assert listed["good"].undecodable is None
        census = await registry.process_census()
        assert len(census.live) == 3
        page = await registry.page_processes(ProcessPageQuery(limit=10))
        assert len(page) == 3
        assert len(await registry.list_work_items()) == 3
    async with open_registry(target) as registry:
        ended = await registry.end_undecodable_process("bytes", "dana", "garbage")
        assert ended.is_terminal()


async def test_an_undecodable_event_is_shown_in_its_place_in_the_timeline(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await registry.register_process(rr("p"))
    for reason in ("one", "two", "three"):
        await registry.append_event("p", ProcessEventAppendRequest.cancel_requested("p", reason))
    deep = '{"payload": ' + "[" * 300 + "]" * 300 + "}"
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE process_events SET event_json = ? WHERE sequence = 2", (deep,))

    events = await registry.events_after("p", 0)
    assert [(e.sequence, e.undecodable is not None) for e in events] == [
        (1, False),
        (2, True),
        (3, False),
    ]
    assert events[1].event_type == "process.cancel_requested" and events[1].payload is None
    assert [e.sequence for e in await registry.recent_events("p", 2)] == [2, 3]
    observed = await Processes(registry).events("p")
    assert "undecodable" in observed[1].model_dump(mode="json")
    assert "undecodable" not in observed[0].model_dump(mode="json")


async def test_a_nul_escape_an_older_build_wrote_stops_no_query(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """A NUL in a string is `\\u0000` in JSON: older lashtui builds and serde_json write it,
    pydantic reads it, but PostgreSQL's jsonb refuses it, which used to fail every census,
    page and worklist there. The row is read, and the worker still sees what it is."""
    await registry.register_process(rr("good"))
    nul = await registry.register_process(rr("nul"))
    body = json.loads(nul.model_dump_json())
    body["identity"]["label"] = "a\x00b"
    store_record_json(registry_target, "nul", json.dumps(body))

    assert [r.identity.label for r in await registry.list_processes(ANY)] == [None, "a\x00b"]
    assert set((await registry.process_census()).live) == {"good", "nul"}
    assert len(await registry.page_processes(ProcessPageQuery(limit=10, text="zzz"))) == 0
    assert len(await registry.page_processes(ProcessPageQuery(limit=10))) == 2
    await registry.list_abandon_candidates(10)
    items = {i.process_id: i for i in await registry.list_work_items()}
    assert not items["nul"].undecodable and items["nul"].disposition.value == "rerunnable"


# How another program may spoil a grant's stored descriptor (process_handle_grants).
DESCRIPTOR_SPOILERS = {
    "not json": "not json",
    "not a descriptor": '{"kind": 5}',
    "too large": json.dumps({"label": "x" * MAX_STORED_BYTES}),
}


@pytest.mark.parametrize("name", list(DESCRIPTOR_SPOILERS))
async def test_a_grant_whose_descriptor_does_not_decode_hides_nothing(
    registry: ProcessRegistry, registry_target: str, name: str
) -> None:
    """One grant row must not fail the reads of a process's grants, of a session's, or the
    security lens: the spoiled descriptor is a stand-in saying why, the rest read as ever,
    and a transfer moves the stored text as it is."""
    scope, other = SessionScope(session_id="s1"), SessionScope(session_id="s2")
    for process_id, label in (("bad", "b"), ("good", "g")):
        await registry.register_process(ext(process_id))
        await registry.grant_handle(scope, process_id, ProcessHandleDescriptor(label=label))
    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE process_handle_grants SET descriptor_json = ? WHERE process_id = 'bad'",
            (DESCRIPTOR_SPOILERS[name],),
        )

    listed = {g.process_id: g.descriptor for g, _ in await registry.list_handle_grants(scope)}
    live = await registry.list_live_handle_grants(scope)
    (for_bad,) = await registry.handle_grants_for_process("bad")
    ((scope_id, _),) = await registry.handle_grant_scopes("bad")
    lens = await Processes(registry).list_granted_to(scope)
    snapshot = await Processes(registry).session_snapshot("s1")

    bad = listed["bad"]
    assert bad.undecodable and bad.label == f"undecodable: {bad.undecodable}"
    assert "undecodable" not in bad.model_dump(mode="json")  # never serialised
    assert listed["good"] == ProcessHandleDescriptor(label="g")
    assert len(live) == 2 and for_bad.descriptor == bad and scope_id == "session:s1"
    assert {p.process_id for p in lens} == {"bad", "good"}
    assert {item.handle.process_id for item in snapshot} == {"bad", "good"}
    await registry.transfer_handle_grants(scope, other, ["bad"])
    with raw_connection(registry_target) as conn:
        (moved,) = conn.execute(
            "SELECT descriptor_json FROM process_handle_grants WHERE process_id = 'bad'"
        ).fetchone()
    assert moved == DESCRIPTOR_SPOILERS[name]


async def test_deleting_a_session_leaves_a_row_whose_status_disagrees_untouched(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """Deleting a session clears the wake target of the records that name it, each saved
    again; a row whose status column disagrees with its record was rewritten too, as if
    the two agreed. Only `end_undecodable` changes such a row."""
    scope = SessionScope(session_id="s")
    await registry.register_process(ext("odd", wake_target=scope))
    await registry.register_process(ext("fine", wake_target=scope))
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET status = 'zombie' WHERE process_id = 'odd'")
        before = conn.execute("SELECT record_json FROM processes WHERE process_id = 'odd'")
        stored = before.fetchone()[0]
    await registry.delete_session_process_state("s")
    with raw_connection(registry_target) as conn:
        after = conn.execute("SELECT record_json FROM processes WHERE process_id = 'odd'")
        assert after.fetchone()[0] == stored
    fine = await registry.get_process("fine")
    assert fine is not None and fine.wake_target is None


def tick(n: int) -> ProcessEventAppendRequest:
    return ProcessEventAppendRequest(event_type="x.tick", payload={"n": n})


async def read_whole_log(registry: ProcessRegistry, pid: str) -> list[ProcessEvent]:
    """The log a page of one event at a time, each page after the last one's sequence, as
    `lashtui events` and the detail read it; a page that does not move on fails."""
    events: list[ProcessEvent] = []
    while page := await registry.events_after(pid, events[-1].sequence if events else 0, limit=1):
        assert not events or page[0].sequence > events[-1].sequence, "read the same page again"
        events += page
    return events


@pytest.mark.parametrize("said", [-1, 1, 2**63 - 1])
async def test_an_event_whose_json_names_another_sequence_reads_as_undecodable(
    registry: ProcessRegistry, registry_target: str, said: int
) -> None:
    """Another program wrote an event's JSON with a sequence other than its row's: every
    page read on from the JSON's, so a JSON of -1 under a row of 2 read the same page for
    ever (`lashtui events` printed without end). The row's sequence is the event's place;
    which of the two is true is not known, so it reads as an event that does not decode."""
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain("x.tick")]))
    for n in (1, 2, 3):
        await registry.append_event("p", tick(n))
    with raw_connection(registry_target) as conn:
        (text,) = conn.execute(
            "SELECT event_json FROM process_events WHERE process_id = 'p' AND sequence = 2"
        ).fetchone()
        stored = json.loads(text) | {"sequence": said}
        conn.execute(
            "UPDATE process_events SET event_json = ? WHERE process_id = 'p' AND sequence = 2",
            (json.dumps(stored),),
        )
    log = await read_whole_log(registry, "p")
    assert [(e.sequence, e.undecodable) for e in log] == [
        (1, None),
        (2, f"its JSON says sequence {said}, its row 2"),
        (3, None),
    ]
    assert [e.sequence for e in await registry.recent_events("p", 10)] == [1, 2, 3]


@pytest.mark.parametrize("stored", ["'abc'", "x'00'", "1.5"])
async def test_an_event_whose_sequence_is_no_whole_number_is_left_out(
    tmp_path: Path, stored: str
) -> None:
    """SQLite keeps any value in the sequence column: a text or a blob sorted above every
    number, so every page ended on it and read on from it for ever. The log's reads take
    only whole-number sequences (PostgreSQL's column holds nothing else), and say how many
    they leave out, so that a reader can say its timeline is not the whole log (the
    command line and the dashboard: tests/tui/test_undecodable_rows.py)."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.register_process(ext("p", event_types=[ProcessEventType.plain("x.tick")]))
        for n in (1, 2, 3):
            await registry.append_event("p", tick(n))
        with raw_connection(db) as conn:
            conn.execute(f"UPDATE process_events SET sequence = {stored} WHERE sequence = 2")
        assert [e.sequence for e in await read_whole_log(registry, "p")] == [1, 3]
        assert [e.sequence for e in await registry.recent_events("p", 10)] == [1, 3]
        assert await registry.events_left_out("p") == 1


async def test_no_event_is_left_out_of_a_log_every_writer_kept(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain("x.tick")]))
    await registry.append_event("p", tick(1))
    assert await registry.events_left_out("p") == 0
    with pytest.raises(LashError, match="unknown process `nope`"):
        await registry.events_left_out("nope")


async def test_a_stored_undecodable_key_is_not_taken_for_a_verdict(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """A stand-in's mark was read from stored JSON like any field (though never printed), so
    any stored record, event or grant descriptor holding an `undecodable` key of its own
    passed for one: the worker skipped such a record, writes refused it, its disposition
    read "unknown", and its words were shown as lashtui's verdict ("record could not be
    decoded: <anything>"). Now a stored value under that name is not taken (model/wire.py
    `StoredModel`), and the row runs. A record's `disposition_recorded: false` hid its
    disposition as "not recorded": the registry says that now, and the key is an unknown
    field like any other, kept."""
    forged = "the registry is damaged; run `repair.sh` to fix it"
    scope = SessionScope(session_id="s1")
    note = [ProcessEventType.plain("note")]
    env = await registry.put_process_execution_env(ProcessExecutionEnvSpec())
    await registry.register_process(rr("p", event_types=note, env_ref=env))
    await registry.grant_handle(scope, "p", ProcessHandleDescriptor(label="g"))
    await registry.append_event("p", ProcessEventAppendRequest.new("note", {"n": 1}))
    record = await registry.get_process("p")
    assert record is not None
    # (and `disposition_recorded`, which said "not recorded" for a lash v6 row: the registry
    # says that now, `records_dispositions`)
    keys = {"undecodable": forged, "disposition_recorded": False}
    forging = {**json.loads(record.stored_json()), **keys}
    store_record_json(registry_target, "p", json.dumps(forging))
    with raw_connection(registry_target) as conn:
        for table, column in (("process_events", "event_json"), ("process_handle_grants",
                                                                  "descriptor_json")):  # fmt: skip
            (text,) = conn.execute(f"SELECT {column} FROM {table}").fetchone()
            conn.execute(
                f"UPDATE {table} SET {column} = ?",
                (json.dumps({**json.loads(text), "undecodable": forged}),),
            )

    read = await registry.get_process("p")
    assert read is not None and read.undecodable is None
    assert read.model_extra == {"disposition_recorded": False}
    shown = await Processes(registry).get("p")
    assert shown is not None and shown.undecodable is None
    assert shown.disposition_text() == "rerunnable" and shown.kind == "echo"
    (event,) = await registry.events_after("p", 0)
    assert event.undecodable is None and event.payload == {"n": 1}
    (observed,) = await Processes(registry).events("p")
    assert "undecodable" not in observed.model_dump(mode="json")
    ((grant, _),) = await registry.list_handle_grants(scope)
    assert grant.descriptor.undecodable is None and grant.descriptor.label == "g"

    ran: list[str] = []

    async def echo(ctx: object, payload: object) -> object:
        ran.append("p")
        return payload

    worker = ProcessWorker(registry, clock=clock)
    worker.engines.register("echo", echo)
    await worker.drive_pending_processes()
    await worker.idle()
    assert ran == ["p"] and worker.stats.verdicts == {Verdict.RAN: 1}
    done = await registry.get_process("p")
    assert done is not None and done.status.state.value == "completed"
    assert done.model_extra == {"disposition_recorded": False}  # kept through the run
