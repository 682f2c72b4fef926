"""An `ObservedProcess`'s JSON made from a stored row without the models, for the rows this
module can vouch for: the `ls --json` read of lashtui/cli_listing.py.

`lashtui ls --json` prints each row as `ObservedProcess.from_record(record, lease).to_json()`,
the record validated by lash's pydantic models. Importing those models costs more than the
whole stdlib peer S1 measures against (README, Performance, S1), so this module makes the
same bytes from the stored JSON with the stdlib's `json` alone, for the shapes it knows, and
answers None for every other row, which then goes through the models exactly as before.

It vouches for a row only where the models would accept the stored record unchanged and
print exactly these bytes, so it is narrow on purpose:
- every object holds only fields its model declares (an unknown field, which the models keep
  and print after their own, an alias such as a tool call's old `id`, or a field the models
  read but never print, such as `undecodable`, is not vouched for);
- every field has the JSON type its model requires: strings are strings, whole numbers are
  ints within 64 bits (pydantic would also take "5", 5.0 or true), enums and tags are one
  of their values, a tagged union's tag is present;
- the declared event types are lash's core ones (the models' own JSON of them, below; any
  other declaration is validated by the models);
- numbers inside free JSON values are ints or floats Python writes as pydantic does (no
  exponent, finite); NaN and Infinity, which `json.loads` reads and pydantic refuses, are
  refused; nesting is bounded far below pydantic-core's 254 levels by a bracket count;
- and the whole printed text holds no lone surrogate (pydantic cannot write one, and the
  models' path then escapes everything past ASCII: `WireModel.to_json`), nor the stored
  text a surrogate escape anywhere (the models refuse a lone one even in a field not
  printed; a pair is declined too, for the models to print).
Objects are rebuilt in the models' field order (a stored record may hold its fields in any
order: lashtui stores the core event types last), omitted fields left out when absent or
null, defaults filled in as the models print them.

The models stay the source of truth: tests/test_observed_json.py checks every field list
here against the models' own, and stores hypothesis-made and hand-made hostile rows in a
real SQLite file to check that every row vouched for prints exactly what the models print
and that nothing the models reject or change is vouched for.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from lashtui.core_event_types import CORE_EVENT_TYPES_JSON
from lashtui.state import repeated_key

Json = Any  # a value `json.loads` made
Shaped = Any  # an object rebuilt in its model's order (a dict), or None: not vouched for

# Whole numbers the models' int fields are vouched for at: 64-bit, as lash writes them.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
# The longest lease name (owner, incarnation, token) vouched for: the ceiling every read
# takes a plain-text column under (registry/sql/stored_text.py `READ_CHARS`, 4,096; a test
# checks they are the same). A longer one was read cut, and its lease is a stand-in the
# models print with why.
MAX_NAME_READ = 4096
# pydantic-core refuses JSON nested 254 levels or more; a text with fewer brackets than this
# cannot nest that deep (brackets inside strings only make the count safer).
MAX_BRACKETS = 200

# lash's core event types as ProcessRecord stores them, decoded.
_CORE = json.loads(CORE_EVENT_TYPES_JSON)

# The enums' values (tests check each against its model).
DISPOSITIONS = frozenset({"rerunnable", "owner_bound", "externally_owned"})
FAILURE_CLASSES = frozenset(
    {
        "invalid_request", "unavailable", "permission_denied", "timeout", "execution",
        "external", "resource_limit", "internal",
    }
)  # fmt: skip
ABANDON_WRITERS = frozenset({"owner_drain", "sweep", "reconciled_request"})
# An await output's tag and the lifecycle state it ends a process in.
OUTPUT_STATES = {
    "success": "completed",
    "failure": "failed",
    "cancelled": "cancelled",
    "abandoned": "abandoned",
}

# Field lists, each in its model's declaration order (the order the models print). A field
# is "s" a string, "i" a whole number, "j" any JSON value, or a function shaping a nested
# object; `REQUIRED` ones must be present, `OMITTED` ones are left out when absent or null
# (`omitted()` in the models), and the rest print their default when absent.
TEXT, WHOLE, ANY = "s", "i", "j"


class _Refused(Exception):
    """Raised by the JSON reader's hooks: a number or constant the models would not print
    the same way (the row is then not vouched for)."""


def _float(text: str) -> float:
    value = float(text)
    # Python writes an exponent where pydantic writes digits (1.5e-05 / 0.000015), and
    # pydantic writes inf as null: only plain finite floats are printed alike.
    if not math.isfinite(value) or "e" in repr(value):
        raise _Refused
    return value


def _constant(text: str) -> Json:
    raise _Refused  # NaN, Infinity, -Infinity: json.loads reads them, pydantic refuses


_DECODER = json.JSONDecoder(parse_float=_float, parse_constant=_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _int(value: Json) -> bool:
    return type(value) is int and _INT_MIN <= value <= _INT_MAX


Field = tuple[str, Any, bool, bool]  # name, kind, required, omitted
Spec = tuple[Field, ...]


def _fields(value: Json, spec: Spec, names: frozenset[str]) -> Shaped:
    """`value` as an object of these fields (name, kind, required, omitted), in order."""
    if type(value) is not dict or not value.keys() <= names:
        return None
    shaped: dict[str, Json] = {}
    for name, kind, required, omitted in spec:
        if name not in value:
            if required:
                return None
            continue  # an omitted field; the defaults are filled in by the callers
        item = value[name]
        if item is None and omitted:
            continue
        if kind == TEXT:
            if type(item) is not str:
                return None
        elif kind == WHOLE:
            if not _int(item):
                return None
        elif kind != ANY:
            item = kind(item)
            if item is None:
                return None
        shaped[name] = item
    return shaped


def _model(*fields: Field) -> Spec:
    return fields


def req(name: str, kind: Any) -> Field:
    return (name, kind, True, False)


def opt(name: str, kind: Any) -> Field:
    """An `omitted()` field: left out when absent or null."""
    return (name, kind, False, True)


def dflt(name: str, kind: Any) -> Field:
    """A field with a default the models print when it is absent (null is a value)."""
    return (name, kind, False, False)


def shape(spec: Spec) -> Any:
    names = frozenset(name for name, *_ in spec)

    def shaped(value: Json) -> Shaped:
        return _fields(value, spec, names)

    shaped.spec = spec  # type: ignore[attr-defined]  # read by the tests
    return shaped


SESSION_SCOPE = shape(_model(req("session_id", TEXT), opt("agent_frame_id", TEXT)))
IDENTITY = shape(_model(req("kind", TEXT), opt("label", TEXT), opt("definition", ANY)))
ABANDON_REQUEST = shape(
    _model(req("requested_by", TEXT), req("requested_at_ms", WHOLE), opt("reason", TEXT))
)
EXTERNAL_REF = shape(_model(req("backend", TEXT), req("id", TEXT), opt("metadata", ANY)))

LOCAL_PROCESS = _model(
    req("kind", TEXT),
    req("host_id", TEXT),
    req("boot_id", TEXT),
    req("pid", WHOLE),
    req("process_start", TEXT),
)
_LOCAL_PROCESS = shape(LOCAL_PROCESS)
_OPAQUE = {"kind": "opaque"}


def liveness(value: Json) -> Shaped:
    """`LeaseOwnerLiveness`: opaque or a local process, tagged by `kind`."""
    if type(value) is not dict:
        return None
    kind = value.get("kind")
    if kind == "opaque":
        return _OPAQUE if len(value) == 1 else None
    if kind == "local_process":
        shaped: Shaped = _LOCAL_PROCESS(value)
        return shaped
    return None


_OWNER = shape(
    _model(req("owner_id", TEXT), req("incarnation_id", TEXT), opt("liveness", liveness))
)


def owner(value: Json) -> Shaped:
    """`LeaseOwnerIdentity`; its liveness defaults to opaque (and may not be null)."""
    shaped = _OWNER(value)
    if shaped is not None and "liveness" not in shaped:
        if "liveness" in value:  # null: not a liveness the models read
            return None
        shaped["liveness"] = _OPAQUE
    return shaped


STARTED = shape(_model(req("owner", owner), req("started_at_ms", WHOLE)))
WAIT_KIND = _model(
    opt("kind", TEXT),
    req("name", TEXT),
    req("event_type", TEXT),
    req("key", TEXT),
    req("ordinal", WHOLE),
)
_WAIT_KIND = shape(WAIT_KIND)


def wait_kind(value: Json) -> Shaped:
    """`WaitKind`: its `kind` is the literal `signal`, printed even when absent."""
    shaped = _WAIT_KIND(value)
    if shaped is None or value.get("kind", "signal") != "signal":
        return None
    return {"kind": "signal", **shaped}


WAIT = shape(_model(req("kind", wait_kind), req("since_ms", WHOLE)))


def _tagged(variants: dict[str, Spec]) -> Any:
    """A union tagged by `type` (a discriminated union: the tag must be present)."""
    shapes = {tag: shape(spec) for tag, spec in variants.items()}

    def shaped(value: Json) -> Shaped:
        if type(value) is not dict:
            return None
        tag = value.get("type")
        variant = shapes.get(tag) if type(tag) is str else None
        return variant(value) if variant is not None else None

    shaped.variants = variants  # type: ignore[attr-defined]  # read by the tests
    return shaped


TYPE = req("type", TEXT)
CAUSAL_REF = _tagged(
    {
        "turn": _model(TYPE, req("session_id", TEXT), req("turn_id", TEXT)),
        "effect": _model(
            TYPE, req("session_id", TEXT), opt("turn_id", TEXT), req("effect_id", TEXT)
        ),
        "tool_call": _model(TYPE, req("session_id", TEXT), req("call_id", TEXT)),
        "process": _model(TYPE, req("process_id", TEXT)),
        "process_event": _model(TYPE, req("process_id", TEXT), req("sequence", WHOLE)),
        "trigger_occurrence": _model(
            TYPE, req("occurrence_id", TEXT), opt("subscription_id", TEXT)
        ),
        "session_node": _model(TYPE, req("session_id", TEXT), req("node_id", TEXT)),
    }
)
ORIGINATOR = _tagged(
    {
        "host": _model(TYPE, opt("scope", TEXT)),
        "session": _model(TYPE, req("scope", SESSION_SCOPE)),
    }
)
PROVENANCE = shape(_model(req("originator", ORIGINATOR), opt("caused_by", CAUSAL_REF)))

TOOL_CALL = _model(
    req("call_id", TEXT),
    req("tool_id", TEXT),
    req("tool_name", TEXT),
    dflt("args", ANY),  # default {}
    opt("replay", ANY),
    opt("prepared_payload", ANY),  # serde's skip-if-null: null is left out
)
_CALL = shape(TOOL_CALL)


def tool_call(value: Json) -> Shaped:
    shaped = _CALL(value)
    if shaped is None:
        return None
    if "args" not in shaped:
        shaped = {**shaped}
        # The default, in its place (before replay and prepared_payload).
        ordered = {name: shaped[name] for name in ("call_id", "tool_id", "tool_name")}
        ordered["args"] = {}
        ordered.update((k, v) for k, v in shaped.items() if k not in ordered)
        return ordered
    return shaped


INPUT_VARIANTS = {
    "tool_call": _model(TYPE, req("call", tool_call)),
    "engine": _model(TYPE, req("kind", TEXT), dflt("payload", ANY)),  # default null
    "session_turn": _model(
        TYPE, req("create_request", ANY), req("turn_input", ANY), req("output_contract", ANY)
    ),
    "external": _model(TYPE, dflt("metadata", ANY)),  # default null
}
_INPUT = _tagged(INPUT_VARIANTS)


def process_input(value: Json) -> Shaped:
    shaped = _INPUT(value)
    if shaped is not None:
        kind = shaped["type"]
        if kind == "engine" and "payload" not in shaped:
            shaped["payload"] = None
        elif kind == "external" and "metadata" not in shaped:
            shaped["metadata"] = None
    return shaped


def _enum(values: frozenset[str]) -> Any:
    def member(value: Json) -> Json:
        return value if type(value) is str and value in values else None

    return member


_CONTROL = opt("control", ANY)
_RAW = opt("raw", ANY)
EVIDENCE = shape(
    _model(req("writer", _enum(ABANDON_WRITERS)), opt("owner", owner), req("epoch_ms", WHOLE))
)
OUTPUT_VARIANTS = {
    "success": _model(TYPE, req("value", ANY), _CONTROL),
    "failure": _model(
        TYPE,
        req("class", _enum(FAILURE_CLASSES)),
        req("code", TEXT),
        req("message", TEXT),
        _RAW,
        _CONTROL,
    ),
    "cancelled": _model(TYPE, req("message", TEXT), _RAW, _CONTROL),
    "abandoned": _model(TYPE, req("evidence", EVIDENCE), _CONTROL),
}
AWAIT_OUTPUT = _tagged(OUTPUT_VARIANTS)
LIFECYCLE = frozenset({"running", *OUTPUT_STATES.values()})
_STATUS = shape(_model(dflt("state", _enum(LIFECYCLE)), opt("await_output", AWAIT_OUTPUT)))
_RUNNING = {"state": "running"}


def status(value: Json) -> Shaped:
    """`ProcessStatus`: running without an output, or a terminal state with the output
    of that state (the model's own check)."""
    shaped = _STATUS(value)
    if shaped is None:
        return None
    state = shaped.get("state", "running")
    output = shaped.get("await_output")
    if output is None:
        return _RUNNING if state == "running" else None
    if OUTPUT_STATES[output["type"]] != state:
        return None
    return shaped


def _event_types(value: Json) -> bool:
    """Whether the declared event types are lash's core ones (or none)."""
    if value == _CORE:
        return True
    return type(value) is list and all(item in _CORE for item in value)


RECORD = _model(
    req("id", TEXT),
    req("registration_hash", TEXT),
    req("input", process_input),
    req("disposition", _enum(DISPOSITIONS)),
    req("identity", IDENTITY),
    dflt("event_types", _event_types),
    req("provenance", PROVENANCE),
    opt("env_ref", TEXT),
    opt("wake_target", SESSION_SCOPE),
    dflt("created_at_ms", WHOLE),
    dflt("updated_at_ms", WHOLE),
    opt("external_ref", EXTERNAL_REF),
    opt("first_started", STARTED),
    opt("abandon_request", ABANDON_REQUEST),
    opt("wait", WAIT),
    dflt("status", status),
)
_RECORD_NAMES = frozenset(name for name, *_ in RECORD)


def _record(value: Json) -> Shaped:
    if type(value) is not dict or not value.keys() <= _RECORD_NAMES:
        return None
    for name, kind, required, omitted in RECORD:
        if name not in value:
            if required:
                return None
            continue
        item = value[name]
        if item is None and omitted:
            continue
        if kind == TEXT:
            ok = type(item) is str
        elif kind == WHOLE:
            ok = _int(item)
        elif kind is _event_types:
            ok = _event_types(item)
        else:
            shaped = kind(item)
            ok = shaped is not None
            value[name] = shaped
        if not ok:
            return None
    return value


def _lease(lease: tuple[Any, ...] | None) -> tuple[Shaped, int | None] | None:
    """The lease columns (lease_row.py `LeaseRow`, held) as the observed lease holder and
    expiry; (None, None) without a lease; None when not vouched for."""
    if lease is None:
        return None, None
    owner_id, incarnation, liveness_json, token, fence, claimed, expires = lease
    if not (
        type(owner_id) is str
        and (incarnation is None or type(incarnation) is str)
        and type(token) is str
        and max(len(owner_id), len(incarnation or ""), len(token)) <= MAX_NAME_READ
        and _int(fence)
        and _int(claimed)
        and _int(expires)
    ):
        return None
    if not liveness_json:
        holder_liveness: Shaped = _OPAQUE
    else:
        if type(liveness_json) is not str:
            return None
        try:
            holder_liveness = liveness(_DECODER.decode(liveness_json))
        except (ValueError, _Refused, RecursionError):
            return None
        if holder_liveness is None:
            return None  # the models read it as opaque; let them
    holder = {
        "owner_id": owner_id,
        "incarnation_id": incarnation or owner_id,
        "liveness": holder_liveness,
    }
    return holder, expires


def observed_json(row: tuple[Any, ...], lease: tuple[Any, ...] | None) -> str | None:
    """The row (read with `ROW_COLUMNS`) and its held lease's columns as the compact JSON
    `ObservedProcess.from_record(...).to_json()` prints; None when not vouched for."""
    text, process_id = row[0], row[1]
    if type(text) is not str or type(process_id) is not str:
        return None
    record = vouched_record(text)
    if record is None or record["id"] != process_id:
        return None  # the models' path keys it by the column (row.py `keyed`)
    leased = _lease(lease)
    if leased is None:
        return None
    holder, expires = leased
    identity = record["identity"]
    status_: dict[str, Json] = record.get("status") or _RUNNING
    state = status_["state"]
    if state != row[6]:
        return None  # its status column says otherwise: the models decide (row.py `checked`)
    output = status_.get("await_output")
    process_input = record["input"]
    provenance = record["provenance"]
    observed: dict[str, Json] = {
        "process_id": process_id,
        "graph_key": f"process:{process_id}",
        "kind": identity["kind"],
        "lifecycle": state,
        "identity": identity,
        "status_label": state,
        "terminal": state != "running",
        "disposition": record["disposition"],
    }
    if output is not None and output["type"] in ("failure", "cancelled"):
        observed["error"] = output["message"]
    observed["created_at_ms"] = record.get("created_at_ms", 0)
    observed["updated_at_ms"] = record.get("updated_at_ms", 0)
    _put(observed, "first_started", record.get("first_started"))
    _put(observed, "lease_holder", holder)
    _put(observed, "lease_expires_at_ms", expires)
    _put(observed, "abandon_request", record.get("abandon_request"))
    observed["input"] = process_input
    observed["originator"] = provenance["originator"]
    _put(observed, "env_ref", record.get("env_ref"))
    _put(observed, "wake_target", record.get("wake_target"))
    _put(observed, "caused_by", provenance.get("caused_by"))
    _put(observed, "external_ref", record.get("external_ref"))
    _put(observed, "wait", record.get("wait"))
    if process_input["type"] == "session_turn":
        request = process_input["create_request"]
        if type(request) is dict:
            child = request.get("session_id")
            if type(child) is str:
                observed["child_session_id"] = child
    observed["label"] = identity.get("label") or identity["kind"]
    observed["status"] = status_
    printed = _ENCODER.encode(observed)
    if not printed.isascii() and _SURROGATE.search(printed):
        return None  # the models' path writes this row with every non-ASCII escaped
    return printed


def vouched_record(text: str) -> Shaped:
    """The stored record `text` rebuilt in the models' order, where the models would take
    it unchanged (see the module docstring); None when not vouched for. Also asked by
    SQLite's census of each row it finds waiting (registry/sql/decoded_wait.py), which
    must not load the models for a record this vouches for."""
    if text.count("{") + text.count("[") > MAX_BRACKETS:
        return None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        # A surrogate escaped anywhere, a field this printer leaves out included: the
        # models refuse a lone one (`json.loads` takes it), so none is vouched for.
        return None
    try:
        record = _record(_DECODER.decode(text))
    except (ValueError, _Refused, RecursionError):
        return None
    except (TypeError, KeyError, AttributeError):  # pragma: no cover
        # A shape this module's checks did not foresee (the differential tests look for
        # them): not vouched for, so the models print it, as they always did.
        return None
    if record is None or repeated_key(text, record) is not None:
        return None  # (named a read key twice: the models' path reads it as undecodable)
    return record


def _put(observed: dict[str, Json], name: str, value: Json) -> None:
    if value is not None:
        observed[name] = value
