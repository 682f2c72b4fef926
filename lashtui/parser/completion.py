"""The parser of `lashtui completion SHELL`, which prints argcomplete's script for a shell
(lashtui/completion.py). The process ids a shell completes are subcommand.py's
`complete_process_id`, set on each process id positional.
"""

from __future__ import annotations

from typing import Any

from lashtui.parser.subcommand import add_command

SHELLS = ("bash", "zsh", "fish")


def add_completion(sub: Any) -> None:
    completion = add_command(
        sub,
        "completion",
        'print the shell completion script: eval "$(lashtui completion bash)", '
        "or `lashtui completion fish | source`; process ids complete from the registry",
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell the script is for")
