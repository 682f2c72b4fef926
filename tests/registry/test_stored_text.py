"""Plain-text columns longer than any reader takes whole (lashtui/registry/sql/stored_text.py),
on both stores: another program's, since lashtui's writes allow a few hundred characters.

Each is read as its first 4,096 characters and `CUT_MARK` (a cut value), which says it was
cut wherever it is shown; a value of 4,096 characters or fewer reads back exactly. A cut
lease name is no lease: the lease reads as a stand-in saying why, no worker claims or
recovers its row, and a write keyed by it is refused in one sentence naming the row. The
value itself never becomes a Python object (tracemalloc, on SQLite).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from lashtui.errors import InvalidRequest, ProcessConflict, UndecodableProcess
from lashtui.model import (
    LeaseOwnerIdentity,
    LocalProcessLiveness,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessExecutionEnvSpec,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessPageQuery,
    SessionScope,
)
from lashtui.model.audit import AuditQuery, OperatorAction
from lashtui.model.lease import OpaqueLiveness
from lashtui.model.limit import MAX_JSON_BYTES
from lashtui.observed_json import MAX_NAME_READ
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.audit import DETAIL_READ_CHARS
from lashtui.registry.sql.dialect import MAX_STORED_BYTES
from lashtui.registry.sql.fetch import LIVENESS_CHARS
from lashtui.registry.sql.stored_text import READ_CHARS, as_read
from lashtui.untrusted import CUT_MARK, bounded
from tests.builders import ext, ob
from tests.raw import raw_connection
from tests.registry.test_stored_size import held_at_most

TTL_MS = 3_600_000
LONG = "o" * 6_000
CUT = "o" * READ_CHARS + CUT_MARK
LEASE_NAMES = ("lease_owner_id", "lease_owner_incarnation_id", "lease_token")


def owner(name: str = "w") -> LeaseOwnerIdentity:
    liveness = LocalProcessLiveness(host_id="h", boot_id="b", pid=42, process_start="7")
    return LeaseOwnerIdentity(owner_id=name, incarnation_id=f"{name}:1", liveness=liveness)


async def leased(registry: ProcessRegistry, target: str, column: str, value: str) -> None:
    """Row `p`, leased, then its lease's `column` stored as `value` by another program."""
    await registry.register_process(ob("p"))
    assert (await registry.claim_process_lease("p", owner(), TTL_MS)).acquired()
    with raw_connection(target) as conn:
        conn.execute(f"UPDATE process_leases SET {column} = ? WHERE process_id = 'p'", (value,))


def test_the_ceiling_is_what_lashtui_shows_and_the_json_printer_vouches_for() -> None:
    assert READ_CHARS == MAX_NAME_READ == 4096
    assert LIVENESS_CHARS == MAX_JSON_BYTES  # (what a write allows of an owner's JSON)
    assert as_read(LONG) == as_read(CUT) == CUT and as_read("o" * READ_CHARS) == "o" * READ_CHARS
    assert bounded(CUT).endswith("… (more than 4,096 characters: not read)")


@pytest.mark.parametrize("column", LEASE_NAMES)
async def test_a_lease_name_past_the_ceiling_reads_cut_and_nothing_acts_by_it(
    registry: ProcessRegistry, registry_target: str, column: str
) -> None:
    await leased(registry, registry_target, column, LONG)
    why = f"its lease row's {column} is over 4,096 characters, more than any reader takes"

    lease = await registry.get_process_lease("p")
    assert lease is not None and lease.undecodable == why
    names = {
        "lease_owner_id": lease.owner.owner_id,
        "lease_owner_incarnation_id": lease.owner.incarnation_id,
        "lease_token": lease.lease_token,
    }
    assert names[column] == CUT  # (held cut: shown as such, `bounded`)
    assert (await registry.get_process_leases(["p"]))["p"].undecodable == why
    (item,) = await registry.list_work_items()
    assert item.undecodable and item.lease is None  # no worker or sweep takes it

    # A claim or a reclaim (keyed by the stored names) is refused, naming the row.
    refused = f"process `p` could not be decoded ({why})"
    with pytest.raises(UndecodableProcess, match=re.escape(refused)):
        await registry.claim_process_lease("p", owner("x"), TTL_MS)
    with pytest.raises(UndecodableProcess, match=re.escape(refused)):
        await registry.reclaim_process_lease("p", owner("x"), lease, TTL_MS)


