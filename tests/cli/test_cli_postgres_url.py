"""A `postgresql://` URL too malformed to take apart (a port that is not a number or out of
range, an IPv6 host's bracket left open) is refused in one sentence that names it, its
password hidden, by the installed command and by `open_registry`: it was a ValueError
traceback, raised where the password was hidden for a message. So is a connect timeout
that is no number of seconds or would wait for ever. No server is needed."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from lashtui.errors import InvalidRequest
from lashtui.registry import open_registry
from tests.cli.test_cli import lashtui

MALFORMED = [
    ("postgresql://u:s3cret@host:port/x", "postgresql://u:***@host:port/x", "its port"),
    ("postgresql://u:s3cret@host:99999/x", "postgresql://u:***@host:99999/x", "its port"),
    ("postgres://u:s3cret@[::1/x", "postgres://u:***@[::1/x", "the `[` and `]`"),
    (
        "postgresql://u:s3cret@host/x?connect_timeout=0",
        "postgresql://u:***@host/x?connect_timeout=0",
        "its connect_timeout must be 1 s or more: `0` would wait for a silent server for ever",
    ),
    (
        "postgresql://u:s3cret@host/x?connect_timeout=soon",
        "postgresql://u:***@host/x?connect_timeout=soon",
        "its connect_timeout must be a whole number of seconds: `soon`",
    ),
]


@pytest.mark.parametrize(("url", "shown", "why"), MALFORMED)
def test_a_malformed_url_is_one_sentence_naming_it(url: str, shown: str, why: str) -> None:
    sentence = f"not a PostgreSQL URL: `{shown}` ({why}"
    for argv in (["ls"], ["start", "a", "--external"], ["worker", "--once"]):
        result = lashtui("--db", url, *argv)
        assert (result.returncode, result.stdout) == (1, ""), result.stderr
        assert result.stderr.startswith(f"lashtui: {sentence}"), result.stderr
        assert len(result.stderr.splitlines()) == 1 and "s3cret" not in result.stderr
    probe = lashtui("--db", url, "check")
    assert (probe.returncode, probe.stderr) == (3, ""), probe.stderr
    assert probe.stdout.startswith(f"LASHTUI UNKNOWN - {sentence}") and "s3cret" not in probe.stdout


@pytest.mark.parametrize(("url", "shown", "why"), MALFORMED)
async def test_open_registry_refuses_it_as_an_invalid_request(
    url: str, shown: str, why: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        async with open_registry(url, read_only=True):
            pass
    assert str(refused.value).startswith(f"not a PostgreSQL URL: `{shown}` ({why}")


def test_a_password_given_as_a_query_parameter_is_hidden_too() -> None:
    """libpq takes `?password=`; a message quoting the URL showed it (here: no server
    listens on port 1, so the command says it cannot reach the registry)."""
    url = "postgresql://u@127.0.0.1:1/x?sslmode=disable&password=s3cret"
    for argv in (["ls"], ["check"]):
        result = lashtui("--db", url, *argv)
        said = result.stdout + result.stderr
        assert result.returncode == (3 if argv == ["check"] else 1), said
        assert "s3cret" not in said and "/x?sslmode=disable&password=***`" in said, said


KEYWORD_FORM = "host=127.0.0.1 port=1 dbname=ops user=lash password=s3cret"


def test_libpqs_key_value_form_is_refused_naming_it(tmp_path: Path) -> None:
    """`--db 'host=... password=...'` (libpq's other connection string) was taken for a
    SQLite path: `worker` and `start` created a registry file named after it, password and
    all, and ran on that empty local file while the operator thought it served the fleet;
    a read named the missing file, password and all. Now it is one sentence naming it, its
    password hidden, and nothing is created."""
    for argv in (["ls"], ["start", "a", "--external"], ["worker", "--once"]):
        result = lashtui("--db", KEYWORD_FORM, *argv, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (1, ""), result.stderr
        assert result.stderr.startswith(
            "lashtui: not a registry: `host=127.0.0.1 port=1 dbname=ops user=lash "
            "password=***` is libpq's key=value form"
        ), result.stderr
        assert len(result.stderr.splitlines()) == 1 and "s3cret" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    probe = lashtui("--db", KEYWORD_FORM, "check", cwd=tmp_path)
    assert probe.returncode == 3 and "s3cret" not in probe.stdout, probe.stdout
    # A file really named so is a file.
    (tmp_path / "host=here").write_bytes(b"")
    named = lashtui("--db", "host=here", "ls", cwd=tmp_path)
    assert "not a lash process registry" in named.stderr, named.stderr


def test_the_urls_connect_timeout_is_the_time_waited() -> None:
    """libpq's `?connect_timeout=` (and $PGCONNECT_TIMEOUT) were overridden by the store's
    own 10 s: a server that takes the connection and never answers (here a socket nobody
    accepts on; the kernel answers the handshake) held `ls` ~11 s whatever the URL said."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql://u@127.0.0.1:{silent.getsockname()[1]}/x"
        for args, env in (
            (("--db", f"{url}?connect_timeout=2"), {}),
            (("--db", url), {"PGCONNECT_TIMEOUT": "2"}),
        ):
            began = time.monotonic()
            result = lashtui(*args, "ls", env={**os.environ, **env})
            took = time.monotonic() - began
            assert (result.returncode, result.stdout) == (1, ""), result.stderr
            assert "connection timeout expired" in result.stderr, result.stderr
            assert 2 <= took < 8, (took, env)


def test_a_pgconnect_timeout_that_would_wait_for_ever_is_one_sentence() -> None:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "0"}
    result = lashtui("--db", "postgresql://u:s3cret@127.0.0.1:1/x", "ls", env=env)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert result.stderr == (
        "lashtui: $PGCONNECT_TIMEOUT must be 1 s or more: `0` would wait for a silent server "
        "for ever (connecting to `postgresql://u:***@127.0.0.1:1/x`)\n"
    )
