"""`KeyFooter`: Textual's Footer, with the help key (`?`) kept in sight on any width.

Textual's Footer lays its keys out in one row and crops what does not fit, so on an 80-column
terminal the view's last keys, `?` among them, fell off the right edge: the one key that
lists all the others. Here `?` is docked at the right beside the command palette's key (which
the Footer already docks there), and the rest flow to the left of both as before.
"""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_KEY = "question_mark"


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter .footer-right {
        dock: right;
        width: auto;
        height: 1;
        background: $footer-background;
    }
    KeyFooter .footer-right FooterKey {
        dock: none;
    }
    KeyFooter .footer-right FooterKey.-help {
        border-left: vkey $foreground 20%;
    }
    KeyFooter .footer-right FooterKey.-command-palette {
        border-left: vkey $foreground 20%;
        .footer-key--key {
            padding: 0 1;
        }
        .footer-key--description {
            padding: 0 1 0 0;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._recomposing = asyncio.Lock()

    async def recompose(self) -> None:
        """One at a time: the Footer recomposes whenever the bindings change, and Textual's
        recompose (remove the children, then mount new ones) awaits between the two, so two
        in flight could both mount, and every key would show twice (seen here as a second
        group of right-hand keys, when it had an id, refused as a duplicate)."""
        async with self._recomposing:
            await super().recompose()

    def compose(self) -> ComposeResult:
        right: list[Widget] = []
        for widget in super().compose():
            if isinstance(widget, FooterKey) and (
                widget.key == HELP_KEY or widget.has_class("-command-palette")
            ):
                if widget.key == HELP_KEY:
                    widget.add_class("-help")
                right.append(widget)
                continue
            yield widget
        if right:
            with HorizontalGroup(classes="footer-right"):
                yield from right
