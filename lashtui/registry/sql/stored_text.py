"""Plain text another program stored in a registry column, read under a ceiling: how a read
takes a text column (`read_text`), what a value longer than the ceiling becomes once read
(`as_read`, a cut value), and how a reader tells one (`past_read`).

lashtui's writes hold every plain-text column to a few hundred characters (ids and lease
owners 512, names and scopes 256: `lashtui.model.limit`), but another program may store any
length (SQLite takes a gigabyte, PostgreSQL's text one). Taken whole, one lease owner id of
200 MB cost `ls` 440 MB, `ls --json` 2.7 s and 820 MB (and printed the 200 MB), one grant
scope `show` 1.2 GB, one event type `events` 440 MB: every reader held the value, and
the JSON output copied it, only for the human output to show its first 4,096 characters.
So every read of such a column takes at most `READ_CHARS` and one character more, in SQL
(`substr` on both stores; the one past says the value was longer), and a longer value is
only ever held cut: its first `READ_CHARS` characters and `CUT_MARK`. A cut value is shown
as cut (`untrusted.bounded`: "… (more than 4,096 characters: not read)") and is never used
as a key: what would act by one (a lease's fence and token, the rows of a cut process id)
refuses in one sentence naming the row (lease_row.py `lease_row_problem`, long_id.py
`refuse_cut`). A value at most `READ_CHARS` long is read, and written out, exactly as stored.

The ceiling is `untrusted.SHOWN_CHARS`, the longest text lashtui shows whole, eight times
the longest id a write allows and sixteen times the longest name or scope part: no value a
lashtui or lash write makes is cut (an audit sentence, which no other limit bounds, is
stored within it: audit.py `record`).

What this does not take away: SQLite loads a value to take any part of it (3.40 has no
cheap prefix or length of TEXT), so a statement that reads such a column still has SQLite
load it, for that statement, in its own memory, and free it (~200 MB for one of 200 MB).
PostgreSQL's server takes the first characters itself: the client never sees the rest.
"""

from __future__ import annotations

from typing import TypeVar

from lashtui.untrusted import CUT_MARK, SHOWN_CHARS

_Value = TypeVar("_Value")  # (a text column may hold a number or a blob another program stored)

# The most of a plain-text column any reader takes whole.
READ_CHARS = SHOWN_CHARS
# The most of a small JSON column any reader takes (an audit row's detail), past which it is
# left unread: sixteen times the plain-text ceiling, room for the longest such value lashtui
# writes (a reason of 4,096 characters `json.dumps` escaped, ~49,000). (Records and events
# have their own, `dialect.MAX_STORED_BYTES`; a lease's liveness the write's, fetch.py.)
SMALL_JSON_CHARS = 16 * READ_CHARS


def read_text(column: str, chars: int = READ_CHARS) -> str:
    """A plain-text column (`column`) as a read takes it: at most one character past
    `READ_CHARS` (`substr` on both stores), which tells a longer one (`past_read`). A blob
    another program stored stays a blob (its first bytes), so a reader still tells it.
    (`chars`: another ceiling, for a column of small JSON that is never shown cut, only
    left unread past it: the audit trail's details.)"""
    return f"substr({column}, 1, {chars + 1})"


def past_read(value: object, chars: int = READ_CHARS) -> bool:
    """Whether a value read with `read_text` (or made a cut value) is longer than a reader
    takes whole."""
    return isinstance(value, str) and len(value) > chars


def as_read(value: _Value) -> _Value:
    """A value read with `read_text` as every reader holds it: itself, or cut (its first
    `READ_CHARS` characters and `CUT_MARK`; a cut value is its own cut)."""
    if isinstance(value, str) and len(value) > READ_CHARS:
        return value[:READ_CHARS] + CUT_MARK  # type: ignore[return-value]
    return value
