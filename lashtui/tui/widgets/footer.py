"""`KeyFooter`: Textual's Footer, with the help key (`?`) kept in sight on any width.

Textual's Footer lays its keys out in one row and crops what does not fit, so on an 80-column
terminal the view's last keys, `?` among them, fell off the right edge: the one key that
lists all the others. Here `?` is docked at the right beside the command palette's key (which
the Footer already docks there), and the rest flow to the left of both as before.

What a new operator needs most stays in sight at 80 columns in every view: the view's own
keys (Enter, `/`, `f`, Esc...), the actions on the selected process and `123456 Views`
(the app groups the six); they were cut after the fifth or sixth key (`f Sta`, `1 Proc`).
So below `NARROW` columns the footer is compact (one space less around each key) and
leaves out the palette's `^p` (the header's icon opens the palette too), and at any width
the keys in `LEAST_NEEDED` (`:` Command, `p` Pause, `r` Rel/abs time, `e` Export: for a
moment rather than for every visit) come after all the others, and each that does not fit
whole is left out rather than cut. `?` lists every key.

The others are what an operator needs to act and to leave, `q` Quit among them (it was
least needed, and left out at 80 columns in the views with actions). When they do not all
fit whole (60 columns, and 80 in the views with the most keys) the last of them was cut
(`f Sta`, `a Aba`) and the views' keys and Quit were out of sight; now keys lose their
description, one at a time, until all fit: first those whose key is their description's
initial (`c` Cancel, `s` Signal, `q` Quit: the letter still says most), then the others,
the longest description first. The key stays, its description is its tooltip, and `?`
names it.

It is also rebuilt only when what it shows changed. Textual's Footer recomposes on every
"bindings updated" signal, and a view sends one whenever its cursor lands on another
process, because the keys it offers may differ for it. With a worker starting 100
processes a second the cursor's process changes all the time, and each rebuild (the keys
removed, new ones mounted and laid out) held the event loop 15-25 ms, for keys that were
nearly always the same (D3's slow turns). What it shows is what Footer's compose reads: the
bindings it shows, not those it hides (which come and go with the focus) nor its `compact`
(which its keys follow without a rebuild). And a view's footer is built once its first read
is on screen, when the keys that act on a row are known (`on_mount`).
"""

from __future__ import annotations

