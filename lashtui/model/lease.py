"""Lease owners, their liveness, lease timings and the lease itself (semantics §3.14-§3.16, §6).

A lease is held by a `LeaseOwnerIdentity`. Its `local_process` liveness (host, boot, pid and
the kernel's start time of that pid) is what lets a same-host peer prove a holder dead and
take its work early. Everything else is "unknown, so alive": an opaque identity, another host,
another boot, a /proc entry that can't be read. Proving death reads `/proc`, the one piece of
I/O in the model; it lives here because lash's API puts it on the identity.
"""

import os
import weakref
from typing import Annotated, Any, Literal

from pydantic import Field, model_serializer, model_validator

from lashtui.errors import InvalidRequest
from lashtui.model import limit
from lashtui.model.wire import WireModel, check_extras_size

BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


class OpaqueLiveness(WireModel):
    """Nothing is known about the holder's process: never provably dead."""

    kind: Literal["opaque"] = "opaque"


class LocalProcessLiveness(WireModel):
    """A process on a known host and boot, identified by pid and kernel start time."""

    kind: Literal["local_process"] = "local_process"
    host_id: str
    boot_id: str
    pid: int
    process_start: str


LeaseOwnerLiveness = Annotated[OpaqueLiveness | LocalProcessLiveness, Field(discriminator="kind")]


def read_boot_id() -> str | None:
    try:
        with open(BOOT_ID_PATH, encoding="ascii") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _start_from_stat(stat: str) -> str | None:
    """Field 22 (`starttime`) of a /proc/<pid>/stat text.

    The comm field may contain spaces and parentheses, so fields are counted after the last
    `") "`, where `starttime` is the 20th token.
    """
    _, sep, rest = stat.rpartition(") ")
    tokens = rest.split()
    if not sep or len(tokens) < 20:
        return None
    return tokens[19]