@pytest.mark.parametrize("column", LEASE_NAMES)
async def test_a_lease_name_at_the_ceiling_reads_back_whole(
    registry: ProcessRegistry, registry_target: str, column: str
) -> None:
    whole = "o" * READ_CHARS
    await leased(registry, registry_target, column, whole)
    lease = await registry.get_process_lease("p")
    assert lease is not None and lease.undecodable is None
    assert whole in (lease.owner.owner_id, lease.owner.incarnation_id, lease.lease_token)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_huge_lease_name_is_never_held(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await leased(registry, registry_target, "lease_owner_id", "o" * (20 << 20))  # 20 MB

    async def every_read() -> tuple[Any, ...]:
        return (
            await registry.get_process_lease("p"),
            await registry.get_process_leases(["p"]),
            await registry.list_work_items(),
            await registry.list_leased_processes(),
        )

    lease, _, (item,), _ = await held_at_most(4 << 20, every_read)
    assert lease is not None and lease.owner.owner_id == CUT and item.undecodable


async def granted(registry: ProcessRegistry, target: str, column: str, value: str) -> None:
    """Row `p` granted to session `s`, then the grant's `column` stored as `value`."""
    await registry.register_process(ob("p"))
    await registry.grant_handle(SessionScope(session_id="s"), "p", ProcessHandleDescriptor())
    with raw_connection(target) as conn:
        conn.execute(f"UPDATE process_handle_grants SET {column} = ?", (value,))


@pytest.mark.parametrize("column", ["session_id", "scope_id"])
async def test_a_grant_scope_past_the_ceiling_reads_cut(
    registry: ProcessRegistry, registry_target: str, column: str
) -> None:
    await granted(registry, registry_target, column, LONG)
    ((scope_id, grant),) = await registry.handle_grant_scopes("p")
    (same,) = await registry.handle_grants_for_process("p")
    if column == "session_id":
        assert grant.session_id == same.session_id == CUT and scope_id == "session:s"
        ((listed, _),) = await registry.list_handle_grants(SessionScope(session_id="s"))
        assert listed.session_id == CUT
    else:
        assert scope_id == CUT and grant.session_id == same.session_id == "s"
    assert bounded(CUT).endswith("(more than 4,096 characters: not read)")


async def test_a_grant_scope_at_the_ceiling_reads_back_whole(
    registry: ProcessRegistry, registry_target: str
) -> None:
    whole = "o" * READ_CHARS
    await granted(registry, registry_target, "session_id", whole)
    ((_, grant),) = await registry.handle_grant_scopes("p")
    assert grant.session_id == whole


async def test_an_event_type_past_the_ceiling_reads_cut(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """The type column is shown only by a stand-in (an event whose JSON does not decode),
    whose type it is; the JSON's own type is read with the JSON."""
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain("x.t")]))
    await registry.append_event("p", ProcessEventAppendRequest(event_type="x.t", payload={}))
    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE process_events SET event_type = ?, event_json = '{' WHERE event_type = 'x.t'",
            (LONG,),
        )
    (event,) = [e for e in await registry.events_after("p", 0) if e.undecodable]
    assert event.event_type == CUT


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_huge_grant_scope_or_event_type_is_never_held(
    registry: ProcessRegistry, registry_target: str
) -> None:
    huge = "o" * (20 << 20)  # 20 MB
    await granted(registry, registry_target, "session_id", huge)
    await registry.register_process(ext("e", event_types=[ProcessEventType.plain("x.t")]))
    await registry.append_event("e", ProcessEventAppendRequest(event_type="x.t", payload={}))
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE process_events SET event_type = ? WHERE event_type = 'x.t'", (huge,))

    async def every_read() -> tuple[Any, ...]:
        return (
            await registry.handle_grant_scopes("p"),
            await registry.handle_grants_for_process("p"),
            await registry.list_handle_grants(SessionScope(session_id="s")),
            await registry.events_after("e", 0),
        )

    ((_, grant),), _, _, events = await held_at_most(4 << 20, every_read)
    assert grant.session_id == CUT and any(e.event_type == "x.t" for e in events)


AUDIT_TEXTS = ("operator", "action", "process_id", "outcome", "sentence")


async def audited(registry: ProcessRegistry, target: str, column: str, value: str) -> None:
    """One recorded operator action, then its `column` stored as `value`."""
    action = OperatorAction(
        source="recorded", id="", at_ms=1, operator="dana", action="cancel", process_id="p",
        outcome="requested", sentence="cancel requested by dana", detail={"reason": "why"},
    )  # fmt: skip
    await registry.record_operator_actions([action])
    with raw_connection(target) as conn:
        conn.execute(f"UPDATE lashtui_operator_actions SET {column} = ?", (value,))


