"""How a registry's target is shown to people: in messages, banners and the dashboard's
title. A PostgreSQL URL may carry a password, which must never be printed, even from a URL
too malformed to take apart (`url_problem` names what is wrong with one)."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# `scheme://user:password@`, for a URL urllib cannot take apart: everything from the first
# `:` after the user to the last `@` is hidden (too much hidden beats a password shown).
_CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:@/]*):[^@]*@")
# libpq also takes the password as a query parameter (`?password=...`), which was shown.
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*")


def redacted(target: str) -> str:
    """The URL without its password (in its user part or as `?password=`), for messages."""
    try:
        parts = urlsplit(target)
        password, port = parts.password, parts.port
    except ValueError:  # a port that is not a number, an IPv6 host left open
        hidden = _CREDENTIALS.sub(r"\1:***@", target, count=1)
        return _PASSWORD_PARAMETER.sub(r"\1***", hidden)
    query = _PASSWORD_PARAMETER.sub(r"\1***", "?" + parts.query)[1:]
    if password is None:
        # Hidden in the text as given: urlunsplit drops the `//` of an empty host part
        # (`postgresql:///db?host=...` came back as `postgresql:/db?...`).
        head, mark, rest = target.partition("?")
        return head + mark + _PASSWORD_PARAMETER.sub(r"\1***", "?" + rest)[1:]
    netloc = parts.netloc
    if password is not None:
        host = parts.hostname or ""
        if port is not None:
            host = f"{host}:{port}"
        netloc = f"{parts.username}:***@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_problem(target: str) -> str | None:
    """One sentence naming a PostgreSQL URL urllib cannot take apart (its password hidden),
    or a connect timeout it or $PGCONNECT_TIMEOUT gives that would never be honoured, else
    None. Such a URL raised ValueError where its password was hidden for a message, a
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
    try:
        connect_timeout(target)
    except BadTimeout as error:
        if error.in_url:
            return f"not a PostgreSQL URL: `{redacted(target)}` (its {error})"
        return f"{error} (connecting to `{redacted(target)}`)"
    return None


class BadTimeout(ValueError):
    """A connect timeout that is no whole number of seconds, or asks to wait for ever."""

    def __init__(self, message: str, *, in_url: bool) -> None:
        super().__init__(message)
        self.in_url = in_url


def connect_timeout(target: str) -> int | None:
    """How long a connection waits for the server, in seconds: the URL's `connect_timeout`,
    else `$PGCONNECT_TIMEOUT`, as libpq reads them (a whole number; 1 is taken as 2), None
    if neither gives one. `BadTimeout` names a value that is no whole number of seconds, or
    that asks to wait for ever (0 or less, to libpq): nothing here waits for ever."""
    given = dict(parse_qsl(urlsplit(target).query)).get("connect_timeout")
    name, in_url = "connect_timeout", True
    if given is None:
        given, name, in_url = os.environ.get("PGCONNECT_TIMEOUT"), "$PGCONNECT_TIMEOUT", False
    if given is None:
        return None
    try:
        seconds = int(given.strip())
    except ValueError:
        raise BadTimeout(
            f"{name} must be a whole number of seconds: `{given}`", in_url=in_url
        ) from None
    if seconds < 1:
        raise BadTimeout(
            f"{name} must be 1 s or more: `{given}` would wait for a silent server for ever",
            in_url=in_url,
        )
    return max(seconds, 2)


# libpq's other connection string, `host=h dbname=d password=p` (a keyword, `=`, a value,
# blank-separated), which `--db` does not take: it was opened as a SQLite path, and the
# message naming the missing file printed its password.
_KEYWORDS = (
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service",
    "sslmode", "options", "application_name", "connect_timeout", "target_session_attrs",
)  # fmt: skip
_KEYWORD_FORM = re.compile(rf"^\s*(?:{'|'.join(_KEYWORDS)})\s*=")
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)")


def keyword_form_problem(target: str) -> str | None:
    """One sentence naming a libpq key=value connection string (its password hidden) given
    where a registry is named, else None. The caller asks only of a target that is no
    file, so a file that happens to be named so still opens."""
    if _KEYWORD_FORM.match(target) is None:
        return None
    shown = _KEYWORD_PASSWORD.sub(r"\1***", target)
    return (
        f"not a registry: `{shown}` is libpq's key=value form; name a PostgreSQL registry "
        "by its URL, postgresql://USER@HOST:PORT/DBNAME"
    )


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