def _read_stat(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def read_process_start(pid: int) -> str | None:
    """The kernel start time of `pid`, or None if it is gone or unreadable."""
    try:
        return _start_from_stat(_read_stat(pid))
    except OSError:
        return None


def _holder_is_gone(pid: int, process_start: str) -> bool:
    """True only on proof: /proc/<pid> does not exist, or it is a different (reused) process."""
    try:
        start = _start_from_stat(_read_stat(pid))
    except FileNotFoundError:
        return True
    except OSError:
        return False  # unreadable for another reason: unknown, so alive
    return start is not None and start != process_start


def liveness_provably_dead(holder: LeaseOwnerLiveness, claimant: LeaseOwnerLiveness) -> bool:
    """`LeaseOwnerIdentity.is_definitely_dead_for_claimant` on the two liveness facts
    alone (what a change-feed read checks, before any identity model is built)."""
    if not isinstance(holder, LocalProcessLiveness):
        return False
    if not isinstance(claimant, LocalProcessLiveness):
        return False
    if holder.host_id != claimant.host_id or holder.boot_id != claimant.boot_id:
        return False
    return _holder_is_gone(holder.pid, holder.process_start)


class LeaseOwnerIdentity(WireModel):
    """Who holds (or held) a lease: a stable owner id, a per-boot incarnation, and liveness."""

    owner_id: str
    incarnation_id: str
    liveness: LeaseOwnerLiveness = Field(default_factory=OpaqueLiveness)

    @classmethod
    def opaque(cls, owner_id: str, incarnation_id: str) -> "LeaseOwnerIdentity":
        return cls(owner_id=owner_id, incarnation_id=incarnation_id)

    @classmethod
    def local_process(
        cls, owner_id: str, incarnation_id: str, host_id: str
    ) -> "LeaseOwnerIdentity":
        """This OS process on this host; opaque when the kernel facts can't be read."""
        boot_id = read_boot_id()
        pid = os.getpid()
        start = read_process_start(pid)
        if boot_id is None or start is None:
            return cls.opaque(owner_id, incarnation_id)
        liveness = LocalProcessLiveness(
            host_id=host_id, boot_id=boot_id, pid=pid, process_start=start
        )
        return cls(owner_id=owner_id, incarnation_id=incarnation_id, liveness=liveness)

    def check_limits(self, *, reserve: int = 0) -> None:
        """Refuse an identity past the limits (lashtui.model.limit) in one sentence: ids at
        most `MAX_ID_CHARS` (less `reserve`, what a worker's recovery attempts add to its
        owner id), the host, boot and start of its liveness at most `MAX_NAME_CHARS`."""
        if _checked(self, reserve):
            return
        limit.check_text("a lease owner id", self.owner_id, limit.MAX_ID_CHARS - reserve)
        limit.check_text("a lease owner's incarnation id", self.incarnation_id, limit.MAX_ID_CHARS)
        liveness = self.liveness
        if isinstance(liveness, LocalProcessLiveness):
            limit.check_text("a lease owner's host id", liveness.host_id, limit.MAX_NAME_CHARS)
            limit.check_text("a lease owner's boot id", liveness.boot_id, limit.MAX_NAME_CHARS)
            start = liveness.process_start
            limit.check_text("a lease owner's process start", start, limit.MAX_NAME_CHARS)
        check_extras_size("a lease owner", self)
        _remember_checked(self, reserve)

    def attempt(self, suffix: str, incarnation_id: str, *, reserve: int) -> "LeaseOwnerIdentity":
        """This owner under `suffix` (appended to its owner id, at most `reserve` chars) and
        a new incarnation id, with the same liveness: a worker's identity for one recovery
        attempt (worker/identity.py). Within the limits by construction once this owner
        passes `check_limits(reserve=reserve)` (checked here, once per owner), so the
        attempt is remembered as checked: the check walks the model for extras (~30-50 us),
        and a worker makes one attempt identity per claim."""
        self.check_limits(reserve=reserve)
        if len(suffix) > reserve or len(incarnation_id) > limit.MAX_ID_CHARS:
            raise InvalidRequest(
                f"a recovery attempt's suffix or incarnation id is too long ({len(suffix)} "
                f"and {len(incarnation_id)} chars)"
            )
        attempt = LeaseOwnerIdentity(
            owner_id=self.owner_id + suffix, incarnation_id=incarnation_id, liveness=self.liveness
        )
        _remember_checked(attempt, 0)
        return attempt

    def same_incarnation(self, other: "LeaseOwnerIdentity") -> bool:
        """Same owner and same incarnation; liveness is not compared."""
        return self.owner_id == other.owner_id and self.incarnation_id == other.incarnation_id

    def is_definitely_dead_for_claimant(self, claimant: "LeaseOwnerIdentity") -> bool:
        """Can `claimant` prove this holder's process is gone? Unknown means alive.

        Both must be local processes on the same host and boot, and /proc must show the
        holder's pid missing or reused. The claimant's own pid is never compared.
        """
        return liveness_provably_dead(self.liveness, claimant.liveness)


def _rust_duration(ms: int) -> str:
    """A millisecond count written the way Rust's `Duration` Debug writes it (`30s`, `60ms`)."""
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    if ms >= 1000:
        return f"{ms / 1000:g}s"
    return f"{ms}ms"


class LeaseTimings(WireModel):
    """How long a lease lives and how often its owner renews it.

    An owner may miss two renewals without losing a live lease, hence ttl >= 3 x renew.
    """

    ttl_ms: int = 30_000
    renew_interval_ms: int = 10_000

    @model_validator(mode="before")
    @classmethod
    def _check_bounds(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        ttl = data.get("ttl_ms", 30_000)
        renew = data.get("renew_interval_ms", 10_000)
        for name, value in (("ttl_ms", ttl), ("renew_interval_ms", renew)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidRequest(
                    f"lease {name} must be a number of milliseconds, got `{value}`"
                )
        if ttl < 1:
            raise InvalidRequest("lease ttl must be at least 1ms")
        if renew < 1:
            raise InvalidRequest("lease renew interval must be at least 1ms")
        if int(ttl) != ttl or int(renew) != renew:
            raise InvalidRequest(
                f"lease timings are whole milliseconds, got ttl {ttl} and renew interval {renew}"
            )
        if ttl < 3 * renew:
            raise InvalidRequest(
                f"lease ttl ({_rust_duration(int(ttl))}) must be at least 3x the renew interval "
                f"({_rust_duration(int(renew))}) so an owner can miss renewals without losing "
                "a live lease"
            )
        return {**data, "ttl_ms": int(ttl), "renew_interval_ms": int(renew)}

    @classmethod
    def from_ttl(cls, ttl_ms: int) -> "LeaseTimings":
        """Renew every third of the TTL (60 ms -> 20 ms)."""
        if ttl_ms < 1:
            raise InvalidRequest("lease ttl must be at least 1ms")
        return cls(ttl_ms=ttl_ms, renew_interval_ms=ttl_ms // 3)


class ProcessLease(WireModel):
    """A claimed lease: the (incarnation, token, fence) triple fences stale writers."""

    schema_version: int = 2
    process_id: str
    owner: LeaseOwnerIdentity
    lease_token: str
    fencing_token: int
    claimed_at_epoch_ms: int
    expires_at_epoch_ms: int
    # Why the stored lease row could not be decoded, on the stand-in a read shows for it
    # (registry/sql/lease_row.py `read_lease`: its owner as stored, its numbers 0, never acted
    # on). Never serialised, like `ProcessRecord.undecodable`.
    undecodable: str | None = Field(default=None, exclude=True)

    def is_live_at(self, now_ms: int) -> bool:
        """Held and unexpired; an expiry equal to now counts as expired."""
        return self.expires_at_epoch_ms > now_ms

    def bars(self, claimant: LeaseOwnerIdentity, now_ms: int) -> bool:
        """Whether a claim by `claimant` at `now_ms` could only come back Busy: the lease is
        live and `claimant` cannot prove its holder dead."""
        return self.is_live_at(now_ms) and not self.owner.is_definitely_dead_for_claimant(
            claimant
        )


class ProcessLeaseClaimOutcome(WireModel):
    """`Acquired(lease)` or `Busy{holder}`; serde's externally tagged enum on the wire."""

    lease: ProcessLease | None = None
    holder: ProcessLease | None = None

    @classmethod
    def acquired_lease(cls, lease: ProcessLease) -> "ProcessLeaseClaimOutcome":
        return cls(lease=lease)

    @classmethod
    def busy(cls, holder: ProcessLease) -> "ProcessLeaseClaimOutcome":
        return cls(holder=holder)

    def acquired(self) -> ProcessLease | None:
        return self.lease

    @property
    def is_busy(self) -> bool:
        return self.holder is not None

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, data: Any) -> Any:
        if isinstance(data, dict) and "acquired" in data:
            return {"lease": data["acquired"]}
        if isinstance(data, dict) and "busy" in data:
            return {"holder": data["busy"]["holder"]}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> "ProcessLeaseClaimOutcome":
        if (self.lease is None) == (self.holder is None):
            raise InvalidRequest("a lease claim outcome is either acquired or busy")
        return self

    @model_serializer(mode="plain")
    def _to_wire(self) -> dict[str, Any]:
        if self.lease is not None:
            return {"acquired": self.lease.model_dump(mode="json")}
        assert self.holder is not None
        return {"busy": {"holder": self.holder.model_dump(mode="json")}}


# Identities whose limits held, by object: a host claims with one identity again and again
# (P2's claim + release spent ~4 us of its ~60 us in these checks). Keyed by `id()` with a
# weak reference to tell a live object from a new one that reuses a dead one's id; frozen,
# an identity that passed always passes.
_CHECKED: dict[int, tuple[weakref.ref[LeaseOwnerIdentity], int]] = {}
_CHECKED_AT_MOST = 1024


def _checked(identity: LeaseOwnerIdentity, reserve: int) -> bool:
    """Whether `identity` (this object) passed `check_limits` with at least `reserve`."""
    entry = _CHECKED.get(id(identity))
    return entry is not None and entry[0]() is identity and entry[1] >= reserve


def _remember_checked(identity: LeaseOwnerIdentity, reserve: int) -> None:
    if len(_CHECKED) >= _CHECKED_AT_MOST:
        _CHECKED.clear()
    entry = _CHECKED.get(id(identity))
    if entry is not None and entry[0]() is identity:
        reserve = max(reserve, entry[1])
    _CHECKED[id(identity)] = (weakref.ref(identity), reserve)
