"""The one boundary where text read from a registry meets a person: the dashboard and the
command line's human output both pass every stored string through here.

Everything in a registry (ids, labels, payloads, events, scopes, signal names, reasons,
outputs) was written by some other program. Shown as it is, a stored string could drive the
terminal (`\\x1b]0;...\\x07` retitles it, `\\x1b[2J` clears it), reorder what is shown around
it (bidi overrides, "Trojan source"), break a one-line cell (newlines) or fail to encode
(lone surrogates), or draw as nothing at all (a zero-width space, a tag character: two
different ids would look the same). `visible` turns each such character into its Python
escape, so it is shown, never obeyed and never hidden; everything else is kept exactly.
Markup is the dashboard's other half of the same problem and lives beside the widgets
(`lashtui.tui.text`): a string made safe here is still only ever given to Textual as plain
text.

Pure and dependency-free: the command line imports it without loading textual.
"""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from datetime import UTC, datetime
from typing import Any

# Characters a terminal or a layout obeys rather than shows: C0 and C1 controls (ESC, BEL,
# CR, backspace...), DEL, line and paragraph separators, the bidi embeddings, overrides and
# isolates, the invisible ones (`_UNSEEN`), and lone surrogates (which no terminal encoding
# can carry). Newline and tab are in the set too: a one-line cell shows them escaped;
# `multiline=True` keeps newlines.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Characters drawn as nothing, or as a blank indistinguishable from none: Unicode's
# Default_Ignorable_Code_Point (DerivedCoreProperties.txt: the zero-width space, joiners and
# non-joiners U+200B-200D, word joiner and invisible operators U+2060-206F, soft hyphen,
# BOM, variation selectors, Hangul fillers, tag characters U+E0000-E0FFF...) and every
# format character (category Cf, which adds the Arabic and Egyptian format controls and
# interlinear annotation marks), as of Unicode 15. Drawn raw, `payroll\u200b-run` read
# exactly as `payroll-run`: two ids, two failure codes, one look. They are escaped even
# where text uses them legitimately (the ZWJ of an emoji family, the U+FE0F of `❤️`, a flag's
# tags): an operator telling ids apart matters more here than an emoji drawn whole.
# tests/test_untrusted.py checks the set against the running Python's Unicode data.
_UNSEEN = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    "\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_OBEYED = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_UNSEEN}\ud800-\udfff]")


def _ranges(pattern: str) -> tuple[tuple[int, int], ...]:
    """The code point ranges of a one-bracket pattern (`[a-bc]`) made of literal characters."""
    body, found, at = pattern[1:-1], [], 0
    while at < len(body):
        if at + 2 < len(body) and body[at + 1] == "-":
            found.append((ord(body[at]), ord(body[at + 2])))
            at += 3
        else:
            found.append((ord(body[at]), ord(body[at])))
            at += 1
    return tuple(found)


