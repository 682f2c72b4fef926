"""The base of every wire model, and lash's JSON conventions in one place.

lash serialises with serde: struct fields in declaration order, optional fields omitted when
absent (`skip_serializing_if = "Option::is_none"`), JSON maps with sorted keys (serde_json's
default BTreeMap). `WireModel` gives pydantic the same shape: frozen, by-alias, and an
`omitted()` default that drops a `None` field from the JSON instead of writing `null`.
Fields that lash always writes, even as `null` (an engine payload, a success value), are plain
`JsonValue` fields and keep their nulls.

Unknown fields: serde ignores a struct's fields it does not know (lash's process structs have
no `deny_unknown_fields`, except the env spec), so a field a newer lash adds must not make
its row unreadable here. A `WireModel` reads them and KEEPS them (pydantic `extra="allow"`),
written back after its own fields, so a record lashtui rewrites loses nothing lash stored.
They are stored text like any other, so they are held to lashtui.model.limit wherever a model
is built, at write and at read alike: a field name is text of at most `MAX_NAME_CHARS`, a
value nests at most `MAX_JSON_DEPTH` (a row past that is read as undecodable, never crashes a
reader); their bytes count toward a write's `MAX_JSON_BYTES` (a registration's and an
external ref's whole JSON is measured anyway; `check_extras_size` measures the small models a
write stores otherwise, only when they carry unknown fields). They reach a
screen only as JSON (the detail's trees, `--json`), through the same escaping as every
payload. Externally tagged enum variants (the selectors) are `ClosedWireModel`s: serde
refuses a second key there, and so do they.
"""

import functools
import hashlib
import json
import operator
from collections.abc import Callable
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import CoreSchema, PydanticSerializationError, core_schema

from lashtui.errors import InvalidRequest
from lashtui.model import limit

__all__ = [
    "ClosedWireModel",
    "JsonValue",
    "StoredModel",
    "WireModel",
    "canonical_json",
    "check_extras_size",
    "lenient_json",
    "omitted",
    "sha256_hex",
    "string_form",
]


# `value is None`, as a callable of C: pydantic calls it for each omitted field at every
# serialisation (a P1 process, ~19 times), where a Python function's frame cost more.
_is_none: Callable[[object], bool] = functools.partial(operator.is_, None)


def omitted() -> Any:
    """Default for an optional field that lash leaves out of the JSON when absent."""
    return Field(default=None, exclude_if=_is_none)


def _extra_name(name: str) -> str:
    """An unknown field's name: text within `MAX_NAME_CHARS` (ValueError, so pydantic
    reports it and a read turns the row into an undecodable stand-in)."""
    try:
        limit.check_text(f"unknown field name `{name[:64]}`", name, limit.MAX_NAME_CHARS)
    except InvalidRequest as error:
        raise ValueError(str(error)) from None
    return name


def _extra_value(value: JsonValue, info: ValidationInfo) -> JsonValue:
    """An unknown field's value: a JSON value (given from Python: stored JSON holds nothing
    else, and JsonValue's own check in JSON mode is none), nested at most `MAX_JSON_DEPTH`,
    keys valid text."""
    try:
        checked = value if info.mode == "json" else _JSON_VALUE.validate_python(value)
    except ValidationError:
        raise ValueError("input was not a valid JSON value") from None
    try:
        limit.check_depth("an unknown field", checked)
    except InvalidRequest as error:
        raise ValueError(str(error)) from None
    return checked


# Validators on the extras run only for a model that has some: free for lashtui's own rows.
# Their schemas are made here, not generated from `Annotated[JsonValue, ...]`: pydantic
# generated JsonValue's recursive schema again for every one of the ~100 wire models as it
# built them, ~60% of building a small model; every `lashtui` command that reads a row
# builds them (`show`: 1,455M -> 1,343M instructions, valgrind). Its own validator is built
# at its first use too (a model with unknown fields given from Python), not at import.
_JSON_VALUE: TypeAdapter[JsonValue] = TypeAdapter(JsonValue, config=ConfigDict(defer_build=True))


class _MadeSchema:
    """Annotation metadata that gives pydantic a schema made by `make` instead of the one it
    would generate from the annotated type (which it then never generates)."""

    def __init__(self, make: Callable[[], CoreSchema]) -> None:
        self.make = make

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return self.make()


ExtraName = Annotated[
    str,
    _MadeSchema(
        lambda: core_schema.no_info_after_validator_function(_extra_name, core_schema.str_schema())
    ),
]
ExtraValue = Annotated[
    JsonValue, _MadeSchema(lambda: core_schema.with_info_plain_validator_function(_extra_value))
]


class WireModel(BaseModel):
    """A frozen pydantic model whose JSON is lash's serde JSON; unknown fields are kept
    (see the module docstring) in `model_extra`."""

    model_config = ConfigDict(
        frozen=True,
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
        extra="allow",
        # Each model's validator is built when first used, not at import: a command builds
        # only the models it reads and writes (`show`: 1,343M -> 1,299M instructions).
        defer_build=True,
    )
    # Typed so that the limits run on unknown fields. Without pydantic's suggested
    # `= Field(init=False)`: measured (CPU time, min of 15x5,000), it made every model's
    # serialisation dearer (a record's stored JSON 7.5 -> 10.5 us, an event's 5.0 -> 6.4 us,
    # `prepare` 18 -> 22 us); without it they match `extra="allow"` untyped.
    __pydantic_extra__: dict[ExtraName, ExtraValue]

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


