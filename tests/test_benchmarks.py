"""`python -m benchmarks --quick` runs whole on a fresh checkout: every figure is measured
next to its peer and written as JSON. No time is asserted (the machines are noisy): what is
checked is that every benchmark still runs, measures something, and says whether it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent


def test_quick_mode_measures_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the seeded registries go with the test
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--repeats", "1", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text())
    assert document["mode"] == "quick"
    figures = document["figures"]
    assert {f["id"] for f in figures} == set(BENCHMARKS)
    for figure in figures:
        assert figure["lashtui"] and all(v >= 0 for v in figure["lashtui"]), figure
        if figure["rule"]:
            assert figure["holds"] in (True, False), figure
    table = done.stdout
    for name in BENCHMARKS:
        assert f"\n{name} " in table, name
