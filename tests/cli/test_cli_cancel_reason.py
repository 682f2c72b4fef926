"""`cancel --reason` is held to the reason's own limit (4,096 characters, as `abandon
--reason` is), through the installed `lashtui` on each store. The limit used to be applied
to the stored text, `requested by <operator>: ` and the reason, so a reason of 4,090
characters was refused as one "of 4,107", a length the operator never wrote.

The stored payload keeps lash's wire shape, `{"reason": "requested by <operator>: <why>"}`
(semantics §10: lash's payload has no actor field), with room for that prefix.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from lashtui.model.limit import MAX_CANCEL_REASON_CHARS, MAX_REASON_CHARS
from lashtui.model.outcome import OPERATOR_NAME_MAX, cancel_request_reason
from tests.cli.template import in_process
from tests.cli.test_cli import LASHTUI

LONGEST_OPERATOR = "o" * OPERATOR_NAME_MAX


def run(target: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LASHTUI_OPERATOR": LONGEST_OPERATOR}
    argv = [LASHTUI, "--db", target, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)


def cancel_payloads(target: str, pid: str) -> list[object]:
    events = json.loads(run(target, "events", pid, "--json").stdout)
    return [e["payload"] for e in events if e["event_type"] == "process.cancel_requested"]


def test_the_stored_reason_has_room_for_the_longest_operator() -> None:
    longest = cancel_request_reason(LONGEST_OPERATOR, "r" * MAX_REASON_CHARS)
    assert len(longest) == MAX_CANCEL_REASON_CHARS


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_limit_is_the_reasons_own(registry_target: str) -> None:
    in_process(registry_target, "start", "cc", "--external")  # (setup: template.py says why)

    too_long = run(registry_target, "cancel", "cc", "--reason", "r" * (MAX_REASON_CHARS + 1))
    sentence = "a cancel reason may be at most 4,096 characters; this one has 4,097"
    assert (too_long.returncode, too_long.stdout) == (1, f"cc: refused: {sentence}\n")
    assert too_long.stderr == f"lashtui: cc: {sentence}\n"
    assert cancel_payloads(registry_target, "cc") == []

    # The longest reason, from the longest operator name: requested, stored whole.
    reason = "r" * MAX_REASON_CHARS
    done = run(registry_target, "cancel", "cc", "--reason", reason)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"cc: requested: cancel requested by {LONGEST_OPERATOR};")
    stored = f"requested by {LONGEST_OPERATOR}: {reason}"
    assert cancel_payloads(registry_target, "cc") == [{"reason": stored}]
    # `show` prints it whole: nothing a write allows is cut.
    shown = run(registry_target, "show", "cc").stdout
    assert f"cancel         {stored}, " in shown and "more characters" not in shown
