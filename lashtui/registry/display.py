"""How a registry's target is shown to people: in messages, banners and the dashboard's
title. A PostgreSQL URL may carry a password, which must never be printed."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redacted(target: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(target)
    if parts.password is None:
        return target
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))
