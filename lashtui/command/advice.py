"""What the command line adds to a registry's refusal: the command or flag that mends it.

The registry's sentences name the target and what is wrong with it, and nothing a Python
caller cannot act on (it has no `--db`, and runs no `lashtui start`). Where the command line
catches a `LashError` (cli.py's entry point, and `check`, which prints its own line), it
adds the advice only its user can follow, picked by the error's class.
"""

from __future__ import annotations

from lashtui.errors import LashError, RegistryMissing, UndecodableProcess, WritableOpenNeeded
from lashtui.untrusted import shell_word


def for_the_command_line(error: LashError) -> str:
    """`str(error)`, with what a command line user can do about it where there is one."""
    if isinstance(error, RegistryMissing):
        return f"{error} (only `start`, `worker` and `demo` create one; check --db or $LASHTUI_DB)"
    if isinstance(error, WritableOpenNeeded):
        return f"{error} (`lashtui dash` or `lashtui worker` opens it writable)"
    if isinstance(error, UndecodableProcess) and error.process_id is not None:
        return f"{error}: `lashtui end-undecodable {shell_word(error.process_id)} --reason R`"
    return str(error)
