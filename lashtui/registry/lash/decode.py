"""What every version's decoder shares: running a JSON-to-JSON translation as a SQL function
that never fails a query.

A decoder turns the JSON lash stored into the JSON of lashtui's models (version 10's wire
shapes); the models then validate it as they validate any row. A SQLite function that raises
fails the whole statement, so a row a decoder cannot translate is handed on as lash stored
it: the model then refuses it and the read path shows it as an undecodable stand-in
(registry/sql/decoded_row.py), one row, not the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Json = dict[str, Any]
# A version's SQL functions: name -> (arity, the decoder), registered by view.py.
SqlValue = str | bytes | int | float | None
Functions = dict[str, tuple[int, Callable[..., SqlValue]]]

# Compact, as serde_json writes; UTF-8 kept (the models read it back, nothing hashes it).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def translated(text: SqlValue, translate: Callable[[Json], Json]) -> SqlValue:
    """`translate` applied to the JSON object in `text`; `text` itself when it is not such
    an object or the translation fails on it (see the module docstring)."""
    if not isinstance(text, str):
        return text
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            return text
        return _ENCODER.encode(translate(data))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return text


def as_dict(value: object) -> Json:
    return value if isinstance(value, dict) else {}
