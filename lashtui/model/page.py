"""The dashboard's window on a large registry: a keyset page query and a census.

A registry may retain a million rows, so the dashboard never lists them all. It asks for one
page at a time (`ProcessPageQuery`: a lens, a state set, a text filter, an order and a
keyset cursor on (sort key, process id)) and keeps its counts from one `ProcessCensus` plus
the change feed after the census's cursor. These are lashtui's own request and read shapes,
not lash wire types: they are frozen pydantic models without lash's serde conventions, and a
bad query is refused here, in one sentence, before any store sees it.
"""

from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from lashtui.errors import InvalidRequest
from lashtui.model.observed import ObservedProcess
from lashtui.model.scope import SessionScope
from lashtui.model.state import LIVE_STATES, PROCESS_STATES, TERMINAL_STATES, ProcessState

PAGE_LIMIT_MAX = 10_000
# The most characters of records one page of lashtui's own readers holds (then up to the row
# that passes it): a record may be a mebibyte or two, so a page of 2,000 (`ls`) could be
# gigabytes (`ProcessRegistry.page_processes_within`).
PAGE_CHARS = 16 << 20
_LENSES = ("all", "granted", "originated")
_STATE_NAMES = ", ".join(f"`{s.value}`" for s in PROCESS_STATES)

ProcessPageLens = Literal["all", "granted", "originated"]
ProcessOrder = Literal["id", "status", "label", "age", "updated", "lease_expiry"]
PROCESS_ORDERS: tuple[ProcessOrder, ...] = (
    "id",
    "status",
    "label",
    "age",
    "updated",
    "lease_expiry",
)
# The orders whose key is a time the dashboard shows as "how long ago": ascending is the
# smallest age first, so the SQL walks their timestamp column backwards.
NEWEST_FIRST: frozenset[ProcessOrder] = frozenset({"age", "updated"})
# The lease-expiry key of a row without a held lease: after every real expiry, so such rows
# come last in ascending order (first in descending), ordered among themselves by id.
NO_LEASE = 2**63 - 1
SortKey = int | str
# The status-order key of a row whose status column holds no state (another program wrote
# it: registry/sql/decoded_row.py `StatusMismatch`): after the five states, as the registry sorts
# it too. Letters, so that a collation that skips spaces still puts it after `running`.
NO_STATE_KEY = "zz no state"
_ORDER_NAMES = ", ".join(f"`{order}`" for order in PROCESS_ORDERS)


def order_problem(order: object) -> str | None:
    """The one sentence refusing `order`, or None when it names an order."""
    if order in PROCESS_ORDERS:
        return None
    return f"unknown process order `{order}`; the orders are {_ORDER_NAMES}"


def sort_key(order: ProcessOrder, process: ObservedProcess) -> SortKey | None:
    """`process`'s key in `order` as the registry computes it, so a page can continue from a
    row the caller holds; None for id order, and for a row whose record could not be
    decoded (its label is lashtui's, not the stored one: the registry looks the key up)."""
    if order == "id" or (process.undecodable is not None and order == "label"):
        return None
    if order == "status":
        # A row whose column holds no state sorts apart, whatever its stand-in's state.
        if process.no_state:
            return NO_STATE_KEY
        return process.lifecycle.value
    if order == "label":
        return process.label
    if order == "age":
        return process.created_at_ms
    if order == "updated":
        return process.updated_at_ms
    if process.lease_holder is None or process.lease_expires_at_ms is None:
        return NO_LEASE
    return process.lease_expires_at_ms


