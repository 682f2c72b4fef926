"""What `/` in the process detail searches: each event's type, payload (as JSON) and the
reason it does not decode, casefolded, so the search ignores case and matches markup-like
or escaped text as the characters stored.

The searched text of an event is made once, while a search is set, and kept: a payload can
be up to 1 MiB (~0.1 s of JSON), so the text of a whole log is made on a thread
(`made_for`), and only an event arriving while a search is set is made on the loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from lashtui.model import ObservedProcessEvent


def searched_text(event: ObservedProcessEvent) -> str:
    payload = json.dumps(event.payload, ensure_ascii=False)
    return f"{event.event_type}\n{payload}\n{event.undecodable or ''}".casefold()


class TimelineSearch:
    """The search text (casefolded; empty: every event matches) and each event's text."""

    def __init__(self) -> None:
        self.needle = ""
        self.texts: dict[int, str] = {}

    def set(self, typed: str) -> None:
        self.needle = typed.strip().casefold()
        if not self.needle:
            self.texts.clear()  # no search: hold no copies of the payloads

    async def made_for(self, events: Sequence[ObservedProcessEvent]) -> None:
        """Make the searched text of every event not made yet, on a thread."""
        missing = [e for e in events if e.sequence not in self.texts]
        if missing:
            made = await asyncio.to_thread(lambda: {e.sequence: searched_text(e) for e in missing})
            self.texts.update(made)

    def matches(self, event: ObservedProcessEvent) -> bool:
        if not self.needle:
            return True
        text = self.texts.get(event.sequence)
        if text is None:  # an event that arrived while the search was set
            text = self.texts[event.sequence] = searched_text(event)
        return self.needle in text
