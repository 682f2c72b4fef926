"""The `:` command line: what an operator can type, parsed into a `Command` or refused with
one sentence naming the bad value (nothing is half applied: a command is parsed whole
before the screen acts on it).

Pure parsing, no Textual: the screens carry commands out, tests check every refusal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from lashtui.clock import parse_duration_ms
from lashtui.errors import InvalidRequest
from lashtui.model import ProcessOrder, SessionScope

STATES = ("running", "waiting", "completed", "failed", "cancelled", "abandoned")
# Named groups an operator reaches for more often than single states.
STATE_GROUPS: dict[str, frozenset[str] | None] = {
    "all": None,
    "live": frozenset({"running", "waiting"}),
    "terminal": frozenset({"completed", "failed", "cancelled", "abandoned"}),
}
# Every view the keys 1-6 reach, in their order (the app's modes: `lashtui.tui.app.VIEWS`;
# a test keeps the two the same).
VIEWS = ("processes", "leases", "abandon", "health", "errors", "audit")

USAGE = {
    "all": "all                    every process (no lens)",
    "granted": "granted <scope>        processes granted to a session scope",
    "originated": "originated <scope>     processes a session (or frame) started",
    "status": "status <state,...>     running waiting completed failed cancelled abandoned "
    "live terminal all",
    "sort": "sort <column> [desc]   id status label age updated lease",
    "filter": "filter [text]          id, label or scope contains text (empty clears)",
    "goto": "goto <process-id>      select a process (says so if it is not shown)",
    "open": "open <process-id>      open a process's detail",
    "view": "view <name>            " + " ".join(VIEWS),
    "mark": "mark all | none        mark every row matching the filters, or none",
    "export": "export [path]          write the rows matching the filters as JSONL",
    "prune": "prune <age>            remove terminal processes older than e.g. 7d",
    "theme": "theme <name>           switch theme, e.g. lashtui-high-contrast",
    "pause": "pause / resume         stop or restart live updates",
    "resume": "",
    "help": "help                   the keys and commands",
    "quit": "quit",
}


@dataclass(frozen=True)
class Command:
    name: str
    scope: SessionScope | None = None
    states: frozenset[str] | None = None
    text: str = ""
    age_ms: int = 0
    descending: bool = False


def parse_scope(text: str) -> SessionScope:
    """`session:<id>` or `session:<id>/frame:<id>`; a bare id means `session:<id>`."""
    scope_id = text if text.startswith("session:") else f"session:{text}"
    try:
        scope = SessionScope.parse(scope_id)
    except (InvalidRequest, ValueError):
        scope = None
    if scope is None or scope.is_empty():
        raise InvalidRequest(
            f"a scope is `session:<id>` or `session:<id>/frame:<id>`, got `{text}`"
        ) from None
    return scope


def parse_states(text: str) -> frozenset[str] | None:
    states: set[str] = set()
    for word in filter(None, (part.strip() for part in text.split(","))):
        if word in STATE_GROUPS:
            group = STATE_GROUPS[word]
            if group is None:
                return None
            states |= group
        elif word in STATES:
            states.add(word)
        else:
            choices = ", ".join([*STATES, *STATE_GROUPS])
            raise InvalidRequest(f"`{word}` is not a status; use one of {choices}")
    if not states:
        raise InvalidRequest("`status` needs a state, e.g. `status running,waiting`")
    return frozenset(states)


def describe_states(states: frozenset[str] | None) -> str:
    """A state set as the operator would type it: a group name where one fits."""
    for name, group in STATE_GROUPS.items():
        if states == group:
            return name
    return ",".join(state for state in STATES if state in (states or ()))


# The word on each sortable column's header (any case), and the page order it sorts by.
# `:sort lease` was refused, as `unknown process order`, under a header reading LEASE: the
# order is named `lease_expiry` (as `lashtui ls --sort` takes it), which is taken too.
SORT_COLUMNS: dict[str, ProcessOrder] = {
    "id": "id",
    "status": "status",
    "label": "label",
    "age": "age",
    "updated": "updated",
    "lease": "lease_expiry",
}
SORT_ALIASES: dict[str, ProcessOrder] = {"lease_expiry": "lease_expiry"}


def parse_sort(rest: str, args: list[str]) -> Command:
    """`sort <column> [asc|desc]`: the column by its header's word, sorted in the registry
    by that column's page order (`Command.text`)."""
    if len(args) > 2:
        raise InvalidRequest(f"`sort` takes a column and `asc` or `desc`, got `{rest}`")
    word = args[0].lower()
    order = SORT_COLUMNS.get(word) or SORT_ALIASES.get(word)
    if order is None:
        columns = ", ".join(SORT_COLUMNS)
        raise InvalidRequest(f"`{args[0]}` is not a column to sort by; use one of {columns}")
    direction = args[1].lower() if len(args) == 2 else "asc"
    if direction not in ("asc", "desc"):
        raise InvalidRequest(f"a sort direction is `asc` or `desc`, got `{args[1]}`")
    return Command("sort", text=order, descending=direction == "desc")


