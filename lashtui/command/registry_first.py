"""A read command's registry path judged before the command loads: a missing file, a
directory, a FIFO, a file that is not SQLite is refused in the store's own sentence without
importing asyncio, pydantic or the models.

Why: such a refusal cost as much as a command that read a row (~1.2G instructions, 0.5-1 s
on this machine; `lashtui --help` ~170M), because the command's module imports the models
before its facade opens the file. Operators' scripts and the suite run such commands by the
thousand.

How it stays the same command: it runs the store's own check (registry/sqlite/file.py
`check_path`, on the absolute path, read-only, never creating: what sqlite/connect.py
`connect_file` runs first), so every refusal is the same exception with the same sentence,
and nothing is written. It only refuses: a path it lets through is opened, and checked
again, by the command as before. It serves only the commands whose first step that can
fail is that open (`READS_FIRST`: read-only, `create=False`); a command that checks its own
arguments or the operator first (the actions, `audit`, `check`, which reports a refusal as
UNKNOWN) keeps its order, and so does any target the store reads otherwise (a PostgreSQL
URL, `:memory:`, a libpq `key=value` string, `ls` with a lens scope that does not parse).
"""

from __future__ import annotations

import argparse
import os

# The commands that open the registry read-only before anything else of theirs can fail:
# `ls` (its page query reads what the parser has checked), `show`, `events`, `await`,
# `errors` (its query's bounds are the parser's).
READS_FIRST = frozenset({"ls", "show", "events", "await", "errors"})


def refuse_unopenable(args: argparse.Namespace) -> None:
    """Raise what opening `args.db` would raise for the path itself, when the command is
    one of `READS_FIRST` and the target a SQLite file path; else nothing."""
    if args.command not in READS_FIRST:
        return
    target: str = args.db
    if target.startswith(("postgresql://", "postgres://")) or target == ":memory:":
        return
    from lashtui.registry.display import keyword_form_problem

    if keyword_form_problem(target) is not None:
        return  # open_registry says what is wrong with it (or opens a file named so)
    if args.command == "ls" and not _lenses_read(args):
        return
    from lashtui.registry.sqlite.file import check_path

    check_path(os.path.abspath(target), read_only=True, create=False)


def _lenses_read(args: argparse.Namespace) -> bool:
    """Whether `ls`'s lens scope, if any, reads (the parser's `scope_check` has read it by
    this grammar; one that does not is the page query's to refuse, before the open)."""
    from lashtui.errors import InvalidRequest
    from lashtui.scope import parse_scope

    for given in (getattr(args, "granted_to", None), getattr(args, "originated_by", None)):
        if given is not None:
            try:
                parse_scope(given)
            except InvalidRequest:
                return False
    return True
