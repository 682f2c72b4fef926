"""CPU seconds read from /proc: a process's, PostgreSQL's on this machine, and a drain's
(its worker processes' and the server's between two moments, `CpuMeter`), with the whole
machine's busy time and the processes' context switches over the same span.

On a 2-vCPU machine that hosts the server too, a drain's throughput is bounded by the CPU a
job costs once the cores are full; these readings say how full they were and what a job
cost, client and server, for lashtui and its peers alike (pg_cpu.py, PG1's drains).

The CPU a job costs is not a fixed count of the job's work: on this machine it moves with
how many threads share the two vCPUs, whoever runs them. A P3 row's instructions are the
same with one worker and with four on a file each (callgrind, 1.31M a row, README "What
bounds each figure now"), yet one worker with a vCPU nearly to itself spent 370 us of CPU a
row and four on a file each 700 (2026-12-07, the same quick run). So each
reading also says how busy the machine was beside the measured processes
(`machine_busy_s`: other sessions, a CI run) and how often the measured processes' threads
were switched out (`switches`): a figure taken while others kept the vCPUs busy costs more
CPU a job for the same work."""

from __future__ import annotations

import os
import time

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def process_cpu(pid: int, children: bool = False) -> float:
    """Seconds of CPU of `pid` (and of its reaped children, if asked)."""
    fields = _stat(pid)  # fields[0] is the state: utime is field 14, so index 11
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def machine_busy_s() -> float:
    """Seconds the machine's CPUs, all of them together, spent busy since boot: /proc/stat's
    first line less its idle and I/O-wait time (and less steal, time the hypervisor ran
    something else: not this machine's work)."""
    with open("/proc/stat", encoding="ascii") as handle:
        ticks = [int(field) for field in handle.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, _steal = ticks
    return (user + nice + system + irq + softirq) / TICK


def switches(pid: int, children: bool = False) -> dict[tuple[int, int], tuple[int, int]]:
    """The context switches so far of each live thread of `pid` (and, with `children`, of
    its live child processes), by (process, thread): voluntary (the thread waited: a lock,
    a queue, a poll) and involuntary (the scheduler gave its vCPU to another thread)."""
    counts: dict[tuple[int, int], tuple[int, int]] = {}
    for each in [pid, *(_children(pid) if children else [])]:
        try:
            tids = os.listdir(f"/proc/{each}/task")
        except OSError:
            continue
        for tid in tids:
            voluntary = involuntary = 0
            try:
                with open(f"/proc/{each}/task/{tid}/status", encoding="ascii") as handle:
                    for line in handle:
                        if line.startswith("voluntary_ctxt_switches:"):
                            voluntary = int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches:"):
                            involuntary = int(line.split()[1])
            except OSError:
                continue  # a thread that ended meanwhile
            counts[(each, int(tid))] = (voluntary, involuntary)
    return counts


def _children(pid: int) -> list[int]:
    """`pid`'s live child processes."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat(int(entry))[1]) == pid:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def tree_cpu(pid: int) -> float:
    """Seconds of CPU of `pid`, its reaped children and its live ones (one level down: a
    consumer's worker processes, the postmaster's backends)."""
    total = process_cpu(pid, children=True)
    for child in _children(pid):
        try:
            total += process_cpu(child)
        except OSError:
            continue  # a child that ended meanwhile
    return total


def server_cpu(url: str) -> float | None:
    """The postmaster tree's CPU seconds, if the server runs on this machine."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time(), setting FROM pg_settings "
                           "WHERE name = 'data_directory'").fetchone()  # fmt: skip
    if row is None:
        return None
    try:
        with open(os.path.join(str(row[1]), "postmaster.pid"), encoding="ascii") as handle:
            master = int(handle.readline())
    except OSError:
        return None
    return tree_cpu(master)


class CpuMeter:
    """The CPU seconds that `pids` (a drain's worker processes) and, given a `url` of a
    server on this machine, PostgreSQL's processes spend between `start()` and `stop()`.
    None when it cannot be read whole: a worker already gone at `stop()` (its time since
    `start()` is lost with it), or a server elsewhere. With `tree`, each of `pids` counts
    with its child processes (`tree_cpu`: huey's consumer forks its workers)."""

    def __init__(self, pids: list[int], url: str | None = None, tree: bool = False) -> None:
        self.pids = pids
        self.url = url
        self.tree = tree
        self._before: float | None = None
        # Read by `stop()`: the vCPUs other processes kept busy on average between start and
        # stop (the machine's busy time less the measured processes', over the same span),
        # and the context switches of the measured threads alive at stop, (voluntary,
        # involuntary); None until then, or where the processes' CPU could not be read.
        self.others_busy: float | None = None
        self.switches: tuple[int, int] | None = None
        self._machine_before = (0.0, 0.0)
        self._switches_before: dict[tuple[int, int], tuple[int, int]] = {}

    def start(self) -> None:
        self._switches_before = self._switches()
        self._machine_before = (time.monotonic(), machine_busy_s())
        self._before = self._read()

    def stop(self) -> float | None:
        after = self._read()
        now, busy = time.monotonic(), machine_busy_s()
        # Thread by thread: a thread that ended meanwhile takes its counts with it, and must
        # not take them off the others'.
        before = self._switches_before
        moved = [
            (voluntary - before.get(thread, (0, 0))[0], involuntary - before.get(thread, (0, 0))[1])
            for thread, (voluntary, involuntary) in self._switches().items()
        ]
        self.switches = (sum(m[0] for m in moved), sum(m[1] for m in moved))
        if self._before is None or after is None:
            return None
        spent = after - self._before
        span = now - self._machine_before[0]
        if span > 0:
            self.others_busy = max(0.0, busy - self._machine_before[1] - spent) / span
        return spent

    def _switches(self) -> dict[tuple[int, int], tuple[int, int]]:
        counts: dict[tuple[int, int], tuple[int, int]] = {}
        for pid in self.pids:
            counts.update(switches(pid, children=self.tree))
        return counts

    def _read(self) -> float | None:
        try:
            read = tree_cpu if self.tree else process_cpu
            total = sum(read(pid) for pid in self.pids)
        except OSError:
            return None
        if self.url is None:
            return total
        server = server_cpu(self.url)
        return None if server is None else total + server
