"""The limits every value entering the registry is held to, and the checks that refuse the rest.

A registry is read by programs that did not write it, so what one writer may store is bounded
by what every reader can always decode. The limits below are refused where values enter (the
registry's write functions, so another Python program using the registry directly cannot write
a row the reader cannot read; the facade and the command line reach the same checks, and the
command line checks its JSON arguments before it opens anything), each with one sentence that
names the limit and the value's measure. The read path does NOT enforce them on the fields
lashtui knows: a row another program wrote past them is shown as undecodable only if it really
cannot be decoded, so lash's own registries always load. Unknown fields, which every model
keeps (lashtui.model.wire), are held to their two limits (name length, depth) wherever a model
is built, read included: nothing of lashtui's ever looks inside them, so a reader can refuse
them without losing a field it uses. One bound holds on the read path whatever wrote the
row: no reader takes a whole record or event past 16 MiB of JSON (`MAX_STORED_BYTES`,
lashtui/registry/sql/dialect.py, where the write path refuses one too), eight times the most
these limits let a record hold.

| limit              | value | what it bounds                                                   |
|--------------------|-------|------------------------------------------------------------------|
| `MAX_JSON_DEPTH`   | 64    | nesting of any JSON value a caller chooses: engine payload, tool |
|                    |       | args, external metadata, session-turn fields, identity           |
|                    |       | definition, event payload (so a terminal's output), env spec,    |
|                    |       | an unknown field's value                                         |
| `MAX_JSON_BYTES`   | 1 MiB | compact UTF-8 JSON of one registration (everything a start       |
|                    |       | stores), one event payload, one env spec, one external ref       |
| `MAX_ID_CHARS`     | 512   | process id, signal id, tool call id, lease owner and incarnation |
|                    |       | id (a worker's own owner id 42 less: its recovery attempts add   |
|                    |       | `:recovery:<32 hex>`)                                            |
| `MAX_KEY_CHARS`    | 2,048 | replay key (built from a process id, a type and an id)           |
| `MAX_LABEL_CHARS`  | 1,024 | label (identity and grant descriptor)                            |
| `MAX_REASON_CHARS` | 4,096 | cancel and abandon reasons, an undecodable row's end reason      |
| `MAX_NAME_CHARS`   | 256   | signal name, event type, engine kind, tool name and tool id,     |
|                    |       | requested_by, operator, external-ref backend, a lease owner's    |
|                    |       | host id, boot id and process start, an unknown field's name      |
| `MAX_SCOPE_CHARS`  | 256   | session id, agent frame id, host scope name                      |

How the numbers were chosen (measured with pydantic 2 / pydantic-core, Python 3.11, SQLite
3.40, PostgreSQL 15):
- Depth. pydantic-core's JSON parser refuses any document nested 254 levels or more
  ("recursion limit exceeded"), and a payload sits 2-4 levels inside the record or event that
  carries it; validating Python values fails at 256; `json.loads` raises RecursionError near
  1,000; SQLite's json functions refuse past 2,000 ("malformed JSON"); jsonb goes deeper. Any
  recursive walk in the dashboard (formatting, a JSON tree) shares Python's 1,000-frame stack
  with Textual's own frames (not measured widget by widget). 64 leaves every one of those a
  wide margin, and lash's own rows nest at most 18 (its agent-workbench registry; event
  payloads 17).
- Bytes. lash's largest rows in that registry are a 120 KB record and a 199 KB event; 1 MiB is
  five times that, while a dashboard window of a few hundred rows stays in the hundreds of MB
  at worst.
- Lengths. lash's ids there are at most 53 characters and its labels 20; the limits are ten
  times what any real value needs and small enough for a table cell and a log line.

Text is refused when it holds a lone surrogate (UTF-8, and so SQLite and PostgreSQL, cannot
store one) or the NUL character (PostgreSQL's text and jsonb cannot hold it). A number is
refused when it is NaN, Infinity or -Infinity (`check_finite`): no JSON number, and pydantic
writes each as null.

The checks are made to be cheap on the write path: depth is one iterative walk over the
containers of a value (never its strings), and sizes are taken from the JSON text the write
path builds anyway (the registration's hashing form, an event's payload hash form), encoded
once for both the size check and the hash. Measured: `ProcessRegistration.prepare` of a small
engine start 10.9 -> 14.2 us, an event's payload hash 2.2 -> 2.6 us.
"""

