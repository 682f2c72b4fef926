"""Shell completion (issue 18, item 8): `lashtui completion bash|zsh|fish` prints argcomplete's
script, and a process id completes from the registry --db names, read-only and capped, both
through the completer itself and through bash running the generated script for real."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lashtui.cli import main
from lashtui.completion import CAP, process_ids
from lashtui.registry import open_registry
from tests.builders import ext

BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`job-000`..`job-249`, `other`, and an id holding ESC, which no shell should be offered."""
    path = tmp_path_factory.mktemp("completion") / "reg.db"

    async def seed() -> None:
        async with open_registry(str(path), create=True) as store:
            for pid in [*(f"job-{n:03d}" for n in range(250)), "other", "job-\x1b[2J"]:
                await store.register_process(ext(pid))

    asyncio.run(seed())
    return path


def digests(path: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.parent.iterdir())
        if p.name.startswith(path.name)
    }


@pytest.mark.parametrize(
    ("shell", "needle"),
    [
        ("bash", "complete -o nospace -o default -o bashdefault -F _python_argcomplete lashtui"),
        ("zsh", "#compdef lashtui"),
        ("fish", "complete --command lashtui"),
    ],
)
def test_the_script_for_each_shell(
    capsys: pytest.CaptureFixture[str], shell: str, needle: str
) -> None:
    assert main(["completion", shell]) == 0
    out = capsys.readouterr().out
    assert needle in out and "_ARGCOMPLETE" in out


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["completion", "tcsh"])
    assert exit_.value.code == 2 and "invalid choice: 'tcsh'" in capsys.readouterr().err


def test_ids_come_from_the_registry_by_prefix_capped_and_read_only(registry: Path) -> None:
    before = digests(registry)
    assert process_ids(str(registry), "job-24") == [f"job-{n}" for n in range(240, 250)]
    assert process_ids(str(registry), "job-249") == ["job-249"]  # the id itself, exactly
    assert process_ids(str(registry), "oth") == ["other"]
    assert process_ids(str(registry), "zz") == []
    every = process_ids(str(registry), "")
    # One page of CAP ids is read; the ESC id (first in id order) is dropped from it.
    assert len(every) == CAP - 1 and every[:2] == ["job-000", "job-001"]
    # The id holding ESC is never offered to a shell, whatever the prefix.
    assert all("\x1b" not in pid for pid in process_ids(str(registry), "job-"))
    assert digests(registry) == before


def test_a_missing_or_bad_registry_offers_nothing_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert process_ids(str(missing), "") == []
    assert not missing.exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a registry")
    assert process_ids(str(junk), "") == []
    assert junk.read_bytes() == b"not a registry"


def complete(line: str, *, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """What bash offers for `line` with the generated script loaded: the completion function
    the script registers, called as bash's programmable completion calls it."""
    script = (
        'eval "$(lashtui completion bash)"\n'
        'COMP_LINE="$LINE"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$COMP_LINE"\n'
        '[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")\n'
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        '_python_argcomplete lashtui "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    environment = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "LINE": line, **(env or {})}
    environment.pop("LASHTUI_DB", None) if env is None else None
    result = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [word.strip() for word in result.stdout.splitlines() if word.strip()]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_ids_from_the_db_named_anywhere(registry: Path, tmp_path: Path) -> None:
    before = digests(registry)
    assert complete(f"lashtui --db {registry} show job-24", cwd=tmp_path) == [
        f"job-{n}" for n in range(240, 250)
    ]
    assert complete(f"lashtui cancel --db {registry} oth", cwd=tmp_path) == ["other"]
    assert complete(f"lashtui events --db {registry} oth", cwd=tmp_path) == ["other"]
    # $LASHTUI_DB, as every command reads it.
    assert complete("lashtui show oth", cwd=tmp_path, env={"LASHTUI_DB": str(registry)}) == [
        "other"
    ]
    # Subcommands and flags come from the parser itself.
    assert "completion" in complete("lashtui c", cwd=tmp_path)
    assert complete("lashtui ls --stat", cwd=tmp_path) == ["--status"]
    # The default registry (./lashtui.db) is missing here: nothing offered, nothing created.
    assert complete("lashtui show j", cwd=tmp_path) == []
    assert not (tmp_path / "lashtui.db").exists()
    assert digests(registry) == before


def test_ids_complete_from_either_store(registry_target: str) -> None:
    """The same read on SQLite and PostgreSQL (`backend` parametrizes `registry_target`)."""

    async def seed() -> None:
        async with open_registry(registry_target, create=True) as store:
            for pid in ("a-1", "a-2", "b-1"):
                await store.register_process(ext(pid))

    asyncio.run(seed())
    assert process_ids(registry_target, "a-") == ["a-1", "a-2"]
    assert process_ids(registry_target, "b-1") == ["b-1"]
    assert process_ids(registry_target, "") == ["a-1", "a-2", "b-1"]
