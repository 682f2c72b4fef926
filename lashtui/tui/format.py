"""Pure formatting for the dashboard: badges, ages, countdowns, owners. No Textual here, so
every rule is unit-tested without an app, and every time is relative to an injected now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from lashtui.model import (
    NO_STATE,
    AbandonedOutput,
    AbandonWriter,
    CancelledOutput,
    FailureOutput,
    ObservedProcess,
    ObservedProcessEvent,
    ProcessEvent,
    lease_lapsed,
    process_state,
    silent_not_dead,
)
from lashtui.model.limit import MAX_NAME_CHARS
from lashtui.model.owner import owner as owner  # (engine-side: the actions' sentences use it)
from lashtui.untrusted import json_preview, shown, utc_text, visible_clipped, visible_json

BADGES = {
    "running": "● running",
    "waiting": "◐ waiting",
    "completed": "✓ completed",
    "failed": "✗ failed",
    "cancelled": "⊘ cancelled",
    "abandoned": "☠ abandoned",
}


# A row whose status column holds no state (`ObservedProcess.no_state`): the name `state`
# gives it (a mark's: lashtui/tui/theme.py `MARKS`) and its badge. Its stand-in's state is a
# placeholder, so no state's badge would be true of it.
NOSTATE = "nostate"
NO_STATE_BADGE = "? no state"


def count_label(name: str) -> str:
    """A state's badge, or what the rows counted under `NO_STATE` are."""
    return BADGES.get(name) or "? status column holds no state"


def state(process: ObservedProcess) -> str:
    """running, waiting, or the terminal state, as a plain name (a `BADGES` key); `NOSTATE`
    for a row whose status column holds none."""
    return NOSTATE if process.no_state else process_state(process).value


def badge_of(name: str) -> str:
    """The badge of a name `state` gives."""
    return BADGES.get(name, NO_STATE_BADGE)


# Said after the state of a live row with a pending cancel request
# (`ObservedProcess.cancel_requested`): it looked untouched until it ended.
CANCEL_ASKED = "cancel requested"
CANCEL_REQUESTED = f" · {CANCEL_ASKED}"


def badge(process: ObservedProcess) -> str:
    """The state's badge, and on a live row with a pending cancel request, that one is."""
    shown = badge_of(state(process))
    return f"{shown}{CANCEL_REQUESTED}" if process.cancel_requested else shown


# Who wrote `abandoned`, as the operator reads it (the evidence records only the writer).
ABANDONED_BY = {
    AbandonWriter.OWNER_DRAIN: "owner drained without an outcome",
    AbandonWriter.SWEEP: "owner provably dead",
    AbandonWriter.RECONCILED_REQUEST: "abandon request, lease lapsed",
}
# A silent row's why, by what the registry holds of its lease: a holder on record past its
# expiry (it lapsed), or none (its holder released it without an outcome, as an orderly stop
# that does not drain does: "lease lapsed" would make up an expiry that never came).
SILENT = "silent, not dead: lease lapsed"
SILENT_NO_LEASE = "silent, not dead: no lease held"
SILENT_WHYS = (SILENT, SILENT_NO_LEASE)
UNDECODABLE = "record could not be decoded"
# An undecodable row's input or output, which its stand-in only holds a placeholder for.
UNKNOWN_VALUE = "unknown: it is in the record that could not be decoded"


def payload(event: ObservedProcessEvent, width: int | None) -> str:
    """An event's payload as a timeline row, `lashtui events` and `--follow` show it: its
    JSON's first `width` characters (None: all of it), or, for an event whose stored JSON
    does not decode, `undecodable: <why>`: its payload was never read, and `null` would
    say that null was stored."""
    why = event.undecodable
    if why is not None:
        said = f"undecodable: {why}"
        return shown(said) if width is None else visible_clipped(said, width)
    return visible_json(event.payload) if width is None else json_preview(event.payload, width)


def events_left_out(count: int) -> str:
    """What a reader of a log says of the events no read returns (`Processes.events_left_out`):
    that what it shows is not the whole log, and why."""
    if count == 1:
        return (
            "1 event is not shown: another program stored its sequence as no whole number "
            "above 0, so it has no place in the log"
        )
    return (
        f"{count:,} events are not shown: another program stored their sequences as no whole "
        "number above 0, so they have no place in the log"
    )


