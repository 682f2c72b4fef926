"""The Leases view (to be built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from lashtui.tui.context import Dashboard


class LeasesScreen(Screen[None]):
    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Leases")
        yield Footer()
