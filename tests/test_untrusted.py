"""The untrusted-text boundary's pure half: what a terminal would obey is shown as an
escape, and everything else (markup brackets, non-Latin text) is kept exactly."""

from __future__ import annotations

import json
import subprocess
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lashtui import untrusted
from lashtui.untrusted import (
    clipped,
    is_visible,
    json_escaped,
    json_preview,
    printable_name,
    shell_word,
    visible,
    visible_clipped,
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


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15), written
# out: Python's `unicodedata` does not have the property.
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]  # fmt: skip
# What draws as nothing: those, and every format character (Cf) of this Python's Unicode.
UNSEEN = frozenset(
    [chr(c) for low, high in DEFAULT_IGNORABLE for c in range(low, high + 1)]
    + [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("payroll\u200b-run", "payroll\\u200b-run"),
        ("a\u200c\u200db\u2060c\u2064\ufeff", "a\\u200c\\u200db\\u2060c\\u2064\\ufeff"),
        ("soft\u00adhyphen \u180e", "soft\\xadhyphen \\u180e"),
        ("ok\U000e0069\U000e007f", "ok\\U000e0069\\U000e007f"),  # not `\ue0069`: U+E006, 9
        ("\ufe0f\u3164\u034f", "\\ufe0f\\u3164\\u034f"),
        # Chosen: a family emoji's joiners are shown too (README, Untrusted registry content).
        ("👨\u200d👩", "👨\\u200d👩"),
    ],
)
def test_what_draws_as_nothing_is_shown_escaped(stored: str, shown: str) -> None:
    """Two ids that differ only by an invisible character (`payroll\u200b-run`,
    `payroll-run`) were drawn the same."""
    assert visible(stored) == shown
    assert not is_visible(stored)
    assert visible(stored, multiline=True) == shown


def test_every_invisible_character_is_shown_escaped() -> None:
    """Every Default_Ignorable_Code_Point and every format character (Cf) this Python knows,
    so a newer Unicode's Cf is caught here."""
    missed = sorted(f"U+{ord(c):04X}" for c in UNSEEN if is_visible(c))
    assert not missed


def test_obeyed_ranges_are_exactly_the_characters_shown_escaped() -> None:
    """The ranges the text filter's SQL tests (registry/sql/shown_text.py) against `visible`
    itself, over every code point."""
    every = "".join(map(chr, range(0x110000)))
    escaped = {match.start() for match in untrusted._OBEYED.finditer(every)}
    ranged = {p for low, high in untrusted.OBEYED_RANGES for p in range(low, high + 1)}
    assert escaped == ranged
    assert all(visible(chr(p)) != chr(p) for p in ranged)


def test_an_invisible_character_in_a_command_is_read_back_by_bash() -> None:
    """`shell_word` writes it as an escape bash turns back into it, beyond U+FFFF too."""
    word = "payroll\u200b-run\U000e0069\u00ad"
    assert shell_word(word) == "$'payroll\\u200b-run\\U000e0069\\u00ad'"
    said = subprocess.run(
        ["bash", "-c", f"printf %s {shell_word(word)}"],
        capture_output=True, check=True, env={"LC_ALL": "C.UTF-8"},
    )  # fmt: skip
    assert said.stdout.decode() == word


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


# JSON values as payloads hold them, control and bidi characters and lone surrogates too.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(JSON_VALUES, st.integers(min_value=0, max_value=60))
def test_a_json_preview_is_the_start_of_the_whole_json_shown(value: Any, width: int) -> None:
    whole = visible_json(value)
    assert json_preview(value, width) == clipped(whole, width)
    assert len(json_preview(value, width)) <= max(width, 1)


@given(st.text(), st.integers(min_value=0, max_value=30))
def test_visible_clipped_is_the_start_of_the_whole_shown(value: str, width: int) -> None:
    assert visible_clipped(value, width) == clipped(visible(value), width)


def test_a_preview_encodes_a_big_string_only_as_far_as_the_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mebibyte payload's row costs what its start costs: no string is encoded past the
    room left (each row of 300 such payloads was encoded, escaped and measured whole)."""
    encoded: list[int] = []
    encode = untrusted._encode_string

    def counted(text: str) -> str:
        encoded.append(len(text))
        return encode(text)

    monkeypatch.setattr(untrusted, "_encode_string", counted)
    big = {"k" * 500_000: ["x" * 1_000_000, {"y": "z" * 1_000_000}], "after": 1}
    assert json_preview(big, 40) == clipped(visible_json(big), 40)
    assert max(encoded) <= 41 and len(encoded) == 1  # the key's start; nothing after it
    encoded.clear()
    assert json_preview(["a", "x" * 1_000_000, "b"], 10) == '["a","xxx…'
    assert encoded == [1, 6]  # "a", then what was left of 11 after `["a",`


@given(st.integers(min_value=-(10**120), max_value=10**120))
def test_utc_text_never_fails_and_says_when_no_date_holds(epoch_ms: int) -> None:
    """Another program may store any number as a time: a date when `datetime` holds one,
    else what the number was (or that it is past any date), never an exception."""
    text = untrusted.utc_text(epoch_ms, "%Y-%m-%d %H:%M:%S.%fZ")
    if -62_135_596_800_000 <= epoch_ms <= 253_402_300_799_999:  # years 1 to 9999
        assert text.endswith(f".{epoch_ms % 1000:03d}Z") and not text.startswith("no date")
    elif abs(epoch_ms) < 10**100:
        assert text == f"no date ({epoch_ms} ms since 1970)"
    else:
        assert text == "no date (past any date)"


def test_utc_text_writes_milliseconds_where_the_pattern_says() -> None:
    assert untrusted.utc_text(1_780_000_000_123, "%Y-%m-%dT%H:%M:%S.%fZ") == (
        "2026-05-28T20:26:40.123Z"
    )
    assert untrusted.utc_text(-1_500, "%H:%M:%S.%f") == "23:59:58.500"
