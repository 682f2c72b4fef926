"""The model-free `ls --json` row printer (lashtui/observed_json.py, reading records through
lashtui/record_shape.py) against the models.

Two halves. The field lists, enums and core event types it mirrors are checked against the
models themselves, so a model that changes fails here rather than printing differently. And
a differential test: records the models wrote, then broken by hypothesis and by hand in
every way a hostile or careless writer could (unknown fields, wrong types, numbers as text,
floats, huge numbers, nulls, missing fields, NaN, lone surrogates, deep nesting, bytes that
are not UTF-8, duplicate keys, mismatched ids), are stored raw in a real SQLite registry
file and read back with the store's own statements. For every row the fast printer either
declines (None) or prints exactly the bytes `ObservedProcess.from_record(...).to_json()`
prints; it declines every row the models reject (a stand-in) or change.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from lashtui import json_shape
from lashtui import observed_json as oj
from lashtui import record_shape as rs
from lashtui.clock import ManualClock
from lashtui.core_event_types import CORE_EVENT_TYPES_JSON
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonRequest,
    AbandonWriter,
    CancelledOutput,
    Engine,
    External,
    ExternalRef,
    FailureOutput,
    HostOriginator,
    LeaseOwnerIdentity,
    LocalProcessLiveness,
    ObservedProcess,
    ProcessIdentity,
    ProcessProvenance,
    ProcessRecord,
    ProcessStarted,
    ProcessStatus,
    RecoveryDisposition,
    SessionOriginator,
    SessionScope,
    SessionTurn,
    SuccessOutput,
    ToolCall,
    ToolFailureClass,
    WaitKind,
    WaitState,
    default_process_event_types,
)
from lashtui.model.input import PreparedToolCall
from lashtui.model.lease import OpaqueLiveness
from lashtui.model.output import ProcessLifecycleStatus
from lashtui.model.record import _CORE_RECORD_JSON
from lashtui.model.scope import (
    EffectCause,
    ProcessCause,
    ProcessEventCause,
    SessionNodeCause,
    ToolCallCause,
    TriggerOccurrenceCause,
    TurnCause,
)
from lashtui.registry import open_registry
from lashtui.registry.sql.decoded_row import decode_row
from lashtui.registry.sql.fetch import ROW_COLUMNS, fetch_rows, held_lease_rows
from lashtui.registry.sql.lease_row import LeaseRow

START_MS = 1_780_000_000_000

# --- the mirrored lists against the models ------------------------------------------------


def _printed_fields(model: type[BaseModel]) -> list[tuple[str, bool, bool]]:
    """(JSON name, required, omitted when None) of each field the model prints."""
    fields = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue  # read, never printed (a record's `undecodable`)
        omitted = info.exclude_if is not None
        fields.append((info.alias or name, info.is_required(), omitted))
    return fields


def _mirrored(spec: json_shape.Spec) -> list[tuple[str, bool, bool]]:
    return [(name, required, omitted) for name, _, required, omitted in spec]


MIRRORS: list[tuple[json_shape.Spec, type[BaseModel]]] = [
    (rs.SESSION_SCOPE.spec, SessionScope),
    (rs.IDENTITY.spec, ProcessIdentity),
    (rs.ABANDON_REQUEST.spec, AbandonRequest),
    (rs.EXTERNAL_REF.spec, ExternalRef),
    (rs.LOCAL_PROCESS, LocalProcessLiveness),
    (rs.STARTED.spec, ProcessStarted),
    (rs.WAIT.spec, WaitState),
    (rs.PROVENANCE.spec, ProcessProvenance),
    (rs.TOOL_CALL, PreparedToolCall),
    (rs.EVIDENCE.spec, AbandonEvidence),
    (rs.RECORD, ProcessRecord),
    *[(rs.CAUSAL_REF.variants[m.model_fields["type"].default], m) for m in (
        TurnCause, EffectCause, ToolCallCause, ProcessCause, ProcessEventCause,
        TriggerOccurrenceCause, SessionNodeCause,
    )],
    *[(rs.ORIGINATOR.variants[m.model_fields["type"].default], m) for m in (
        HostOriginator, SessionOriginator,
    )],
    *[(rs.INPUT_VARIANTS[m.model_fields["type"].default], m) for m in (
        ToolCall, Engine, SessionTurn, External,
    )],
    *[(rs.OUTPUT_VARIANTS[m.model_fields["type"].default], m) for m in (
        SuccessOutput, FailureOutput, CancelledOutput, AbandonedOutput,
    )],
]  # fmt: skip


def _tagged_required(
    fields: list[tuple[str, bool, bool]], tag: str
) -> list[tuple[str, bool, bool]]:
    """A tagged union's tag has a default in its model but must be present to be read."""
    return [(n, True if n == tag else r, o) for n, r, o in fields]