# Commands whose argument is one value: a process id, the text a filter looks for (in ids,
# labels and scopes), a lens's scope, or the export's path. Ids, labels and scopes are
# stored by other programs and may hold anything (runs of spaces, a backslash, a quote, a
# tab), as may a file name, so the rest of the line is the value as typed: read through
# shlex, `a  b` became `a b`, `back\slash` `backslash`, `it's` a "No closing quotation",
# and the refusal named an id nobody typed (the export wrote a file of another name; the
# filter matched other rows, or none, than the same text typed after `/`; a lens showed
# the processes of another scope).
ONE_VALUE = frozenset({"goto", "open", "export", "filter", "granted", "originated"})


def typed_value(rest: str) -> str:
    """The rest of a `goto`/`open`/`export`/`filter` line as typed (outer blanks dropped), or,
    when all of it is one quoted word (`"a b "`, `'x'`), that word unquoted: quoting reaches
    a value that starts or ends with a blank or starts with a quote. (A filter's outer
    blanks are dropped still, as the `/` field drops them: process_filters.py.)"""
    if len(rest) >= 2 and rest[0] in "'\"" and rest[-1] == rest[0]:
        try:
            words = shlex.split(rest)
        except ValueError:
            return rest
        if len(words) == 1:
            return words[0]
    return rest


def as_typed(value: str) -> str:
    """`value` as it must be typed for `typed_value` to give it back whole (what a key that
    fills in the `:` line puts there): as it is, or quoted when it has a blank at either end
    or is itself one quoted word."""
    if value != value.strip() or (len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]):
        return shlex.quote(value)
    return value


def parse(line: str) -> Command:
    """One command line (without the leading `:`)."""
    head, *tail = line.split(None, 1) or [""]
    typed = tail[0].strip() if tail else ""  # the rest of the line, for refusals to name
    if head.lower() in ONE_VALUE:
        name, rest = head.lower(), typed_value(typed)
        args = [rest] if rest else []
    else:
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise InvalidRequest(f"cannot read `{line}`: {error}") from None
        if not words:
            raise InvalidRequest("type a command, e.g. `status running` or `help`")
        name, args = words[0].lower(), words[1:]
        rest = " ".join(args)
    if name not in USAGE:
        raise InvalidRequest(f"`{name}` is not a command; `help` lists them")

    def need(what: str) -> str:
        if not rest:
            raise InvalidRequest(f"`{name}` needs {what}: {USAGE[name].strip()}")
        return rest

    match name:
        case "granted" | "originated":
            return Command(name, scope=parse_scope(need("a scope")))
        case "status":
            return Command(name, states=parse_states(need("a state")))
        case "goto" | "open":
            return Command(name, text=need("a process id"))
        case "view":
            view = need("a view name")
            if view not in VIEWS:
                raise InvalidRequest(f"`{view}` is not a view; use one of {', '.join(VIEWS)}")
            return Command(name, text=view)
        case "mark":
            choice = need("`all` or `none`")
            if choice not in ("all", "none"):
                raise InvalidRequest(f"`mark` takes `all` or `none`, got `{choice}`")
            return Command(name, text=choice)
        case "prune":
            age = need("an age such as 7d")  # (kept as typed: the form shows it, and names it)
            return Command(name, text=age, age_ms=parse_duration_ms(age))
        case "theme":
            return Command(name, text=need("a theme name"))
        case "sort":
            return parse_sort(need("a column"), args)
        case "all" | "pause" | "resume" | "help" | "quit":
            if rest:  # (they were ignored: `:quit now` quit, `:all of them` cleared the lens)
                raise InvalidRequest(f"`{name}` takes no argument, got `{typed}`")
            return Command(name)
        case _:  # filter, export (empty: the filter cleared; the export's default path)
            return Command(name, text=rest)