import asyncio
import contextlib

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_KEY = "question_mark"
NARROW = 100  # columns: below, the footer is compact and leaves out the palette's key
LEAST_NEEDED = frozenset({"command_line", "toggle_pause", "toggle_time", "export"})
FIRST_READ_S = 0.5  # at most this long a view's footer waits for its first read (`on_mount`)


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
    /* Compact: the space after a key drawn with the key, not before its description
       (the same width), so that an exported SVG keeps it (rsvg drew `cCancel`). */
    KeyFooter FooterKey.-compact .footer-key--key {
        padding: 0 1 0 0;
    }
    KeyFooter FooterKey.-compact .footer-key--description {
        padding: 0;
    }
    KeyFooter KeyGroup FooterKey.-compact .footer-key--key {
        padding: 0;
    }
    KeyFooter.-compact FooterLabel {
        margin: 0 1 0 0;  /* (Footer's compact style sets none: `123456 Viewsq Quit`) */
    }
    KeyFooter.-narrow FooterKey.-command-palette {
        display: none;
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
        self._composed: tuple[object, ...] | None = None  # what `shown` was when composed
        self._described: dict[FooterKey, str] = {}  # each needed key's whole description
        self._waiting = False  # for the view's first read (`on_mount`)

    async def recompose(self) -> None:
        """One at a time: the Footer recomposes whenever the bindings change, and Textual's
        recompose (remove the children, then mount new ones) awaits between the two, so two
        in flight could both mount, and every key would show twice (seen here as a second
        group of right-hand keys, when it had an id, refused as a duplicate). And not at
        all when the keys it would show are the ones it shows (see the module docstring)."""
        async with self._recomposing:
            if not self.is_attached or self._pruning:
                return  # removed meanwhile (its screen popped): as Textual's recompose does
            if self._waiting or self.shown() == self._composed:
                return
            await super().recompose()
            self.fit()

    def shown(self) -> tuple[object, ...]:
        """What Footer's compose builds its keys from, as it would read it now: each active
        binding it shows (key, description, display...), whether it is enabled and its
        tooltip, and the palette's. Not the bindings it does not show (the tables' arrows,
        Home, End...: they come and go with the focus, and the Audit view's list, hidden
        while empty, gave and took them on every visit), nor `compact`, which each key
        follows by itself (`data_bind`): with either, every view's footer was rebuilt,
        ~10-15 keys, on its first visit after a resize, and the Audit view's on each."""
        bindings = self.screen.active_bindings
        palette = bindings.get(self.app.COMMAND_PALETTE_BINDING)
        active = tuple(
            (key, binding, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in bindings.items()
            if binding.show
        )
        return (
            self._bindings_ready,
            self.show_command_palette,
            palette and palette[1:],
            active,
        )

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW
        if narrow != self.compact:
            # The footer and its keys restyled once, where its `-narrow`, its `-compact`
            # (toggled by `compact`) and then each key's own (bound to it) restyled them in
            # turn, each key three times: ~15 of a resize's ~95 ms of CPU here.
            for key in self.query(FooterKey):
                set_compact(key, narrow)
            self.update_classes({"-narrow": narrow, "-compact": narrow})
            self.compact = narrow  # (the keys' classes are set: their watchers change none)
        self.fit()

    def on_mount(self) -> None:
        """Its keys built once the view's first read is on screen (or `FIRST_READ_S` on, if
        the read is slow), not before: before it the view has no row, so no key that acts
        on one (Enter, Cancel...), and a footer built then was built again as soon as the
        read put a row under the cursor (~15-40 ms of CPU, of the ~150-180 of a first
        visit to the Leases, Abandon requests and Errors views)."""
        self.fit()
        loaded = getattr(self.screen, "loaded", None)
        if isinstance(loaded, asyncio.Event) and not loaded.is_set():
            self._waiting = True
            self.run_worker(self._first_read(loaded), group="footer", name="footer_first_read")

    async def _first_read(self, loaded: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_READ_S):
                await loaded.wait()
        self._waiting = False
        self.call_later(self.recompose)  # (in the footer's context: it binds its keys)

    def fit(self) -> None:
        """Every key `LEAST_NEEDED` shown and every other key described, then, once laid
        out, those least needed that do not fit whole left of `?` left out (they come last:
        leaving one out moves no other), and descriptions left out until the others fit."""
        for key in self.query(".-least-needed"):
            key.display = True
        for key, description in self._described.items():
            if key.description != description:
                key.description = description
                key.refresh(layout=True)
        self.call_after_refresh(self._leave_out_cut)

    def _leave_out_cut(self, passes: int = 8) -> None:
        described = self._described
        stale: list[FooterKey] | None
        try:
            stale = [
                key for key in described if key.region.width != drawn_width(key, key.description)
            ]
        except KeyError:
            # A key composed but not styled yet, its padding unknown (the footer recomposes
            # when the screen's bindings change, and a check queued before can run first):
            # this raised out of the footer and stopped the app.
            stale = None
        if stale is None or stale:
            # Laid out before its last change (a check can run on a layout made before the
            # footer went compact, or before a description was left out): acting on it
            # would leave out too much, or give back too much. Checked after the next.
            # Each such key is asked for a layout again: Textual keeps a layout asked for
            # while one is still pending from counting as new (its box model is cached by
            # that count), so a description left out just after `fit` gave it back (the
            # terminal narrowed from 80 to 60 columns) kept its old width for good, `a` drawn
            # nine cells wide, and `123456 Views` and `q` were cut under `?`.
            for misdrawn in stale or ():
                misdrawn.refresh(layout=True)
            if passes > 1:
                self.call_after_refresh(self._leave_out_cut, passes - 1)
            return
        right = self.query(".footer-right")
        edge = right.first().region.x if right else self.region.right
        for key in self.query(".-least-needed"):
            if key.region.right > edge:
                key.display = False
        needed = [
            child
            for child in self.children
            if child.display
            and not (child.has_class("-least-needed") or child.has_class("footer-right"))
        ]
        over = max((child.region.right for child in needed), default=edge) - edge
        if self._shorten(over) and passes > 1:
            self.call_after_refresh(self._leave_out_cut, passes - 1)

    def _shorten(self, over: int) -> bool:
        """Leave out descriptions (the module docstring says in which order) until the keys
        that are not least needed end `over` cells further left, or, `over` negative, give
        back those that fit again; whether any changed."""
        described = self._described
        order = sorted(
            described, key=lambda key: (not initial(key, described[key]), -len(described[key]))
        )
        changed = False
        if over > 0:
            for key in (key for key in order if key.description):
                over -= drawn_width(key, key.description) - drawn_width(key, "")
                key.description, changed = "", True
                key.tooltip = key.tooltip or described[key]
                key.refresh(layout=True)
                if over <= 0:
                    break
            return changed
        for key in reversed([key for key in order if not key.description]):
            wider = drawn_width(key, described[key]) - drawn_width(key, "")
            if wider > -over:
                break
            over += wider
            key.description, changed = described[key], True
            key.refresh(layout=True)
        return changed

    def compose(self) -> ComposeResult:
        self._composed = self.shown()
        self._described = {}
        right: list[Widget] = []
        last: list[Widget] = []  # `LEAST_NEEDED`, after every other key
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                set_compact(widget, self.compact)
            if isinstance(widget, FooterKey) and (
                widget.key == HELP_KEY or widget.has_class("-command-palette")
            ):
                if widget.key == HELP_KEY:
                    widget.add_class("-help", update=False)
                right.append(widget)
            elif isinstance(widget, FooterKey) and widget.action in LEAST_NEEDED:
                last.append(widget.add_class("-least-needed", update=False))
            else:
                if isinstance(widget, FooterKey) and widget.description:
                    self._described[widget] = widget.description
                yield widget
        yield from last
        if right:
            with HorizontalGroup(classes="footer-right"):
                yield from right


def set_compact(key: FooterKey, compact: bool) -> None:
    """Give a key its `-compact` class as it will have it once it follows the footer's
    `compact`, without restyling it (its owner restyles it, or it is styled as it mounts).
    A key Textual's Footer builds starts compact, and as it mounts it restyled itself twice,
    ~1 ms each here: its `compact` set to its default (the class added), then to the
    footer's (bound to it: at 100 columns and more, the class taken away again). A class
    added before it mounts (`-help`) likewise restyled it unmounted (`update=False` in
    `compose`): ~20 ms of the ~80 ms of CPU a rebuild of 14 keys took. The palette's key
    is not bound to the footer's `compact`: it stays compact."""
    compact = compact or key.has_class("-command-palette")
    key.set_reactive(FooterKey.compact, compact)
    key.set_class(compact, "-compact", update=False)


def initial(key: FooterKey, description: str) -> bool:
    """Whether the key is its (whole) description's initial (`c` Cancel): then the letter
    alone still says most of what the description does."""
    return description[:1].lower() == key.key.lower()


def drawn_width(key: FooterKey, description: str) -> int:
    """The cells `key` takes drawn with `description`: as `FooterKey.render` draws it, the
    key and the description each with its padding, or the key alone without one."""
    width = cell_len(key.key_display)
    if description:
        around_key = key.get_component_styles("footer-key--key").padding
        around = key.get_component_styles("footer-key--description").padding
        width += around_key.width + around.width + cell_len(description)
    return width
