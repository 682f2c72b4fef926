"""A stored record rebuilt in the models' order without the models (`vouched_record`), for
the records this module can vouch for: what `ls --json`'s printer (observed_json.py) and
SQLite's census of waiting rows (registry/sql/decoded_wait.py) read instead of loading
lash's pydantic models.

It vouches for a record only where the models would accept it unchanged and print exactly
these fields, so it is narrow on purpose:
- every object holds only fields its model declares (an unknown field, which the models keep
  and print after their own, an alias such as a tool call's old `id`, or a field the models
  read but never print, such as `undecodable`, is not vouched for);
- every field has the JSON type its model requires: strings are strings, whole numbers are
  ints within 64 bits, enums and tags are one of their values, a tagged union's tag is
  present (json_shape.py says how each is checked, and how numbers are read);
- the declared event types are lash's core ones (the models' own JSON of them, below; any
  other declaration is validated by the models);
- nesting is bounded far below pydantic-core's 254 levels by a bracket count;
- and the stored text holds no surrogate escape anywhere (the models refuse a lone one even
  in a field not printed; a pair is declined too, for the models to print).
Objects are rebuilt in the models' field order (a stored record may hold its fields in any
order: lashtui stores the core event types last), omitted fields left out when absent or
null, defaults filled in as the models print them.

The field lists below are the models' own, in order: tests/test_observed_json.py checks
every one against its model.
"""

from __future__ import annotations

import json
import re

from lashtui.core_event_types import CORE_EVENT_TYPES_JSON
from lashtui.json_shape import (
    ANY,
    DECODER,
    TEXT,
    WHOLE,
    Json,
    Refused,
    Shaped,
    dflt,
    is_int64,
    model,
    one_of,
    opt,
    req,
    shape,
    tagged,
)
from lashtui.state import repeated_key

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
# A surrogate escaped anywhere in a stored text (`vouched_record`).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

SESSION_SCOPE = shape(model(req("session_id", TEXT), opt("agent_frame_id", TEXT)))
IDENTITY = shape(model(req("kind", TEXT), opt("label", TEXT), opt("definition", ANY)))
ABANDON_REQUEST = shape(
    model(req("requested_by", TEXT), req("requested_at_ms", WHOLE), opt("reason", TEXT))
)
EXTERNAL_REF = shape(model(req("backend", TEXT), req("id", TEXT), opt("metadata", ANY)))

LOCAL_PROCESS = model(
    req("kind", TEXT),
    req("host_id", TEXT),
    req("boot_id", TEXT),
    req("pid", WHOLE),
    req("process_start", TEXT),
)
_LOCAL_PROCESS = shape(LOCAL_PROCESS)
OPAQUE = {"kind": "opaque"}


def liveness(value: Json) -> Shaped:
    """`LeaseOwnerLiveness`: opaque or a local process, tagged by `kind`."""
    if type(value) is not dict:
        return None
    kind = value.get("kind")
    if kind == "opaque":
        return OPAQUE if len(value) == 1 else None
    if kind == "local_process":
        shaped: Shaped = _LOCAL_PROCESS(value)
        return shaped
    return None


_OWNER = shape(
    model(req("owner_id", TEXT), req("incarnation_id", TEXT), opt("liveness", liveness))
)


def owner(value: Json) -> Shaped:
    """`LeaseOwnerIdentity`; its liveness defaults to opaque (and may not be null)."""
    shaped = _OWNER(value)
    if shaped is not None and "liveness" not in shaped:
        if "liveness" in value:  # null: not a liveness the models read
            return None
        shaped["liveness"] = OPAQUE
    return shaped


