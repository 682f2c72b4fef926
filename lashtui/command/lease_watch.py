"""What `ls --watch` printed of each row's lease, so that the row is printed again when that
changes though its record did not.

The watch follows the change feed, which is the records' (every save of a record moves its
`change_seq`). A lease lives in its own table: a claim, a renewal, a release or a takeover
writes `process_leases` and leaves the record alone, so the feed never carried them, and a
row's LEASE cell stayed as first printed (a SIGKILLed worker's lease, its countdown running
on, while another worker had claimed the row). So at each wake-up (each commit) the watch
also reads the leases of the live rows it printed, in one read of their lease rows by id
(not their records, not the registry), and prints a row again, read whole, when what its
line says of the lease changed. A lease lapsing changes what every output says (the table's
LEASE cell reads `w-1@host-b:4242 (lapsed 1ms ago)`, `-o wide`'s EXPIRES `lapsed 1s ago`,
and a JSONL line's `lease_expires_at_ms` is then past): with no commit nothing woke the
watch, and the table and JSONL printed nothing when a holder's lease ran out, only `-o wide`
did. So the watch also wakes, on a timer set at the soonest printed expiry not yet passed
(not by polling), and prints each row whose lease has lapsed since; a renewal the table does
not print moves that timer to the new expiry.

What a line says of a lease, and so what prints it again, depends on the output: the
table's LEASE cell names the holder as the dashboard does (output.py `lease_cell`: a
recovery attempt as its worker) and says whether its lease has lapsed or does not decode
(a renewal changes nothing it shows; printing the row at each renewal would repeat every
running row every few seconds); `-o wide` shows the holder, the expiry and whether it has
passed; JSONL holds the holder, the expiry and why a lease does not decode, and is printed
again when the expiry passes. A row is watched from when it is printed live until it is
printed terminal (a terminal row takes no lease) or is found gone. A row that matches the
filters but was not printed (past `--limit`, or never changed since) is not watched: the
lease table has no change feed, so watching it would mean reading the leases of every
matching row at each wake-up, the scan `--limit` bounds; its first record change prints it,
and from then on its lease is watched too.
"""

from __future__ import annotations

from typing import Any

from lashtui.model import LeaseOwnerIdentity, ObservedProcess, ProcessLease
from lashtui.model.owner import owner

# What a line says of a lease (see `said`); compared, never read.
Said = tuple[object, ...]


def said(
    holder: LeaseOwnerIdentity | None,
    expires: int | None,
    undecodable: str | None,
    output: str,
    now_ms: int,
) -> Said:
    """What a line printed now in `output` (table, wide or jsonl) says of this lease."""
    lapsed = expires is not None and expires <= now_ms  # (`format.countdown`: equal is lapsed)
    if output == "table":  # the holder as named there (`owner`), not its stored id
        return (owner(holder) if holder is not None else None, lapsed, undecodable is not None)
    return (holder, expires, undecodable, lapsed)


def said_of_row(process: ObservedProcess, output: str, now_ms: int) -> Said:
    return said(
        process.lease_holder,
        process.lease_expires_at_ms,
        process.lease_undecodable,
        output,
        now_ms,
    )


def said_of_lease(lease: ProcessLease | None, output: str, now_ms: int) -> Said:
    """As `said_of_row` says it of the row this lease (None: none held) is read into
    (`ObservedProcess.from_record`: a lease that does not decode has no known expiry)."""
    if lease is None:
        return said(None, None, None, output, now_ms)
    expires = lease.expires_at_epoch_ms if lease.undecodable is None else None
    return said(lease.owner, expires, lease.undecodable, output, now_ms)


class LeaseWatch:
    """The leases of the live rows `ls --watch` printed, as their lines said them."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.shown: dict[str, Said] = {}
        # The expiries of the leases printed as not yet lapsed (or renewed since: `changed`),
        # to wake when they pass.
        self.expiries: dict[str, int] = {}

    def printed(self, process: ObservedProcess, now_ms: int) -> None:
        """`process` was printed at `now_ms`."""
        process_id = process.process_id
        self.expiries.pop(process_id, None)
        if process.terminal:
            self.shown.pop(process_id, None)
            return
        self.shown[process_id] = said_of_row(process, self.output, now_ms)
        self._expires(process_id, process.lease_expires_at_ms, now_ms)

    def _expires(self, process_id: str, expires: int | None, now_ms: int) -> None:
        """Wake when `expires` passes, if it has not yet."""
        if expires is not None and expires > now_ms:
            self.expiries[process_id] = expires
        else:
            self.expiries.pop(process_id, None)

    def next_lapse_s(self, now_ms: int) -> float | None:
        """Seconds until the next printed expiry passes (it has at one millisecond past
        it); None when no printed line waits for one."""
        if not self.expiries:
            return None
        return max(0, min(self.expiries.values()) + 1 - now_ms) / 1000

    async def changed(self, processes: Any) -> list[ObservedProcess]:
        """The watched rows whose lease is no longer as printed, each read now, by id."""
        if not self.shown:
            return []
        now = processes.clock.now_ms()
        leases = await processes.registry.get_process_leases(list(self.shown))
        moved = []
        for process_id, was in self.shown.items():
            lease = leases.get(process_id)
            if said_of_lease(lease, self.output, now) != was:
                moved.append(process_id)
            elif lease is not None and lease.undecodable is None:
                # A renewal the line does not show (the table's): the timer follows it, or it
                # woke at the old expiry, found nothing lapsed, and woke again at once.
                self._expires(process_id, lease.expires_at_epoch_ms, now)
        rows = []
        for process_id in moved:
            process = await processes.get(process_id)
            if process is None:  # pruned (or deleted) since it was printed
                self.shown.pop(process_id, None)
                self.expiries.pop(process_id, None)
            else:
                rows.append(process)
        return rows
