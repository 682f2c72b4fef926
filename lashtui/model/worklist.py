"""The worker's view of the queue: one light row per non-terminal process.

A drive runs every renew interval over every running row; decoding each full record for it
would cost more than everything else the worker does. The work item carries just what the
drive decides on, and the recovery task re-reads the full row after claiming anyway.
"""

from __future__ import annotations

from lashtui.model.input import RecoveryDisposition
from lashtui.model.lease import ProcessLease
from lashtui.model.wire import WireModel, omitted


class ProcessWorkItem(WireModel):
    process_id: str
    disposition: RecoveryDisposition
    abandon_requested: bool = False
    lease: ProcessLease | None = omitted()
