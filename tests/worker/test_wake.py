"""The worker wakes when another connection commits (issue 18), on each store.

Every worker here has a renew interval of a minute (TTL three minutes), so its periodic
drive cannot explain a run that starts within the test's guard of a few seconds: only the
wake can. The commits come from real OS processes running `lashtui start`, and in one test
the worker is the real `lashtui worker` command. The worker's own commits must not wake it:
`stats.wakes` counts the drives a commit caused, and `stats.drives` the full drives of the
worklist, which a wake never makes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lashtui.admin import Processes
from lashtui.clock import SystemClock
from lashtui.command.worker import _once
from lashtui.model import (
    Engine,
    LeaseTimings,
    ProcessLifecycleStatus,
    ProcessStartRequest,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry import open_registry
from lashtui.worker import ProcessWorker, awaiter
from lashtui.worker.metric import WorkerMetrics
from lashtui.worker.observer import WorkerObserver
from tests.late_commit import half_written, linked_elsewhere

LASHTUI = str(Path(sys.executable).parent / "lashtui")
MINUTE = LeaseTimings(ttl_ms=180_000, renew_interval_ms=60_000)
FINISH = json.dumps({"steps": [{"finish": "ok"}]})
GUARD_S = 10.0  # a guard only: a woken run ends in milliseconds; the interval is 60 s
# The backlog test's worker drives every half hour, so that what it runs within its guard
# was not run by the interval, however long the machine takes to drain the backlog: 1,500
# rows on PostgreSQL took over 10 s beside three busy loops on the 2 vCPUs (GUARD_S was its
# guard then, and it failed with ~1,200 run).
HALF_HOUR = LeaseTimings(ttl_ms=5_400_000, renew_interval_ms=1_800_000)
DRAIN_GUARD_S = 240.0  # a guard only, on waits that last as long as the drain
OWNER_BOUND = RecoveryDisposition.OWNER_BOUND


async def lashtui(target: str, *args: str) -> str:
    """Run the `lashtui` command against `target` as another OS process; its stdout."""
    code, out, err = await lashtui_ended(target, *args)
    assert code == 0, (args, out, err)
    return out


async def lashtui_ended(target: str, *args: str) -> tuple[int | None, str, str]:
    """`lashtui`'s exit status, stdout and stderr, whatever the status."""
    child = await asyncio.create_subprocess_exec(
        LASHTUI, "--db", target, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await child.communicate()
    return child.returncode, out.decode(), err.decode()


async def start_elsewhere(target: str, process_id: str) -> None:
    await lashtui(
        target, "start", process_id, "--engine", "steps", "--payload", FINISH,
        "--disposition", "rerunnable",
    )  # fmt: skip


@pytest.fixture
async def woken(registry_target: str) -> AsyncIterator[tuple[str, ProcessWorker]]:
    """A worker with a minute's interval, running (its first full drive done)."""
    async with open_registry(registry_target) as registry:
        worker = ProcessWorker(registry, timings=MINUTE, clock=SystemClock())
        async with worker.running():
            async with asyncio.timeout(GUARD_S):
                while worker.stats.drives == 0:  # noqa: ASYNC110 (a guard on the first drive)
                    await asyncio.sleep(0.01)
            yield registry_target, worker


async def test_work_another_os_process_starts_runs_without_waiting_for_the_interval(
    woken: tuple[str, ProcessWorker],
) -> None:
    target, worker = woken
    for n in range(3):
        await start_elsewhere(target, f"elsewhere-{n}")
        committed = time.monotonic()
        async with asyncio.timeout(GUARD_S):
            output = await worker.await_terminal(f"elsewhere-{n}")
        assert output == SuccessOutput(value="ok")
        assert time.monotonic() - committed < GUARD_S
    assert worker.stats.drives == 1  # the first: every run since was driven by a wake
    assert worker.stats.wakes >= 3


async def test_the_workers_own_commits_do_not_wake_it(
    woken: tuple[str, ProcessWorker],
) -> None:
    """Twenty runs through the worker's own handle (each a start, a claim and a terminal)
    wake it not once: on SQLite each is a WAL write the watch sees, which `data_version`
    shows to be its own; on PostgreSQL its own NOTIFYs are skipped. Then one commit from
    another handle wakes it once."""
    target, worker = woken
    processes = Processes(worker.registry, worker=worker)
    for n in range(20):
        await processes.start(steps_request(f"own-{n}"))
        async with asyncio.timeout(GUARD_S):
            assert await worker.await_terminal(f"own-{n}") == SuccessOutput(value="ok")
    await asyncio.sleep(0.25)  # fifty times the file watch's 5 ms step: any wake is in
    assert (worker.stats.wakes, worker.stats.drives) == (0, 1)

    async with open_registry(target) as other:
        await Processes(other).start(steps_request("other-handle"))
    async with asyncio.timeout(GUARD_S):
        assert await worker.await_terminal("other-handle") == SuccessOutput(value="ok")
    assert worker.stats.wakes >= 1 and worker.stats.drives == 1


PARK = json.dumps({"steps": [{"wait_signal": "go"}, {"finish": "ok"}]})


async def test_a_signal_from_another_os_process_resumes_a_parked_run_at_the_wake(
    woken: tuple[str, ProcessWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run parked on `wait_signal` reads its log again when the worker's watch sees
    another connection commit (hub.py `tick_waiting`), not at its awaiter's next poll,
    which backs off to a second: a signal sent from another shell resumed its run 0.6-1 s
    after it was stored. Here the awaiter's poll waits an hour after its first read, so
    only the wake can resume the run within the guard (the worker's own terminal still
    ticks the test's `await_terminal` in this process)."""
    target, worker = woken
    monkeypatch.setattr(awaiter, "BACKOFF_START_S", 3600.0)
    monkeypatch.setattr(awaiter, "BACKOFF_CAP_S", 3600.0)
    await lashtui(
        target, "start", "parked", "--engine", "steps", "--payload", PARK,
        "--disposition", "rerunnable",
    )  # fmt: skip
    async with asyncio.timeout(GUARD_S):
        while (row := await worker.registry.get_process("parked")) is None or row.wait is None:  # noqa: ASYNC110 (a guard on the run parking)
            await asyncio.sleep(0.01)
    await lashtui(target, "signal", "parked", "go")
    async with asyncio.timeout(GUARD_S):
        output = await worker.await_terminal("parked")
    assert output == SuccessOutput(value="ok")


async def test_a_once_pass_resumes_its_parked_run_at_a_commit_from_another_os_process(
    registry_target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`worker --once` waits for the runs its pass started, and did not follow commits: a
    run it parked on `wait_signal` read its log again only at its awaiter's backoff poll,
    so `lashtui signal` from another shell resumed it ~0.5 s later (466 ms seen), where a
    running worker resumes it at the wake. The pass (command/worker.py `_once`, as the
    command runs it) now ticks its waiters on other connections' commits. The awaiter's
    poll waits an hour here: only the commit can resume the run within the guard."""
    monkeypatch.setattr(awaiter, "BACKOFF_START_S", 3600.0)
    monkeypatch.setattr(awaiter, "BACKOFF_CAP_S", 3600.0)
    await lashtui(
        registry_target, "start", "parked", "--engine", "steps", "--payload", PARK,
        "--disposition", "rerunnable",
    )  # fmt: skip
    async with open_registry(registry_target) as registry:
        worker = ProcessWorker(registry, timings=MINUTE, clock=SystemClock())
        args = argparse.Namespace(timeout=None, grace=0.0, drain=False, output="table")
        once = asyncio.create_task(_once(args, worker, run=True))
        try:
            async with asyncio.timeout(GUARD_S):
                while (row := await registry.get_process("parked")) is None or row.wait is None:  # noqa: ASYNC110 (a guard on the run parking)
                    await asyncio.sleep(0.01)
            await lashtui(registry_target, "signal", "parked", "go")
            async with asyncio.timeout(GUARD_S):
                status = await asyncio.shield(once)
        finally:
            once.cancel()
            await asyncio.gather(once, return_exceptions=True)
        assert status == 0
        row = await registry.get_process("parked")
        assert row is not None and row.status.state is ProcessLifecycleStatus.COMPLETED
    assert capsys.readouterr().out == "worker: one pass, 1 row looked at: 1 ran\n"


def steps_request(process_id: str) -> ProcessStartRequest:
    return ProcessStartRequest(
        id=process_id,
        input=Engine(kind="steps", payload={"steps": [{"finish": "ok"}]}),
        disposition=RecoveryDisposition.RERUNNABLE,
    )


async def test_the_headless_worker_runs_a_start_from_another_shell_at_once(
    registry_target: str,
) -> None:
    """The issue's own steps: `lashtui worker` in one shell, `lashtui start` then `lashtui
    await` in another. It took 3-10 s (the interval) before; with a one-minute interval,
    each await now returns inside its 10 s timeout only because the worker woke.

    A failure says which way it failed: the worker slow to start (a loaded machine), or an
    await that gave up, with the worker's log (at debug) after it: a `run started` line for
    the row says the worker ran it late, none that it never saw the commit (a missed wake),
    and a `the version moved` line that a file event was confirmed late
    (registry/watch.py `_Wakeups.recheck`)."""
    worker = await asyncio.create_subprocess_exec(
        LASHTUI, "--db", registry_target, "worker", "--ttl-ms", str(MINUTE.ttl_ms),
        "--log-level", "debug",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    gave_up = ""  # the await that gave up, if one did
    try:
        assert worker.stderr is not None
        try:
            async with asyncio.timeout(30):
                line = await worker.stderr.readline()  # it is running once it says so
        except TimeoutError:
            raise AssertionError("`lashtui worker` said nothing in 30 s: a slow start") from None
        assert b" worker " in line, line  # its first log line: the worker and its registry
        for n in range(2):  # the first could be the worker's first drive; the second not
            await start_elsewhere(registry_target, f"shell-{n}")
            began = time.monotonic()
            code, out, err = await lashtui_ended(
                registry_target, "await", f"shell-{n}", "--timeout", "10", "--json"
            )
            if code != 0:
                gave_up = (
                    f"`lashtui await shell-{n}` gave up {time.monotonic() - began:.1f}s after "
                    f"its start had committed (exit {code}: {err.strip()})"
                )
                break
            assert json.loads(out) == {"type": "success", "value": "ok"}
    finally:
        worker.terminate()
        async with asyncio.timeout(30):
            _, log = await worker.communicate()  # (read so the pipe never fills)
    assert not gave_up, f"{gave_up}; the worker's log since it began:\n{log.decode()}"
    assert worker.returncode == 0


async def test_reads_that_find_nothing_space_the_next_ones_out_until_one_finds_a_row(
    registry_target: str,
) -> None:
    """A busy fleet's commits wake every worker, mostly for rows it cannot take (wake.py):
    each read of the change feed that finds nothing doubles the gap before the next, up to
    `WAKE_GAP_S * 2 ** EMPTY_DOUBLINGS`; a read that finds a row puts it back."""
    from lashtui.worker.wake import EMPTY_DOUBLINGS, WAKE_GAP_S, CommitWake

    async def gap_after_a_read(wake: CommitWake) -> float:
        async for _ in wake.changed():
            pass
        return wake._next_read - time.monotonic()

    async with open_registry(registry_target) as registry:
        wake = CommitWake(registry, poll_s=60.0, seen=lambda: None)
        wake.cursor = await registry.change_cursor()
        for n in range(EMPTY_DOUBLINGS + 2):  # 20, 40, 80, 160, 160, 160 ms
            gap = await gap_after_a_read(wake)  # (less the time since; more for a slow read)
            doublings = min(n + 1, EMPTY_DOUBLINGS)
            assert wake._empty == doublings and gap > WAKE_GAP_S * 2**doublings - 0.01, n
        await Processes(registry).start(steps_request("found"))
        await gap_after_a_read(wake)
        assert wake._empty == 0


class DrainingSeen(WorkerObserver):
    """Each `draining_backlog` told, with what the worker's stats and metrics said then."""

    def __init__(self, worker: ProcessWorker, metrics: WorkerMetrics) -> None:
        self.worker, self.metrics = worker, metrics
        self.told: list[tuple[bool, bool, float | None]] = []

    def draining_backlog(self, draining: bool) -> None:
        since = self.worker.stats.draining_since_ms is not None
        gauge = self.metrics.registry.get_sample_value("lashtui_worker_draining_backlog")
        self.told.append((draining, since, gauge))


async def test_a_worker_draining_a_backlog_stops_following_commits_and_misses_none(
    registry_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker whose backlog loop keeps taking full batches stops following the others'
    commits (follow.py `_drive_forever`): it could not run more meanwhile, and on SQLite
    every commit cost it a wake and a read of all the others changed. What is committed
    meanwhile is not missed but seen when the backlog ends, by a full drive, not at the
    interval (half an hour here): an owner_bound row another handle starts mid-drain runs
    within the guard, which is minutes (the drain's own time on a loaded machine), and
    by the worker's only full drive. A worker starting on a backlog claims it before it
    reads the worklist (`_backlog_first`): an owner_bound row there from the start runs
    after it, by that same drive. After the drain the worker follows again: a start
    wakes it. Each change is told (observer.py `draining_backlog`): the stats say since
    when (the Health view's line), a gauge says 1 then 0, a log line says each at INFO."""
    async with (
        open_registry(registry_target) as registry,
        open_registry(registry_target) as other,
    ):
        elsewhere = Processes(other)
        at_start = steps_request("owner-bound-at-start")
        await elsewhere.start(at_start.model_copy(update={"disposition": OWNER_BOUND}))
        for n in range(1_500):
            await elsewhere.start(steps_request(f"backlog-{n:04}"))
        worker = ProcessWorker(registry, timings=HALF_HOUR, clock=SystemClock())
        seen = DrainingSeen(worker, WorkerMetrics())
        worker.add_observer(seen.metrics)
        worker.add_observer(seen)
        caplog.set_level(logging.INFO, logger="lashtui.worker")
        async with worker.running():
            async with asyncio.timeout(DRAIN_GUARD_S):
                while worker.stats.saturated == 0:  # noqa: ASYNC110 (a guard on the drain)
                    await asyncio.sleep(0.001)
            mid_drain = steps_request("owner-bound")
            await elsewhere.start(mid_drain.model_copy(update={"disposition": OWNER_BOUND}))
            async with asyncio.timeout(DRAIN_GUARD_S):  # (the interval is half an hour)
                assert await worker.await_terminal("owner-bound") == SuccessOutput(value="ok")
                ok = SuccessOutput(value="ok")
                assert await worker.await_terminal("owner-bound-at-start") == ok
                for n in range(1_500):
                    await worker.await_terminal(f"backlog-{n:04}")
            wakes = worker.stats.wakes
            await elsewhere.start(steps_request("after"))
            async with asyncio.timeout(GUARD_S):
                assert await worker.await_terminal("after") == SuccessOutput(value="ok")
            assert worker.following and worker.stats.draining_since_ms is None
        assert worker.stats.wakes > wakes  # following again: a wake ran it
        assert worker.stats.drives == 1  # after the backlog, which the start claimed first
        # Told at each change, alternating, from the first full batches to the end.
        assert seen.told[0] == (True, True, 1.0) and seen.told[-1] == (False, False, 0.0)
        assert [draining for draining, *_ in seen.told] == [True, False] * (len(seen.told) // 2)
        assert all(since == draining for draining, since, _ in seen.told)
        told = [getattr(r, "fields", {}) | {"level": r.levelno} for r in caplog.records]
        lines = [fields for fields in told if fields.get("event") == "draining_backlog"]
        assert [fields["draining"] for fields in lines] == [d for d, *_ in seen.told]
        assert {fields["level"] for fields in lines} == {logging.INFO}


async def test_an_interrupt_ends_a_wait_at_once_and_keeps_a_commits_wake(
    registry_target: str,
) -> None:
    """`CommitWake.interrupt` (the worker's backlog loop has saturated) ends a wait with
    False at once, and a commit's wake that came meanwhile is still there for the next."""
    from lashtui.worker.wake import CommitWake

    async with open_registry(registry_target) as registry:
        wake = CommitWake(registry, poll_s=60.0, seen=lambda: None)
        wake.cursor = await registry.change_cursor()
        waiting = asyncio.create_task(wake.wait(60.0))
        await asyncio.sleep(0.01)
        wake.interrupt()
        async with asyncio.timeout(GUARD_S):
            assert await waiting is False
        wake._woken.set()  # a commit's wake, as the watch sets it
        wake.interrupt()
        assert await wake.wait(60.0) is False
        async with asyncio.timeout(GUARD_S):
            assert await wake.wait(60.0) is True
        wake.cursor = None  # not following: only an interrupt ends a wait early
        wake.interrupt()
        async with asyncio.timeout(GUARD_S):
            assert await wake.wait(60.0) is False
        began = time.monotonic()
        wake._woken.set()
        assert await wake.wait(0.2) is False
        assert time.monotonic() - began >= 0.2


async def test_a_file_event_that_comes_before_its_commit_can_be_read_still_wakes_the_worker(
    tmp_path: Path,
) -> None:
    """A commit writes its frames to the `-wal` (the file event), then marks them committed
    in the `-shm`, which no watch sees; only then does `data_version` move. A committer
    preempted in between left the event unconfirmed, and nothing more was written: the
    worker slept until its interval (a start from another shell waited over 10 s once, in
    CI under load). Forced here with real files (tests/late_commit.py): `half_written` is
    the event; a commit through `linked_elsewhere`, which the worker's watch does not see,
    is the commit becoming readable. The worker must run it well within its minute's interval
    (the doubted event's version reads, registry/watch.py `_Wakeups.recheck`)."""
    watched, elsewhere = tmp_path / "watched", tmp_path / "elsewhere"
    watched.mkdir()
    elsewhere.mkdir()
    path = watched / "registry.db"
    async with open_registry(str(path)) as registry:
        worker = ProcessWorker(registry, timings=MINUTE, clock=SystemClock())
        async with worker.running():
            async with asyncio.timeout(GUARD_S):
                while worker.stats.drives == 0:  # noqa: ASYNC110 (a guard on the first drive)
                    await asyncio.sleep(0.01)
            async with open_registry(linked_elsewhere(str(path), elsewhere)) as other:
                half_written(str(path))  # an event, nothing committed
                await asyncio.sleep(0.02)  # the watch sees it and finds the version still
                await Processes(other).start(steps_request("readable-late"))
                committed = time.monotonic()
                try:
                    async with asyncio.timeout(5.0):
                        await worker.await_terminal("readable-late")
                except TimeoutError:
                    raise AssertionError(
                        f"not run {time.monotonic() - committed:.1f}s after its commit: the "
                        f"doubted file event was dropped (wakes {worker.stats.wakes}, full "
                        f"drives {worker.stats.drives}; the next drive is a minute away)"
                    ) from None
        assert worker.stats.wakes >= 1 and worker.stats.drives == 1
