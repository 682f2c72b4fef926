"""Hostile registry content through the real command line: ids, labels, scopes, event types,
payloads and reasons that another program stored, made of markup, terminal escapes, bidi
controls and every other character hypothesis can think of.

Whatever is stored, each read command exits 0 with no traceback; its human output carries no
byte a terminal would obey (each such character is shown as its escape); its JSON output
carries none either and still parses to exactly what was stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import subprocess
import sys
import unicodedata
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lashtui.cli import main
from lashtui.errors import LashError
from lashtui.model import (
    AbandonRequest,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessIdentity,
    ProcessProvenance,
    SessionOriginator,
    SessionScope,
    WaitKind,
    WaitState,
)
from lashtui.registry import open_registry
from tests.builders import ext
from tests.cli.test_cli import LASHTUI
from tests.test_untrusted import UNSEEN

NASTY = [
    "[/]",
    "[@click=app.quit]click me[/]",
    "[@click=screen.export('victim.txt')]click me[/]",
    "fake [green]completed[/]",
    "\x1b]0;pwned\x07",
    "\x1b[2J\x1b[H",
    "tab\there\rcarriage\x08back",
    "c1 \x9b31m csi",
    "\u202eevil\u202c",
    "line\u2028sep",
    ":smile: [bold]",
]
# Whatever a program might store: any character but a lone surrogate (which cannot be
# written as UTF-8, so no SQLite row holds one as TEXT), nasty fragments mixed in.
anything = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30)
hostile = st.one_of(
    st.sampled_from(NASTY),
    anything,
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), anything),
)
# Obeyed rather than shown: C0 (but newline, which ends lines), DEL, C1, separators, bidi.
OBEYED = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)] if c != 0x0A}
OBEYED |= set("\u2028\u2029\u061c\u200e\u200f") | {chr(c) for c in range(0x202A, 0x202F)}
OBEYED |= {chr(c) for c in range(0x2066, 0x206A)}


def assert_nothing_obeyed(output: bytes) -> str:
    text = output.decode("utf-8")  # strict: a lone surrogate would have failed here
    bad = sorted({f"U+{ord(c):04X}" for c in text if c in OBEYED})
    assert not bad, f"control characters reached the terminal: {bad}"
    return text


def assert_nothing_unseen(text: str) -> None:
    """Human output draws no character as nothing: each is shown as its escape."""
    unseen = sorted({f"U+{ord(c):04X}" for c in text if c in UNSEEN})
    assert not unseen, f"drawn as nothing: {unseen}"


def run_cli(*argv: str) -> tuple[int, bytes, bytes]:
    """The real entry point in this process, its output captured as the bytes a terminal
    would receive (UTF-8, strict)."""
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", errors="strict", write_through=True)
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(list(argv))
    stdout.flush()
    stderr.flush()
    return code, out.getvalue(), err.getvalue()


async def store(path: Path, rows: list[tuple[str, str, str, str]]) -> list[str]:
    """Rows another program wrote: (id, label, session id, reason) each, with an event whose
    type and payload are hostile too. Values the registry itself refuses are skipped: a
    refusal at the write path is the other half of the contract, tested elsewhere."""
    stored: list[str] = []
    async with open_registry(str(path), create=True) as registry:
        for process_id, label, session, reason in rows:
            kind = "x." + "".join(c for c in label if c.isalnum())[:10]
            try:
                await registry.register_process(
                    ext(
                        process_id,
                        identity=ProcessIdentity(kind="external", label=label),
                        provenance=ProcessProvenance(
                            originator=SessionOriginator(scope=SessionScope(session_id=session))
                        ),
                        event_types=[ProcessEventType.plain(kind)],
                    )
                )
            except LashError:
                continue
            stored.append(process_id)  # the row exists, whatever its later writes meet
            with contextlib.suppress(LashError):
                await registry.append_event(
                    process_id,
                    ProcessEventAppendRequest(
                        event_type=kind,
                        payload={"note": label, reason: [reason, {"deep": session}]},
                    ),
                )
            with contextlib.suppress(LashError):
                await registry.request_process_abandon(
                    process_id, AbandonRequest(requested_by=label, requested_at_ms=1, reason=reason)
                )
    return stored


def check_reads(db: Path, stored: list[str]) -> None:
    code, out, err = run_cli("--db", str(db), "ls", "--status", "any")
    assert code == 0, err
    assert_nothing_unseen(assert_nothing_obeyed(out))
    assert len(out.decode().splitlines()) >= 1 + len(stored)

    code, out, err = run_cli("--db", str(db), "ls", "--status", "any", "--json")
    assert code == 0, err
    listed = json.loads(assert_nothing_obeyed(out))
    assert sorted(p["process_id"] for p in listed) == sorted(stored)

    # `--` before an id: a stored id may begin with `-`, which a command line would
    # otherwise read as an option (the usual Unix rule, which argparse follows).
    for process_id in stored:
        for command in ("show", "events"):
            code, out, err = run_cli("--db", str(db), command, "--", process_id)
            assert code == 0, err
            assert_nothing_unseen(assert_nothing_obeyed(out))
            code, out, err = run_cli("--db", str(db), command, "--json", "--", process_id)
            assert code == 0, err
            json.loads(assert_nothing_obeyed(out))  # parses; an empty log is `[]`
        shown = json.loads(run_cli("--db", str(db), "show", "--json", "--", process_id)[1])
        assert shown["process_id"] == process_id  # the exact stored text, escapes undone

    # A refusal quotes the value it refuses: visibly, on one line.
    code, out, err = run_cli("--db", str(db), "show", "nope\x1b[2J" + stored[0] if stored else "x")
    assert code == 1
    assert len(assert_nothing_obeyed(err).strip().splitlines()) == 1


@settings(
    max_examples=15,
    deadline=None,
    # Shrinking re-runs whole commands hundreds of times; the example is printed as found.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(st.tuples(hostile, hostile, hostile, hostile), min_size=1, max_size=4))
def test_hostile_rows_read_back_safely(tmp_path: Path, rows: list[tuple[str, ...]]) -> None:
    db = tmp_path / f"hostile-{abs(hash(repr(rows)))}.db"
    unique = list({r[0]: r for r in rows}.values())
    stored = asyncio.run(store(db, unique))  # type: ignore[arg-type]
    check_reads(db, stored)


def test_every_nasty_value_at_once_through_the_installed_command(tmp_path: Path) -> None:
    """The fixed cases through the installed `lashtui` in a subprocess, as a terminal gets
    them: no traceback, no control byte, markup shown as the characters it is."""
    db = tmp_path / "nasty.db"
    rows = [(f"id{n}{v}", v, f"s{n}{v[:3]}", v) for n, v in enumerate(NASTY)]
    stored = asyncio.run(store(db, rows))
    assert len(stored) >= 5
    result = subprocess.run(
        [LASHTUI, "--db", str(db), "ls", "--status", "any"], capture_output=True, timeout=60
    )
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    text = assert_nothing_obeyed(result.stdout)
    assert "[@click=app.quit]click me[/]" in text and "fake [green]completed[/]" in text
    assert "\\x1b]0;pwned\\x07" in text


def test_invisible_characters_are_shown_and_json_keeps_them(tmp_path: Path) -> None:
    """`ls` drew `payroll\u200b-run` as `payroll-run` (and its columns one cell short of the
    others); `--json` keeps the stored id exactly, for programs."""
    db = tmp_path / "lookalike.db"
    ids = ["payroll-run", "payroll\u200b-run", "tags\U000e0069\U000e0067", "soft\u00ad\ufeff"]
    assert asyncio.run(store(db, [(pid, "payroll run", "s", "r") for pid in ids])) == ids
    code, out, err = run_cli("--db", str(db), "ls")
    assert code == 0, err
    text = assert_nothing_obeyed(out)
    assert_nothing_unseen(text)
    lines = text.splitlines()
    for shown in ("payroll\\u200b-run", "tags\\U000e0069\\U000e0067", "soft\\xad\\ufeff"):
        assert any(line.startswith(shown + " ") for line in lines), text
    # Every row's STATUS column starts where the header's does.
    column = lines[0].index("STATUS")
    assert all(line[column - 1] == " " and line[column] != " " for line in lines), text

    code, out, err = run_cli("--db", str(db), "show", "--", ids[1])
    assert code == 0, err
    assert "payroll\\u200b-run" in assert_nothing_obeyed(out)
    assert_nothing_unseen(out.decode())

    code, out, err = run_cli("--db", str(db), "ls", "--json")
    assert code == 0, err
    assert sorted(p["process_id"] for p in json.loads(out)) == sorted(ids)


@pytest.mark.parametrize("reader", ["head", "python"])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, reader: str) -> None:
    db = tmp_path / "many.db"
    asyncio.run(store(db, [(f"p{n:04}", "label", "s", "r") for n in range(400)]))
    one_line = f"{sys.executable} -c 'import sys; sys.stdin.readline()'"
    consumer = "head -1" if reader == "head" else one_line
    result = subprocess.run(
        f"'{LASHTUI}' --db '{db}' ls --status any | {consumer}; echo \"rc=${{PIPESTATUS[0]}}\" >&2",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] in ("rc=0", "rc=141")


def test_the_obeyed_set_matches_unicode() -> None:
    """The test's own idea of a control character agrees with Unicode's (Cc), so the
    property above cannot pass by testing for too little."""
    cc = {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"}
    assert cc - {"\n"} <= OBEYED


def test_a_waits_signal_name_is_shown_not_obeyed(tmp_path: Path) -> None:
    """`ls` shows a waiting row as `waiting:<signal name>`: the name is stored text."""
    db = tmp_path / "wait.db"

    async def park() -> None:
        async with open_registry(str(db)) as registry:
            await registry.register_process(ext("w"))
            name = "\x1b]0;pwned\x07[bold]"
            kind = WaitKind(name=name, event_type="signal.x", key="process:w:signal.x:1", ordinal=1)
            await registry.set_process_wait("w", WaitState(kind=kind, since_ms=1))

    asyncio.run(park())
    code, out, _ = run_cli("--db", str(db), "ls")
    assert code == 0
    text = assert_nothing_obeyed(out)
    assert "waiting:\\x1b]0;pwned\\x07[bold]" in text
