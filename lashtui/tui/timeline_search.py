"""What `/` in the process detail searches: each event's type, payload (as JSON) and the
reason it does not decode, casefolded, so the search ignores case and matches markup-like
or escaped text as the characters stored.

The searched text of an event is made once, while a search is set, and kept: a payload can
be up to 1 MiB (~0.1 s of JSON), so it is made on a thread (`made_for`), never on the event
loop, and an event whose text is not made yet is not shown as a match until it is (the
screen makes the missing ones, then shows the matches again). The text does not depend on
what is searched, so typing another search reuses it.
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

    def missing(self, events: Sequence[ObservedProcessEvent]) -> list[ObservedProcessEvent]:
        """The events whose text a search needs and does not have yet."""
        if not self.needle:
            return []
        return [e for e in events if e.sequence not in self.texts]

    async def made_for(self, events: Sequence[ObservedProcessEvent]) -> None:
        """Make the searched text of these events, on a thread."""
        made = await asyncio.to_thread(lambda: {e.sequence: searched_text(e) for e in events})
        self.texts.update(made)

    def matches(self, event: ObservedProcessEvent) -> bool:
        if not self.needle:
            return True
        text = self.texts.get(event.sequence)
        return text is not None and self.needle in text
