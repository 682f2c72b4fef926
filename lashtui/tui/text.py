"""Where the dashboard turns text into something Textual draws: the only place a string from
the registry becomes a widget's content.

Textual reads a plain `str` as markup in most places (`Static`, `Label`, `notify`, a
`DataTable` cell, a palette hit), so a stored label `[@click=app.quit]x[/]` would become a
click action and `[/]` would crash the app. Here every string is first made visible
(`lashtui.untrusted.visible`: control characters shown as escapes) and then wrapped in a
`rich.text.Text`, which is never parsed as markup. A view builds its content with `data`
(stored text, or `fitted` to a number of cells), `plain` (its own words around stored
text) or `joined`, and shows a message
with `say`; a table cell is `cell` and a palette hit is `content`. Each stored string is
shown to at most `SHOWN_CHARS` characters (`lashtui.untrusted.bounded`: the rest is counted,
not drawn), so no stored value, however long, is escaped, measured or wrapped whole.
tests/tui/test_untrusted_boundary.py fails when a view passes a bare string to a
markup-reading call.

A line break is the dashboard's own only where it joins lines (`joined`, or `say` given a
sequence of lines): every `str` is shown on one line, its newlines as `\\x0a`. A sentence
is built from stored text (`f"refused: {process_id}: ..."`), and once built nothing tells
a break the dashboard wrote from one an id held: an id `zz\\n10 done\\ndone: payroll-run:
cancelled` wrote two fake lines into a cancel's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget

from lashtui.model.limit import MAX_LABEL_CHARS
from lashtui.untrusted import SHOWN_CHARS, bounded, shown, visible, visible_clipped

# The most a one-line cell shows: the longest field a write allows (a label).
CELL_CHARS = MAX_LABEL_CHARS
# The most a table's LABEL cell shows. A write allows a label of `MAX_LABEL_CHARS`, and a
# column is as wide as its widest cell: one such label pushed every column after it (why a
# process ended, its lease, its age, the sweep's verdict) off the screen for every row.
# The detail shows a line of it (`Y` copies it whole: screens/detail_summary.py).
LABEL_CHARS = 40
# How wide a table counts an id column when it decides what else fits (an id is cut in its
# middle when the columns do not fit: widgets/column_plan.py): lash's own ids are at most 53
# characters, so one is shown whole whenever the width has room for it.
ID_CELLS = 64

# Words on one line (`plain`), or lines the dashboard breaks between (`joined`).
Words = str | Text | Sequence[str | Text]


def data(
    value: str, style: str | Style = "", *, multiline: bool = False, limit: int = SHOWN_CHARS
) -> Text:
    """Stored text as shown: control characters escaped, markup left as literal brackets,
    and past `limit` characters (`SHOWN_CHARS`) cut and counted."""
    return Text(shown(value, multiline=multiline, limit=limit), style=style, end="")


def fitted(value: str, cells: int, style: str | Style = "") -> Text:
    """Stored text in at most `cells` terminal cells, as `data` shows it: whole when it
    fits, else its start and what was left out (`… (966 more characters)`), the count
    within the `cells` too, so that a line cut to its room is not pushed onto the next by
    its own count; where the count would take more room than the text it follows, its start
    and `…`. Only the start of `value` is escaped and measured."""
    whole = visible(value[: cells + 1])
    if len(value) <= cells and cell_len(whole) <= cells:
        return Text(whole, style=style, end="")
    keep = cells
    while keep > 0:  # (the count is said only after as much of the text as it takes)
        # (`bounded`'s own words for what it leaves out: a count, or a cut id's not-read)
        said = bounded(value, keep)[keep:]
        start = visible(value[:keep])
        over = cell_len(start) + len(said) - cells
        if keep < len(said):
            break
        if over <= 0:
            return Text(start + said, style=style, end="")
        keep -= max(over // 10, 1)  # (a character left out frees a cell, or an escape's ten)
    cut = Text(whole, style=style, end="")
    cut.truncate(cells, overflow="ellipsis")
    return cut


def label(value: str) -> Text:
    """A stored label for a table cell: made visible and cut at `LABEL_CHARS` (`…` when
    cut), so the columns beside it stay in sight."""
    return Text(visible_clipped(value, LABEL_CHARS), end="")


def cell(value: str, style: str | Style = "") -> Text:
    """Stored text for a one-line table cell: never wrapped, so a value wider than its
    column is cropped the way DataTable crops a plain string; and cut at `CELL_CHARS`
    first, so that a value another program made a mebibyte long is not escaped and
    measured whole (DataTable measures every cell it is given)."""
    text = Text(visible_clipped(value, CELL_CHARS), style=style, end="")
    text.no_wrap = True
    return text


def content(value: str, style: str = "") -> Content:
    """Stored text as Textual `Content` (the palette's hits take it), likewise never markup."""
    safe = shown(value)
    return Content.styled(safe, style) if style else Content(safe)


def plain(*parts: str | Text, style: str = "") -> Text:
    """The dashboard's own words with stored text in between, on one line: every `str` part
    is made visible too (a message may quote an error that quotes a stored id), newlines
    included, and none is markup."""
    text = Text(style=style, end="")
    for part in parts:
        text.append(part if isinstance(part, Text) else shown(part))
    return text


def joined(lines: Iterable[str | Text], separator: str = "\n") -> Text:
    """Lines (each plain words or `data`) as one text: the only line breaks that are the
    dashboard's own."""
    return Text(separator, end="").join(
        line if isinstance(line, Text) else plain(line) for line in lines
    )


def words(value: Words) -> Text:
    """Words on one line (a `str`, as `plain`; a `Text`, as it is), or lines (`joined`)."""
    if isinstance(value, Text):
        return value
    return plain(value) if isinstance(value, str) else joined(value)


def say(
    node: Widget | Screen[object] | App[object],
    message: Words,
    *,
    title: str = "",
    severity: SeverityLevel = "information",
    timeout: float | None = None,
) -> None:
    """A notification whose text is shown literally: `notify` reads its message as markup
    unless told not to, and a refusal quotes stored ids and reasons. A `str` message is one
    line; a message of several lines is given as their sequence (see the module docstring)."""
    body = words(message).plain
    title = shown(title)
    node.notify(body, title=title, severity=severity, timeout=timeout, markup=False)
