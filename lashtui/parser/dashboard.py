"""The parser of the commands that draw, `dash` and `demo` (lashtui/command/dashboard.py):
flags only, so building it loads nothing of the dashboard, which only these commands load,
once they run.
"""

from __future__ import annotations

from typing import Any

from lashtui.parser.subcommand import add_command


def add_dashboards(sub: Any) -> None:
    dash = add_command(sub, "dash", "the live dashboard")
    dash.add_argument(
        "--read-only", action="store_true", help="open the registry read-only; no actions"
    )
    dash.add_argument(
        "--no-worker", action="store_true", help="observe only: no embedded worker or sweep"
    )
    add_command(sub, "demo", "create (or reuse) a demo registry full of moving processes")
