"""The base of every wire model, and lash's JSON conventions in one place.

lash serialises with serde: struct fields in declaration order, optional fields omitted when
absent (`skip_serializing_if = "Option::is_none"`), JSON maps with sorted keys (serde_json's
default BTreeMap). `WireModel` gives pydantic the same shape: frozen, by-alias, and an
`omitted()` default that drops a `None` field from the JSON instead of writing `null`.
Fields that lash always writes, even as `null` (an engine payload, a success value), are plain
`JsonValue` fields and keep their nulls.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticSerializationError

__all__ = [
    "JsonValue",
    "WireModel",
    "canonical_json",
    "omitted",
    "sha256_hex",
    "string_form",
]


def _is_none(value: object) -> bool:
    return value is None


def omitted() -> Any:
    """Default for an optional field that lash leaves out of the JSON when absent."""
    return Field(default=None, exclude_if=_is_none)


class WireModel(BaseModel):
    """A frozen pydantic model whose JSON is lash's serde JSON."""

    model_config = ConfigDict(
        frozen=True,
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
    )

    def to_json(self) -> str:
        """Compact JSON, as serde_json writes it. A model read from a row whose id another
        program stored as bytes that are not UTF-8 holds lone surrogates, which pydantic's
        encoder refuses; Python's writes them (and all else past ASCII) as `\\uXXXX`
        escapes, text any file or terminal takes (for output only: the registry never
        stores such text)."""
        try:
            return self.model_dump_json()
        except PydanticSerializationError:
            return _COMPACT.encode(self.model_dump(mode="json"))


# Made once: `json.dumps` with any non-default option builds a new encoder on every call,
# a fifth of the cost of encoding a registration.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True)
# ASCII: the lone surrogates it is used for cannot be written as UTF-8 (see `to_json`).
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys and UTF-8 kept: serde_json's form of a JSON value
    (its maps are BTreeMaps) and the hashing form of semantics §18.7."""
    return _CANONICAL.encode(value)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def string_form(value: JsonValue) -> str:
    """The "string form" of semantics §4.5: a JSON string as is, anything else as compact JSON."""
    return value if isinstance(value, str) else canonical_json(value)