def not_from_stored_json(value: object, info: ValidationInfo, default: object = None) -> object:
    """A before-validator's body for a field only lashtui's code sets (`StoredModel`): a
    value given in JSON mode, as every registry read validates stored JSON, becomes the
    field's `default`, so that it neither passes for lashtui's mark nor fails the decode.
    Runs only when the input names the field: nothing on an ordinary decode."""
    return default if info.mode == "json" else value


class StoredModel(WireModel):
    """A wire model a registry reads from stored JSON (a record, an event, a grant's
    descriptor), where the registry shows a stand-in, marked with why, for JSON that does not
    decode (`undecodable`: registry/sql/decoded_row.py, event_row.py, grant.py).

    The mark is lashtui's to set, never stored JSON's: a stored value under its name is not
    taken (`_not_from_stored_json`; a registry reads every stored object as JSON). Taken,
    it let another program's record pass for a stand-in: workers and the sweep skipped it,
    writes refused it, its disposition read "unknown", and its words were shown as
    lashtui's verdict ("record could not be decoded: <anything>"). Never serialised either,
    so such a key is not written back when lashtui rewrites the whole object. (A private
    attribute would keep it as an unknown field, but pydantic then sets up every instance's
    private values in Python: +2.6% instructions a process in P1, benchmarks.p1_budget.)"""

    undecodable: str | None = Field(default=None, exclude=True)

    @field_validator("undecodable", mode="before")
    @classmethod
    def _not_from_stored_json(cls, value: object, info: ValidationInfo) -> object:
        return not_from_stored_json(value, info)

    def marked_undecodable(self, why: str | None) -> Self:
        """A copy marked as the stand-in for stored JSON that did not decode, and why (None:
        a copy that is no stand-in)."""
        return self.model_copy(update={"undecodable": why})


def _carries_extras(model: BaseModel) -> bool:
    """Whether `model` or a model inside it holds unknown fields (lashtui's own never do, so
    this is a few attribute reads on the way that writes)."""
    if model.__pydantic_extra__:
        return True
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel) and _carries_extras(value):
            return True
    return False


def check_extras_size(what: str, model: BaseModel) -> None:
    """A write stores `model`'s JSON: with unknown fields in it, refuse it past
    `MAX_JSON_BYTES` (without, its known fields' own limits bound it). A registration needs
    none of this: its whole JSON is measured anyway (`ProcessRegistration.prepare`)."""
    if _carries_extras(model):
        limit.encode_json(what, canonical_json(model.model_dump(mode="json"), what))


class ClosedWireModel(WireModel):
    """A variant of an externally tagged serde enum (`{"pointer": "/a"}`): exactly its
    own keys, as serde reads it; the union tells variants apart by them."""

    model_config = ConfigDict(extra="forbid")


# Made once: `json.dumps` with any non-default option builds a new encoder on every call,
# a fifth of the cost of encoding a registration. `allow_nan=False`: NaN and ±Infinity are
# no JSON (serde_json refuses them too), and pydantic writes each as `null`, so a value that
# held one was stored as null under a hash taken over the number (`canonical_json`).
_CANONICAL = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False
)
# The same form, NaN and ±Infinity written as Python's words (`lenient_json`).
_LENIENT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True)
# ASCII: the lone surrogates it is used for cannot be written as UTF-8 (see `to_json`).
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def canonical_json(value: Any, what: str = "a JSON value") -> str:
    """Compact JSON with sorted keys and UTF-8 kept: serde_json's form of a JSON value
    (its maps are BTreeMaps) and the hashing form of semantics §18.7. Every value a write
    stores is hashed or measured in this form first, so here is where NaN and ±Infinity
    are refused: an `InvalidRequest` saying `what` holds one, and where
    (`limit.check_finite`)."""
    try:
        return _CANONICAL.encode(value)
    except ValueError:
        limit.check_finite(what, value)
        raise  # not a number JSON lacks (a circular reference): as json raised it


def lenient_json(value: Any) -> str:
    """`canonical_json`, but never refusing NaN or ±Infinity (written as `NaN`,
    `Infinity`): for a value read back from a registry, where another program's row may
    hold one (Python's `json` and pydantic read them) and no row may lock a reader out, and
    for a value quoted in a message."""
    return _LENIENT.encode(value)


def sha256_hex(text: str) -> str:
    # `surrogateescape`: an id another program stored as bytes that are not UTF-8 reaches
    # here as the read path decoded it (sqlite/raw_text.py), and a lease's token for its
    # row hashes those bytes, where strict UTF-8 raised and failed a worker's whole batch
    # claim. Text UTF-8 can encode hashes exactly as before.
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def string_form(value: JsonValue) -> str:
    """The "string form" of semantics §4.5: a JSON string as is, anything else as compact JSON
    (lenient: it renders payloads the write path has checked already, and stored ones)."""
    return value if isinstance(value, str) else lenient_json(value)