def event_type(event: ObservedProcessEvent, *, wide: bool = False) -> str:
    """An event's type: cut to the longest a write allows (`MAX_NAME_CHARS`: an event that
    does not decode shows its column as another program stored it, any length), or with
    `wide` up to `SHOWN_CHARS`, the rest counted."""
    kind = event.event_type
    return shown(kind) if wide else visible_clipped(kind, MAX_NAME_CHARS)


def why(process: ObservedProcess, now_ms: int) -> str:
    """Why a process ended, from its own record: a failure's `code: message`, a cancel's
    reason, who abandoned it (and the operator's request and reason, when one was
    honoured); for live work, that it is silent, not dead; else empty. Stored text: the
    caller shows it through lashtui/tui/text.py. For an undecodable row, that its record
    could not be decoded: the stand-in's output is a placeholder (registry/sql/decoded_row.py), and
    "abandon request, lease lapsed" or a success would be made up."""
    if process.undecodable is not None:
        return f"{UNDECODABLE}: {process.undecodable}"
    if process.lease_undecodable is not None:
        return f"lease could not be decoded: {process.lease_undecodable}"
    output = process.status.await_output
    if isinstance(output, FailureOutput):
        return f"{output.code}: {output.message}"
    if isinstance(output, CancelledOutput):
        return output.message
    if isinstance(output, AbandonedOutput):
        by = ABANDONED_BY[output.evidence.writer]
        if honoured(process) and process.disposition.value == "externally_owned":
            by = "abandon request honoured (externally owned: it had no lease)"
        request = process.abandon_request
        if request is None:
            return by
        reason = f": {request.reason}" if request.reason else ""
        return f"{by} · requested by {request.requested_by}{reason}"
    if silent_not_dead(process, now_ms):
        return SILENT if lease_lapsed(process) else SILENT_NO_LEASE
    return ""


def silent_sentence(process: ObservedProcess) -> str:
    """A silent, not dead row as the detail view and `lashtui show` say it."""
    if lease_lapsed(process):
        return "silent, not dead: started owner_bound work whose lease has lapsed"
    return "silent, not dead: started owner_bound work that holds no lease"


def honoured(process: ObservedProcess) -> bool:
    """Whether the row was abandoned for an operator's request (the sweep reconciled it)."""
    output = process.status.await_output
    return (
        isinstance(output, AbandonedOutput)
        and output.evidence.writer is AbandonWriter.RECONCILED_REQUEST
    )


def abandon_column(process: ObservedProcess) -> str:
    """The ABANDON column: whether an abandon request is pending, honoured (the row was
    abandoned for it), or stands on a row that ended another way. It said `requested` of
    a request long honoured."""
    if process.abandon_request is None:
        return "-"
    if not process.terminal:
        return "requested"
    return "honoured" if honoured(process) else "not honoured"


def duration(ms: int) -> str:
    """A compact, human duration: `850ms`, `42s`, `3m05s`, `2h14m`, `3d04h`."""
    ms = max(ms, 0)
    if ms < 1_000:
        return f"{ms}ms"
    seconds = ms // 1_000
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def ago(epoch_ms: int, now_ms: int) -> str:
    """`3m05s ago`; a time after now (another host's clock ahead of this one's, or a time
    another program stored) is `3m05s from now`, never a made-up `0ms ago`."""
    if epoch_ms > now_ms:
        return f"{duration(epoch_ms - now_ms)} from now"
    return f"{duration(now_ms - epoch_ms)} ago"


def age(epoch_ms: int, now_ms: int) -> str:
    """How long ago `epoch_ms` was, as the AGE columns show it (`3m05s`); a time after now
    is `3m05s from now`, as `ago` says it (the AGE of a row created by a host whose clock
    runs ahead read `0ms`, beside its UPDATED's `... from now`)."""
    if epoch_ms > now_ms:
        return f"{duration(epoch_ms - now_ms)} from now"
    return duration(now_ms - epoch_ms)


def ago_or_unknown(epoch_ms: int | None, now_ms: int) -> str:
    return "unknown" if epoch_ms is None else ago(epoch_ms, now_ms)


