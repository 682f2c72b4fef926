"""An appended event's JSON, built as `ProcessEvent.model_dump_json()` writes it, without
building the models first.

An append builds its event as models (the invocation, the materialised semantics, the time,
each validated) and then serialises them: ~12 us of a ~150 us `append_event` measured alone
on this machine, about twice that inside the write (P2, 2026-12-05). Where the semantics are
known without the models (a type that declares neither a terminal nor a wake materialises
to `{}`; a core terminal's are its output: sql/prepared.py), the event's JSON is this text:
lash's field order, the caller's values in it as the models encode them. The models then
read the event back from that JSON where a caller needs the model (event.py `append_to`),
so what an append returns is what it stored. tests/registry/test_event_json.py requires the
bytes to be the models', over generated ids, types, payloads and replay keys.
"""

from __future__ import annotations

from pydantic import JsonValue, TypeAdapter

from lashtui.model.event import RUNTIME_SESSION

_STRING = TypeAdapter(str)  # a string's JSON exactly as the models write one
_JSON_VALUE = TypeAdapter(JsonValue)  # a payload's, as `ProcessEvent.payload` writes it

# The semantics of a type that declares neither a terminal nor a wake.
NO_SEMANTICS = "{}"


def string_json(text: str) -> str:
    """`text`'s JSON exactly as the models write it: printable ASCII with no quote or
    backslash is itself between quotes (serde_json, and so pydantic, escapes nothing else
    there), as nearly every process id is; anything else is the models' own encoding."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return _STRING.dump_json(text).decode()


def value_json(value: JsonValue) -> str:
    """A payload's JSON as the models write it (raises as they do, e.g. on a lone
    surrogate)."""
    return _JSON_VALUE.dump_json(value).decode()


def event_json(
    process_id: str,
    sequence: int,
    event_type: str,
    payload: str,
    replay_key: str | None,
    semantics: str,
    now_ms: int,
) -> str:
    """The event's JSON: `payload` and `semantics` are their JSON already (`value_json`;
    `NO_SEMANTICS`), the invocation lash's `process_event_invocation` (model/event.py
    `event_invocation`), the time serde's `SystemTime`."""
    pid, kind = string_json(process_id), string_json(event_type)
    replay = "" if replay_key is None else f',"replay":{{"key":{string_json(replay_key)}}}'
    return (
        f'{{"process_id":{pid},"sequence":{sequence},"event_type":{kind},'
        f'"payload":{payload},'
        f'"invocation":{{"scope":{{"session_id":"{RUNTIME_SESSION}"}},'
        f'"subject":{{"type":"process_event","process_id":{pid},"sequence":{sequence},'
        f'"event_type":{kind}}},"caused_by":{{"type":"process","process_id":{pid}}}'
        f"{replay}}},"
        f'"semantics":{semantics},'
        f'"occurred_at":{{"secs_since_epoch":{now_ms // 1000},'
        f'"nanos_since_epoch":{now_ms % 1000 * 1_000_000}}}}}'
    )