import json
import math
import re
import sys
from collections.abc import Iterable, Iterator

from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.untrusted import visible

MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 1 << 20
MAX_ID_CHARS = 512
MAX_KEY_CHARS = 2048
MAX_LABEL_CHARS = 1024
MAX_REASON_CHARS = 4096
# A cancel request's stored reason. lash's payload `{"reason": ...}` has no actor field, so
# lashtui stores `requested by <operator>: <reason>` in it (model.outcome
# `cancel_request_reason`): the operator's reason is held to MAX_REASON_CHARS on its own (as
# an abandon reason is), and the stored text has room for that prefix with the longest
# operator name (128 characters, model.outcome OPERATOR_NAME_MAX; a test checks).
MAX_CANCEL_REASON_CHARS = MAX_REASON_CHARS + len("requested by : ") + 128
MAX_NAME_CHARS = 256
MAX_SCOPE_CHARS = 256

# A JSON `\u0000` escape that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def json_depth(value: object, what: str | None = None) -> int:
    """How deeply `value` nests: 0 for a scalar, 1 for `[]` or `{}`, 2 for `[[]]`. Iterative,
    so no value is too deep to measure. With `what`, each object key is checked on the way
    (`check_text`): pydantic's JSON dump silently turns a lone surrogate in a key into
    U+FFFD, so the encoded text `encode_json` sees would never show it."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
        if what is not None and isinstance(node, dict):
            for key in node:
                if not key.isascii():
                    check_text(f"a key in {what}", key, MAX_JSON_BYTES)
        children = node.values() if isinstance(node, dict) else node
        for child in children:  # type: ignore[attr-defined]
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return deepest


# A string (its closing quote optional: an unclosed one runs to the end of the text, once,
# where a required quote made the search fail and start again at every later quote,
# quadratic: 40,000 escaped quotes took 23 s) or a bracket.
_DEPTH_TOKEN = re.compile(r'"(?:[^"\\]+|\\.)*"?|[\[\]{}]', re.DOTALL)


def text_depth(text: str) -> int:
    """How deeply the JSON text nests, from its brackets alone (strings skipped): what the
    command line reports for a document too deep for `json.loads` to read at all."""
    deepest = depth = 0
    for token in _DEPTH_TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif mark in "]}":
            depth -= 1
    return deepest


def size_text(size: int) -> str:
    """A byte count as people read it: `812 bytes`, `3.4 KiB`, `1.2 MiB`."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1 << 20:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1 << 20):.1f} MiB"


def check_depth(what: str, value: object) -> None:
    depth = json_depth(value, what)
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequest(
            f"{what} may nest at most {MAX_JSON_DEPTH} levels; this one nests {depth}"
        )


def _surrogate(text: str, error: UnicodeEncodeError) -> str:
    return f"\\u{ord(text[error.start]):04x}"


