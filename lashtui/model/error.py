"""Why processes ended badly, grouped: the Errors view's query and what it reads.

Failed, cancelled and abandoned rows are grouped by (state, code, message), where each
state keeps its reason in a different place of the record (semantics §3.8):

- failed: `status.await_output.code` and `.message` (the `FailureOutput`);
- cancelled: no code; the message is `status.await_output.message`, the cancel reason
  (`requested by dana@h: stale`);
- abandoned: the code is who wrote it (`status.await_output.evidence.writer`: `sweep`,
  `owner_drain`, `reconciled_request`); the message is the operator's abandon request
  reason (`abandon_request.reason`), empty when nobody asked or gave none.

A million retained rows cannot be grouped on every read (measured: ~70 s for the 700,000
failed, cancelled and abandoned rows of the benchmark registry, each row's JSON parsed), so
a summary covers a *window*: the `window` most recently changed processes (any state,
newest change first, by the change feed's index), and groups the failed, cancelled and
abandoned ones among them.
Stored text is untrusted and may be huge, so a group's code and message are the first
`CLIP_CHARS` characters of the stored ones: two messages that differ only after that are
one group. An absent code or message and an empty one are one group too (shown as `""`).
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from lashtui.errors import InvalidRequest
from lashtui.model.state import ProcessState

CLIP_CHARS = 200  # the characters of a code or message a group is keyed on
WINDOW_DEFAULT = 20_000  # rows an Errors summary covers, by default (module docstring)
WINDOW_MAX = 1_000_000
GROUPS_MAX = 10_000
ERROR_STATES: tuple[ProcessState, ...] = (
    ProcessState.FAILED,
    ProcessState.CANCELLED,
    ProcessState.ABANDONED,
)

ErrorGroupOrder = Literal["count", "last_seen"]


def _whole(value: object, low: int, high: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"{what} is a whole number from {low:,} to {high:,}, got `{value}`")


def check_group_rows(window: int, limit: int) -> None:
    """Refuse, in one sentence, a window or a row limit out of range (a group's rows)."""
    _whole(window, 1, WINDOW_MAX, "an error window")
    _whole(limit, 1, GROUPS_MAX, "an error group's row limit")


class ErrorGroupKey(BaseModel):
    """One group: the state and its clipped code and message (`""` when absent)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    state: ProcessState
    code: str
    message: str

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("state") not in ERROR_STATES:
            raise InvalidRequest(
                f"an error group's state is `failed`, `cancelled` or `abandoned`, "
                f"got `{data.get('state')}`"
            )
        return data


class ErrorGroup(ErrorGroupKey):
    """A group with its size and when its rows ended: first and last seen are the rows'
    `updated_at_ms`, which lash sets to the terminal event's time (a non-terminal event
    appended to an ended row later, such as a late signal, moves it on). None when no row
    of the group holds a whole number there (another program stored something else): not
    known, where a 0 would have read as 1970."""

    count: int
    first_seen_ms: int | None
    last_seen_ms: int | None

    def key(self) -> ErrorGroupKey:
        return ErrorGroupKey(state=self.state, code=self.code, message=self.message)


class ErrorGroupQuery(BaseModel):
    """Which rows to group (`window`, see the module docstring), in what order (`count`:
    largest first; `last_seen`: most recent first) and how many groups to return."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    window: int = WINDOW_DEFAULT
    order: ErrorGroupOrder = "count"
    limit: int = 1000

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        _whole(data.get("window", WINDOW_DEFAULT), 1, WINDOW_MAX, "an error window")
        _whole(data.get("limit", 1000), 1, GROUPS_MAX, "an error group limit")
        order = data.get("order", "count")
        if order not in ("count", "last_seen"):
            raise InvalidRequest(f"error groups sort by `count` or `last_seen`, got `{order}`")
        return data


class ErrorSummary(BaseModel):
    """The groups of one window, read in one snapshot: `scanned` rows were in the window
    (fewer than `window` on a smaller registry), `rows` of them failed, cancelled or
    abandoned, in `total_groups` groups of which `groups` are the first `limit` in the
    query's order; `cursor` is the change-feed position the read saw."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    window: int
    scanned: int
    rows: int
    total_groups: int
    groups: list[ErrorGroup]
    cursor: int

    def covers(self) -> str:
        """What the summary covers, in one sentence fragment."""
        if self.scanned < self.window:
            return f"every process ({self.scanned:,})"
        return f"the {self.window:,} most recently changed processes"
