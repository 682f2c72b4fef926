"""The `?` help lists every key of every screen, in the section of that screen. It left out
keys that work: the detail's `r`, `e`, `[` (hidden from the footer, so the help was its only
mention), `y`/`Y` and `t`/`R`/`E`, and the Leases and Abandon requests views' `t`, `R`, `E`
and `p`. The help is read as the real app draws it (under Pilot), so a key added to a
screen's BINDINGS without a line in the help fails here."""

from __future__ import annotations

from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.widgets import Static

from lashtui.admin import Processes
from lashtui.clock import ManualClock
from lashtui.registry.sqlite import SqliteProcessRegistry
from lashtui.tui.app import LashtuiApp, make_app
from lashtui.tui.screens.abandon import AbandonRequestsScreen
from lashtui.tui.screens.audit import AuditScreen
from lashtui.tui.screens.detail import ProcessDetailScreen
from lashtui.tui.screens.errors import ErrorGroupScreen, ErrorsScreen
from lashtui.tui.screens.health import HealthScreen
from lashtui.tui.screens.leases import LeasesScreen
from lashtui.tui.screens.modals import HelpScreen
from lashtui.tui.screens.payload import PayloadScreen
from lashtui.tui.screens.processes import ProcessesScreen
from lashtui.tui.widgets.process_table import ProcessTable
from tests.tui.scene import home_loaded
from tests.tui.test_actions import until

ACTING, ANYWHERE = "Acting", "Anywhere"
# Where the help documents each screen's keys (and the widgets' they hold): its section,
# the actions' section for the keys every screen with a process shares, `Anywhere` for
# Esc and ?.
DOCUMENTED: list[tuple[type[DOMNode], tuple[str, ...]]] = [
    (ProcessesScreen, ("Processes", ACTING, ANYWHERE)),
    (ProcessTable, ("Processes",)),
    (ProcessDetailScreen, ("Process detail", ANYWHERE)),
    (PayloadScreen, ("Process detail",)),
    (LeasesScreen, ("Leases, Abandon requests", ANYWHERE)),
    (AbandonRequestsScreen, ("Leases, Abandon requests", ANYWHERE)),
    (ErrorsScreen, ("Errors", ANYWHERE)),
    (ErrorGroupScreen, ("Errors", ANYWHERE)),
    (AuditScreen, ("Audit", ANYWHERE)),
    (HealthScreen, ("Engine health", ANYWHERE)),
    (LashtuiApp, ("Views", ANYWHERE)),
]
GLYPHS = {
    "enter": "Enter", "escape": "Esc", "slash": "/", "tab": "Tab", "space": "space",
    "asterisk": "*", "greater_than_sign": ">", "less_than_sign": "<", "colon": ":",
    "question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]",
}  # fmt: skip


def sections(help_text: str) -> dict[str, set[str]]:
    """The help's sections by their heading (a line that starts at the margin): the words
    of each, split at spaces."""
    found: dict[str, set[str]] = {}
    words: set[str] = set()
    for line in help_text.splitlines():
        if line and not line[0].isspace():
            words = found.setdefault(line.split("  ")[0].strip(), set())
        words.update(line.split())
    return found


def keys(owner: type[DOMNode]) -> list[str]:
    bindings: list[BindingType] = list(owner.BINDINGS)
    return [GLYPHS.get(b.key, b.key) for b in bindings if isinstance(b, Binding)]


async def test_the_help_lists_every_key_of_every_screen_in_its_section(
    scene: tuple[SqliteProcessRegistry, ManualClock],
) -> None:
    registry, clock = scene
    app = make_app(Processes(registry, clock=clock), clock=clock)
    async with app.run_test(size=(120, 50)) as pilot:
        await home_loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        drawn = str(app.screen.query_one("#help-text", Static).render())
    found = sections(drawn)
    missing = []
    for owner, titles in DOCUMENTED:
        heads = [next(h for h in found if h.startswith(title)) for title in titles]
        words = set().union(*(found[head] for head in heads))
        missing += [f"{owner.__name__}: {key}" for key in keys(owner) if key not in words]
    assert missing == []
