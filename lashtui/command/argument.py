"""Values taken from the command line that need more than argparse's `type=`: a JSON
argument held to the registry's limits, a disposition named by its value, a process id that
another program stored as bytes that are not UTF-8.

Bad values raise a `LashError` (`InvalidRequest`): one sentence naming the value, exit 1,
before any registry is opened. The JSON check is the command line's half of the rule that
the limits data meets where it enters are the ones every reader can decode
(lashtui.model.limit).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model import RecoveryDisposition, limit
from lashtui.untrusted import visible


def parse_json(flag: str, text: str) -> JsonValue:
    """A JSON argument, held to the registry's limits (lashtui.model.limit) before it is
    parsed: argv bytes that are not UTF-8 (Python hands them over as lone surrogates), a
    document past the size or depth limit (past ~1,000 levels `json.loads` itself raises
    RecursionError), and `\\ud800`-style escapes that decode to a lone surrogate each end
    in one sentence, before any registry is opened."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(text[error.start])
            byte = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
            raise InvalidRequest(
                f"{flag} is not valid UTF-8 ({byte} at character {error.start})"
            ) from None
    limit.encode_json(flag, text)
    depth = limit.text_depth(text)
    if depth > limit.MAX_JSON_DEPTH:
        raise InvalidRequest(
            f"{flag} may nest at most {limit.MAX_JSON_DEPTH} levels; this one nests {depth}"
        )
    try:
        value: JsonValue = json.loads(
            text, parse_constant=_not_a_json_number, parse_float=_finite_float
        )
    except (json.JSONDecodeError, _NotJson) as error:
        # The argument echoed back one line long, its control characters shown as escapes.
        shown = visible(text if len(text) <= 200 else f"{text[:200]}...")
        why = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise InvalidRequest(f"{flag} is not valid JSON ({why}): `{shown}`") from None
    for string in limit.walk_strings(value):
        if not string.isascii():
            limit.check_text(flag, string, len(string))
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


def parse_disposition(text: str) -> RecoveryDisposition:
    try:
        return RecoveryDisposition(text)
    except ValueError:
        choices = ", ".join(d.value for d in RecoveryDisposition)
        raise InvalidRequest(f"a disposition is one of {choices}, got `{text}`") from None


# --- ids that are not UTF-8 (SQLite only) ------------------------------------------------
#
# Another program may store a process id as bytes that are not UTF-8 (SQLite keeps any bytes
# as TEXT). `ls` shows each such byte as the escape `visible` gives it, `\udcff` for 0xff.
# The commands an operator names such a row with (`show`, `events`, `end-undecodable`: cli.py
# `RAW_ID_COMMANDS`) take ID either way, by one rule: ID as given first (argv bytes
# that are not UTF-8 are those bytes; Python hands them over as lone surrogates), and only
# if no process has exactly that id, ID with each `\udc80`-`\udcff` escape read as the byte
# it names. An id that really holds the text `\udcff` is therefore always the one found.

_BYTE_ESCAPE = re.compile(r"\\udc([89a-f][0-9a-f])", re.IGNORECASE)


def byte_escapes_read(text: str) -> str | None:
    """`text` with each `\\udcXX` escape (XX 80-ff) as the lone surrogate that stands for
    byte 0xXX; None if it holds none."""
    if "\\" not in text:
        return None
    read = _BYTE_ESCAPE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text)
    return read if read != text else None


async def named_process(processes: Any, text: str) -> str:
    """The id ID names (the rule above): `text` unless no process has it and reading its
    byte escapes gives an id that one has."""
    read = byte_escapes_read(text)
    if read is None or await processes.get(text) is not None:
        return text
    return read if await processes.get(read) is not None else text