class ProcessPageQuery(BaseModel):
    """One page of processes in `order` (process-id order unless asked otherwise).

    `lens`: "all"; "granted" (a handle grant to exactly `scope.id()`, the security lens); or
    "originated" (the lineage lens: same session, the frame only if `scope` names one, never
    a host-originated row). `states`: None for any, else a subset of the six dashboard states.
    `text`: a case-insensitive substring of the process id, its label (or kind, when it has
    no label), or its originator's scope id, each matched on its own; % and _ are literal.
    It is the one filter no index serves, so a rare text reads every row the lens and
    states allow. `after_id` pages forwards (ids after it), `before_id` backwards (the `limit`
    ids just before it); both pages come back in the query's order.

    `order`: "id"; "status" (the stored status, so a waiting row sorts as running);
    "label" (the label, or the kind when it has none, compared bytewise); "age" and
    "updated" (ascending is the newest first: the smallest age, as the table shows it);
    "lease_expiry" (the soonest to lapse first; rows without a held lease after them, in id
    order). Ties are broken by process id, so pages are stable. `descending` reverses the
    whole order. In any order but "id" the cursor is (sort key, process id): `after_key` /
    `before_key` is the key of the cursor's row (see `sort_key`); when it is absent the
    registry reads the key of that row, which must then exist.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    lens: ProcessPageLens = "all"
    scope: SessionScope | None = None
    states: frozenset[str] | None = None
    text: str = ""
    after_id: str | None = None
    before_id: str | None = None
    limit: int = 200
    order: ProcessOrder = "id"
    descending: bool = False
    after_key: SortKey | None = None
    before_key: SortKey | None = None

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
        problem = order_problem(data.get("order", "id"))
        if problem is not None:
            raise InvalidRequest(problem)
        _check_keys(data)
        return data

    @property
    def backwards(self) -> bool:
        return self.before_id is not None

    @property
    def cursor(self) -> tuple[str, SortKey | None] | None:
        """(process id, its sort key or None) of the row the page continues from."""
        if self.backwards:
            assert self.before_id is not None
            return self.before_id, self.before_key
        if self.after_id is not None:
            return self.after_id, self.after_key
        return None

    def after(self, process: ObservedProcess | None) -> "ProcessPageQuery":
        """This query continuing forwards after `process` (from the start when None)."""
        if process is None:
            update: dict[str, Any] = {"after_id": None, "after_key": None}
        else:
            key = sort_key(self.order, process)
            update = {"after_id": process.process_id, "after_key": key}
        return self.model_copy(update={**update, "before_id": None, "before_key": None})

    def before(self, process: ObservedProcess) -> "ProcessPageQuery":
        """This query paging backwards from just before `process`."""
        key = sort_key(self.order, process)
        return self.model_copy(
            update={
                "before_id": process.process_id,
                "before_key": key,
                "after_id": None,
                "after_key": None,
            }
        )


def _check_keys(data: dict[str, Any]) -> None:
    order = data.get("order", "id")
    for side in ("after", "before"):
        key = data.get(f"{side}_key")
        if key is None:
            continue
        if data.get(f"{side}_id") is None:
            raise InvalidRequest(f"a process page's `{side}_key` needs its `{side}_id`")
        wanted: type = str if order in ("status", "label") else int
        if order == "id" or isinstance(key, bool) or not isinstance(key, wanted):
            raise InvalidRequest(f"a sort key in `{order}` order cannot be `{key!r}`")


# The key `ProcessCensus.counts` gives `no_state` under, beside the states' names.
NO_STATE = "no state"


class ProcessCensus(BaseModel):
    """Every row counted once, as of change-feed position `cursor` (read in the same
    transaction): terminal rows by state, and each live row's id with its state. Apply the
    change feed after `cursor` to keep it current; a live row is the only kind that can
    still change state, which is why only live rows are listed by id.

    `no_state`: rows whose status column holds no state at all (another program wrote it:
    `'zombie'`, a blob). Every filter but `any` leaves them out, so they are counted apart,
    never in a state; each reads as a row that does not decode (sql/decoded_row.py
    `StatusMismatch`); `no_state_ids` are their ids.

    `unkeyed`: live rows counted by state but not in `live`, because another row reads as
    the same id (SQLite only: several rows whose id is NULL, or a NULL's or a blob's beside
    a text id spelled as its stand-in; registry/sql/blob_id.py). Keyed by id, two NULL rows
    counted once; the text row keeps the id (the one the feed's changes name)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    cursor: int
    terminal: dict[str, int]
    live: dict[str, str]
    no_state: int = 0
    no_state_ids: frozenset[str] = frozenset()
    unkeyed: dict[str, int] = {}

    def counts(self) -> dict[str, int]:
        """All six states with their counts (zeros included), in the dashboard's order, then
        `no_state` under `NO_STATE`, when not zero."""
        live = Counter(self.live.values()) + Counter(self.unkeyed)
        counts = {state.value: live.get(state.value, 0) for state in LIVE_STATES}
        counts.update({state.value: self.terminal.get(state.value, 0) for state in TERMINAL_STATES})
        if self.no_state:
            counts[NO_STATE] = self.no_state
        return counts

    def total(self) -> int:
        return (
            len(self.live) + sum(self.unkeyed.values()) + sum(self.terminal.values())
            + self.no_state
        )
