"""The crash lab: worker OS processes (`python -m tests.worker.worker_child`) on one registry,
a file where their engines record every execution, gates that hold a run until the test opens
them, and the small reads the crash and fleet tests check outcomes with
(tests/worker/test_crash.py, test_fleet.py).

Nothing here sleeps to wait for an outcome: `Lab.until` polls the registry, the record file,
or a child's published counters, and its timeout is only a guard.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lashtui.clock import SystemClock
from lashtui.model import (
    TERMINAL_EVENT_TYPES,
    Engine,
    LeaseOwnerIdentity,
    LocalProcessLiveness,
    ProcessEvent,
    ProcessExecutionEnvSpec,
    ProcessLease,
    ProcessRecord,
    RecoveryDisposition,
)
from lashtui.registry import ProcessRegistry, open_registry
from tests.builders import registration

ROOT = Path(__file__).resolve().parents[2]
TTL_MS = 1_500
RENEW_MS = 500
POLL_S = 0.02
# A timeout guard only: every wait below ends on an observed outcome. Generous, since a
# worker child starting on a loaded machine took over 20 s to import and drive (the guard
# was 20 s; "outlives its lease" on PostgreSQL timed out waiting for W2's first drives in
# 2 of 3 runs beside three busy loops).
GUARD_S = 120.0


def now_ms() -> int:
    return SystemClock().now_ms()


@dataclass
class Child:
    """One worker OS process."""

    proc: asyncio.subprocess.Process
    owner_id: str
    host_id: str
    stats_path: Path
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stats(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.stats_path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def verdicts(self) -> Counter[str]:
        return Counter(self.stats().get("verdicts", {}))

    def runs(self) -> Counter[str]:
        return Counter(self.stats().get("runs", {}))

    def owner(self) -> LeaseOwnerIdentity:
        return LeaseOwnerIdentity.model_validate(self.stats()["owner"])

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    async def kill(self) -> int:
        """SIGKILL and reap; the wall-clock ms just before the signal."""
        killed_at = now_ms()
        os.kill(self.pid, signal.SIGKILL)
        await self.proc.wait()
        return killed_at


def _log_file(path: Path) -> IO[bytes]:
    return open(path, "wb")  # a local tmp file the child writes its stderr to


@dataclass
class Lab:
    """A registry, a record file, a gate directory and the workers on them."""

    root: Path
    db: str  # the registry's target: a SQLite path or a PostgreSQL URL
    children: list[Child] = field(default_factory=list)

    @property
    def record_path(self) -> Path:
        return self.root / "executions.log"

    @property
    def gate_dir(self) -> Path:
        return self.root / "gates"

    async def spawn(
        self,
        owner_id: str,
        host_id: str,
        *,
        until_empty: bool = False,
        ttl_ms: int = TTL_MS,
        renew_ms: int = RENEW_MS,
    ) -> Child:
        index = len(self.children)
        stats_path = self.root / f"stats-{index}-{owner_id}.json"
        stderr_path = self.root / f"stderr-{index}-{owner_id}.log"
        self.gate_dir.mkdir(exist_ok=True)
        args = [
            "--db", self.db,
            "--owner-id", owner_id,
            "--host-id", host_id,
            "--record", str(self.record_path),
            "--stats", str(stats_path),
            "--ttl-ms", str(ttl_ms),
            "--renew-ms", str(renew_ms),
            "--gate-dir", str(self.gate_dir),
        ]  # fmt: skip
        if until_empty:
            args.append("--until-empty")
        with _log_file(stderr_path) as stderr:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.worker.worker_child",
                *args,
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
            )
        child = Child(proc, owner_id, host_id, stats_path, stderr_path)
        self.children.append(child)
        return child

    def records(self) -> list[tuple[str, int]]:
        """Every recorded execution, in order: (process id, os pid)."""
        if not self.record_path.exists():
            return []
        lines = self.record_path.read_text().splitlines()
        return [(pid, int(ospid)) for pid, ospid in (line.split(" ") for line in lines)]

    def executions_of(self, process_id: str) -> list[int]:
        return [ospid for pid, ospid in self.records() if pid == process_id]

    def done(self) -> list[tuple[str, int, int]]:
        path = self.gate_dir / "done"
        if not path.exists():
            return []
        return [
            (pid, int(ospid), int(n))
            for pid, ospid, n in (line.split(" ") for line in path.read_text().splitlines())
        ]

    def open_gate(self, process_id: str, ordinal: int) -> None:
        (self.gate_dir / f"{process_id}.{ordinal}").touch()

    def diagnostics(self) -> str:
        parts = []
        for child in self.children:
            stats = child.stats()
            stats["in_flight"] = len(stats.get("in_flight", []))
            parts.append(
                f"--- {child.owner_id} pid {child.pid} rc {child.proc.returncode} "
                f"stats {stats}\n{child.stderr()[-1500:]}"
            )
        return "\n".join(parts)

    async def until(
        self,
        condition: Callable[[], Any],
        what: str,
        guard_s: float = GUARD_S,
    ) -> Any:
        """Poll `condition` until it returns something truthy, and return that."""
        deadline = time.monotonic() + guard_s
        while True:
            value = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {guard_s}s waiting for {what}\n{self.diagnostics()}"
                )
            await asyncio.sleep(POLL_S)

    @classmethod
    @asynccontextmanager
    async def running(cls, root: Path, db: str) -> AsyncIterator[Lab]:
        """A lab at `root` on the registry `db`, every worker killed when the block ends."""
        lab = cls(root, db)
        try:
            yield lab
        finally:
            await lab.close()

    @asynccontextmanager
    async def registry(self) -> AsyncIterator[ProcessRegistry]:
        """The test's own handle on the lab's registry (real time, like the workers')."""
        async with open_registry(self.db, clock=SystemClock()) as opened:
            yield opened

    async def close(self) -> None:
        for child in self.children:
            if child.proc.returncode is None:
                try:
                    os.kill(child.pid, signal.SIGCONT)
                    os.kill(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                await child.proc.wait()


async def register(
    registry: ProcessRegistry,
    process_id: str,
    kind: str,
    disposition: RecoveryDisposition,
    env_ref: str | None = None,
) -> ProcessRecord:
    if env_ref is None:
        env_ref = await registry.put_process_execution_env(ProcessExecutionEnvSpec())
    return await registry.register_process(
        registration(process_id, Engine(kind=kind, payload={}), disposition, env_ref=env_ref)
    )


async def get(registry: ProcessRegistry, process_id: str) -> ProcessRecord:
    record = await registry.get_process(process_id)
    assert record is not None, process_id
    return record


async def terminal_events(registry: ProcessRegistry, process_id: str) -> list[ProcessEvent]:
    events = await registry.events_after(process_id, 0)
    return [event for event in events if event.event_type in TERMINAL_EVENT_TYPES]


def terminal(
    registry: ProcessRegistry, process_id: str
) -> Callable[[], Awaitable[ProcessRecord | None]]:
    async def check() -> ProcessRecord | None:
        record = await get(registry, process_id)
        return record if record.is_terminal() else None

    return check


def started(registry: ProcessRegistry, *process_ids: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        records = [await get(registry, pid) for pid in process_ids]
        return all(record.first_started is not None for record in records)

    return check


def liveness(owner: LeaseOwnerIdentity) -> LocalProcessLiveness:
    assert isinstance(owner.liveness, LocalProcessLiveness), owner
    return owner.liveness


def held_by(lease: ProcessLease | None, child: Child) -> bool:
    """A lease of one of `child`'s recovery attempts (semantics §7.2)."""
    return (
        lease is not None
        and lease.owner.owner_id.startswith(f"{child.owner_id}:recovery:")
        and liveness(lease.owner).pid == child.pid
    )
