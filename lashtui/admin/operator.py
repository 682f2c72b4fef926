"""Who an operator action is recorded as: the one resolution the command line (`--as`,
`--by`) and the dashboard (`operator=`) share, so a cancel reads `requested by <name>`
the same wherever it was made.

Kept apart from the actions that record the name: resolving reads the environment and the
host (`$LASHTUI_OPERATOR`, `$LOGNAME`, the hostname), which no action needs, and the
dashboard resolves once when it opens, long before it acts.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping

from lashtui.model.outcome import check_operator_name
from lashtui.untrusted import printable_name

# The operator of an action made by the host program itself (lash's facade and session
# runner): its cancel requests read `requested by host`, as lash's do.
HOST_OPERATOR = "host"
OPERATOR_ENV = "LASHTUI_OPERATOR"


def resolve_operator(
    explicit: str | None = None,
    *,
    source: str = "--as",
    environ: Mapping[str, str] | None = None,
) -> str:
    """Who an operator action is recorded as: `explicit` (the command line's `--as`, the
    dashboard's `operator=`), else `$LASHTUI_OPERATOR`, else `user@host`. A name given is
    refused in one sentence unless printable (see `check_operator_name`); the fallback is
    made printable instead, as the operator did not choose it."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return check_operator_name(explicit, source)
    named = env.get(OPERATOR_ENV)
    if named:
        return check_operator_name(named, f"${OPERATOR_ENV}")
    return default_operator(env)


def default_operator(environ: Mapping[str, str] | None = None) -> str:
    """`user@host` for this OS process. In a container the uid may have no passwd entry and
    no $USER (getpass.getuser then raises): the uid stands in; a blank hostname reads
    `localhost`. Characters that would not show as themselves become `_`."""
    env = os.environ if environ is None else environ
    try:
        user = env.get("LOGNAME") or env.get("USER") or getpass.getuser()
    except (KeyError, OSError, ImportError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    host = socket.gethostname() or "localhost"
    name = "".join(c if printable_name(c) else "_" for c in f"{user}@{host}")
    return name[:128]
