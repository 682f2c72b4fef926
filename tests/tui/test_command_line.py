"""The `:` command line: every command parses to what the screen needs, and every bad value
is refused with one sentence that names it."""

from __future__ import annotations

import pytest

from lashtui.errors import InvalidRequest
from lashtui.model import SessionScope
from lashtui.tui.app import VIEWS
from lashtui.tui.command_line import Command, as_typed, parse


def test_lenses_take_a_scope_with_or_without_the_session_prefix() -> None:
    assert parse("granted session:s1").scope == SessionScope(session_id="s1")
    assert parse("originated s1/frame:f2").scope == SessionScope(
        session_id="s1", agent_frame_id="f2"
    )
    assert parse("all").name == "all"
    for word in ("all", "pause", "resume", "help", "quit"):
        with pytest.raises(InvalidRequest, match=f"^`{word}` takes no argument, got `a  b`$"):
            parse(f"{word} a  b")


def test_a_lens_takes_its_scope_as_typed() -> None:
    """Read through shlex, `granted session:a  b` lensed on `session:a b`, another scope,
    and a scope holding a quote was refused; a key that fills the scope in types it so
    that it arrives whole (`as_typed`)."""
    for scope in ("session:a  b", "session:back\\slash", "session:it's", "session:x ", '"q"'):
        expected = SessionScope.parse(scope if scope.startswith("session:") else f"session:{scope}")
        assert parse(f"granted {as_typed(scope)}").scope == expected, scope
        assert parse(f"originated {as_typed(scope)}").scope == expected, scope
    assert parse("granted session:a  b").scope == SessionScope(session_id="a  b")
    assert parse("granted it's").scope == SessionScope(session_id="it's")


def test_status_accepts_states_and_groups() -> None:
    assert parse("status running,failed").states == frozenset({"running", "failed"})
    assert parse("status live").states == frozenset({"running", "waiting"})
    assert parse("status terminal,waiting").states == frozenset(
        {"waiting", "completed", "failed", "cancelled", "abandoned"}
    )
    assert parse("status all").states is None


def test_values_arrive_whole() -> None:
    assert parse('filter "nightly build"').text == "nightly build"
    assert parse("filter").text == ""
    # A filter's text too is the rest of the line as typed (shlex made `a  b` `a b`,
    # `back\slash` `backslash`, and refused `it's`).
    assert parse("filter  a  b\\c's\td ").text == "a  b\\c's\td"
    assert parse('filter "open').text == '"open'
    assert parse("goto p-42").text == "p-42"
    # An id is the rest of the line as typed (blanks, backslashes, quotes, tabs kept); one
    # quoted word is unquoted, which reaches an id with a blank at either end.
    assert parse("goto  a  b\\c's\td ").text == "a  b\\c's\td"
    assert parse("OPEN 'x  y'").text == "x  y"
    assert parse('goto " lead"').text == " lead"
    assert parse('goto "a" "b"').text == '"a" "b"'
    assert parse("view leases").text == "leases"
    assert [parse(f"view {name}").text for name in VIEWS] == list(VIEWS)  # every key's view
    assert parse("prune 7d").age_ms == 7 * 86_400_000
    assert parse("export /tmp/out.jsonl").text == "/tmp/out.jsonl"
    assert parse("mark all").text == "all"
    assert parse("sort label desc") == Command("sort", text="label", descending=True)
    assert parse("sort lease_expiry") == Command("sort", text="lease_expiry")
    assert parse("sort age ASC") == Command("sort", text="age")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "type a command, e.g. `status running` or `help`"),
        ("frobnicate", "`frobnicate` is not a command; `help` lists them"),
        (
            "status runing",
            "`runing` is not a status; use one of running, waiting, completed, "
            "failed, cancelled, abandoned, all, live, terminal",
        ),
        (
            "status",
            "`status` needs a state: status <state,...>     running waiting completed "
            "failed cancelled abandoned live terminal all",
        ),
        (
            "granted session:",
            "a scope is `session:<id>` or `session:<id>/frame:<id>`, got `session:`",
        ),
        (
            "granted s1/frame:",
            "a scope is `session:<id>` or `session:<id>/frame:<id>`, got `s1/frame:`",
        ),
        (
            "view queue",
            "`queue` is not a view; use one of processes, leases, abandon, health, errors, audit",
        ),
        ("mark some", "`mark` takes `all` or `none`, got `some`"),
        (
            "prune soon",
            "a duration is a number with a unit (ms, s, m, h, d) such as `30m` or `1h`, got `soon`",
        ),
        ('sort "label', 'cannot read `sort "label`: No closing quotation'),
        (
            "sort size",
            "`size` is not a column to sort by; use one of id, status, label, age, updated, lease",
        ),
        ("sort label down", "a sort direction is `asc` or `desc`, got `down`"),
        ("sort label desc now", "`sort` takes a column and `asc` or `desc`, got `label desc now`"),
    ],
)
def test_bad_input_is_one_sentence_naming_the_value(line: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse(line)
    assert str(refused.value) == message