# An event's time, which a stand-in whose time column holds no whole number does not know
# (`time_unknown`: its `occurred_at_ms` is a placeholder, 0, which would read as 1970).
TIME_UNKNOWN = "time unknown"


def event_ago(event: ProcessEvent | ObservedProcessEvent, now_ms: int) -> str:
    return TIME_UNKNOWN if event.time_unknown else ago(event.occurred_at_ms, now_ms)


def event_timestamp(event: ProcessEvent | ObservedProcessEvent) -> str:
    return TIME_UNKNOWN if event.time_unknown else timestamp(event.occurred_at_ms)


def countdown(expires_at_ms: int | None, now_ms: int) -> str:
    """Time left on a lease, or how long ago it lapsed (an expiry equal to now has lapsed):
    `3s left`, `lapsed 1m29s ago`. Every view that shows a lease's expiry says it with this
    (the Processes, Leases and Abandon requests views, the detail, `ls` and `show`): the
    silent list said `lapsed 1m29s ago` of the lease the other views called `lapsed 1m29s`."""
    if expires_at_ms is None:
        return "-"
    if expires_at_ms > now_ms:
        return f"{duration(expires_at_ms - now_ms)} left"
    return f"lapsed {duration(now_ms - expires_at_ms)} ago"


def lease(process: ObservedProcess, now_ms: int) -> str:
    if process.lease_holder is None:
        return "-"
    return f"{owner(process.lease_holder)} ({lease_left(process, now_ms)})"


def lease_left(process: ObservedProcess, now_ms: int) -> str:
    """A lease's countdown alone (the Processes view's LEASE column; HOLDER says whose):
    `8m30s left`, `lapsed 1m29s ago`, `could not be decoded`, or `-` for none held."""
    if process.lease_holder is None:
        return "-"
    if process.lease_undecodable is not None:  # its expiry is not known
        return "could not be decoded"
    return countdown(process.lease_expires_at_ms, now_ms)


# --- the Leases, Abandon requests and Health views


def clip(text: str, width: int) -> str:
    """At most `width` characters; a cut is marked with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def two_lines(sentence: str) -> list[str]:
    """A `verdict: why` sentence broken after its first colon, for a two-line cell
    (`text.joined`); a sentence without one stays on one line."""
    head, sep, tail = sentence.partition(": ")
    return [f"{head}:", tail] if sep else [sentence]


def first_few(items: Sequence[str], limit: int = 10) -> str:
    """`a, b, c`, or the first `limit` of them and `and N more`; `none` for nothing."""
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest:,} more" if rest > 0 else shown


def tally(pairs: Iterable[tuple[str, int]]) -> list[str]:
    """One `name  count` line per pair, the counts aligned in a column."""
    rows = list(pairs)
    width = max((len(name) for name, _ in rows), default=0)
    return [f"{name:<{width}}  {count:>5}" for name, count in rows]


def state_counts(counts: Mapping[str, int]) -> list[str]:
    """The six states with their badges, in lifecycle order, zeros included so the panel
    keeps its shape as rows come and go; then the rows with no state, if any."""
    names = [*BADGES, NO_STATE] if counts.get(NO_STATE) else BADGES
    return tally((count_label(name), counts.get(name, 0)) for name in names)


LIVE_WITHIN_MS = 5_000


def last_change(last_change_ms: int | None, now_ms: int) -> str:
    """`live` while a change arrived in the last 5 s, else how long the feed has been quiet."""
    if last_change_ms is None:
        return "no change seen yet"
    quiet = now_ms - last_change_ms
    return "live" if quiet <= LIVE_WITHIN_MS else f"stale for {duration(quiet)}"


def latency(ms: float | None) -> str:
    """A read's wall time: one decimal under 10 ms, whole milliseconds above. A point read
    answered on the loop's own thread can take well under 0.1 ms: "<0.1 ms", not "0.0"."""
    if ms is None:
        return "-"
    if ms < 0.1:
        return "<0.1 ms"
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def timestamp(epoch_ms: int) -> str:
    """An absolute time in UTC with milliseconds: `2026-05-28 14:06:40.000Z`."""
    return utc_text(epoch_ms, "%Y-%m-%d %H:%M:%S.%fZ")
