"""A fleet, simulated (issue 20 item 5): worker OS processes on one PostgreSQL registry, each
with its own host identity, one SIGKILLed mid-run; every verdict on the dead worker's rows
lands within one lease TTL plus one renew interval of the kill (semantics §3.15, §8).

Distinct host ids (`--host-id` of tests/worker/worker_child.py, which makes the worker's
`LeaseOwnerIdentity.local_process` identity) are what a fleet of machines has: no survivor
can prove the dead worker dead through /proc (§3.15 needs the same host and boot), so the
only evidence is time. Per §8 the survivors must then:

- re-run the dead worker's rerunnable rows once its lease has lapsed (not before);
- abandon a started owner_bound row only on an operator's request (`reconciled_request`,
  owner = the dead worker's configured identity) once the lease has lapsed;
- leave a started owner_bound row without a request running (elapsed time alone never
  ends it: `left_running`, lease released);
- never touch an externally_owned row without a request (no claim, no lease row).

PostgreSQL only (the fleet's store; skipped without LASHTUI_TEST_POSTGRES). The same host's
recovery by death proof, on both stores, is tests/worker/test_crash.py's.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from lashtui.model import (
    AbandonedOutput,
    AbandonRequest,
    AbandonWriter,
    ProcessExecutionEnvSpec,
    ProcessLifecycleStatus,
    ProcessListFilter,
    ProcessStatusFilter,
    RecoveryDisposition,
    SuccessOutput,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext
from tests.worker.lab import (
    POLL_S,
    Child,
    Lab,
    get,
    held_by,
    now_ms,
    register,
    started,
    terminal_events,
)

# Its bound is wall-clock time after a SIGKILL: it runs alone, after the parallel part.
pytestmark = pytest.mark.alone

# Short enough to keep the test near 20 s, long enough that a survivor under load keeps its
# own leases (PostgreSQL serialises the fleet's writes today: a 1.5 s TTL is too tight for
# it, see test_crash's four-worker test). ttl >= 3 x renew, as lash requires.
TTL_MS = 3_000
RENEW_MS = 1_000
# Slack over TTL + one interval (4.0 s): the survivor's drive pass itself (a read of the
# worklist, then a claim, a re-read and a terminal write per row, each queued on the one
# write lock the fleet shares on PostgreSQL today) and process scheduling on a shared 2-CPU
# machine. Observed: verdicts 2.5-2.7 s after the kill at load average ~3 (the test takes
# 6-7 s) and 2.5-3.1 s at ~10 (the leases lapsed 1.5-2.3 s after the kill); 5-9 s at load
# average 13-18 with a 4-process benchmark beside it (once 14 s, with 80 load rows: see
# LOAD_ROWS). So the slack is TTL + interval again: a recovery that took more than twice
# the promise (e.g. one that waited out a second TTL) fails.
MARGIN_MS = TTL_MS + RENEW_MS
BOUND_MS = TTL_MS + RENEW_MS + MARGIN_MS
# Rerunnable `count` rows registered while the fleet runs: the kill comes mid-drain. Few,
# because each row costs every worker a drive's claims and reads on PostgreSQL today (issue
# 20): with 80, a survivor on a loaded machine drove its worklist once in 6 s.
LOAD_ROWS = 30
GUARD_S = 30.0


@pytest.fixture
def backend() -> str:
    """The fleet runs on PostgreSQL only: `registry_target`, where the lab runs, is a schema."""
    return "postgres"


@pytest.fixture
async def registry(lab: Lab) -> AsyncIterator[ProcessRegistry]:
    """The test's handle on the lab's registry, on real time as its workers are."""
    async with lab.registry() as opened:
        yield opened


async def start_the_fleet(lab: Lab, registry: ProcessRegistry) -> tuple[Child, list[Child]]:
    """The victim (host-a) running two started owner_bound rows and a rerunnable one, beside
    an externally_owned row; then two survivors on hosts b and c, which leave all of them
    alone while the victim lives."""
    await register(registry, "ob-asked", "block", RecoveryDisposition.OWNER_BOUND)
    await register(registry, "ob-plain", "block", RecoveryDisposition.OWNER_BOUND)
    await register(registry, "rr-once", "once", RecoveryDisposition.RERUNNABLE)
    await registry.register_process(ext("ext-1"))
    victim = await lab.spawn("worker-a", "host-a", ttl_ms=TTL_MS, renew_ms=RENEW_MS)
    mine = ("ob-asked", "ob-plain", "rr-once")
    await lab.until(started(registry, *mine), "the victim to start its three rows")
    await lab.until(
        lambda: sorted(lab.records()) == [(pid, victim.pid) for pid in mine],
        "the victim's three executions in the record file",
    )
    survivors = [
        await lab.spawn(f"worker-{host}", f"host-{host}", ttl_ms=TTL_MS, renew_ms=RENEW_MS)
        for host in ("b", "c")
    ]
    for survivor in survivors:
        await lab.until(drove_twice(survivor), "a survivor's drives")
        # The externally_owned row is left untouched; the victim's live rows are not claimed.
        assert set(survivor.verdicts()) <= {"untouched", "busy"}, survivor.verdicts()
        assert survivor.runs() == Counter(), survivor.runs()
    return victim, survivors


def drove_twice(child: Child) -> Callable[[], bool]:
    return lambda: child.stats().get("drives", 0) >= 2


async def load_then_kill(lab: Lab, registry: ProcessRegistry, victim: Child) -> int:
    """Rerunnable rows registered while the fleet drains them; the victim SIGKILLed once it
    has run a quarter of them (mid-run: it dies with its three rows in hand, and whatever
    load rows it had claimed). The kill's ms."""
    env_ref = await registry.put_process_execution_env(ProcessExecutionEnvSpec())
    for n in range(LOAD_ROWS):
        await register(registry, f"load-{n:04}", "count", RecoveryDisposition.RERUNNABLE, env_ref)
    await lab.until(
        lambda: sum(1 for pid, _ in lab.records() if pid.startswith("load-")) >= LOAD_ROWS // 4,
        "the fleet to run a quarter of the load",
    )
    return await victim.kill()