# `_OBEYED`'s characters as (first, last) code points, for a test written in another
# language (the text filter's SQL: registry/sql/shown_text.py).
OBEYED_RANGES = _ranges(_OBEYED.pattern)
_OBEYED_BUT_NEWLINE = re.compile(
    f"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_UNSEEN}\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"  # a tag character: `\\ue0069` would read as U+E006 and a `9`


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` with every character a terminal would obey shown as its escape (`\\x1b`,
    `\\u202e`); every other character, markup brackets included, kept as it is."""
    pattern = _OBEYED_BUT_NEWLINE if multiline else _OBEYED
    return pattern.sub(_escape, text)


def is_visible(text: str) -> bool:
    """Whether `text` would be shown unchanged by `visible`."""
    return _OBEYED.search(text) is None


def shell_word(text: str) -> str:
    """`text` as one word a shell reads back exactly, to print in a command to run next.
    `shlex.quote`, unless `text` holds a character `visible` would show escaped: the quoted
    word, shown, was then another text (`--after 'a\x0ab'`, which read on from the id
    `a\x0ab` and skipped rows). Such a word is written in ANSI-C quoting (bash, zsh, ksh),
    `$'a\nb'`, each such character as an escape the shell turns back into it: a byte of an
    id that is not UTF-8 (a lone surrogate, `fetch_rows`) as that byte, `\xff`."""
    if is_visible(text):
        return shlex.quote(text)
    return "$'" + "".join(_ansi_c(char) for char in text) + "'"


def _ansi_c(char: str) -> str:
    if char in "\\'":
        return "\\" + char
    code = ord(char)
    if not _OBEYED.match(char):
        return char
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as the id holds it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"  # (bash and zsh read `\\U` with eight hex digits)


def visible_json(value: Any, *, indent: int | None = None) -> str:
    """A JSON value as compact (or indented) JSON text that is safe to show: the encoder
    escapes C0 controls already; `visible` catches C1 controls, bidi controls and the
    separators it leaves as they are."""
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(value, ensure_ascii=False, separators=separators, indent=indent)
    return visible(text, multiline=indent is not None)


# What JSON's own encoder leaves raw but a terminal may still obey: DEL and the C1 controls
# (a UTF-8 terminal in 8-bit mode reads U+009B as CSI), the separators and the bidi controls,
# and lone surrogates (which cannot be written as UTF-8 at all). As `\uXXXX` escapes they are
# still the same JSON string to any parser.
_JSON_RAW = re.compile(f"[\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")


def json_escaped(text: str) -> str:
    """JSON text (from any encoder, `ensure_ascii` off) with every character a terminal would
    obey written as a JSON `\\uXXXX` escape: the same JSON value, and no control byte."""
    if _JSON_RAW.search(text) is None:
        return text
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def visible_clipped(text: str, width: int) -> str:
    """`visible(text)` cut to at most `width` characters (`…` when cut), made from the
    start of `text` alone: a stored string may be a mebibyte, and what is measured, escaped
    and drawn for a one-line cell must not grow with it."""
    return clipped(visible(text[: width + 1]), width)


def json_preview(value: Any, width: int) -> str:
    """`visible_json(value)` cut to at most `width` characters (`…` when cut), encoded only
    as far as the cut: a payload may be a mebibyte of JSON, and a row that shows its start
    must cost what the start costs (encoding each payload whole, then escaping and
    measuring it for a cell, held the dashboard's event loop for 5 s on a log of 300 such
    events). A string's JSON escape of a prefix is a prefix of its escape, so each string
    is encoded only as far as the room left."""
    pieces: list[str] = []
    room = width + 1  # one past the width: enough to know a cut is needed

    def put(piece: str) -> None:
        nonlocal room
        pieces.append(piece[:room])
        room -= len(pieces[-1])

    def walk(value: Any) -> None:
        if isinstance(value, str):
            put(_encode_string(value[:room]))
        elif isinstance(value, dict):
            put("{")
            for n, (key, item) in enumerate(value.items()):
                if room <= 0:
                    return
                put(("," if n else "") + _encode_string(str(key)[:room]) + ":")
                walk(item)
            put("}")
        elif isinstance(value, list):
            put("[")
            for n, item in enumerate(value):
                if room <= 0:
                    return
                put("," if n else "")
                walk(item)
            put("]")
        else:  # a number, true, false or null: short
            put(json.dumps(value))

    walk(value)
    return visible_clipped("".join(pieces), width)


_encode_string = json.encoder.encode_basestring  # as `json.dumps(ensure_ascii=False)` does


# The most of one stored string a person is shown: the longest plain-text field any write
# allows (a cancel or abandon reason, `lashtui.model.limit.MAX_REASON_CHARS`; ids are 512,
# labels 1,024), so every value lashtui or lash writes is shown whole. Another program may
# store far more in an id, a scope or a name (SQLite takes a gigabyte), and a string shown
# whole is escaped, measured and wrapped whole: a lease incarnation id of 50 MB held the
# dashboard's event loop for ~10 s while a process's facts wrapped it, and one id of 12 MB
# padded every line of `lashtui ls` with 12 MB of spaces. JSON output stays whole (a
# program reading it asked for the stored value); a payload shown as JSON has its own
# bounds (`json_preview`, the payload tree).
SHOWN_CHARS = 4096


# What ends an id that a read took only the first `SHOWN_CHARS` characters of (a cut id:
# lashtui/registry/sql/long_id.py), the last code point, so that it sorts after every id it
# begins: what was not read is not counted.
CUT_MARK = "\U0010ffff"


# What a detail says of a cut id's row beside its stand-in: what was left unread.
CUT_NOT_READ = "its lease, events, grants, cancel and reruns (keyed by the id it was cut from)"


def is_cut_id(process_id: object) -> bool:
    """Whether an id is a cut id (see `CUT_MARK`): a row lashtui lists but cannot act on."""
    return (
        isinstance(process_id, str)
        and len(process_id) == SHOWN_CHARS + 1
        and process_id[-1] == CUT_MARK
    )


def bounded(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` itself when it is at most `limit` characters; otherwise its first `limit` and
    how many more there were: `abc… (49,999,997 more characters)`, or for a cut id, whose
    rest was never read, `abc… (more than 4,096 characters: not read)`. Cut before it is
    made visible, so escaping and measuring cost what is shown, not what is stored."""
    if len(text) <= limit:
        return text
    if is_cut_id(text):
        return f"{text[:limit]}… (more than {SHOWN_CHARS:,} characters: not read)"
    more = len(text) - limit
    return f"{text[:limit]}… ({more:,} more character{'' if more == 1 else 's'})"


def shown(text: str, *, multiline: bool = False, limit: int = SHOWN_CHARS) -> str:
    """`text` as a person is shown it: `bounded` (to `limit`), then `visible`."""
    return visible(bounded(text, limit), multiline=multiline)


def clipped(text: str, width: int) -> str:
    """At most `width` characters of already-visible text, with `…` when cut (a cell never
    grows without bound because a stored label does)."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def printable_name(text: str) -> bool:
    """Whether a name (signal, engine kind, scope part) is made only of characters that are
    shown as themselves and are not blank: letters, marks, numbers, punctuation, symbols."""
    return bool(text) and all(unicodedata.category(c)[0] in "LMNPS" for c in text)


def utc_text(epoch_ms: int, pattern: str) -> str:
    """`epoch_ms` in UTC by strftime `pattern`, in which `%f` stands for the milliseconds
    (three digits); a time no date holds (`datetime` covers the years 1 to 9999, and
    another program may store any number in a registry) reads `no date (<n> ms since
    1970)` instead of failing whatever shows it."""
    try:
        moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):
        # (A number of more than 4,300 digits cannot even be written out by str().)
        number = f"{epoch_ms} ms since 1970" if abs(epoch_ms) < 10**100 else "past any date"
        return f"no date ({number})"
    return moment.strftime(pattern.replace("%f", f"{epoch_ms % 1000:03d}"))
