"""The base of `ProcessWorker`'s parts, each a mixin in a module of its own (start.py,
batch.py, follow.py, stop.py): it declares, for the type checker only, the state that
`ProcessWorker.__init__` sets (worker.py says what each holds) and the worker's methods the
parts call across modules. At runtime it is an empty class, adding nothing to the worker.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lashtui.registry import ProcessRegistry
from lashtui.worker.runtime import Verdict, WorkerRuntime
from lashtui.worker.wake import CommitWake

if TYPE_CHECKING:
    from lashtui.errors import LashError
    from lashtui.model import (
        LeaseOwnerIdentity,
        LeaseTimings,
        ProcessRecord,
        ProcessRunClaim,
        ProcessWorkItem,
    )
    from lashtui.worker.runtime import StartSlot, WorkerStats


class WorkerPart:
    """What a part of `ProcessWorker` may use of the worker (see the module docstring)."""

    registry: ProcessRegistry
    stop_grace_s: float
    _rt: WorkerRuntime
    _claiming: bool
    _tasks: dict[str, asyncio.Task[Verdict | None]]
    _skipped: set[str]
    _batches: asyncio.Task[None] | None
    _batch_more: bool
    _extra: set[asyncio.Task[Verdict | None]]
    _batch_runs: set[asyncio.Task[Verdict | None]]
    _full_batches: int
    _saturation: asyncio.Event
    _wake: CommitWake | None
    _stops: int
    _orphans: set[asyncio.Task[None]]
    _gave_up: asyncio.Event

    if TYPE_CHECKING:

        @property
        def owner(self) -> LeaseOwnerIdentity: ...

        @property
        def timings(self) -> LeaseTimings: ...

        @property
        def stats(self) -> WorkerStats: ...

        @property
        def in_flight(self) -> list[str]: ...

        def stop_claiming(self) -> None: ...

        async def drive_pending_processes(
            self, *, run: bool = True, count_every_row: bool = False
        ) -> list[asyncio.Task[Verdict | None]]: ...

        def drive_started(
            self, record: ProcessRecord
        ) -> asyncio.Task[Verdict | None] | None: ...

        def _wants(
            self, item: ProcessWorkItem, now: int, count_passed: bool = False
        ) -> bool: ...

        async def _say_skipped(self) -> None: ...

        def _spawn(
            self, item: ProcessWorkItem, run: bool = True
        ) -> asyncio.Task[Verdict | None]: ...

        def _failed(self, doing: str, error: LashError) -> None: ...

        def _hand_to_batches(
            self, items: list[ProcessWorkItem], now: int
        ) -> list[ProcessWorkItem]: ...

        def _batching(self) -> bool: ...

        async def _claim_batches(self) -> None: ...

        def _spawn_claimed(
            self, process_id: str, claimed: ProcessRunClaim | None, slot: StartSlot
        ) -> None: ...

        async def stop(self, grace_s: float | None = None) -> list[str]: ...