@pytest.mark.parametrize("column", AUDIT_TEXTS)
async def test_an_audit_text_past_the_ceiling_reads_cut(
    registry: ProcessRegistry, registry_target: str, column: str
) -> None:
    await audited(registry, registry_target, column, LONG)
    (entry,) = (await registry.operator_actions(AuditQuery())).entries
    assert getattr(entry, column) == CUT
    assert entry.detail == {"reason": "why"}  # the rest as stored


async def test_an_audit_detail_past_its_ceiling_is_left_unread(
    registry: ProcessRegistry, registry_target: str
) -> None:
    # The longest detail lashtui writes: a reason of 4,096 astral characters, escaped.
    reason = "\U0001f600" * 4096
    longest = json.dumps({"reason": reason})
    assert len(longest) <= DETAIL_READ_CHARS
    await audited(registry, registry_target, "detail_json", longest)
    (entry,) = (await registry.operator_actions(AuditQuery())).entries
    assert entry.detail == {"reason": reason}

    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE lashtui_operator_actions SET detail_json = ?",
            (json.dumps({"reason": "o" * DETAIL_READ_CHARS}),),
        )
    (entry,) = (await registry.operator_actions(AuditQuery())).entries
    assert entry.detail == {"undecodable": "more than 65,536 characters of JSON: not read"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_huge_audit_text_is_never_held(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await audited(registry, registry_target, "sentence", "o" * (20 << 20))  # 20 MB
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE lashtui_operator_actions SET detail_json = ?", ("o" * (20 << 20),))

    async def read() -> Any:
        return await registry.operator_actions(AuditQuery())

    (entry,) = (await held_at_most(4 << 20, read)).entries
    assert entry.sentence == CUT and entry.detail is not None and "undecodable" in entry.detail


async def labelled(registry: ProcessRegistry, target: str, label: str) -> None:
    """Rows `a`, `m` and `z` labelled so; then `m`'s label column stored as `label`."""
    for process_id in ("a", "m", "z"):
        identity = ProcessIdentity(kind="external", label=process_id)
        await registry.register_process(ext(process_id, identity=identity))
    with raw_connection(target) as conn:
        conn.execute("UPDATE processes SET sort_label = ? WHERE process_id = 'm'", (label,))


@pytest.mark.parametrize("descending", [False, True])
async def test_a_label_past_the_ceiling_sorts_and_pages_past_its_row(
    registry: ProcessRegistry, registry_target: str, descending: bool
) -> None:
    await labelled(registry, registry_target, "m" + LONG)
    whole = await registry.page_processes(ProcessPageQuery(order="label", limit=10))
    assert [record.id for record in whole] == ["a", "m", "z"]
    # One row a page, the cursor on each row in turn (its key read from its row): every
    # row once, the one whose label was cut included.
    seen: list[str] = []
    query = ProcessPageQuery(order="label", limit=1, descending=descending)
    while page := await registry.page_processes(query):
        seen += [record.id for record in page]
        assert len(seen) <= 3, seen
        query = query.model_copy(update={"after_id": page[-1].id})
    assert seen == (["z", "m", "a"] if descending else ["a", "m", "z"])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_huge_label_is_never_held(registry: ProcessRegistry, registry_target: str) -> None:
    await labelled(registry, registry_target, "m" * (20 << 20))  # 20 MB

    async def pages() -> Any:
        first = await registry.page_processes(ProcessPageQuery(order="label", limit=2))
        after = ProcessPageQuery(order="label", limit=2, after_id=first[-1].id)
        return first + await registry.page_processes(after)

    assert [record.id for record in await held_at_most(4 << 20, pages)] == ["a", "m", "z"]


def liveness_json(chars: int) -> str:
    """A holder's liveness JSON of exactly `chars` characters (its host id padded)."""
    shape = '{"kind":"local_process","host_id":"%s","boot_id":"b","pid":42,"process_start":"7"}'
    return shape % ("h" * (chars - len(shape % "")))


async def test_a_liveness_past_its_ceiling_reads_as_opaque(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """At its ceiling (what a write allows of a lease owner's JSON) a liveness reads back
    whole; past it, unread, as opaque: never provably dead, so never taken early (as a
    NULL one)."""
    stored = liveness_json(LIVENESS_CHARS)
    await leased(registry, registry_target, "lease_owner_liveness_json", stored)
    lease = await registry.get_process_lease("p")
    assert lease is not None and isinstance(lease.owner.liveness, LocalProcessLiveness)
    assert len(lease.owner.liveness.host_id) > 1_000_000

    with raw_connection(registry_target) as conn:
        conn.execute(
            "UPDATE process_leases SET lease_owner_liveness_json = ?",
            (liveness_json(LIVENESS_CHARS + 1),),
        )
    lease = await registry.get_process_lease("p")
    assert lease is not None and isinstance(lease.owner.liveness, OpaqueLiveness)
    assert lease.undecodable is None  # (a lease as ever: its holder is just not known)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_large_liveness_is_never_held(
    registry: ProcessRegistry, registry_target: str
) -> None:
    # 10 MB: under the 16 MiB of a record, which was the ceiling before.
    await leased(registry, registry_target, "lease_owner_liveness_json", liveness_json(10 << 20))

    async def every_read() -> tuple[Any, ...]:
        return (
            await registry.get_process_lease("p"),
            await registry.get_process_leases(["p"]),
            await registry.list_work_items(),
        )

    lease, _, _ = await held_at_most(4 << 20, every_read)
    assert lease is not None and isinstance(lease.owner.liveness, OpaqueLiveness)


async def test_a_registration_hash_past_the_ceiling_is_a_conflict_quoted_by_its_start(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await registry.register_process(ext("p"))
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET registration_hash = ?", ("h" + LONG,))
    with pytest.raises(ProcessConflict) as conflict:
        await registry.register_process(ext("p"))
    said = str(conflict.value)
    assert said.startswith("process `p` registration hash conflict: existing hooo")
    assert "…, new " in said
    assert len(said) < 300  # (it quoted the stored hash whole)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_env_spec_past_the_stored_ceiling_is_refused_unread(
    registry: ProcessRegistry, registry_target: str
) -> None:
    env_ref = await registry.put_process_execution_env(ProcessExecutionEnvSpec())
    with raw_connection(registry_target) as conn:
        padded = json.dumps({"pad": "x" * (MAX_STORED_BYTES + 1)})
        conn.execute("UPDATE process_execution_envs SET spec_json = ?", (padded,))
    del padded

    async with open_registry(registry_target) as fresh:  # (the writer's knows it already)

        async def read() -> Any:
            with pytest.raises(InvalidRequest, match="is over 16 MiB of JSON, more than any"):
                await fresh.get_process_execution_env(env_ref)

        await held_at_most(4 << 20, read)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_huge_stored_payload_hash_is_a_conflict_never_held(
    registry: ProcessRegistry, registry_target: str
) -> None:
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain("x.t")]))
    again = ProcessEventAppendRequest.new("x.t", {}, replay_key="k")
    await registry.append_event("p", again)
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE process_events SET payload_hash = ?", ("o" * (20 << 20),))

    async with open_registry(registry_target) as fresh:  # (nothing of the row cached)

        async def append() -> Any:
            with pytest.raises(ProcessConflict, match="event replay key `k` conflicts"):
                await fresh.append_event("p", again)

        await held_at_most(4 << 20, append)