STARTED = shape(model(req("owner", owner), req("started_at_ms", WHOLE)))
WAIT_KIND = model(
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


WAIT = shape(model(req("kind", wait_kind), req("since_ms", WHOLE)))


TYPE = req("type", TEXT)
CAUSAL_REF = tagged(
    {
        "turn": model(TYPE, req("session_id", TEXT), req("turn_id", TEXT)),
        "effect": model(
            TYPE, req("session_id", TEXT), opt("turn_id", TEXT), req("effect_id", TEXT)
        ),
        "tool_call": model(TYPE, req("session_id", TEXT), req("call_id", TEXT)),
        "process": model(TYPE, req("process_id", TEXT)),
        "process_event": model(TYPE, req("process_id", TEXT), req("sequence", WHOLE)),
        "trigger_occurrence": model(
            TYPE, req("occurrence_id", TEXT), opt("subscription_id", TEXT)
        ),
        "session_node": model(TYPE, req("session_id", TEXT), req("node_id", TEXT)),
    }
)
ORIGINATOR = tagged(
    {
        "host": model(TYPE, opt("scope", TEXT)),
        "session": model(TYPE, req("scope", SESSION_SCOPE)),
    }
)
PROVENANCE = shape(model(req("originator", ORIGINATOR), opt("caused_by", CAUSAL_REF)))

TOOL_CALL = model(
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
    "tool_call": model(TYPE, req("call", tool_call)),
    "engine": model(TYPE, req("kind", TEXT), dflt("payload", ANY)),  # default null
    "session_turn": model(
        TYPE, req("create_request", ANY), req("turn_input", ANY), req("output_contract", ANY)
    ),
    "external": model(TYPE, dflt("metadata", ANY)),  # default null
}
_INPUT = tagged(INPUT_VARIANTS)


def process_input(value: Json) -> Shaped:
    shaped = _INPUT(value)
    if shaped is not None:
        kind = shaped["type"]
        if kind == "engine" and "payload" not in shaped:
            shaped["payload"] = None
        elif kind == "external" and "metadata" not in shaped:
            shaped["metadata"] = None
    return shaped


_CONTROL = opt("control", ANY)
_RAW = opt("raw", ANY)
EVIDENCE = shape(
    model(req("writer", one_of(ABANDON_WRITERS)), opt("owner", owner), req("epoch_ms", WHOLE))
)
OUTPUT_VARIANTS = {
    "success": model(TYPE, req("value", ANY), _CONTROL),
    "failure": model(
        TYPE,
        req("class", one_of(FAILURE_CLASSES)),
        req("code", TEXT),
        req("message", TEXT),
        _RAW,
        _CONTROL,
    ),
    "cancelled": model(TYPE, req("message", TEXT), _RAW, _CONTROL),
    "abandoned": model(TYPE, req("evidence", EVIDENCE), _CONTROL),
}
AWAIT_OUTPUT = tagged(OUTPUT_VARIANTS)
LIFECYCLE = frozenset({"running", *OUTPUT_STATES.values()})
_STATUS = shape(model(dflt("state", one_of(LIFECYCLE)), opt("await_output", AWAIT_OUTPUT)))
RUNNING = {"state": "running"}


def status(value: Json) -> Shaped:
    """`ProcessStatus`: running without an output, or a terminal state with the output
    of that state (the model's own check)."""
    shaped = _STATUS(value)
    if shaped is None:
        return None
    state = shaped.get("state", "running")
    output = shaped.get("await_output")
    if output is None:
        return RUNNING if state == "running" else None
    if OUTPUT_STATES[output["type"]] != state:
        return None
    return shaped


def _event_types(value: Json) -> bool:
    """Whether the declared event types are lash's core ones (or none)."""
    if value == _CORE:
        return True
    return type(value) is list and all(item in _CORE for item in value)


RECORD = model(
    req("id", TEXT),
    req("registration_hash", TEXT),
    req("input", process_input),
    req("disposition", one_of(DISPOSITIONS)),
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
            ok = is_int64(item)
        elif kind is _event_types:
            ok = _event_types(item)
        else:
            shaped = kind(item)
            ok = shaped is not None
            value[name] = shaped
        if not ok:
            return None
    return value


def vouched_record(text: str) -> Shaped:
    """The stored record `text` rebuilt in the models' order, where the models would take
    it unchanged (see the module docstring); None when not vouched for. Also asked by
    SQLite's census of each row it finds waiting (registry/sql/decoded_wait.py), which
    must not load the models for a record this vouches for."""
    if text.count("{") + text.count("[") > MAX_BRACKETS:
        return None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        # A surrogate escaped anywhere, a field the printer (observed_json.py) leaves out
        # included: the models refuse a lone one (`json.loads` takes it), so none is
        # vouched for.
        return None
    try:
        record = _record(DECODER.decode(text))
    except (ValueError, Refused, RecursionError):
        return None
    except (TypeError, KeyError, AttributeError):  # pragma: no cover
        # A shape this module's checks did not foresee (the differential tests look for
        # them): not vouched for, so the models print it, as they always did.
        return None
    if record is None or repeated_key(text, record) is not None:
        return None  # (named a read key twice: the models' path reads it as undecodable)
    return record
