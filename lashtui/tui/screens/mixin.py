"""The base of the screens' mixins (the Processes view's and the detail's parts, each in a
module of its own): typed as the Screen it is mixed into, so that a mixin's methods may use
the screen's; at runtime `object`, adding only its methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen

    ScreenMixin = Screen[None]
else:
    ScreenMixin = object