def encode_json(what: str, text: str) -> bytes:
    """The UTF-8 bytes of JSON text a write is about to store (or hash), once its size is
    within `MAX_JSON_BYTES` and it holds no lone surrogate and no NUL escape."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequest(
            f"{what} holds a lone surrogate ({_surrogate(text, error)}), which UTF-8 cannot store"
        ) from None
    if len(data) > MAX_JSON_BYTES:
        raise InvalidRequest(
            f"{what} may be at most {size_text(MAX_JSON_BYTES)} of JSON; "
            f"this one is {size_text(len(data))}"
        )
    if b"\\u0000" in data and _NUL_ESCAPE.search(text):
        raise InvalidRequest(
            f"{what} holds the NUL character (\\u0000), which PostgreSQL cannot store"
        )
    return data


def check_text(what: str, value: str | None, limit: int) -> None:
    """A text field: at most `limit` characters, no lone surrogate, no NUL."""
    if value is None:
        return
    if len(value) > limit:
        raise InvalidRequest(
            f"{what} may be at most {limit:,} characters; this one has {len(value):,}"
        )
    if "\x00" in value:
        raise InvalidRequest(f"{what} holds the NUL character, which PostgreSQL cannot store")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidRequest(
                f"{what} holds a lone surrogate ({_surrogate(value, error)}), which UTF-8 "
                "cannot store"
            ) from None


def check_finite(what: str, value: object) -> None:
    """Refuse NaN, Infinity and -Infinity anywhere in `value`: Python floats, but not JSON
    numbers (RFC 8259 §6). pydantic's encoder writes each as `null`, so a registry stored
    null where the caller gave a number, under a hash taken over the number. The canonical
    encoder refuses them (lashtui.model.wire); this names the first and where it is, for
    the sentence, as the command line names one in a JSON argument. Only a refused
    encoding calls it, so the way that succeeds never walks a value for it."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            name = "NaN" if math.isnan(node) else ("Infinity" if node > 0 else "-Infinity")
            at = f" at `{pointer}`" if pointer else ""
            raise InvalidRequest(f"{what} holds {name}{at}, which is not a JSON number")
        if isinstance(node, dict):
            # JSON Pointer (RFC 6901): `~` and `/` in a key escaped. Reversed, so the first
            # refused in document order is the one named.
            items = [(v, f"{pointer}/{_pointer_key(k)}") for k, v in node.items()]
            stack.extend(reversed(items))
        elif isinstance(node, list | tuple):
            stack.extend(reversed([(v, f"{pointer}/{i}") for i, v in enumerate(node)]))


def _pointer_key(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def check_values(values: Iterable[tuple[str, JsonValue]]) -> None:
    for what, value in values:
        check_depth(what, value)


def walk_strings(value: object) -> Iterator[str]:
    """Every string in a JSON value, keys included (for checks that need them)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def read_json(what: str, text: str) -> JsonValue:
    """JSON text an operator typed (a command-line argument, the dashboard's payload field),
    held to these limits before it is parsed: argv bytes that are not UTF-8 (Python hands
    them over as lone surrogates), a document past the size or depth limit (past ~1,000
    levels `json.loads` itself raises RecursionError, so depth is read from the brackets
    first), an integer longer than Python reads, and `\\ud800`-style escapes that decode to
    a lone surrogate each end in one sentence, before anything is opened or asked."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(text[error.start])
            byte = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
            raise InvalidRequest(
                f"{what} is not valid UTF-8 ({byte} at character {error.start})"
            ) from None
    encode_json(what, text)
    depth = text_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequest(
            f"{what} may nest at most {MAX_JSON_DEPTH} levels; this one nests {depth}"
        )
    try:
        value: JsonValue = json.loads(
            text,
            parse_constant=_not_a_json_number,
            parse_float=_finite_float,
            parse_int=_whole_number,
        )
    except (json.JSONDecodeError, _NotJson) as error:
        # The argument echoed back one line long, its control characters shown as escapes.
        shown = visible(text if len(text) <= 200 else f"{text[:200]}...")
        why = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise InvalidRequest(f"{what} is not valid JSON ({why}): `{shown}`") from None
    for string in walk_strings(value):
        if not string.isascii():
            check_text(what, string, len(string))
    return value


class _NotJson(ValueError):
    """A number Python's `json` reads but JSON has not (RFC 8259 §6)."""


def _not_a_json_number(name: str) -> float:
    """`NaN`, `Infinity`, `-Infinity`: Python's `json` reads them, but every JSON encoder
    downstream (pydantic's among them) writes them as `null`, so the registry would store
    a null where the operator typed a number, and say `started`."""
    raise _NotJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    """A JSON number past a float's range (`1e999`) reads as infinity: stored as `null`
    for the same reason, so it is refused the same way."""
    value = float(text)
    if math.isinf(value):
        raise _NotJson(f"{text} is too large for a JSON number: it reads as infinity")
    return value


def _whole_number(text: str) -> int:
    """Python reads an integer of at most 4,300 digits (`sys.get_int_max_str_digits`) and
    raises a ValueError past it, which is not a JSON syntax error: refused the same way."""
    try:
        return int(text)
    except ValueError:
        digits = len(text.lstrip("-"))
        most = sys.get_int_max_str_digits()
        too_long = f"a number of {digits:,} digits is longer than the {most:,} Python reads"
        raise _NotJson(too_long) from None
