"""The command line's parser is built once a process (lashtui/cli.py `_parser`) and every
in-process `main` call reuses it: building it was most of an in-process command's time.

A parse must then leave nothing behind for the next: a flag given once is not "given more
than once" in the next call, `check`'s JSON usage error does not make the next one JSON, and
a usage error given before the command is the command of this call's (check's exit 3, or
argparse's 2). Each call here is the real entry point on a real SQLite registry."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from lashtui import cli
from lashtui.registry import open_registry
from tests.cli.test_cli_hostile import run_cli


async def _create(path: Path) -> None:
    async with open_registry(str(path), create=True):
        pass


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "reuse.db"
    asyncio.run(_create(path))
    return str(path)


def _forget_the_parser() -> None:
    """The next `main` builds the parser again (through `cli.build_parser`)."""
    cache = getattr(cli, "_parser", None)
    if cache is not None:
        cache.cache_clear()


def test_the_parser_is_built_once_a_process(db: str, monkeypatch: Any) -> None:
    built: list[object] = []

    def counted() -> Any:
        parser = build()
        built.append(parser)
        return parser

    build = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", counted)
    _forget_the_parser()
    try:
        for argv in (["ls"], ["audit"], ["ls", "--status", "nope"], ["--help"]):
            with contextlib.suppress(SystemExit):  # the usage error and --help exit
                run_cli("--db", db, *argv)
        assert len(built) == 1
    finally:
        _forget_the_parser()  # the next test builds its own, with the real build_parser


def test_a_flag_given_once_is_not_remembered_by_the_next_call(db: str) -> None:
    for _ in range(2):
        code, _out, err = run_cli("--db", db, "audit", "--by", "alice")
        assert code == 0, err
    with pytest.raises(SystemExit) as exit:
        run_cli("--db", db, "audit", "--by", "alice", "--by", "bob")
    assert exit.value.code == 2
    code, _out, err = run_cli("--db", db, "audit", "--by", "bob")
    assert code == 0, err


def test_checks_usage_error_takes_this_calls_output(db: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(["--db", db, "check", "--json", "--bogus"])
    assert exit.value.code == 3
    assert json.loads(capsys.readouterr().out)["status"] == "UNKNOWN"
    with pytest.raises(SystemExit) as exit:
        cli.main(["--db", db, "check", "--bogus"])
    assert exit.value.code == 3
    assert capsys.readouterr().out.startswith("LASHTUI UNKNOWN - usage: ")


def test_a_usage_error_before_the_command_is_this_calls_command(db: str) -> None:
    for argv, code in ((["check"], 3), (["ls"], 2), (["check"], 3), (["ls"], 2)):
        with pytest.raises(SystemExit) as exit:
            run_cli("--db", "", *argv)
        assert exit.value.code == code, argv
        assert run_cli("--db", db, *argv)[0] == 0  # between them, a call that succeeds
