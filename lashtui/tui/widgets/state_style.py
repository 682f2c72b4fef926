"""How a process state looks: the component classes `state--<name>` (each state, a lapsed
lease, a "silent, not dead" row) that every widget showing a state declares, and the rich
styles read from them. styles/app.tcss gives each class its theme variables
(`$state-<name>`, `$state-<name>-style`; lashtui/tui/theme.py), so colours live in the
theme and the stylesheet, and code only asks for a style by name. Styles are applied to a
`Text` built from the dashboard's own words, or to stored text made visible first
(lashtui/tui/text.py): nothing is ever formatted into markup.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from lashtui.model import ObservedProcess
from lashtui.tui import format as fmt
from lashtui.tui.theme import MARKS, STATES

PAINTED = (*STATES, *MARKS)  # every name `paint` takes
STATE_CLASSES = frozenset(f"state--{name}" for name in PAINTED)


def paint(widget: Widget, name: str) -> Style:
    """The style of a state or mark (`failed`, `lapsed`, ...) as `widget`'s theme has it:
    colour and text style only, so a row's zebra stripe and the cursor still show."""
    return widget.get_component_rich_style(f"state--{name}", partial=True)


def badge(widget: Widget, process: ObservedProcess) -> Text:
    """The status badge (`✗ failed`) in its state's style."""
    state = fmt.state(process)
    return Text(fmt.badge_of(state), style=paint(widget, state), end="")
