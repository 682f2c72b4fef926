"""The usage errors found once the arguments parse, which argparse's types cannot find
alone (exit 2, and 3 for `check`, as every usage error): a scope flag not written as a
scope (`scope_check`, one of a parser's `checks`), an argument that is not UTF-8
(`not_utf8`) and an operator name no action records (`bad_operator`); the entry point
(lashtui/cli.py) asks the last two of every command.

Together because each reads a value as the command will read it, and so imports what reads
it (the model, lashtui/scope.py, lashtui.untrusted) only when it runs and a value is given:
`--help` and the other usage errors exit before loading it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from lashtui.errors import InvalidRequest


def scope_check(**flags: str) -> Callable[[argparse.Namespace], str | None]:
    """A check that each scope flag (dest=flag) is written as a scope, read as the command
    will read it, so a malformed one is a usage error naming it (it was refused with exit 1,
    as if the registry had refused it). Run once the arguments parse. A session scope is
    read by the grammar the model reads it by (lashtui/scope.py), without the model: `ls
    --json` with a lens reads without it (lashtui/listing.py). Only `start --originator`,
    which may also name the host, reads through the model, which `start` loads anyway."""

    def check(args: argparse.Namespace) -> str | None:
        for dest, flag in flags.items():
            value = getattr(args, dest)
            if value is None or not is_utf8(value):
                continue  # not UTF-8: `not_utf8` says so
            try:
                if dest == "originator":
                    from lashtui.model.scope import originator_from_scope_id

                    originator_from_scope_id(value)
                else:
                    from lashtui.scope import parse_scope

                    parse_scope(value)
            except InvalidRequest as error:
                return f"argument {flag}: {error}"
        return None

    return check


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True



# Arguments that are paths, where any bytes are a name the OS can open.
_PATH_ARGUMENTS = frozenset({"db", "command"})
# The positionals, named as argparse's own usage errors name them (`ID` is the lists' metavar).
_POSITIONALS = {"id": "id", "ids": "ID", "name": "name"}
# Where the flag is not the dest.
_FLAGS = {"from_scope": "--from", "to_scope": "--to", "operator": "--as"}
# Whose ID may be bytes that are not UTF-8: an id another program stored that way
# (lashtui/command/argument.py says how such an ID is read).
RAW_ID_COMMANDS = frozenset({"show", "events", "end-undecodable"})


def not_utf8(args: argparse.Namespace, registry: str) -> str | None:
    """The usage error naming the first argument that is not UTF-8, else None. Python hands
    argv bytes that are not UTF-8 over as lone surrogates, which no registry can store or
    even look up (sqlite3 and psycopg raise on them). A raw ID is an id another program
    stored (`RAW_ID_COMMANDS`), but only in a SQLite file: PostgreSQL's text is UTF-8."""
    raw_ids = args.command in RAW_ID_COMMANDS and not _is_postgres(registry)
    for dest, value in vars(args).items():
        if dest in _PATH_ARGUMENTS or (dest == "id" and raw_ids):
            continue
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str) or text.isascii():
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as error:
                name = _POSITIONALS.get(dest) or _FLAGS.get(dest) or f"--{dest.replace('_', '-')}"
                return f"argument {name}: {_not_utf8_sentence(text, error.start)}"
    return None


def bad_operator(args: argparse.Namespace) -> str | None:
    """The usage error naming an operator name given on the command line that no action
    records (`--as`, and `--by` of abandon and end-undecodable; audit's `--by` is a filter),
    else None. It exited 1 as if the registry had refused it, where a value that is not
    UTF-8 in the same flag exits 2. Checked after parsing, and the model imported only when
    a name is given, so that other usage errors still exit before loading it."""
    given = [("--as", getattr(args, "operator", None))]
    if args.command != "audit":
        given.append(("--by", getattr(args, "by", None)))
    for flag, name in given:
        if name is None:
            continue
        from lashtui.model.outcome import check_operator_name

        try:
            check_operator_name(name, f"argument {flag}")
        except InvalidRequest as error:
            from lashtui.untrusted import shown

            return shown(str(error))
    return None


# How much of a value that is not UTF-8 its usage error shows, around its first bad byte:
# enough to find it by, never a whole payload.
SHOWN_AROUND = 32


def _not_utf8_sentence(text: str, start: int) -> str:
    """`not valid UTF-8 (byte 0xff at character 1): $'a\\xffb'`: the value as a shell word
    that reads back as the bytes given (ANSI-C quoting), so no raw byte reaches the
    terminal; a long value only around its first bad byte, `...` marking what is left out."""
    code = ord(text[start])
    byte = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "a surrogate"
    from lashtui.untrusted import shell_word

    low, high = max(start - SHOWN_AROUND, 0), start + SHOWN_AROUND
    word = shell_word(text[low:high])
    word = ("..." if low else "") + word + ("..." if high < len(text) else "")
    return f"not valid UTF-8 ({byte} at character {start}): {word}"


def _is_postgres(registry: str) -> bool:
    return registry.startswith(("postgresql://", "postgres://"))  # as open_registry reads it
