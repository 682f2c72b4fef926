"""Pure formatting for the dashboard: badges, ages, countdowns, owners. No Textual here, so
every rule is unit-tested without an app, and every time is relative to an injected now."""

from __future__ import annotations

from lashtui.model import LeaseOwnerIdentity, LocalProcessLiveness, ObservedProcess

BADGES = {
    "running": "● running",
    "waiting": "◐ waiting",
    "completed": "✓ completed",
    "failed": "✗ failed",
    "cancelled": "⊘ cancelled",
    "abandoned": "☠ abandoned",
}


def state(process: ObservedProcess) -> str:
    """running, waiting, or the terminal state: waiting is a running row parked on a wait."""
    if not process.terminal and process.wait is not None:
        return "waiting"
    return process.lifecycle.value


def badge(process: ObservedProcess) -> str:
    return BADGES[state(process)]


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
    return f"{duration(now_ms - epoch_ms)} ago"


def countdown(expires_at_ms: int | None, now_ms: int) -> str:
    """Time left on a lease, or how long ago it lapsed (an expiry equal to now has lapsed)."""
    if expires_at_ms is None:
        return "-"
    if expires_at_ms > now_ms:
        return f"{duration(expires_at_ms - now_ms)} left"
    return f"lapsed {duration(now_ms - expires_at_ms)}"


def owner(identity: LeaseOwnerIdentity | None) -> str:
    """An owner as an operator reads it: `w-1@host-a:4242`, recovery attempts shortened."""
    if identity is None:
        return "-"
    name = identity.owner_id.split(":recovery:")[0]
    liveness = identity.liveness
    if not isinstance(liveness, LocalProcessLiveness):
        return name
    where = name if name.endswith(f"@{liveness.host_id}") else f"{name}@{liveness.host_id}"
    return f"{where}:{liveness.pid}"


def lease(process: ObservedProcess, now_ms: int) -> str:
    if process.lease_holder is None:
        return "-"
    return f"{owner(process.lease_holder)} ({countdown(process.lease_expires_at_ms, now_ms)})"


def silent_not_dead(process: ObservedProcess, now_ms: int) -> bool:
    """Started owner_bound work whose lease has lapsed: the one genuinely ambiguous state
    (lash docs, "detecting a stuck process"). Only an operator can decide it."""
    expires = process.lease_expires_at_ms
    return (
        not process.terminal
        and process.disposition.value == "owner_bound"
        and process.first_started is not None
        and (expires is None or expires <= now_ms)
    )
