"""Handle grants and session deletion through the registry (semantics §5.3-§5.8; scenarios
G74-G81 and G85).

Covers grant upsert, idempotent revoke, `has_handle_grant`, all-or-nothing transfer with
lash's message, the grant listings and their orderings, `handle_grants_for_process` (and
`handle_grant_scopes`, the same grants with their full scope ids), the
external ref set-once rule, and `delete_session_process_state`: its report (frames included),
wake-target clearing, and that it never cancels, deletes or un-acks anything. Grants are not
changes to a process: they leave `updated_at_ms` and the change feed alone.
"""

from __future__ import annotations

import re

import pytest

from lashtui.errors import LashError, ProcessConflict, UnknownProcess
from lashtui.model import (
    ExternalRef,
    ProcessHandleDescriptor,
    ProcessHandleGrant,
    ProcessSessionDeleteReport,
    ProcessStatus,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob
from tests.registry.rows import (
    ANY,
    append_wake,
    feed_end,
    finish,
    ids,
    park,
    scope,
    wake_event_type,
)

DESCRIPTOR = ProcessHandleDescriptor(kind="lashlang", label="on_button")


def unknown(pid: str) -> str:
    return re.escape(f"unknown process `{pid}`")


async def grant(registry: ProcessRegistry, session: str, pid: str, frame: str | None = None):
    return await registry.grant_handle(scope(session, frame), pid, DESCRIPTOR)


async def sessions_of(registry: ProcessRegistry, pid: str) -> list[str]:
    return [g.session_id for g in await registry.handle_grants_for_process(pid)]


async def granted_ids(registry: ProcessRegistry, session: str, frame: str | None = None):
    return [g.process_id for g, _ in await registry.list_handle_grants(scope(session, frame))]


# --- grant, revoke, has ---------------------------------------------------------------------


async def test_grant_then_revoke_toggles_the_handle(registry):
    # scenario 74
    await registry.register_process(ext("p"))
    owner = scope("grant-owner")

    made = await registry.grant_handle(owner, "p", DESCRIPTOR)

    assert made == ProcessHandleGrant(
        session_id="grant-owner", process_id="p", descriptor=DESCRIPTOR
    )
    assert await registry.has_handle_grant(owner, "p") is True
    await registry.revoke_handle(owner, "p")
    assert await registry.has_handle_grant(owner, "p") is False
    assert await registry.list_handle_grants(owner) == []


async def test_regranting_replaces_the_descriptor_instead_of_adding_a_grant(registry):
    await registry.register_process(ext("p"))
    await grant(registry, "s1", "p")
    relabelled = ProcessHandleDescriptor(label="renamed")

    await registry.grant_handle(scope("s1"), "p", relabelled)

    [(only, _)] = await registry.list_handle_grants(scope("s1"))
    assert only == ProcessHandleGrant(session_id="s1", process_id="p", descriptor=relabelled)
    assert await registry.handle_grants_for_process("p") == [only]


async def test_revoke_is_idempotent_and_accepts_unknown_processes(registry):
    await registry.register_process(ext("p"))
    await grant(registry, "s1", "p")

    await registry.revoke_handle(scope("s1"), "p")
    await registry.revoke_handle(scope("s1"), "p")
    await registry.revoke_handle(scope("s1"), "never-registered")

    assert await registry.handle_grants_for_process("p") == []


async def test_a_frame_grant_belongs_to_its_exact_scope_and_carries_the_session_id(registry):
    await registry.register_process(ext("p"))

    made = await grant(registry, "s1", "p", frame="f1")

    assert made.session_id == "s1"
    assert await registry.has_handle_grant(scope("s1", "f1"), "p") is True
    assert await registry.has_handle_grant(scope("s1"), "p") is False
    assert await granted_ids(registry, "s1") == []
    assert await granted_ids(registry, "s1", "f1") == ["p"]


async def test_has_handle_grant_is_false_for_an_unknown_process(registry):
    assert await registry.has_handle_grant(scope("s1"), "ghost") is False


async def test_granting_an_unknown_process_fails(registry):
    # scenario 75
    with pytest.raises(UnknownProcess, match=f"^{unknown('ghost')}$"):
        await grant(registry, "s1", "ghost")

    await registry.register_process(ext("ghost"))
    assert await registry.handle_grants_for_process("ghost") == []


async def test_an_empty_frame_names_the_session_root(registry):
    # semantics §2.2: an empty agent_frame_id gives the scope id `session:<id>`
    await registry.register_process(ext("p"))

    await grant(registry, "s1", "p", frame="")

    assert await registry.has_handle_grant(scope("s1"), "p") is True
    assert await granted_ids(registry, "s1") == ["p"]


async def test_grants_leave_the_row_and_the_change_feed_untouched(registry, clock):
    before = await registry.register_process(ext("p"))
    cursor = await feed_end(registry)
    clock.advance(1_000)

    await grant(registry, "s1", "p")
    await registry.transfer_handle_grants(scope("s1"), scope("s2"), ["p"])
    await grant(registry, "s3", "p", frame="f")
    await registry.revoke_handle(scope("s2"), "p")

    assert await registry.get_process("p") == before
    assert await registry.processes_changed_since(cursor, 100) == ([], cursor)
    assert await registry.events_after("p", 0) == []


# --- external ref (set once) ----------------------------------------------------------------


async def test_external_ref_is_set_once_and_an_identical_repeat_changes_nothing(registry, clock):
    # scenario 76
    await registry.register_process(ext("p"))
    ref = ExternalRef(backend="k8s", id="job-7", metadata={"ns": "prod"})
    clock.advance(10)

    stored = await registry.set_external_ref("p", ref)
    clock.advance(10)
    repeated = await registry.set_external_ref("p", ref)

    assert stored.external_ref == ref
    assert stored.updated_at_ms == clock.now_ms() - 10
    assert repeated == stored
    assert await registry.get_process("p") == stored


@pytest.mark.parametrize(
    "other",
    [
        ExternalRef(backend="k8s", id="job-8", metadata={"ns": "prod"}),
        ExternalRef(backend="k8s", id="job-7", metadata={"ns": "dev"}),
        ExternalRef(backend="nomad", id="job-7", metadata={"ns": "prod"}),
    ],
    ids=["other id", "other metadata", "other backend"],
)
async def test_a_different_external_ref_is_a_conflict(registry, other):
    await registry.register_process(ext("p"))
    stored = await registry.set_external_ref(
        "p", ExternalRef(backend="k8s", id="job-7", metadata={"ns": "prod"})
    )

    with pytest.raises(
        ProcessConflict, match=re.escape("process `p` external ref conflict: existing ")
    ):
        await registry.set_external_ref("p", other)

    assert await registry.get_process("p") == stored


async def test_setting_an_external_ref_on_an_unknown_process_fails(registry):
    # scenario 75
    with pytest.raises(UnknownProcess, match=f"^{unknown('ghost')}$"):
        await registry.set_external_ref("ghost", ExternalRef(backend="k8s", id="x"))


# --- transfer -----------------------------------------------------------------------------------


async def test_transfer_moves_the_grant_with_its_descriptor_and_appends_no_event(registry):
    # scenario 77
    before = await registry.register_process(ext("p"))
    await grant(registry, "s1", "p")

    await registry.transfer_handle_grants(scope("s1"), scope("s2"), ["p"])

    assert await registry.list_handle_grants(scope("s1")) == []
    assert await registry.list_handle_grants(scope("s2")) == [
        (ProcessHandleGrant(session_id="s2", process_id="p", descriptor=DESCRIPTOR), before)
    ]
    assert await registry.events_after("p", 0) == []
    assert await registry.get_process("p") == before


async def test_transfer_reorders_the_sessions_holding_a_process(registry):
    # scenario 78
    await registry.register_process(ext("p"))
    await grant(registry, "s2", "p")
    await grant(registry, "s1", "p")
    assert await sessions_of(registry, "p") == ["s1", "s2"]

    await registry.transfer_handle_grants(scope("s1"), scope("s3"), ["p"])

    assert await sessions_of(registry, "p") == ["s2", "s3"]


async def test_transfer_of_an_ungranted_process_fails_and_moves_nothing(registry):
    # scenario 79
    for pid in ("p1", "p2", "p3"):
        await registry.register_process(ext(pid))
    await grant(registry, "s1", "p1")
    await grant(registry, "s1", "p3")

    with pytest.raises(
        LashError, match=f"^{re.escape('process handle `p2` is not granted to session `s1`')}$"
    ):
        await registry.transfer_handle_grants(scope("s1"), scope("s2"), ["p1", "p2", "p3"])

    assert await granted_ids(registry, "s1") == ["p1", "p3"]
    assert await granted_ids(registry, "s2") == []


async def test_transfer_names_the_from_session_for_a_frame_scope(registry):
    await registry.register_process(ext("p"))
    await grant(registry, "s1", "p")  # granted to the root, not the frame

    with pytest.raises(
        LashError, match=re.escape("process handle `p` is not granted to session `s1`")
    ):
        await registry.transfer_handle_grants(scope("s1", "f1"), scope("s2"), ["p"])

    assert await sessions_of(registry, "p") == ["s1"]


async def test_transfer_of_an_empty_list_is_a_no_op(registry):
    await registry.register_process(ext("p"))
    await grant(registry, "s1", "p")

    await registry.transfer_handle_grants(scope("s1"), scope("s2"), [])

    assert await sessions_of(registry, "p") == ["s1"]


async def test_transfer_onto_an_existing_grant_keeps_the_moved_descriptor(registry):
    await registry.register_process(ext("p"))
    await grant(registry, "s1", "p")
    await registry.grant_handle(scope("s2"), "p", ProcessHandleDescriptor(label="older"))

    await registry.transfer_handle_grants(scope("s1"), scope("s2"), ["p"])

    assert await registry.handle_grants_for_process("p") == [
        ProcessHandleGrant(session_id="s2", process_id="p", descriptor=DESCRIPTOR)
    ]


# --- listings -----------------------------------------------------------------------------------


async def test_a_process_without_grants_is_still_listed(registry):
    # scenario 80
    record = await registry.register_process(ext("p"))
    assert await registry.list_processes(ANY) == [record]
    assert await registry.list_handle_grants(scope("s1")) == []


async def test_live_grant_listing_hides_terminal_rows_and_both_are_in_id_order(registry, clock):
    # scenario 81 (registered and granted out of id order on purpose)
    await registry.register_process(ext("live"))
    await registry.register_process(ext("done"))
    await registry.register_process(ext("also-live"))
    for pid in ("live", "done", "also-live"):
        await grant(registry, "s1", pid)
    await finish(registry, "done")
    await park(registry, "also-live", clock.now_ms())  # waiting is still live

    assert await granted_ids(registry, "s1") == ["also-live", "done", "live"]
    live = await registry.list_live_handle_grants(scope("s1"))
    assert [g.process_id for g, _ in live] == ["also-live", "live"]
    done_record = dict((r.id, r) for _, r in await registry.list_handle_grants(scope("s1")))["done"]
    assert done_record.status.is_terminal()


async def test_grant_listing_pairs_each_grant_with_the_current_record(registry, clock):
    await registry.register_process(ext("p"))
    await grant(registry, "s1", "p")
    clock.advance(50)
    completed = await finish(registry, "p")

    [(made, record)] = await registry.list_handle_grants(scope("s1"))

    assert made.process_id == "p" and made.session_id == "s1"
    assert record == completed


async def test_a_finished_process_can_still_be_granted_and_is_listed_as_history(registry):
    await registry.register_process(ext("p"))
    done = await finish(registry, "p")

    await grant(registry, "s1", "p")

    assert await registry.has_handle_grant(scope("s1"), "p") is True
    assert [r for _, r in await registry.list_handle_grants(scope("s1"))] == [done]
    assert await registry.list_live_handle_grants(scope("s1")) == []


async def test_grants_for_a_process_are_ordered_by_session_then_scope(registry):
    await registry.register_process(ext("p"))
    scopes = [scope("s2"), scope("s1", "f2"), scope("s1"), scope("s1", "f1")]
    for granted_to in scopes:  # labelled with their scope ids so the order is visible
        await registry.grant_handle(granted_to, "p", ProcessHandleDescriptor(label=granted_to.id()))

    grants = await registry.handle_grants_for_process("p")

    assert [(g.session_id, g.descriptor.label) for g in grants] == [
        ("s1", "session:s1"),
        ("s1", "session:s1/frame:f1"),
        ("s1", "session:s1/frame:f2"),
        ("s2", "session:s2"),
    ]


async def test_grants_for_an_unknown_process_fail(registry):
    with pytest.raises(UnknownProcess, match=f"^{unknown('ghost')}$"):
        await registry.handle_grants_for_process("ghost")
    with pytest.raises(UnknownProcess, match=f"^{unknown('ghost')}$"):
        await registry.handle_grant_scopes("ghost")


async def test_grant_scopes_name_each_grant_by_the_full_scope_that_holds_it(registry):
    """What the dashboard's detail shows and a transfer names as its source: lash's grant
    shape says `s1` for a grant to `session:s1/frame:f1`, the scope id says which."""
    await registry.register_process(ext("p"))
    for granted_to in [scope("s2"), scope("s1", "f1"), scope("s1")]:
        await registry.grant_handle(granted_to, "p", DESCRIPTOR)

    held = await registry.handle_grant_scopes("p")

    assert [scope_id for scope_id, _ in held] == [
        "session:s1",
        "session:s1/frame:f1",
        "session:s2",
    ]
    assert [grant for _, grant in held] == await registry.handle_grants_for_process("p")


# --- deleting a session -------------------------------------------------------------------------


async def _deleted_session_fixture(registry, clock):
    """Scenario 85's rows: sole, shared (also granted to `remaining`) and a completed one,
    all granted to and waking `deleted`; `sole` carries one acked and one unacked wake."""
    target = scope("deleted")
    for pid in ("sole", "shared", "terminal"):
        await registry.register_process(
            ext(pid, wake_target=target, event_types=[wake_event_type()])
        )
        await grant(registry, "deleted", pid)
    await grant(registry, "remaining", "shared")
    await append_wake(registry, "sole", "first")
    await append_wake(registry, "sole", "second")
    await registry.ack_wake("sole", 1)
    await finish(registry, "terminal")
    clock.advance(1_000)


async def test_deleting_a_session_reports_revoked_orphaned_and_preserved(registry, clock):
    # scenario 85
    await _deleted_session_fixture(registry, clock)

    report = await registry.delete_session_process_state("deleted")

    assert report == ProcessSessionDeleteReport(
        session_id="deleted",
        revoked_handle_count=3,
        deleted_wake_count=0,
        orphaned_process_ids=["sole"],
        preserved_process_ids=["shared"],
    )
    assert await registry.list_handle_grants(scope("deleted")) == []
    assert await sessions_of(registry, "shared") == ["remaining"]


async def test_deleting_a_session_clears_its_wake_targets_and_bumps_updated_at(registry, clock):
    # scenario 85
    await _deleted_session_fixture(registry, clock)

    await registry.delete_session_process_state("deleted")

    for pid in ("sole", "shared", "terminal"):
        record = await registry.get_process(pid)
        assert record is not None
        assert record.wake_target is None
        assert record.updated_at_ms == clock.now_ms()


async def test_deleting_a_session_never_cancels_deletes_or_unacks(registry, clock):
    # scenario 85
    await _deleted_session_fixture(registry, clock)
    terminal_before = await registry.get_process("terminal")

    await registry.delete_session_process_state("deleted")

    assert ids(await registry.list_processes(ANY)) == ["shared", "sole", "terminal"]
    for pid in ("sole", "shared"):
        record = await registry.get_process(pid)
        assert record is not None and record.status == ProcessStatus.running()
    terminal = await registry.get_process("terminal")
    assert terminal is not None and terminal.status == terminal_before.status
    assert [e.event_type for e in await registry.events_after("sole", 0)] == [
        "producer.wake",
        "producer.wake",
    ]
    assert await registry.events_after("shared", 0) == []
    assert [e.sequence for e in await registry.wake_events_after("sole", 0)] == [2]


async def test_deleting_a_session_covers_all_its_frames_and_only_that_session(registry, clock):
    await registry.register_process(ext("framed", wake_target=scope("deleted", "f1")))
    await registry.register_process(ext("neighbour", wake_target=scope("deleted-2")))
    await grant(registry, "deleted", "framed", frame="f1")
    await grant(registry, "deleted", "framed")
    await grant(registry, "deleted-2", "neighbour")
    neighbour = await registry.get_process("neighbour")
    clock.advance(1_000)

    report = await registry.delete_session_process_state("deleted")

    assert report.revoked_handle_count == 2
    assert report.orphaned_process_ids == ["framed"]
    assert report.preserved_process_ids == []
    framed = await registry.get_process("framed")
    assert framed is not None and framed.wake_target is None
    assert await registry.get_process("neighbour") == neighbour
    assert await sessions_of(registry, "neighbour") == ["deleted-2"]


async def test_orphaned_and_preserved_ids_are_sorted_and_unique(registry):
    for pid in ("z-sole", "m-shared", "a-sole", "b-shared"):
        await registry.register_process(ext(pid))
        await grant(registry, "deleted", pid)
        await grant(registry, "deleted", pid, frame="f1")
    for pid in ("m-shared", "b-shared"):
        await grant(registry, "kept", pid)

    report = await registry.delete_session_process_state("deleted")

    assert report.revoked_handle_count == 8
    assert report.orphaned_process_ids == ["a-sole", "z-sole"]
    assert report.preserved_process_ids == ["b-shared", "m-shared"]


async def test_deleting_a_session_without_state_reports_nothing(registry):
    await registry.register_process(ext("p"))
    report = await registry.delete_session_process_state("nobody")
    assert report == ProcessSessionDeleteReport(session_id="nobody")


async def test_a_terminal_process_is_never_reported_even_when_orphaned(registry, clock):
    await registry.register_process(ob("ob-done"))
    await grant(registry, "deleted", "ob-done")
    await finish(registry, "ob-done")

    report = await registry.delete_session_process_state("deleted")

    assert report.revoked_handle_count == 1
    assert report.orphaned_process_ids == [] and report.preserved_process_ids == []
