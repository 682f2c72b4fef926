"""CPU seconds read from /proc: a process's, PostgreSQL's on this machine, and a drain's
(its worker processes' and the server's between two moments, `CpuMeter`).

On a 2-vCPU machine that hosts the server too, a drain's throughput is bounded by the CPU a
job costs once the cores are full; these readings say how full they were and what a job
cost, client and server, for lashtui and its peers alike (pg_cpu.py, PG1's drains)."""

from __future__ import annotations

import os

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


def tree_cpu(pid: int) -> float:
    """Seconds of CPU of `pid`, its reaped children and its live ones (one level down: a
    consumer's worker processes, the postmaster's backends)."""
    total = process_cpu(pid, children=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat(int(entry))
            except OSError:
                continue
            if int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / TICK
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

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> float | None:
        after = self._read()
        if self._before is None or after is None:
            return None
        return after - self._before

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
