"""The arguments a program builds the engine with, refused at the call that takes them.

`ProcessWorker(...)`, `Processes(...)` and `engines.register(...)` are called once, from a
program's setup, and what they take is used later, elsewhere: a registry's path given where
the registry belongs failed at the first attribute read (`'str' object has no attribute
'before_close'`), and a handler that is not callable was found only when a process ran it,
which wrote that process failed for good. Each is refused here instead, with the sentence
the facade's methods use (admin/argument.py): the parameter, what it must be, what it got.
"""

from __future__ import annotations

import math
import os
from typing import Any

from lashtui.errors import InvalidRequest
from lashtui.untrusted import visible

# How much of a refused value's repr the sentence shows.
REPR_CHARS = 80


def shown(value: object) -> str:
    text = visible(repr(value))
    return text if len(text) <= REPR_CHARS else f"{text[: REPR_CHARS - 3]}..."


def refused(where: str, name: str, expected: str, value: object) -> InvalidRequest:
    return InvalidRequest(
        f"`{name}` of {where} must be {expected}, got {type(value).__name__} `{shown(value)}`"
    )


def check_registry(where: str, registry: object) -> None:
    """A ProcessRegistry is a Protocol, which isinstance cannot test: what the worker and
    the facade call on it first stands for the rest. A path is the likely mistake."""
    if isinstance(registry, str | bytes | os.PathLike) or not all(
        callable(getattr(registry, name, None)) for name in ("before_close", "get_process")
    ):
        raise refused(where, "registry", "a ProcessRegistry (what open_registry yields)", registry)


def check_writable(where: str, registry: object) -> None:
    """A worker only writes (claims, leases, first starts, terminals): made on a read-only
    registry, it was taken, and every drive then logged a refused claim."""
    if getattr(registry, "read_only", False) is True:
        raise InvalidRequest(
            f"`registry` of {where} is open read-only, and a worker writes (claims, leases, "
            "terminals): open it without read_only"
        )


def check_instance(where: str, name: str, value: object, cls: type[Any]) -> None:
    """`value` is a `cls` or None."""
    if value is not None and not isinstance(value, cls):
        raise refused(where, name, f"a {cls.__name__} or None", value)


def check_clock(where: str, clock: object) -> None:
    if clock is not None and not callable(getattr(clock, "now_ms", None)):
        raise refused(where, "clock", "a Clock (with now_ms()) or None", clock)


def check_callable(where: str, name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not callable(value):
        expected = "an async callable" + (" or None" if optional else "")
        raise refused(where, name, expected, value)


def check_seconds(where: str, name: str, value: object) -> float:
    """A finite number of seconds, zero or more (an int is one; a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refused(where, name, "a number of seconds", value)
    if not math.isfinite(value) or value < 0:
        raise refused(where, name, "a finite number of seconds, zero or more", value)
    return float(value)
