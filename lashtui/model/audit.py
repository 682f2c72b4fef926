"""The audit trail of operator actions (issue 17 item 8): what an operator did, who, when,
to what, and the result, as lashtui recorded it or as the event log shows it.

Two sources, each labelled, never merged into one list (one action can be in both, and
neither can vouch for the other):

- `recorded`: lashtui's own table `lashtui_operator_actions`, one row per target changed
  (outcome `done` or `requested`) by an action made through `Processes.actions` (cancel,
  signal, abandon request, transfer, rerun, end-undecodable) and one per prune that
  deleted something, with the outcome and its sentence. What was refused or left
  unchanged wrote nothing, and is not recorded either. It is the
  only place a prune, a transfer or a signal's operator is kept: lash's shapes have no
  actor field for them, and a prune deletes the rows and events it would be read from. The
  table is lashtui's, created with a new registry or by the first action recorded in an
  older one, so a registry lash wrote has none until lashtui acts on it.
- `events`: what the event log itself holds of operators: cancel requests (their reason
  reads `requested by <operator>[: why]`) and re-run links (`lashtui.rerun_of`), including
  those made by lash or by a lashtui build before the table existed. A prune removes these
  with their process.

Pure: no I/O. These are lashtui's shapes, not lash wire types; a bad query is refused here
in one sentence.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, model_validator

from lashtui.errors import InvalidRequest
from lashtui.model.event import ProcessEvent
from lashtui.model.event_type import CANCEL_REQUESTED
from lashtui.model.outcome import OUTCOMES, Outcome
from lashtui.model.rerun import RERUN_OF, RerunLink

AuditAction = Literal[
    "cancel", "signal", "abandon", "transfer", "prune", "rerun", "end-undecodable"
]
AUDIT_ACTIONS: tuple[AuditAction, ...] = (
    "cancel", "signal", "abandon", "transfer", "prune", "rerun", "end-undecodable",
)  # fmt: skip
AuditSource = Literal["recorded", "events"]
AUDIT_TABLE = "lashtui_operator_actions"
# The event types the `events` source reads, each with the action it is.
AUDIT_EVENT_TYPES: dict[str, AuditAction] = {CANCEL_REQUESTED: "cancel", RERUN_OF: "rerun"}
AUDIT_PAGE_MAX = 1000
_ACTIONS = ", ".join(f"`{a}`" for a in AUDIT_ACTIONS)


class OperatorAction(BaseModel):
    """One target of one operator action (what it changed). `id` orders the entries of a
    source (newest has the highest) and is the keyset cursor: the table's row id, or for an event
    `<occurred_at_ms>:<process_id>:<sequence>` (see `AuditQuery.before`). `operator` is
    None when the source does not say who. `detail` holds what the action named beyond
    its target (a signal's name, a transfer's scopes, a prune's cutoff and counts).
    `at_ms` is None for a recorded row whose time another program stored as other than a
    whole number."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    source: AuditSource
    id: str
    at_ms: int | None
    operator: str | None
    # One of AUDIT_ACTIONS and OUTCOMES as lashtui writes them; read as plain text, since
    # another program can write the table, and one odd row must not hide the others.
    action: str
    process_id: str | None
    outcome: str
    sentence: str
    detail: dict[str, JsonValue] | None = None

    @classmethod
    def from_event(cls, event: ProcessEvent) -> "OperatorAction | None":
        """The action an event of an audited type records; None for any other event."""
        action = AUDIT_EVENT_TYPES.get(event.event_type)
        if action is None:
            return None
        at = event.occurred_at_ms
        cursor = f"{at}:{event.process_id}:{event.sequence}"
        common = {"source": "events", "id": cursor, "at_ms": at, "process_id": event.process_id}
        if action == "rerun":
            link = RerunLink.from_event(event)
            by = link.by if link else None
            sentence = f"re-runs `{link.rerun_of}`" if link else "a re-run link of another shape"
            return cls(**common, operator=by, action="rerun", outcome="done", sentence=sentence)
        payload = event.payload
        reason = payload.get("reason") if isinstance(payload, dict) else None
        sentence = reason if isinstance(reason, str) else "cancel requested (no reason stored)"
        return cls(
            **common,
            operator=requester(sentence),
            action="cancel",
            outcome="requested",
            sentence=sentence,
        )


def requester(reason: str) -> str | None:
    """Who a cancel reason says asked: `requested by dana@h: stale` -> `dana@h` (the form
    lashtui and lash write; any other reason names no one)."""
    if not reason.startswith("requested by "):
        return None
    name = reason.removeprefix("requested by ").split(":", 1)[0].strip()
    return name or None


def unwritten_outcome(outcome: str | None) -> str | None:
    """Why a filter on `unchanged` or `refused` finds nothing lashtui wrote: those targets
    write nothing, so an empty page under them says so rather than only "no match" (which
    reads as if none had happened). None for the outcomes lashtui records."""
    if outcome not in ("unchanged", "refused"):
        return None
    target = "a refused target" if outcome == "refused" else "a target left unchanged"
    return (
        f"lashtui records only targets an action changed (done or requested): {target} "
        f"writes nothing, so the trail holds no {outcome} entry unless another program wrote one"
    )


class AuditQuery(BaseModel):
    """One page of one source, newest first. `operator`, `action` and `outcome` match
    exactly; `text` is a literal substring of the process id. `before` is the `id` of the
    last entry of the previous page."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    source: AuditSource = "recorded"
    operator: str | None = None
    action: AuditAction | None = None
    outcome: Outcome | None = None
    text: str = ""
    before: str | None = None
    limit: int = 200

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        action = data.get("action")
        if action is not None and action not in AUDIT_ACTIONS:
            raise InvalidRequest(f"unknown operator action `{action}`; the actions are {_ACTIONS}")
        outcome = data.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidRequest(
                f"unknown outcome `{outcome}`; the outcomes are done, requested, unchanged, refused"
            )
        source = data.get("source", "recorded")
        if source not in ("recorded", "events"):
            raise InvalidRequest(f"an audit source is `recorded` or `events`, got `{source}`")
        limit = data.get("limit", 200)
        whole = isinstance(limit, int) and not isinstance(limit, bool)
        if not whole or not 1 <= limit <= AUDIT_PAGE_MAX:
            raise InvalidRequest(
                f"an audit page limit is a whole number from 1 to {AUDIT_PAGE_MAX}, got `{limit}`"
            )
        return data

    def event_cursor(self) -> tuple[int, str, int] | None:
        """`before` as the `events` source's keyset (at, process id, sequence)."""
        if self.before is None:
            return None
        at, _, rest = self.before.partition(":")
        process_id, _, sequence = rest.rpartition(":")
        try:
            return _int64(at), process_id, _int64(sequence)
        except ValueError:
            raise InvalidRequest(f"not an audit event cursor: `{self.before}`") from None

    def row_cursor(self) -> int | None:
        """`before` as the `recorded` source's keyset (the row id)."""
        if self.before is None:
            return None
        try:
            return _int64(self.before)
        except ValueError:
            raise InvalidRequest(f"not an audit row cursor: `{self.before}`") from None


def _int64(text: str) -> int:
    """A cursor's number, within what both stores keep (signed 64-bit): past it, SQLite
    refused the query (exit 1, naming no value) and PostgreSQL read the cursor as no cursor
    at all and listed every entry."""
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(text)
    return value


class AuditPage(BaseModel):
    """A page of one source, newest first. `next_before`: the `before` of the next page,
    None when this one reached the end. `recorded` is False when the registry has no audit
    table (lash wrote it, or lashtui never acted on it): nothing was ever recorded there."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    source: AuditSource
    entries: list[OperatorAction]
    next_before: str | None = None
    recorded: bool = True
