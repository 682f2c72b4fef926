"""Values taken from the command line that need more than argparse's `type=`: a JSON
argument held to the registry's limits, a disposition named by its value, a process id that
another program stored as bytes that are not UTF-8.

Bad values raise a `LashError` (`InvalidRequest`): one sentence naming the value, exit 1,
before any registry is opened. The JSON check is the command line's half of the rule that
the limits data meets where it enters are the ones every reader can decode
(lashtui.model.limit).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model import RecoveryDisposition, limit


def parse_json(flag: str, text: str) -> JsonValue:
    """A JSON argument, held to the registry's limits before it is parsed
    (`lashtui.model.limit.read_json`: the dashboard's payload field is held the same way)."""
    return limit.read_json(flag, text)


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
# The commands an operator names such a row with (`show`, `events`, `end-undecodable`:
# lashtui/parser/usage.py `RAW_ID_COMMANDS`) take ID either way, by one rule: ID as given
# first (argv bytes that are not UTF-8 are those bytes; Python hands them over as lone
# surrogates), and only if no process has exactly that id, ID with each `\udc80`-`\udcff`
# escape read as the byte it names. An id that really holds the text `\udcff` is therefore
# always the one found.

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
