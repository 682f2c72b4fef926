"""The argparse types several subcommands share: a flag's text value that must not be empty
(`given`), a process id (`given_id`), a whole number or a number of seconds within a range
(`whole`, `seconds`). A type only one family of commands takes sits in that family's module.

Each raises `argparse.ArgumentTypeError`, which argparse turns into a usage error (exit 2)
naming the flag. Only the standard library: `lashtui --help` builds every parser (see
lashtui/parser/__init__.py). Values that need the model (a JSON argument, a disposition by
its value) are read when the command runs, by lashtui/command/argument.py.
"""

from __future__ import annotations

import argparse
import math


def given(text: str) -> str:
    """A flag's text value, refused when empty. An empty value is almost always a shell
    variable that was not set (`--granted-to "$SESSION"`), and each flag read it as if left
    out: the security lens listed every process, a signal id became a fresh one."""
    if not text:
        raise argparse.ArgumentTypeError(
            "must not be empty (an unset shell variable expands to nothing)"
        )
    return text


def given_id(text: str) -> str:
    """A process id argument: not empty (`given`) and not only blanks. Registration refuses
    an id that is empty after trimming whitespace (semantics §2.1), so `show ' '` asked the
    registry about an id no process can have and exited 1, `unknown process ` ``."""
    text = given(text)
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"must not be only blanks (no process can have such an id), got {text!r}"
        )
    return text


def whole(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"{what} is a whole number from {low} to {high}, got `{text}`"
        )
    return value


def seconds(text: str, what: str, note: str = "") -> float:
    """A finite number of seconds >= 0: nan, inf and negatives would wait forever, or not
    at all, without saying so. `what` (and `note`) say which, for the usage error."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"{what} is a finite number of seconds >= 0{note}, got `{text}`"
        )
    return value