@pytest.mark.parametrize(("spec", "model"), MIRRORS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_field_list_is_its_models(spec: json_shape.Spec, model: type[BaseModel]) -> None:
    expected = _printed_fields(model)
    if "type" in model.model_fields:
        expected = _tagged_required(expected, "type")
    elif model is LocalProcessLiveness:  # the liveness union's tag
        expected = _tagged_required(expected, "kind")
    assert _mirrored(spec) == expected


def test_the_other_mirrored_models() -> None:
    # The owner's liveness and the wait kind's literal have defaults filled in by hand.
    assert [n for n, *_ in _printed_fields(LeaseOwnerIdentity)] == [
        "owner_id", "incarnation_id", "liveness",
    ]  # fmt: skip
    assert [n for n, *_ in _printed_fields(WaitKind)] == [n for n, *_ in rs.WAIT_KIND]
    assert [n for n, *_ in _printed_fields(ProcessStatus)] == ["state", "await_output"]
    assert list(OpaqueLiveness.model_fields) == ["kind"]


def test_the_enums_and_core_event_types_are_the_models() -> None:
    assert {d.value for d in RecoveryDisposition} == rs.DISPOSITIONS
    assert {c.value for c in ToolFailureClass} == rs.FAILURE_CLASSES
    assert {w.value for w in AbandonWriter} == rs.ABANDON_WRITERS
    assert {s.value for s in ProcessLifecycleStatus} == rs.LIFECYCLE
    for output in OUTPUTS:
        assert rs.OUTPUT_STATES[output.type] == output.terminal_state().value
    assert set(rs.OUTPUT_STATES) == {output.type for output in OUTPUTS}
    assert CORE_EVENT_TYPES_JSON == _CORE_RECORD_JSON


# --- records the models wrote ---------------------------------------------------------------

OWNER = LeaseOwnerIdentity(
    owner_id="w-1",
    incarnation_id="w-1:boot",
    liveness=LocalProcessLiveness(host_id="h", boot_id="b", pid=42, process_start="77"),
)
CAUSES = [
    TurnCause(session_id="s", turn_id="t"),
    EffectCause(session_id="s", effect_id="e"),
    EffectCause(session_id="s", turn_id="t", effect_id="e"),
    ToolCallCause(session_id="s", call_id="c"),
    ProcessCause(process_id="p"),
    ProcessEventCause(process_id="p", sequence=3),
    TriggerOccurrenceCause(occurrence_id="o", subscription_id="sub"),
    SessionNodeCause(session_id="s", node_id="n"),
]
INPUTS = [
    External(),
    External(metadata={"label": "x", "n": [1, 2.5, None, True]}),
    Engine(kind="steps", payload={"steps": [{"sleep": 1}], "z": "\x1b[2J", "a": -0.0}),
    Engine(kind="k"),
    ToolCall(call=PreparedToolCall(call_id="c1", tool_id="t", tool_name="tn", args={"q": 1})),
    ToolCall(
        call=PreparedToolCall(
            call_id="c2", tool_id="t", tool_name="tn", replay={"r": 1}, prepared_payload=[1]
        )
    ),
    SessionTurn(create_request={"session_id": "child"}, turn_input="hi", output_contract=None),
    SessionTurn(create_request=[1], turn_input={}, output_contract={"a": 1}),
]
AwaitOutput = SuccessOutput | FailureOutput | CancelledOutput | AbandonedOutput
OUTPUTS: list[AwaitOutput] = [
    SuccessOutput(value={"ok": True}),
    SuccessOutput(value=None, control={"c": 1}),
    FailureOutput(class_=ToolFailureClass.EXECUTION, code="boom", message="it \u202e broke"),
    FailureOutput(class_=ToolFailureClass.INTERNAL, code="c", message="m", raw=[1], control=2),
    CancelledOutput(message="requested by ops", raw={"why": None}),
    AbandonedOutput(evidence=AbandonEvidence(writer=AbandonWriter.SWEEP, epoch_ms=5)),
    AbandonedOutput(
        evidence=AbandonEvidence(writer=AbandonWriter.OWNER_DRAIN, owner=OWNER, epoch_ms=5)
    ),
]


def model_records() -> Iterator[ProcessRecord]:
    """Records of every shape the printer vouches for, made by the models."""
    n = 0
    for i, process_input in enumerate(INPUTS):
        for j, output in enumerate([None, *OUTPUTS]):
            n += 1
            status = ProcessStatus.running() if output is None else ProcessStatus.terminal(output)
            originator: HostOriginator | SessionOriginator = (
                SessionOriginator(scope=SessionScope(session_id="s", agent_frame_id="f"))
                if n % 3 == 0
                else HostOriginator(scope="ops" if n % 2 else None)
            )
            yield ProcessRecord(
                id=f"m-{n:04d}",
                registration_hash="h" * 64,
                input=process_input,
                disposition=list(RecoveryDisposition)[n % 3],
                identity=ProcessIdentity(
                    kind="k", label=["lbl", None, ""][n % 3], definition={"d": n} if j else None
                ),
                event_types=default_process_event_types() if n % 4 else [],
                provenance=ProcessProvenance(originator=originator, caused_by=CAUSES[n % 8]),
                env_ref="process-env:sha256:" + "0" * 64 if i % 2 else None,
                wake_target=SessionScope(session_id="w") if n % 5 == 0 else None,
                created_at_ms=START_MS + n,
                updated_at_ms=START_MS + 2 * n,
                external_ref=ExternalRef(backend="b", id="x", metadata=n) if n % 7 == 0 else None,
                first_started=ProcessStarted(owner=OWNER, started_at_ms=START_MS)
                if n % 2
                else None,
                abandon_request=AbandonRequest(requested_by="ops", requested_at_ms=1, reason="r")
                if n % 6 == 0
                else None,
                wait=WaitState(
                    kind=WaitKind(name="go", event_type="e", key="k", ordinal=1), since_ms=3
                )
                if output is None and n % 4 == 1
                else None,
                status=status,
            )


RECORDS = list(model_records())
# Each record's lease columns (lease_row.py LeaseRow): none, opaque, or a local process.
LEASES: list[tuple[Any, ...] | None] = [
    None,
    ("w-1", "w-1:boot", '{"kind":"opaque"}', "tok", 3, START_MS, START_MS + 30_000),
    ("w-1", None, None, "tok", 1, START_MS, START_MS + 1),
    ("w-1", "i", OWNER.liveness.model_dump_json(), "tok", 2, START_MS, START_MS + 9),
]


# --- the differential test -------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """A registry file the store made, written to raw (as another program would)."""
    import asyncio

    path = tmp_path_factory.mktemp("differential") / "r.db"

    async def make() -> None:
        async with open_registry(str(path), clock=ManualClock(START_MS)):
            pass

    asyncio.run(make())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")  # leases of rows another program wrote
    yield conn
    conn.close()


_counter = iter(range(10**9))


def _state_of(text: str | bytes) -> str:
    """The state a stored record's JSON names, else `running`. A state UTF-8 cannot encode
    (a lone surrogate, which the JSON holds escaped: `"\\ud800"`) is `running` too: sqlite3
    cannot bind it as text (UnicodeEncodeError), and lash's serde cannot read it to write
    it. The column then contradicts the record, which the models read as undecodable."""
    try:
        state = json.loads(text)["status"]["state"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return "running"
    if not isinstance(state, str):
        return "running"
    try:
        state.encode("utf-8")
    except UnicodeEncodeError:
        return "running"
    return state


def store_and_read(
    conn: sqlite3.Connection,
    text: str | bytes,
    lease: tuple[Any, ...] | None,
    pid: Any = None,
    status: str | None = None,
) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    """`text` stored raw as a new row's record (and `lease` as its lease), its status column
    the state its JSON names if it names one (as every writer sets it), read back with the
    store's own statements: what the `ls --json` read hands the printer."""
    pid = pid if pid is not None else f"x-{next(_counter):08d}"
    rowid = conn.execute(
        "INSERT INTO processes (process_id, registration_hash, owner_scope_id, created_at_ms, "
        "updated_at_ms, change_seq, status, record_json) VALUES (CAST(? AS TEXT), 'h', 'host', "
        "0, 0, 0, ?, ?)",
        (pid, status or _state_of(text), text),
    ).lastrowid
    if lease is not None:
        conn.execute(
            "INSERT INTO process_leases (process_id, lease_owner_id, lease_owner_incarnation_id, "
            "lease_owner_liveness_json, lease_token, lease_fencing_token, lease_claimed_at_ms, "
            "lease_expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (pid, *lease),
        )
    (row,) = fetch_rows(conn, f"SELECT {ROW_COLUMNS} FROM processes p WHERE p.rowid = ?", (rowid,))
    assert row[1] == (pid.decode("utf-8", "surrogateescape") if isinstance(pid, bytes) else pid)
    if isinstance(pid, bytes):
        return row, None  # (a plain connection cannot bind it back; no lease is stored)
    return row, held_lease_rows(conn, [pid]).get(pid)


def by_the_models(row: tuple[Any, ...], lease: tuple[Any, ...] | None) -> tuple[str, bool]:
    """What `ls --json` printed for the row before (and still prints for rows the fast
    printer declines), and whether the models rejected the record (a stand-in)."""
    record = decode_row(row)
    held = LeaseRow(*lease).lease(row[1]) if lease is not None else None
    return ObservedProcess.from_record(record, held).to_json(), record.undecodable is not None


def check(
    conn: sqlite3.Connection,
    text: str | bytes,
    lease: tuple[Any, ...] | None,
    pid: Any = None,
    status: str | None = None,
) -> str | None:
    """The differential check of one stored row; the fast printer's answer."""
    row, read_lease = store_and_read(conn, text, lease, pid, status)
    try:
        expected, rejected = by_the_models(row, read_lease)
    except ValueError:
        # The models' path itself fails on this row (a lease whose columns the models
        # refuse): the fast printer must not vouch for it either.
        assert oj.observed_json(row, read_lease) is None
        return None
    fast = oj.observed_json(row, read_lease)
    if rejected:
        assert fast is None, f"vouched for a row the models reject: {text!r}"
    if fast is not None:
        assert fast == expected, f"printed differently for {text!r}"
    return fast


def _json(record: ProcessRecord, pid: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(record.model_copy(update={"id": pid}).stored_json())
    return value


def test_every_record_the_models_wrote_is_vouched_for_and_printed_alike(
    registry: sqlite3.Connection,
) -> None:
    vouched = 0
    for i, record in enumerate(RECORDS):
        for lease in LEASES:
            for form in ("start", "save", "reordered"):
                pid = f"ok-{next(_counter):08d}"
                stored = record.model_copy(update={"id": pid})
                if form == "start":  # as `start` stores it: the core event types last
                    text = stored.stored_json()
                elif form == "save":  # as a save writes it
                    text = stored.model_dump_json()
                else:  # keys in another order (serde reads any; lash may write another)
                    reordered = dict(reversed(_json(record, pid).items()))
                    text = json.dumps(reordered, ensure_ascii=i % 2 == 0)
                if check(registry, text, lease, pid=pid) is not None:
                    vouched += 1
    # Every one of them: the fast path serves the rows lashtui and lash write.
    assert vouched == len(RECORDS) * len(LEASES) * 3


def test_a_status_column_that_contradicts_the_record_is_left_to_the_models(
    registry: sqlite3.Connection,
) -> None:
    """The models read such a row as undecodable (decoded_row.py `checked`); the fast printer
    declines any row whose column differs from its record, and the models print it (in
    the record's state when the column names no state)."""
    ended = next(r for r in RECORDS if r.status.state.value == "cancelled")
    for status, undecodable in (("running", True), ("completed", True), ("zombie", True)):
        pid = f"col-{next(_counter):08d}"
        text = ended.model_copy(update={"id": pid}).stored_json()
        assert check(registry, text, None, pid=pid, status=status) is None
        row, _ = store_and_read(registry, text, None, f"{pid}-again", status)
        printed = json.loads(by_the_models(row, None)[0])
        assert ("undecodable" in printed) is undecodable
        assert printed["lifecycle"] == ("cancelled" if status == "zombie" else status)


# Values a hostile or careless writer might store in place of any field.
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**63, 2**64 + 1, -(2**70), 1.0, 2.5, 1e16, 1.5e-5, 1e300,
    "", "5", "1780000000000", "running", "opaque", "signal", "external", "\x1b]0;pwned\x07",
    "\u202eevil", "line\u2028sep", "c1 \x9b31m", "[bold]x[/]", "\x00", "\x7f", "😀",
    [], {}, [None], {"": None}, {"type": "external"}, {"kind": "opaque"},
    {"state": "running"}, {"session_id": "s"}, [[[[[[[[1]]]]]]]],
]  # fmt: skip
# Raw JSON text a writer might put where a value goes (json.dumps could not make these).
HOSTILE_TEXTS = [
    "NaN", "Infinity", "-Infinity", '"\\ud800"', '"\\udfff x"', '"\\ud83d\\ude00"', "1e400",
    "-0", "1E2", "12345678901234567890123", '"\\u0000"', "[" * 300 + "]" * 300,
    '{"a":1,"a":2}', "1.0e-7", "0.1",
]  # fmt: skip
_PLACEHOLDER = "\x00placeholder\x00"


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value: each object key and each list index, depth first."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_set(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_set(v, rest, new) if i == head else v) for i, v in enumerate(value)]


def _delete(value: Any, path: tuple[Any, ...]) -> Any:
    head, rest = path[0], path[1:]
    if not rest:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k != head}
        return [v for i, v in enumerate(value) if i != head]
    return _set(value, (head,), _delete(value[head], rest))


def _add_key(value: Any, path: tuple[Any, ...], key: str, new: Any, first: bool) -> Any:
    target = value
    for part in path:
        target = target[part]
    if not isinstance(target, dict):
        return value
    added = {key: new, **target} if first else {**target, key: new}
    return _set(value, path, added)


@st.composite
def broken_records(draw: st.DrawFn) -> tuple[str, tuple[Any, ...] | None]:
    """A record the models wrote, then broken in one to three places."""
    record = draw(st.sampled_from(RECORDS))
    value: Any = _json(record, "PID")
    raw: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(value))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "text", "delete", "add", "rename", "first"]))
        if action == "set":
            new = draw(st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=8)))
            value = _set(value, path, new)
        elif action == "text":
            raw.append(draw(st.sampled_from(HOSTILE_TEXTS)))
            value = _set(value, path, _PLACEHOLDER)
        elif action == "delete" and path:
            value = _delete(value, path)
        elif action in ("add", "first"):
            key = draw(
                st.one_of(
                    st.sampled_from(["type", "kind", "id", "x", "class_"]), st.text(max_size=4)
                )
            )
            new = draw(st.sampled_from(HOSTILE_VALUES))
            value = _add_key(value, path, key, new, first=action == "first")
        elif action == "rename" and path and isinstance(path[-1], str):
            parent = path[:-1]
            target = value
            for part in parent:
                target = target[part]
            renamed = {(k + "_" if k == path[-1] else k): v for k, v in target.items()}
            value = _set(value, parent, renamed)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    for piece in raw:
        text = text.replace(json.dumps(_PLACEHOLDER), piece, 1)
    lease = draw(
        st.one_of(
            st.sampled_from(LEASES),
            st.tuples(
                st.sampled_from(["w", "", "\x1b[2J"]),
                st.sampled_from([None, "", "i"]),
                st.sampled_from(
                    [None, "", "{", '{"kind":"local_process"}', '{"kind":"opaque","x":1}', "null"]
                ),
                st.sampled_from(["t"]),
                st.sampled_from([1, 2**63 - 1]),
                st.sampled_from([0, START_MS]),
                st.sampled_from([0, START_MS, -5]),
            ),
        )
    )
    return text, lease


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(broken=broken_records())
def test_a_broken_record_is_printed_alike_or_declined(
    registry: sqlite3.Connection, broken: tuple[str, tuple[Any, ...] | None]
) -> None:
    text, lease = broken
    pid = f"h-{next(_counter):08d}"
    check(registry, text.replace('"PID"', json.dumps(pid), 1), lease, pid=pid)


