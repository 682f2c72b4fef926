"""A real `lashtui worker` OS process for the service tests: started on a registry file,
its stderr log lines collected by a thread as they come, signalled, and waited for.

Every wait polls what has arrived with a deadline that is only a guard: the worker's lines
say when something happened (`run_started`, `stopping`...), so no test sleeps to guess.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.template import in_process

LASHTUI = str(Path(sys.executable).parent / "lashtui")
# Generous: on a loaded machine a `lashtui start` took 24 s (its imports, at a sliver of a
# CPU), close to the 30 s this was.
GUARD_S = 120.0
# A short TTL: the worker drives every renew interval (a third of it) when nothing wakes it.
TTL_MS = "1500"


def steps(*plan: dict[str, Any]) -> str:
    return json.dumps({"steps": list(plan)})


def start(db: Path | str, process_id: str, plan: str, disposition: str = "rerunnable") -> None:
    """Start a `steps` process from another OS process than the worker's, as a script
    would: `lashtui start`, run by the command's own code in the test's process
    (tests/cli/template.py `in_process`), where each start was a spawn of its own."""
    in_process(db, "start", process_id, "--engine", "steps", "--disposition", disposition,
               "--payload", plan)  # fmt: skip


class Worker:
    """`lashtui --db DB worker --ttl-ms 1500 ARGS...`, its stderr read line by line; after
    `wrapper` when given (a command that runs the rest of its argv, such as `unshare`)."""

    def __init__(
        self,
        db: Path | str,
        *args: str,
        log_format: str = "json",
        ttl_ms: str = TTL_MS,
        wrapper: tuple[str, ...] = (),
    ) -> None:
        argv = [*wrapper, LASHTUI, "--db", str(db), "worker", "--ttl-ms", ttl_ms,
                "--log-format", log_format, *args]  # fmt: skip
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def records(self) -> list[dict[str, Any]]:
        """The JSON lines so far (a worker started with --log-format json)."""
        return [json.loads(line) for line in list(self.lines)]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == event]

    def until(self, ready: Callable[[], Any], what: str, guard_s: float = GUARD_S) -> Any:
        deadline = time.monotonic() + guard_s
        while time.monotonic() < deadline:
            found = ready()
            if found:
                return found
            if self.process.poll() is not None:
                self._reader.join(1)
                raise AssertionError(f"the worker exited before {what}: {self.lines}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}: {self.lines}")

    def until_event(self, event: str, process_id: str | None = None) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for record in self.events(event):
                if process_id is None or record.get("process_id") == process_id:
                    return record
            return None

        return dict(self.until(found, f"a `{event}` line"))

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def wait(self, guard_s: float = GUARD_S) -> int:
        """Its exit status, once it has exited and its last line is read."""
        status = self.process.wait(guard_s)
        self._reader.join(5)
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(GUARD_S)
        self._reader.join(5)
