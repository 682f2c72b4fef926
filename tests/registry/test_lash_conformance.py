"""Four cases of lash's v10 registry conformance suite (lash 43e4b822f,
`crates/lash-core/src/testing/conformance/`), on both stores (issue 21):

- `process_registry_reports_declared_durability` (process_registry.rs): the registry reports
  the durability tier it declares;
- `watched_decorator_preserves_registry_semantics` (process_coordination.rs): a registry
  wrapped by `watch_process_registry` is a pass-through, every write visible unchanged on the
  inner handle and every read the same through both;
- `live_reference_summary_tracks_non_terminal_reference_counts` (process_references.rs);
- `list_non_terminal_excludes_terminal_processes` (process_registry.rs).

lash completes its rows with `complete_process`; under api.md's port decision a row that is
not externally owned is completed under its lease (`rows.finish`), as scenarios.md says.
"""

from __future__ import annotations

import json

import pytest
from pydantic import JsonValue

from lashtui.clock import ManualClock
from lashtui.model import (
    DurabilityTier,
    Engine,
    ExternalRef,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessLiveReferenceSummary,
    RecoveryDisposition,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.worker import watch_process_registry
from tests.builders import ext, own, registration
from tests.raw import raw_connection
from tests.registry.rows import ANY, claim, finish, ids, park, scope, success

# --- process_registry_reports_declared_durability ------------------------------------------


async def test_the_registry_reports_its_declared_durability(
    registry: ProcessRegistry, backend: str
) -> None:
    # A SQLite file and a PostgreSQL database outlive the process: both durable.
    assert registry.durability_tier() is DurabilityTier.DURABLE


async def test_an_in_memory_registry_reports_inline(clock: ManualClock) -> None:
    async with open_registry(":memory:", clock=clock) as registry:
        assert registry.durability_tier() is DurabilityTier.INLINE


# --- watched_decorator_preserves_registry_semantics -----------------------------------------


async def test_a_watched_registry_preserves_every_semantic(registry: ProcessRegistry) -> None:
    raw = registry
    decorated, hub = watch_process_registry(raw)
    pid = "proc-decorated"

    # register: the decorator writes straight through to the inner store.
    registered = await decorated.register_process(
        ext(pid, event_types=[ProcessEventType.plain("producer.tick")])
    )
    inner = await raw.get_process(pid)
    assert inner is not None
    assert json.loads(inner.to_json()) == json.loads(registered.to_json())
    assert hub.version(pid) == 1

    # append: the same event row lands in the inner log, and reads agree.
    appended = await decorated.append_event(pid, ProcessEventAppendRequest.new("producer.tick", {}))
    raw_events = [json.loads(e.to_json()) for e in await raw.events_after(pid, 0)]
    assert raw_events == [json.loads(appended.event.to_json())]
    assert [json.loads(e.to_json()) for e in await decorated.events_after(pid, 0)] == raw_events

    # grant: addressability recorded through the decorator is real store state.
    owner_scope = scope("decorator-owner")
    descriptor = ProcessHandleDescriptor(kind="test", label="decorated")
    await decorated.grant_handle(owner_scope, pid, descriptor)
    assert await raw.has_handle_grant(owner_scope, pid)

    # lease claim: a competing owner on the inner handle is fenced by the decorator's lease.
    claimed = (
        await decorated.claim_process_lease(pid, own("decorator-owner-a"), 60_000)
    ).acquired()
    assert claimed is not None
    competing = await raw.claim_process_lease(pid, own("decorator-owner-b"), 60_000)
    assert competing.acquired() is None
    assert competing.holder is not None
    assert competing.holder.lease_token == claimed.lease_token

    # complete: terminal on the inner handle, and both agree it left the worklist.
    await decorated.complete_process_with_lease(claimed, success("done"))
    after = await raw.get_process(pid)
    assert after is not None and after.is_terminal()
    assert await decorated.list_non_terminal() == []
    assert await raw.list_non_terminal() == []
    assert hub.version(pid) == 3  # register, append, complete: the mutations of the row


# --- live_reference_summary_tracks_non_terminal_reference_counts ------------------------------

ALPHA: JsonValue = {"module": "alpha", "process": "main"}
BETA: JsonValue = {"module": "beta", "process": "main"}


def _reference_row(pid: str, definition: JsonValue, env_ref: str) -> object:
    identity = ProcessIdentity(kind="reference-test", definition=definition)
    return registration(
        pid,
        Engine(kind="reference-test", payload=None),
        RecoveryDisposition.RERUNNABLE,
        identity=identity,
        env_ref=env_ref,
    )


def _counts(summary: list[ProcessLiveReferenceSummary]) -> dict[tuple[str, str | None], int]:
    return {(json.dumps(s.definition, sort_keys=True), s.env_ref): s.process_count for s in summary}


async def test_a_live_reference_summary_counts_non_terminal_references(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    assert await registry.live_reference_summary() == [], "a fresh registry has none"
    for pid, definition, env in (
        ("proc-ref-a1", ALPHA, "process-env:alpha"),
        ("proc-ref-a2", ALPHA, "process-env:alpha"),
        ("proc-ref-b", BETA, "process-env:beta"),
    ):
        await registry.register_process(_reference_row(pid, definition, env))  # type: ignore[arg-type]
    alpha = (json.dumps(ALPHA, sort_keys=True), "process-env:alpha")
    beta = (json.dumps(BETA, sort_keys=True), "process-env:beta")
    assert _counts(await registry.live_reference_summary()) == {alpha: 2, beta: 1}

    await finish(registry, "proc-ref-a1")
    # A waiting row is live: it still counts.
    await park(registry, "proc-ref-a2", clock.now_ms())
    summary = await registry.live_reference_summary()
    assert _counts(summary) == {alpha: 1, beta: 1}
    # lash's own reduction over the rows agrees, order included.
    every_row = await registry.list_processes(ANY)
    assert summary == ProcessLiveReferenceSummary.from_records(every_row)

    for pid in ("proc-ref-a2", "proc-ref-b"):
        await finish(registry, pid)
    assert await registry.live_reference_summary() == [], "empty once every user is terminal"


async def test_equal_definitions_count_together_whatever_their_key_order(
    registry: ProcessRegistry,
) -> None:
    await registry.register_process(_reference_row("p1", {"a": 1, "b": [2]}, "e"))  # type: ignore[arg-type]
    await registry.register_process(_reference_row("p2", {"b": [2], "a": 1}, "e"))  # type: ignore[arg-type]
    await registry.register_process(ext("p3"))  # no definition, no env
    summary = await registry.live_reference_summary()
    assert [(s.definition, s.env_ref, s.process_count) for s in summary] == [
        (None, None, 1),
        ({"a": 1, "b": [2]}, "e", 2),
    ]
    # lash writes both fields, null when absent.
    assert json.loads(summary[0].to_json()) == {
        "definition": None,
        "env_ref": None,
        "process_count": 1,
    }


# --- list_non_terminal_excludes_terminal_processes -----------------------------------------


@pytest.mark.parametrize("order", [("proc-live", "proc-done"), ("proc-done", "proc-live")])
async def test_list_non_terminal_excludes_terminal_processes(
    registry: ProcessRegistry, order: tuple[str, str]
) -> None:
    for pid in order:
        await registry.register_process(ext(pid))
    await finish(registry, "proc-done")
    lease = await claim(registry, "proc-live")  # a held lease does not make a row terminal
    assert ids(await registry.list_non_terminal()) == ["proc-live"]
    await finish(registry, "proc-live", lease=lease)
    assert await registry.list_non_terminal() == []


# --- unknown fields through the store (issue 21: kept, as lash's serde ignores them) ---------


async def test_unknown_fields_a_row_holds_survive_reads_and_writes(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain("note")]))
    with raw_connection(registry_target) as conn:  # what a newer writer left
        text = conn.execute("SELECT record_json FROM processes").fetchone()[0]
        stored = json.loads(text)
        stored["added_by_a_newer_lash"] = {"n": [1, 2]}
        stored["input"]["also"] = True
        conn.execute("UPDATE processes SET record_json = ?", (json.dumps(stored),))

    record = await registry.get_process("p")
    assert record is not None and record.undecodable is None
    assert record.model_extra == {"added_by_a_newer_lash": {"n": [1, 2]}}
    # Writes that save the record (an event's append, a fact, the terminal) keep them.
    await registry.append_event("p", ProcessEventAppendRequest.new("note", {}))
    await registry.set_external_ref("p", ExternalRef(backend="b", id="x"))
    await finish(registry, "p")
    with raw_connection(registry_target) as conn:
        saved = json.loads(conn.execute("SELECT record_json FROM processes").fetchone()[0])
    assert saved["added_by_a_newer_lash"] == {"n": [1, 2]}
    assert saved["input"]["also"] is True
    assert saved["status"]["state"] == "completed" and saved["external_ref"]["id"] == "x"
