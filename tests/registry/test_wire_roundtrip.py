"""A record written by lash loads, and what lashtui writes back is byte-identical.

The record below has every optional field of semantics §3.6 present, in lash's serde field
order, with non-trivial selectors, a frame-qualified originator and a signal wait.
"""

from __future__ import annotations

import json

from lashtui.clock import ManualClock
from lashtui.model import ExternalRef, ProcessEventAppendRequest, ProcessEventType, ProcessRecord
from lashtui.registry import ProcessRegistry
from tests.builders import rr
from tests.raw import raw_connection

LASH_RECORD = (
    '{"id":"proc-full","registration_hash":"' + "ab" * 32 + '",'
    '"input":{"type":"engine","kind":"steps","payload":{"steps":[{"wait_signal":"approve"},'
    '{"finish":1}]}},"disposition":"owner_bound",'
    '"identity":{"kind":"steps","label":"nightly — ünïcode","definition":{"name":"d","v":2}},'
    '"event_types":['
    '{"name":"producer.line","payload_schema":{"schema":{"type":"object","properties":'
    '{"line":{"type":"string"}},"required":["line"]}},"semantics":{"wake":{"when":'
    '{"present":"/wake"},"input":{"template":{"template":"line {line}","fields":{"line":'
    '{"pointer":"/line"}}}},"dedupe_key":{"selector":{"pointer":"/line"}}}}},'
    '{"name":"signal.approve","payload_schema":{"schema":{}},"semantics":{}},'
    '{"name":"process.cancel_requested","payload_schema":{"schema":{}},"semantics":{}},'
    '{"name":"process.waiting","payload_schema":{"schema":{}},"semantics":{}},'
    '{"name":"process.resumed","payload_schema":{"schema":{}},"semantics":{}},'
    '{"name":"process.completed","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"completed","await_output":{"pointer":"/await_output"}}}},'
    '{"name":"process.failed","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"failed","await_output":{"pointer":"/await_output"}}}},'
    '{"name":"process.cancelled","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"cancelled","await_output":{"pointer":"/await_output"}}}},'
    '{"name":"process.abandoned","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"abandoned","await_output":{"pointer":"/await_output"}}}}],'
    '"provenance":{"originator":{"type":"session","scope":{"session_id":"s1",'
    '"agent_frame_id":"f1"}},"caused_by":{"type":"trigger_occurrence","occurrence_id":"occ-1",'
    '"subscription_id":"sub-1"}},'
    '"env_ref":"process-env:sha256:' + "cd" * 32 + '",'
    '"wake_target":{"session_id":"s1","agent_frame_id":"f1"},'
    '"created_at_ms":1780409150000,"updated_at_ms":1780409150265,'
    '"external_ref":{"backend":"k8s","id":"job-7","metadata":{"ns":"prod"}},'
    '"first_started":{"owner":{"owner_id":"w-1","incarnation_id":"9c0","liveness":'
    '{"kind":"local_process","host_id":"host-a","boot_id":"b-1","pid":4242,'
    '"process_start":"183427"}},"started_at_ms":1780409150265},'
    '"abandon_request":{"requested_by":"operator","requested_at_ms":1780409150300,'
    '"reason":"host retired"},'
    '"wait":{"kind":{"kind":"signal","name":"approve","event_type":"signal.approve",'
    '"key":"process:proc-full:signal.approve:1","ordinal":1},"since_ms":1780409150265},'
    '"status":{"state":"running"}}'
)


def _insert_as_lash(path: str, record_json: str) -> None:
    """Write the row the way lash's store would, bypassing lashtui entirely."""
    record = json.loads(record_json)
    with raw_connection(path) as conn:
        seq = conn.execute(
            "UPDATE process_change_clock SET current_seq = current_seq + 1 RETURNING current_seq"
        ).fetchone()[0]
        conn.execute(
            # lash names its columns (lash-sqlite-store's process_registry.rs).
            "INSERT INTO processes (process_id, registration_hash, owner_scope_id, "
            "created_at_ms, updated_at_ms, change_seq, status, record_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record["id"],
                record["registration_hash"],
                "session:s1/frame:f1",
                record["created_at_ms"],
                record["updated_at_ms"],
                seq,
                "running",
                record_json,
            ),
        )


def _stored_json(path: str, process_id: str) -> str:
    with raw_connection(path) as conn:
        text: str = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = ?", (process_id,)
        ).fetchone()[0]
    return text


def test_the_model_round_trips_lash_json_byte_for_byte() -> None:
    assert ProcessRecord.model_validate_json(LASH_RECORD).model_dump_json() == LASH_RECORD


async def test_a_lash_row_loads_and_re_serialises_identically(
    registry: ProcessRegistry, registry_target: str
) -> None:
    _insert_as_lash(registry_target, LASH_RECORD)
    record = await registry.get_process("proc-full")
    assert record is not None
    assert record.model_dump_json() == LASH_RECORD
    assert record.wait is not None and record.wait.kind.ordinal == 1


async def test_an_append_rewrites_only_updated_at(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    clock.set(1_780_409_160_000)
    _insert_as_lash(registry_target, LASH_RECORD)
    request = ProcessEventAppendRequest.new("producer.line", {"line": "hello"})
    result = await registry.append_event("proc-full", request)
    stored = _stored_json(registry_target, "proc-full")
    expected = json.loads(LASH_RECORD)
    assert result.event.occurred_at_ms == 1_780_409_160_000
    expected["updated_at_ms"] = 1_780_409_160_000
    assert stored == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)


def test_event_types_keep_declared_order() -> None:
    record = ProcessRecord.model_validate_json(LASH_RECORD)
    assert [t.name for t in record.event_types][:2] == ["producer.line", "signal.approve"]
    assert isinstance(record.event_types[0], ProcessEventType)


async def test_a_whole_record_save_keeps_a_lash_rows_field_order(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """A row lash wrote that declares exactly the core event types (the case lashtui's own
    inserts store with those types last): a save that rewrites the whole record writes
    lash's serialisation, in lash's field order."""
    prepared, digest = rr("proc-core").prepare()
    lash_json = ProcessRecord.new(prepared, digest, 1_780_409_150_000).model_dump_json()
    _insert_as_lash(registry_target, lash_json)
    record = await registry.set_external_ref("proc-core", ExternalRef(backend="k8s", id="j"))
    assert _stored_json(registry_target, "proc-core") == record.model_dump_json()