async def test_a_killed_worker_on_another_host_is_recovered_within_ttl_plus_interval(
    lab: Lab, registry: ProcessRegistry
) -> None:
    victim, survivors = await start_the_fleet(lab, registry)
    killed_at = await load_then_kill(lab, registry, victim)
    # The victim's last leases: renewed before the kill, so they lapse within one TTL of it.
    mine = ("ob-asked", "ob-plain", "rr-once")
    leases = {pid: await registry.get_process_lease(pid) for pid in mine}
    for lease in leases.values():
        assert lease is not None and held_by(lease, victim), lease
    expiry = min(lease.expires_at_epoch_ms for lease in leases.values() if lease)
    assert expiry <= killed_at + TTL_MS
    # An operator asks for one of the two owner_bound rows (host-a is gone for good).
    request = AbandonRequest(
        requested_by="operator", requested_at_ms=now_ms(), reason="host-a is gone"
    )
    await registry.request_process_abandon("ob-asked", request)

    # No survivor can prove host-a's worker dead: until its leases lapse, nothing of it moves.
    while now_ms() < expiry - 50:
        for pid in ("ob-asked", "ob-plain", "rr-once"):
            assert not (await get(registry, pid)).is_terminal(), pid
        assert lab.executions_of("rr-once") == [victim.pid]
        await asyncio.sleep(POLL_S)

    left_running_at = await until_left_running(lab, survivors)
    await lab.until(lambda: drained(registry), "every row but the owner_bound and external one")
    await check_verdicts(lab, registry, victim, survivors)
    await check_timing(lab, registry, killed_at, expiry, left_running_at)
    for survivor in survivors:
        assert survivor.verdicts()["abandoned_by_sweep"] == 0  # no death proof across hosts
        assert "Traceback" not in survivor.stderr(), survivor.stderr()[-3000:]


async def until_left_running(lab: Lab, survivors: list[Child]) -> int:
    """When (ms) a survivor was first seen to have claimed the unrequested owner_bound row
    and left it running (polled every POLL_S)."""
    await lab.until(
        lambda: any(s.verdicts()["left_running"] for s in survivors),
        "a survivor to leave the unrequested owner_bound row running",
        GUARD_S,
    )
    return now_ms()


