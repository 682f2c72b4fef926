"""The untrusted-text boundary's pure half: what a terminal would obey is shown as an
escape, and everything else (markup brackets, non-Latin text) is kept exactly."""

from __future__ import annotations

import json

import pytest

from lashtui.untrusted import (
    clipped,
    is_visible,
    json_escaped,
    printable_name,
    visible,
    visible_json,
)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb\bc\x7f", "a\\x0db\\x08c\\x7f"),
        ("line\nbreak\ttab", "line\\x0abreak\\x09tab"),
        ("c1\x9bcsi", "c1\\x9bcsi"),
        ("\u202eevil\u2066", "\\u202eevil\\u2066"),
        ("sep\u2028", "sep\\u2028"),
        ("lone\ud800", "lone\\ud800"),
    ],
)
def test_what_a_terminal_would_obey_is_shown_escaped(stored: str, shown: str) -> None:
    assert visible(stored) == shown
    assert not is_visible(stored)
    assert is_visible(visible(stored))
    visible(stored).encode("utf-8")  # always encodable, even from a lone surrogate


@pytest.mark.parametrize(
    "kept", ["[/]", "[@click=app.quit]x[/]", "fake [green]completed[/]", "日本語 é 🙂", ":smile:"]
)
def test_markup_and_ordinary_text_are_kept_exactly(kept: str) -> None:
    assert visible(kept) == kept
    assert is_visible(kept)


def test_multiline_keeps_newlines_only() -> None:
    assert visible("a\nb\x1b", multiline=True) == "a\nb\\x1b"


def test_json_is_shown_with_no_control_character_and_still_parses() -> None:
    value = {"label": "\x1b[2J\u0085\u202e", "n": [1, None]}
    text = visible_json(value)
    assert is_visible(text)
    # The JSON encoder's escapes stay JSON; the C1 and bidi ones are a display escape, so
    # only the plain keys are compared here.
    assert json.loads(text.replace("\\x85", "").replace("\\u202e", "\\\\u202e"))["n"] == [1, None]


def test_clipped_marks_the_cut() -> None:
    assert clipped("abcdef", 4) == "abc…"
    assert clipped("abc", 4) == "abc"


def test_printable_names() -> None:
    assert printable_name("approve") and printable_name("deploy.v2")
    assert not printable_name("") and not printable_name("a b") and not printable_name("a\x1b")


def test_json_escaped_is_the_same_json_with_no_control_character() -> None:
    value = {"k\u202e": ["\x9b31m", "\x7f", "\u2028", "\ud800", "plain é"]}
    text = json_escaped(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert all(not (0x7F <= ord(c) <= 0x9F) and c not in "\u202e\u2028\ud800" for c in text)
    assert json_escaped('{"a":"b"}') == '{"a":"b"}'