def test_hand_made_hostile_rows_are_declined(registry: sqlite3.Connection) -> None:
    base = _json(RECORDS[5], "PID")
    cases: list[str | bytes] = [
        '{"id":"PID"}',
        "[]",
        "null",
        "not json",
        "",
        json.dumps(base) + " trailing",
        # an unknown field, kept and printed by the models after their own
        json.dumps({**base, "added_by_newer_lash": {"x": 1}}),
        json.dumps({**base, "identity": {**base["identity"], "extra": 1}}),
        # a field the models read but never print
        json.dumps({**base, "undecodable": "forged"}),
        # numbers the models coerce
        json.dumps({**base, "created_at_ms": "1780000000000"}),
        json.dumps({**base, "created_at_ms": 1780000000000.0}),
        json.dumps({**base, "created_at_ms": True}),
        # a tool call's old `id`, and its tool id from the name (the models' before-validator)
        json.dumps({**base, "input": {"type": "tool_call", "call": {"id": "c", "tool_name": "t"}}}),
        # a terminal state without its output, an output of another state
        json.dumps({**base, "status": {"state": "failed"}}),
        json.dumps(
            {
                **base,
                "status": {
                    "state": "completed",
                    "await_output": {
                        "type": "failure",
                        "class": "internal",
                        "code": "c",
                        "message": "m",
                    },
                },
            }
        ),
        # NaN, a lone surrogate, text that is not UTF-8
        json.dumps(base).replace('"kind": "k"', '"kind": NaN'),
        json.dumps(base).replace('"kind": "k"', '"kind": "\\ud800"'),
        json.dumps(base).replace('"kind": "k"', '"kind": "\\ud800\\udc00"'),
        # a lone surrogate in a field the printer leaves out (hypothesis found it)
        json.dumps({**base, "registration_hash": "\\ud800"}).replace("\\\\", "\\"),
        # ... and as the state, which the status column cannot hold (hypothesis found it)
        json.dumps({**base, "status": {"state": "\\ud800"}}).replace("\\\\", "\\"),
        json.dumps(base, ensure_ascii=False)
        .replace('"k"', '"\udcff"')
        .encode("utf-8", "surrogateescape"),
        # nested past what pydantic-core parses
        json.dumps({**base, "input": {"type": "engine", "kind": "k", "payload": [[[]]]}}).replace(
            "[[[]]]", "[" * 260 + "]" * 260
        ),
        # floats Python writes another way than pydantic (1.5e-05 / 0.000015; inf / null)
        json.dumps({**base, "input": {"type": "engine", "kind": "k", "payload": 1.5e-5}}),
        json.dumps({**base, "input": {"type": "engine", "kind": "k", "payload": [2e-7]}}),
        json.dumps({**base, "input": {"type": "external", "metadata": 1}}).replace(
            '"metadata": 1', '"metadata": 1e400'
        ),
        # another id than the row's (the models print the column's: decoded_row.py `keyed`)
        json.dumps({**base, "id": "someone-else"}),
        # duplicate keys (the last wins, in both)
        json.dumps(base)[:-1] + ', "disposition": "rerunnable"}',
    ]
    for case in cases:
        pid = f"hand-{next(_counter):08d}"
        text = (
            case.replace(b"PID", pid.encode())
            if isinstance(case, bytes)
            else case.replace("PID", pid)
        )
        check(registry, text, LEASES[1], pid=pid)
    # An id that is not UTF-8 (another program stored bytes): the models' path escapes.
    raw_id = b"bad-\xff-id"
    text = json.dumps({**base, "id": "bad-\\udcff-id"})
    assert check(registry, text, None, pid=raw_id) is None
