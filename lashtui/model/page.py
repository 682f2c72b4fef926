"""The dashboard's window on a large registry: a keyset page query and a census.

A registry may retain a million rows, so the dashboard never lists them all. It asks for one
page at a time (`ProcessPageQuery`: a lens, a state set, a text filter and a keyset cursor on
the process id) and keeps its counts from one `ProcessCensus` plus the change feed after the
census's cursor. These are lashtui's own request and read shapes, not lash wire types: they
are frozen pydantic models without lash's serde conventions, and a bad query is refused
here, in one sentence, before any store sees it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from lashtui.errors import InvalidRequest
from lashtui.model.scope import SessionScope
from lashtui.model.state import LIVE_STATES, PROCESS_STATES, TERMINAL_STATES, ProcessState

PAGE_LIMIT_MAX = 10_000
_LENSES = ("all", "granted", "originated")
_STATE_NAMES = ", ".join(f"`{s.value}`" for s in PROCESS_STATES)

ProcessPageLens = Literal["all", "granted", "originated"]


class ProcessPageQuery(BaseModel):
    """One page of processes in process-id order.

    `lens`: "all"; "granted" (a handle grant to exactly `scope.id()`, the security lens); or
    "originated" (the lineage lens: same session, the frame only if `scope` names one, never
    a host-originated row). `states`: None for any, else a subset of the six dashboard states.
    `text`: a case-insensitive substring of the process id, its label (or kind, when it has
    no label), or its originator's scope id, each matched on its own; % and _ are literal.
    It is the one filter no index serves, so a rare text reads every row the lens and
    states allow. `after_id` pages forwards (ids after it), `before_id` backwards (the `limit`
    ids just before it); both pages come back in ascending id order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lens: ProcessPageLens = "all"
    scope: SessionScope | None = None
    states: frozenset[str] | None = None
    text: str = ""
    after_id: str | None = None
    before_id: str | None = None
    limit: int = 200

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        # Before pydantic's own checks, so the common mistakes read as one sentence each.
        if not isinstance(data, dict):
            return data
        lens = data.get("lens", "all")
        if lens not in _LENSES:
            raise InvalidRequest(
                f"a process page lens is `all`, `granted` or `originated`, got `{lens}`"
            )
        if lens != "all" and data.get("scope") is None:
            raise InvalidRequest(f"the `{lens}` lens needs a session scope")
        states = data.get("states")
        if states is not None:
            if isinstance(states, str) or not isinstance(states, Iterable):
                raise InvalidRequest(
                    f"process page states are a set of state names, got `{states}`"
                )
            states = list(states)
            for state in states:
                if state not in PROCESS_STATES:
                    raise InvalidRequest(
                        f"unknown process state `{state}`; the states are {_STATE_NAMES}"
                    )
            data = {**data, "states": frozenset(ProcessState(s) for s in states)}
        limit = data.get("limit", 200)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= PAGE_LIMIT_MAX
        ):
            raise InvalidRequest(
                f"a process page limit is a whole number from 1 to {PAGE_LIMIT_MAX}, got `{limit}`"
            )
        if data.get("after_id") is not None and data.get("before_id") is not None:
            raise InvalidRequest("a process page goes after an id or before one, not both")
        return data

    @property
    def backwards(self) -> bool:
        return self.before_id is not None


class ProcessCensus(BaseModel):
    """Every row counted once, as of change-feed position `cursor` (read in the same
    transaction): terminal rows by state, and each live row's id with its state. Apply the
    change feed after `cursor` to keep it current; a live row is the only kind that can
    still change state, which is why only live rows are listed by id."""

    model_config = ConfigDict(frozen=True)

    cursor: int
    terminal: dict[str, int]
    live: dict[str, str]

    def counts(self) -> dict[str, int]:
        """All six states with their counts (zeros included), in the dashboard's order."""
        live = Counter(self.live.values())
        counts = {state.value: live.get(state.value, 0) for state in LIVE_STATES}
        counts.update({state.value: self.terminal.get(state.value, 0) for state in TERMINAL_STATES})
        return counts

    def total(self) -> int:
        return len(self.live) + sum(self.terminal.values())
