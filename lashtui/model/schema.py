"""Payload schemas of declared event types: lash's `LashSchema` and its validator.

On the wire a schema is `{"schema": <JSON-schema-like object>}`; `{"schema": {}}` accepts
anything. lash validates a pragmatic subset of JSON Schema (anyOf/oneOf, enum, type, numeric
and length bounds, items, required, properties, additionalProperties) and reports the first
problem by path, e.g. `line: required property missing`. This is a port of that behaviour,
including its one surprise: when `properties` is given and `additionalProperties` is omitted,
unknown properties are rejected.
"""

from collections.abc import Callable
from typing import Any

from pydantic import Field, JsonValue

from lashtui.model.wire import WireModel, lenient_json


class LashSchema(WireModel):
    schema_: dict[str, JsonValue] = Field(default_factory=dict, alias="schema")

    @classmethod
    def any(cls) -> "LashSchema":
        return cls(schema_={})

    def validate_value(self, value: JsonValue) -> str | None:
        """The first problem with `value` under this schema, or None if it conforms."""
        return _problem("", self.schema_, value)


def _display(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return lenient_json(value)


def _path(path: str) -> str:
    return path or "arguments"


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": _is_number,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _matches_type(type_value: Any, value: Any) -> bool:
    names = type_value if isinstance(type_value, list) else [type_value]
    if not all(isinstance(name, str) for name in names):
        return True
    # An unknown type name constrains nothing, as in lash.
    return any(name not in _TYPE_CHECKS or _TYPE_CHECKS[name](value) for name in names)


def _expected(schema: dict[str, Any]) -> str:
    parts: list[str] = []
    type_value = schema.get("type")
    if isinstance(type_value, str):
        parts.append(type_value)
    elif isinstance(type_value, list):
        parts.append(" or ".join(t for t in type_value if isinstance(t, str)))
    elif "anyOf" in schema or "oneOf" in schema:
        parts.append("matching schema")
    bounds = (
        ("minimum", ">= {}"),
        ("maximum", "<= {}"),
        ("minLength", "length >= {}"),
        ("maxLength", "length <= {}"),
        ("minItems", "items >= {}"),
        ("maxItems", "items <= {}"),
    )
    parts.extend(fmt.format(_display(schema[key])) for key, fmt in bounds if key in schema)
    return " ".join(parts) if parts else "valid value"


def _scalar_problem(path: str, schema: dict[str, Any], value: Any) -> str | None:
    if not schema:
        return None  # the common `{}`: anything goes
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        options = ", ".join(_display(option) for option in enum)
        return f"{_path(path)}: expected one of {options}, got {_display(value)}"
    if _scalar_mismatch(schema, value):
        # Written only now: rendering the value costs more than every check above.
        return f"{_path(path)}: expected {_expected(schema)}, got {_display(value)}"
    return None


def _scalar_mismatch(schema: dict[str, Any], value: Any) -> bool:
    if "type" in schema and not _matches_type(schema["type"], value):
        return True
    if _is_number(value):
        maximum, minimum = schema.get("maximum"), schema.get("minimum")
        if (_is_number(maximum) and value > maximum) or (_is_number(minimum) and value < minimum):
            return True
    if isinstance(value, str):
        longest, shortest = schema.get("maxLength"), schema.get("minLength")
        if (isinstance(longest, int) and len(value) > longest) or (
            isinstance(shortest, int) and len(value) < shortest
        ):
            return True
    return False


def _array_problem(path: str, schema: dict[str, Any], items: list[Any]) -> str | None:
    most, least = schema.get("maxItems"), schema.get("minItems")
    if (isinstance(most, int) and len(items) > most) or (
        isinstance(least, int) and len(items) < least
    ):
        return f"{_path(path)}: expected {_expected(schema)}, got {len(items)} items"
    item_schema = schema.get("items")
    if isinstance(item_schema, dict):
        for index, item in enumerate(items):
            problem = _problem(f"{path}[{index}]", item_schema, item)
            if problem:
                return problem
    return None


def _object_problem(path: str, schema: dict[str, Any], obj: dict[str, Any]) -> str | None:
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in obj:
            return f"{_join(path, name)}: required property missing"
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    for name, property_schema in properties.items():
        if name in obj and isinstance(property_schema, dict):
            problem = _problem(_join(path, name), property_schema, obj[name])
            if problem:
                return problem
    additional = schema.get("additionalProperties")
    if additional is True:
        return None
    for name, item in obj.items():
        if name in properties:
            continue
        if not isinstance(additional, dict):
            return f"{_join(path, name)}: unexpected property"
        problem = _problem(_join(path, name), additional, item)
        if problem:
            return problem
    return None


def _problem(path: str, schema: dict[str, Any], value: Any) -> str | None:
    alternatives = schema.get("anyOf", schema.get("oneOf"))
    if isinstance(alternatives, list):
        if any(isinstance(s, dict) and _problem(path, s, value) is None for s in alternatives):
            return None
        return f"{_path(path)}: expected {_expected(schema)}, got {_display(value)}"
    problem = _scalar_problem(path, schema, value)
    if problem is None and isinstance(value, list):
        problem = _array_problem(path, schema, value)
    if problem is None and isinstance(value, dict):
        problem = _object_problem(path, schema, value)
    return problem
