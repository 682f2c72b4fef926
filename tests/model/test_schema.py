"""Payload schemas validate the way lash's LashSchema does, and say where the problem is."""

from __future__ import annotations

import pytest
from pydantic import JsonValue

from lashtui.model import LashSchema

LINE = LashSchema(
    schema_={
        "type": "object",
        "properties": {"line": {"type": "string"}, "n": {"type": "integer", "maximum": 20}},
        "required": ["line"],
    }
)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"line": "ok"}, None),
        ({"line": "ok", "n": 3}, None),
        ({}, "line: required property missing"),
        ({"line": 5}, "line: expected string, got 5"),
        ({"line": "x", "n": 100}, "n: expected integer <= 20, got 100"),
        ({"line": "x", "n": True}, "n: expected integer <= 20, got true"),
        ({"line": "x", "extra": 1}, "extra: unexpected property"),
        ("text", 'arguments: expected object, got "text"'),
    ],
)
def test_object_schema(value: JsonValue, problem: str | None) -> None:
    assert LINE.validate_value(value) == problem


def test_any_accepts_everything() -> None:
    values: list[JsonValue] = [None, 1, "x", [1], {"a": {}}]
    for value in values:
        assert LashSchema.any().validate_value(value) is None
    assert LashSchema.any().model_dump_json() == '{"schema":{}}'


def test_arrays_enums_and_alternatives() -> None:
    tags = LashSchema(schema_={"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2})
    assert tags.validate_value(["a", "b"]) is None
    assert tags.validate_value(["a", "c"]) == '[1]: expected one of "a", "b", got "c"'
    assert (
        tags.validate_value(["a", "a", "a"]) == "arguments: expected array items <= 2, got 3 items"
    )
    either = LashSchema(schema_={"anyOf": [{"type": "string"}, {"type": "null"}]})
    assert either.validate_value(None) is None
    assert either.validate_value(3) == "arguments: expected matching schema, got 3"


def test_additional_properties_true_and_schema() -> None:
    open_schema = LashSchema(
        schema_={"type": "object", "properties": {}, "additionalProperties": True}
    )
    assert open_schema.validate_value({"anything": 1}) is None
    typed = LashSchema(
        schema_={"type": "object", "properties": {}, "additionalProperties": {"type": "number"}}
    )
    assert typed.validate_value({"a": 1.5}) is None
    assert typed.validate_value({"a": "x"}) == 'a: expected number, got "x"'


def test_an_unknown_type_name_is_accepted_and_constrains_nothing_as_in_lash() -> None:
    # lash's LashSchema (lash-core schema.rs, `matches_single_type`: `_ => true`) accepts a
    # type name it does not know and lets every value through it, and its registration
    # checks no schema: a row lash wrote with such a schema must load and behave the same
    # here. A known name beside it in a list still constrains.
    nonsense = LashSchema(schema_={"type": "nonsense"})
    values: list[JsonValue] = [None, 1, "x", [1], {"a": {}}]
    assert all(nonsense.validate_value(value) is None for value in values)
    either = LashSchema(schema_={"type": ["string", "nonsense"]})
    assert either.validate_value(1) is None  # the unknown name lets it through, as in lash
    assert LashSchema(schema_={"type": ["string"]}).validate_value(1) == (
        "arguments: expected string, got 1"
    )