async def test_a_recorded_sentence_is_stored_within_what_a_read_takes(
    registry: ProcessRegistry,
) -> None:
    long_sentence = "s" * (READ_CHARS + 10)
    action = OperatorAction(
        source="recorded", id="", at_ms=1, operator="dana", action="signal", process_id="p",
        outcome="refused", sentence=long_sentence,
    )  # fmt: skip
    await registry.record_operator_actions([action])
    (entry,) = (await registry.operator_actions(AuditQuery())).entries
    assert entry.sentence == "s" * (READ_CHARS - 1) + "…"  # (not read back cut)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("spoil", ["status = 'zombie'", "record_json = '{'"])
async def test_a_huge_id_check_names_as_unknown_state_is_named_cut(
    registry: ProcessRegistry, registry_target: str, spoil: str
) -> None:
    """`lashtui check`'s first row in no state (or whose record says another) is the id of
    the least: read as every id is, so one of 20 MB is named cut, never held."""
    await registry.register_process(ext("long"))
    huge = "o" * (20 << 20)
    with raw_connection(registry_target) as conn:
        conn.execute(f"UPDATE processes SET process_id = ?, {spoil}", (huge,))
    del huge

    async def read() -> Any:
        return await registry.probe_facts(1, 0)

    facts = await held_at_most(4 << 20, read)
    assert facts.unknown_state == 1 and facts.unknown_state_first == CUT
