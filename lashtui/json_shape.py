"""Stored JSON checked against a model's field list without the models: the reader that
refuses what pydantic would print differently, and the field lists' parts.

What lets record_shape.py vouch for a record (and observed_json.py print it) with the
stdlib's `json` alone: numbers inside free JSON values are ints or floats Python writes as
pydantic does (no exponent, finite); NaN and Infinity, which `json.loads` reads and
pydantic refuses, are refused (`DECODER`); whole numbers are ints within 64 bits (pydantic
would also take "5", 5.0 or true: `is_int64`); and an object is rebuilt in its model's
field order (`shape`: a stored record may hold its fields in any order), omitted fields
left out when absent or null. A tagged union's tag must be present (`tagged`), an enum's
value one of its members (`one_of`).
"""

from __future__ import annotations

import json
import math
from typing import Any

Json = Any  # a value `json.loads` made
Shaped = Any  # an object rebuilt in its model's order (a dict), or None: not vouched for

# Whole numbers the models' int fields are vouched for at: 64-bit, as lash writes them.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1

# Field lists, each in its model's declaration order (the order the models print). A field
# is "s" a string, "i" a whole number, "j" any JSON value, or a function shaping a nested
# object; `REQUIRED` ones must be present, `OMITTED` ones are left out when absent or null
# (`omitted()` in the models), and the rest print their default when absent.
TEXT, WHOLE, ANY = "s", "i", "j"


class Refused(Exception):
    """Raised by the JSON reader's hooks: a number or constant the models would not print
    the same way (the row is then not vouched for)."""


def _float(text: str) -> float:
    value = float(text)
    # Python writes an exponent where pydantic writes digits (1.5e-05 / 0.000015), and
    # pydantic writes inf as null: only plain finite floats are printed alike.
    if not math.isfinite(value) or "e" in repr(value):
        raise Refused
    return value


def _constant(text: str) -> Json:
    raise Refused  # NaN, Infinity, -Infinity: json.loads reads them, pydantic refuses


# The reader every stored JSON here is read with.
DECODER = json.JSONDecoder(parse_float=_float, parse_constant=_constant)


def is_int64(value: Json) -> bool:
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
            if not is_int64(item):
                return None
        elif kind != ANY:
            item = kind(item)
            if item is None:
                return None
        shaped[name] = item
    return shaped


def model(*fields: Field) -> Spec:
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


def tagged(variants: dict[str, Spec]) -> Any:
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


def one_of(values: frozenset[str]) -> Any:
    def member(value: Json) -> Json:
        return value if type(value) is str and value in values else None

    return member
