"""The worker's view of the queue: one light row per non-terminal process.

A drive runs every renew interval over every running row; decoding each full record for it
would cost more than everything else the worker does. The work item carries just what the
drive decides on, and the recovery task re-reads the full row after claiming anyway.
"""

from dataclasses import dataclass

from lashtui.model.event import ProcessEvent
from lashtui.model.input import RecoveryDisposition
from lashtui.model.lease import ProcessLease, ProcessLeaseClaimOutcome
from lashtui.model.record import ProcessRecord
from lashtui.model.wire import WireModel, omitted


class ProcessWorkItem(WireModel):
    process_id: str
    disposition: RecoveryDisposition
    abandon_requested: bool = False
    lease: ProcessLease | None = omitted()
    # The row's record is not JSON the registry can read (its disposition could not be read
    # from it): the worker and the sweep skip it and say so; only an operator ends it.
    undecodable: bool = False


@dataclass(frozen=True)
class ProcessRunClaim:
    """What `claim_process_for_run` found, in one transaction: the claim's outcome and,
    when the lease was acquired, the fresh row (None if it is gone). `started` says the
    row is to run and its first-started fact is in place (recorded by this claim, or
    before it); then `cancel_requested` is the first cancel request in its log, if any.
    `log_full_at`, for a row it would run whose event log ends at the largest sequence a
    registry stores (`EventLogFull`): that last sequence. No run of it could record its
    terminal, so it is not to run: `started` is False and no first-started fact was
    written; the lease was taken, for the worker to give back."""

    outcome: ProcessLeaseClaimOutcome
    record: ProcessRecord | None = None
    started: bool = False
    cancel_requested: ProcessEvent | None = None
    log_full_at: int | None = None
