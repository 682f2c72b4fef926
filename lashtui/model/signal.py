"""Process signals' names and keys (semantics §11.1): a signal named `go` is an event of
type `signal.go`, waited for under `process:<pid>:signal.go:<n>` and replayed under
`process:<pid>:signal.go:<signal id>`.

Apart from event.py because these are names, checked and built from strings, which the
worker's engines, the facade and the dashboard ask for without an event at hand.
"""

import re

from lashtui.errors import InvalidRequest
from lashtui.model import limit

# --- signals (semantics §11.1) --------------------------------------------------------------

_SIGNAL_NAME = re.compile(r"[A-Za-z0-9_-]+")
SIGNAL_PREFIX = "signal."


def validate_process_signal_name(name: str) -> str:
    """A signal name is non-empty ASCII letters, digits, `_` and `-`, at most
    `limit.MAX_NAME_CHARS` of them."""
    if isinstance(name, str) and len(name) > limit.MAX_NAME_CHARS:
        limit.check_text("a signal name", name, limit.MAX_NAME_CHARS)
    if not isinstance(name, str) or not _SIGNAL_NAME.fullmatch(name):
        raise InvalidRequest(
            "process signal name must be non-empty and contain only ASCII letters, digits, "
            f"`_`, or `-`, got `{name}`"
        )
    return name


def process_signal_event_type(name: str) -> str:
    return SIGNAL_PREFIX + validate_process_signal_name(name)


def process_signal_name_from_event_type(event_type: str) -> str | None:
    if not event_type.startswith(SIGNAL_PREFIX):
        return None
    return event_type.removeprefix(SIGNAL_PREFIX)


def process_signal_wait_key(process_id: str, name: str, ordinal: int) -> str:
    """`process:<pid>:signal.<name>:<n>`; ordinals count from 1."""
    if ordinal < 1:
        raise InvalidRequest(f"a signal wait ordinal starts at 1, got {ordinal}")
    return f"process:{process_id}:{process_signal_event_type(name)}:{ordinal}"


def process_signal_replay_key(process_id: str, name: str, signal_id: str) -> str:
    limit.check_text("a signal id", signal_id, limit.MAX_ID_CHARS)
    return f"process:{process_id}:{process_signal_event_type(name)}:{signal_id}"
