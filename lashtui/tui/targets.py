"""What an action is on: the processes it applies to, and the marked ones it leaves out and
why (gone from the registry, or ones it does not apply to: an ended row for a cancel, a
live one for a re-run). The question before an action and its result both name them from
here (`describe`, `not_applied`), so they say the same; `unavailable` is the one sentence
for why an action is not offered for a row. Pure: no screen, no registry."""

from __future__ import annotations

from collections.abc import Sequence

from lashtui.model import ObservedProcess
from lashtui.tui import format as fmt
from lashtui.tui import undecodable

TARGETED = ("cancel", "signal", "abandon", "transfer", "rerun")


class Targets(list[ObservedProcess]):
    """The processes an action is on, as read just before it is asked, and what was marked
    but left out: `gone`, the marked ids no longer in the registry (another program pruned
    or deleted them), and `left`, the marked processes the action does not apply to (an
    ended row for a cancel, a signal or an abandon request, one that declares no signals for
    a signal; `left_out_why`). They travel with the targets so that the question and the
    result both say so: a bulk cancel with one of three marked rows gone asked `Cancel 2
    processes: a, b?` and reported `2 requested`, nothing said of the third; with 5 of 15
    marked rows ended it asked `Cancel 15 processes` and reported the 5 as refused, an
    error."""

    def __init__(
        self,
        processes: Sequence[ObservedProcess],
        gone: Sequence[str] = (),
        left: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(processes)
        self.gone = list(gone)
        self.left = list(left)  # (process id, why: a key of LEFT_OUT_WHY)


def gone_of(targets: Sequence[ObservedProcess]) -> list[str]:
    return targets.gone if isinstance(targets, Targets) else []


def left_out(gone: Sequence[str]) -> str:
    """`1 marked process is gone from the registry and left out: c`."""
    if len(gone) == 1:
        return f"1 marked process is gone from the registry and left out: {gone[0]}"
    return (
        f"{len(gone):,} marked processes are gone from the registry and left out: "
        f"{fmt.first_few(gone, 5)}"
    )


# Why a marked process is left out of an action it does not apply to: (one, many).
LEFT_OUT_WHY = {
    "ended": ("has already ended", "have already ended"),
    "live": ("has not ended yet", "have not ended yet"),  # (a re-run)
    "undecodable": ("cannot be decoded", "cannot be decoded"),  # (only `E` ends them)
    "no signals": ("declares no signals", "declare no signals"),  # (a signal)
    # (a blob's or a NULL's: nothing here names it, `E` neither; registry/sql/blob_id.py)
    "not text": ("has an id that is not text", "have ids that are not text"),
}


def left_out_why(action: str, process: ObservedProcess) -> str | None:
    """Why `action` does not apply to a marked process (a key of `LEFT_OUT_WHY`), or None."""
    if unavailable(action, process) is None:
        return None
    if undecodable.not_text(process):
        return "not text"
    if process.undecodable is not None:
        return "undecodable"
    if action == "signal" and not process.terminal:
        return "no signals"
    return "live" if action == "rerun" else "ended"


def not_applied(targets: Sequence[ObservedProcess]) -> list[str]:
    """A sentence for each reason marked processes were left out, gone ones first:
    `5 marked processes have already ended and are left out: c, d, e, f, g`."""
    lines = [left_out(gone)] if (gone := gone_of(targets)) else []
    left = targets.left if isinstance(targets, Targets) else []
    for why, (one, many) in LEFT_OUT_WHY.items():
        ids = [pid for pid, reason in left if reason == why]
        if len(ids) == 1:
            lines.append(f"1 marked process {one} and is left out: {ids[0]}")
        elif ids:
            lines.append(
                f"{len(ids):,} marked processes {many} and are left out: {fmt.first_few(ids, 5)}"
            )
    return lines


def describe(targets: Sequence[ObservedProcess]) -> str:
    """`process a (label)` for one target, `3 processes: a, b, c` for a few, and the first
    five then `and N more` for many; then the marked ones left out, if any."""
    if len(targets) == 1:
        named = f"process {targets[0].process_id} ({targets[0].label})"
    else:
        named = f"{len(targets):,} processes: {fmt.first_few([t.process_id for t in targets], 5)}"
    notes = not_applied(targets)
    return f"{named} ({'; '.join(notes)})" if notes else named


def unavailable(action: str, process: ObservedProcess) -> str | None:
    """Why `action` is not offered for this row, in one sentence, or None if it is."""
    if action == "end_undecodable":  # (offered for an undecodable row something can end)
        if process.undecodable is None or not undecodable.unendable(process):
            return None
        return undecodable.not_offered("end undecodable", process)
    if action in TARGETED and process.undecodable is not None:
        return undecodable.not_offered(action, process)
    if action == "rerun":
        if process.terminal:
            return None
        return (
            f"rerun is not offered for process {process.process_id}: it is still "
            f"{process.lifecycle.value}; only an ended process can be run again"
        )
    if action not in ("cancel", "signal", "abandon"):
        return None
    if process.terminal:
        state = process.lifecycle.value
        return (
            f"{action} is not offered for process {process.process_id}: it has already ended "
            f"({state})"
        )
    if action == "signal" and process.signals == ():
        # Said at the key: the form asked for a name and a payload, then the registry
        # refused it ("declares no signal `x`, so nothing was sent (it declares none)").
        return (
            f"signal is not offered for process {process.process_id}: it declares no "
            "signals, so none can be sent to it"
        )
    return None
