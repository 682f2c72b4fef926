"""The Audit view: what operators did to the registry, newest first (issue 17 item 8).

One source at a time (`s` switches), each named in the status line, never merged: what
lashtui recorded in its own table (every action made through the dashboard or the command
line: who, when, what, the result and its sentence, prunes included) or what the event log
holds of operators (cancel requests and re-run links, including lash's own). When the
registry has no audit table (lash wrote it, or lashtui never acted on it) the view says
that nothing was recorded there, rather than showing an empty list as if nothing happened.

The view reads one keyset page (`AUDIT_PAGE` entries) of the chosen source, re-read while
it is on screen; `]` pages to older entries and `[` back to the newest. `/` filters with
`by:NAME`, `action:A`, `outcome:O`, `id:TEXT` and any other words as text in the process id
(each key once; a word with another key is refused, as a bad value is). Enter
opens the process an entry names, if it is still in the registry.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Input, Static

from lashtui.errors import InvalidRequest
from lashtui.model.audit import (
    AUDIT_TABLE,
    AuditPage,
    AuditQuery,
    AuditSource,
    OperatorAction,
    unwritten_outcome,
)
from lashtui.tui import format as fmt
from lashtui.tui import text
from lashtui.tui.context import Dashboard
from lashtui.tui.screens.live import LiveScreen
from lashtui.tui.widgets import column_plan
from lashtui.tui.widgets.footer import KeyFooter
from lashtui.tui.widgets.keyed_table import KeyedTable, Row
from lashtui.untrusted import json_preview

AUDIT_PAGE = 200
# An entry's detail (a JSON value another program may have stored) shows this many characters.
DETAIL_CHARS = 300
EVENTS_REFRESH_S = 5.0
COLUMNS = (
    ("at", "AT"),
    ("operator", "OPERATOR"),
    ("action", "ACTION"),
    ("process", "PROCESS"),
    ("outcome", "RESULT"),
    ("what", "WHAT"),
)
# What fits the width (widgets/column_plan.py): when, what was done, to which process and
# with what result, then the sentence (WHAT: unplanned, it was cropped at the right edge
# with no `…`) and who; the process id cut in its middle (a write allows 512 characters),
# every other stored word at its end.
PLAN = column_plan.Plan(
    priority=("at", "action", "process", "outcome", "what", "operator"),
    always=6,
    key=4,
    flex={
        "action": column_plan.Flex(floor=8, comfort=24),
        "process": column_plan.id_column(),
        "outcome": column_plan.Flex(floor=len("unchanged"), comfort=16),
        "what": column_plan.Flex(floor=16, comfort=80),
        "operator": column_plan.Flex(floor=8, comfort=24),
    },
)
SOURCES: dict[AuditSource, str] = {
    "recorded": f"recorded by lashtui ({AUDIT_TABLE})",
    "events": "the event log: cancel requests and re-run links only",
}
NOT_RECORDED = (
    f"nothing is recorded in this registry: it has no {AUDIT_TABLE} table (lash wrote it, or "
    "lashtui has not acted on it yet); lashtui records every action from its first one here. "
    "Prunes, transfers and signals made before then are recorded nowhere. "
    "`s` shows the event log's cancel requests and re-runs."
)


# What each `key:` of the filter sets in the query. `id:` takes text with a colon in it:
# every other word with one is refused unless its key is one of these.
FILTER_KEYS = {"by": "operator", "action": "action", "outcome": "outcome", "id": "text"}
FILTER_EXAMPLES = {"by": "dana@host", "action": "cancel", "outcome": "done", "id": "import:7"}


def parse_filter(words: str) -> dict[str, str]:
    """`by:dana action:cancel imp` -> operator, action and text (the rest, joined).

    Refused in one sentence naming the word as typed: a key that is not one of
    `FILTER_KEYS` (`who:qa`, `BY:qa`), a key without a value (`by:`), or a key given twice
    (`by:qa by:nobody`). Each used to become text searched for in the process id, or the
    last of two silently won: a filter that matched nothing, or something else, unsaid."""
    fields: dict[str, str] = {}
    given: dict[str, str] = {}  # key -> the word that gave it
    rest = []
    for word in words.split():
        key, colon, value = word.partition(":")
        if not colon:
            rest.append(word)
            continue
        if key not in FILTER_KEYS:
            raise InvalidRequest(
                f"`{word}`: `{key}` is not a filter key; the keys are by:, action:, outcome: "
                "and id: (for id text with a colon), and other words are id text"
            )
        if not value:
            raise InvalidRequest(f"`{word}` needs a value, e.g. `{key}:{FILTER_EXAMPLES[key]}`")
        if key in given:
            raise InvalidRequest(
                f"`{word}`: `{key}:` is given twice (first `{given[key]}`); a filter takes "
                "each key once"
            )
        given[key] = word
        if key == "id":
            rest.append(value)
        else:
            fields[FILTER_KEYS[key]] = value
    if rest:
        fields["text"] = " ".join(rest)
    return fields


def entry_row(entry: OperatorAction, now_ms: int) -> Row:
    what: list[str | Text] = [text.data(entry.sentence)]
    if entry.detail:
        what += ["  ", text.data(json_preview(entry.detail, DETAIL_CHARS))]
    cells = (
        fmt.ago_or_unknown(entry.at_ms, now_ms),
        text.cell(entry.operator) if entry.operator is not None else "(not recorded)",
        text.cell(entry.action),
        text.cell(entry.process_id) if entry.process_id is not None else "(whole registry)",
        text.cell(entry.outcome),
        text.plain(*what),
    )
    return Row(f"{entry.source}:{entry.id}", cells)


class AuditScreen(LiveScreen):
    REFRESH_WORKER = "refresh_audit"
    READS_ON_COMMIT = True  # operators' actions are commits; a new query reads (`wake`)
    AUTO_FOCUS = "#audit-table"  # not the filter field, which would take the keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail"),
        Binding("slash", "find", "Filter"),
        Binding("s", "switch_source", "Source"),
        Binding("right_square_bracket", "older", "Older"),
        Binding("left_square_bracket", "newest", "Newest", show=False),
        Binding("escape", "clear", "Clear", show=False),
        Binding("question_mark", "app.help", "Help"),
    ]

    @property
    def refresh_s(self) -> float:
        """The recorded source is a short read of its primary key; the event source, on a
        registry without its index, a scan of the event log (~0.6 s on 1M events), so it
        is re-read at most every `EVENTS_REFRESH_S`."""
        every = self.dashboard.refresh_s
        return max(every, EVENTS_REFRESH_S) if self.audit_query.source == "events" else every

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(dashboard)
        self.audit_query = AuditQuery(limit=AUDIT_PAGE)
        self.page = AuditPage(source="recorded", entries=[])
        # The query `page` answers: None until a read has loaded one. A page is shown only
        # for the query it answers, and an empty one is said empty only then: a first read
        # that failed showed "0 entries" and "no operator action has been recorded yet".
        self.answers: AuditQuery | None = None
        self.drawn: AuditQuery | None = None  # the query whose rows the table holds
        self.filter_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="audit-status", classes="view-status")
        yield Input(placeholder="by:NAME action:cancel outcome:done id-text", id="audit-filter")
        yield Static(id="audit-empty", classes="view-empty")
        yield KeyedTable(COLUMNS, id="audit-table", plan=PLAN)
        yield KeyFooter()

    async def load(self) -> None:
        query = self.audit_query
        self.page = await self.dashboard.processes.registry.operator_actions(query)
        self.answers = query

    @property
    def answered(self) -> bool:
        """Whether the page held answers the query the view is set to."""
        return self.answers == self.audit_query

    def show(self, now_ms: int) -> None:
        table = self.query_one(KeyedTable)
        # A page of another query stays drawn while its own read is in flight, and is taken
        # off once that read fails: it is not what the status line says it is.
        if self.answered or self.error:
            entries = self.page.entries if self.answered else []
            # A page for a query the operator just asked selects the row at the cursor; a
            # row leaving the same query's page (it aged out) leaves no row selected.
            anew = not self.answered or self.drawn != self.answers
            self.drawn = self.answers
            if table.show([entry_row(entry, now_ms) for entry in entries], anew=anew):
                self.refresh_bindings()
        self.say("#audit-status", self.status())
        self.say("#audit-empty", self.empty())
        empty = self.answered and self.error is None and not self.page.entries
        self.hide_when_empty(table, empty, "-empty")

    def status(self) -> str:
        query = self.audit_query
        count = len(self.page.entries)
        shown = f"{count} entr{'y' if count == 1 else 'ies'}"
        where = "newest first" if query.before is None else "older entries ([ for the newest)"
        filters = [
            f"{name} {value}"
            for name, value in (
                ("by", query.operator), ("action", query.action), ("outcome", query.outcome),
                ("id contains", query.text or None),
            )
            if value
        ]  # fmt: skip
        # What the page holds, once it answers this query (a failed read is said alone).
        held = f"{shown}, {where}" if self.answered else "reading…" if self.error is None else ""
        parts = [f"source: {SOURCES[query.source]}", *filter(None, [held]), *filters]
        if self.answered and self.page.next_before is not None:
            parts.append("] for older")
        if self.filter_error:
            parts.insert(0, f"filter refused: {self.filter_error}")
        if self.error:
            parts.insert(0, f"error: {self.error}")
        return "  ·  ".join(parts)

    def empty(self) -> str:
        query = self.audit_query
        if query.source == "recorded" and not self.page.recorded:
            return NOT_RECORDED
        if any((query.operator, query.action, query.outcome, query.text)):
            why = unwritten_outcome(query.outcome) if query.source == "recorded" else None
            return "no entry of this source matches the filter" + (
                f" (Esc clears it); {why}" if why else " (Esc clears it)"
            )
        if query.source == "events":
            return "the event log holds no cancel request and no re-run link"
        return "no operator action has been recorded yet"

    def requery(self, **changes: object) -> None:
        self.audit_query = self.audit_query.model_copy(update=changes)
        self.wake()

    def action_switch_source(self) -> None:
        source = "events" if self.audit_query.source == "recorded" else "recorded"
        self.requery(source=source, before=None)

    def action_older(self) -> None:
        if self.answered and self.page.next_before is not None:
            self.requery(before=self.page.next_before)

    def action_newest(self) -> None:
        self.requery(before=None)

    def action_find(self) -> None:
        field = self.query_one("#audit-filter", Input)
        field.add_class("-open")
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            fields = parse_filter(event.value)
            query = AuditQuery.model_validate(
                {"source": self.audit_query.source, "limit": AUDIT_PAGE, **fields}
            )
        except InvalidRequest as error:
            self.filter_error = str(error)
            self.wake()
            return
        self.filter_error = None
        self.audit_query = query
        self.query_one(KeyedTable).focus()
        self.wake()

    def action_clear(self) -> None:
        field = self.query_one("#audit-filter", Input)
        field.value = ""
        field.remove_class("-open")
        self.filter_error = None
        self.audit_query = AuditQuery(source=self.audit_query.source, limit=AUDIT_PAGE)
        self.query_one(KeyedTable).focus()
        self.wake()

    def selected(self) -> OperatorAction | None:
        key = self.query_one(KeyedTable).selected_key
        entries = self.page.entries if self.answered else []
        return next((e for e in entries if f"{e.source}:{e.id}" == key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            entry = self.selected()
            return entry is not None and entry.process_id is not None
        if action == "older":
            return self.answered and self.page.next_before is not None
        return True

    def opened_process_id(self) -> str | None:
        entry = self.selected()
        return entry.process_id if entry is not None else None
