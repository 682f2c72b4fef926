"""What the embedded worker warned of, for the Health view.

The worker says what goes wrong (a lease it could not renew, a drive that failed, a run
whose lease was lost) on the `lashtui.worker` logger, which a headless worker prints. Under
the dashboard nothing prints it (the terminal is the app's), so the Health view said `state
running` and showed no problem while another program held the registry's write lock and the
worker could write nothing. This handler, on that logger while the embedded worker runs,
counts the warnings and keeps the last, with its time by the dashboard's clock.
"""

from __future__ import annotations

import logging

from lashtui.clock import Clock
from lashtui.worker.runtime import log


class WorkerProblems(logging.Handler):
    def __init__(self, clock: Clock) -> None:
        super().__init__(logging.WARNING)
        self.clock = clock
        self.count = 0
        self.last: tuple[int, str] | None = None  # (clock ms, the message)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # (a message that cannot be formatted is still a problem)
            message = str(record.msg)
        self.count += 1
        self.last = (self.clock.now_ms(), message)

    def attach(self) -> None:
        log.addHandler(self)

    def detach(self) -> None:
        log.removeHandler(self)
