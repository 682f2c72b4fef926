"""How a registry's target is shown to people: in messages, banners and the dashboard's
title. A PostgreSQL URL may carry a password, which must never be printed, even from a URL
too malformed to take apart (`url_problem` names what is wrong with one)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# `scheme://user:password@`, for a URL urllib cannot take apart: everything from the first
# `:` after the user to the last `@` is hidden (too much hidden beats a password shown).
_CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:@/]*):[^@]*@")


def redacted(target: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(target)
        password, port = parts.password, parts.port
    except ValueError:  # a port that is not a number, an IPv6 host left open
        return _CREDENTIALS.sub(r"\1:***@", target, count=1)
    if password is None:
        return target
    host = parts.hostname or ""
    if port is not None:
        host = f"{host}:{port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


def url_problem(target: str) -> str | None:
    """One sentence naming a PostgreSQL URL urllib cannot take apart (its password hidden),
    else None. Such a URL raised ValueError where its password was hidden for a message, a
    traceback before any connection was tried."""
    try:
        _port = urlsplit(target).port  # the split raises on brackets, the port on a port
    except ValueError as error:
        text = str(error)
        why = (
            "its port must be a number from 0 to 65535" if "Port" in text
            else "the `[` and `]` around an IPv6 host do not match"  # "Invalid IPv6 URL"
        )  # fmt: skip
        return f"not a PostgreSQL URL: `{redacted(target)}` ({why})"
    return None