async def drained(registry: ProcessRegistry) -> bool:
    live = await registry.list_non_terminal()
    return sorted(record.id for record in live) == ["ext-1", "ob-plain"]


async def check_verdicts(
    lab: Lab, registry: ProcessRegistry, victim: Child, survivors: list[Child]
) -> None:
    survivor_pids = {s.pid for s in survivors}
    # rerunnable: re-run by a survivor, whose output is the terminal one.
    rr = await get(registry, "rr-once")
    assert rr.status.state is ProcessLifecycleStatus.COMPLETED
    first, again = lab.executions_of("rr-once")
    assert first == victim.pid and again in survivor_pids
    assert rr.status.await_output == SuccessOutput(value={"by": again})
    # owner_bound with an operator's request: abandoned, naming the victim's identity.
    asked = await get(registry, "ob-asked")
    output = asked.status.await_output
    assert isinstance(output, AbandonedOutput), asked.status
    assert output.evidence.writer is AbandonWriter.RECONCILED_REQUEST
    assert asked.first_started is not None
    assert output.evidence.owner == asked.first_started.owner == victim.owner()
    # owner_bound without a request: still running, never re-run, its lease not the victim's.
    plain = await get(registry, "ob-plain")
    assert plain.status.state is ProcessLifecycleStatus.RUNNING
    assert await terminal_events(registry, "ob-plain") == []
    lease = await registry.get_process_lease("ob-plain")
    assert lease is None or not held_by(lease, victim) or lease.expires_at_epoch_ms <= now_ms()
    for pid in ("ob-asked", "ob-plain"):
        assert lab.executions_of(pid) == [victim.pid]  # an owner_bound row is never re-run
    # externally_owned without a request: never claimed, never executed.
    assert await registry.get_process_lease("ext-1") is None
    assert not (await get(registry, "ext-1")).is_terminal()
    assert lab.executions_of("ext-1") == []
    # The load: every row completed; a row run twice was the victim's, cut off by the kill.
    records = await registry.list_processes(ProcessListFilter(status=ProcessStatusFilter.ANY))
    load = [record for record in records if record.id.startswith("load-")]
    assert len(load) == LOAD_ROWS
    assert all(record.status.state is ProcessLifecycleStatus.COMPLETED for record in load)
    for record in load:
        runs = lab.executions_of(record.id)
        output = record.status.await_output
        assert isinstance(output, SuccessOutput) and isinstance(output.value, dict)
        assert runs and runs[-1] == output.value["by"]  # its output is its last executor's
        assert len(runs) == 1 or (len(runs) == 2 and runs[0] == victim.pid), (record.id, runs)


async def check_timing(
    lab: Lab, registry: ProcessRegistry, killed_at: int, expiry: int, left_running_at: int
) -> None:
    """Every verdict on the victim's rows between its lease's expiry and the bound: the
    rows above, and the load rows it had run but not finished (re-run by a survivor)."""
    landed = {"ob-plain (left running, seen)": left_running_at}
    cut_off = [pid for pid, n in Counter(pid for pid, _ in lab.records()).items()
               if pid.startswith("load-") and n == 2]  # fmt: skip
    for pid in ("ob-asked", "rr-once", *cut_off):
        (event,) = await terminal_events(registry, pid)
        landed[pid] = event.occurred_at_ms
    print({what: f"{at - killed_at} ms after the kill" for what, at in landed.items()})
    for what, at in landed.items():
        assert at - killed_at <= BOUND_MS, (what, at - killed_at, BOUND_MS)
    # Not before the victim's lease lapsed: no survivor had death proof. (A cut-off load row
    # may land earlier: a victim starved of CPU can see its lease on it lapse before the kill,
    # and a survivor then re-runs it, at least once, as §8 allows for a rerunnable row.)
    for pid in ("ob-asked", "rr-once"):
        assert landed[pid] >= expiry, (pid, landed[pid], expiry)
