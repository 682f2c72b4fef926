"""A hostile registry, made the way another program would make one: lashtui writes a real
registry (the demo's seed: leases, grants, abandon requests, outputs; plus a failure, a
wait, events and operator actions), then raw SQL (tests/raw.py: SQLite or PostgreSQL, its
own schema) copies each row once for every stored string it holds (every string in its
record's JSON, in each of its events' JSON, every text column of the row, its lease and
its grants) with that one string replaced by `HOSTILE`. So each field is hostile in a row
of its own, beside rows that still decode: a field that only a decoded row shows is
shown, and one that makes the row undecodable shows its stand-in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lashtui.admin import Processes
from lashtui.demo import seed
from lashtui.model import WaitKind, WaitState, failure
from lashtui.model.event import ProcessEventAppendRequest
from lashtui.registry import open_registry
from lashtui.registry.sql.dialect import Tx
from tests.builders import ext
from tests.raw import raw_connection

# Markup first (so a clipped cell still shows it), then what a terminal would obey: OSC
# retitle with BEL, CSI (7-bit and the C1 byte), CR, BS, a bidi override, a zero-width
# joiner.
HOSTILE = (
    "[bold]x[/]|[@click=app.quit]x|[/]|\x1b]0;PWNED\x07|\x1b[31m|\x9b31m|\r|\x08|\u202e|\u200d"
)
TEMPLATES = ("payroll-run", "deploy-approval", "ledger-close", "report-weekly", "broken")
AUDIT = ("operator", "action", "process_id", "outcome", "sentence")


async def made_by_lashtui(target: str) -> None:
    async with open_registry(target, create=True) as registry:
        processes = Processes(registry)
        await seed(processes)
        await processes.signal("deploy-approval", "approve", "operator:dana", {"ok": True})
        await registry.append_event(
            "report-weekly", ProcessEventAppendRequest.new("process.waiting", {"note": "n"})
        )
        kind = WaitKind(name="approve", event_type="signal.approve", key="k", ordinal=1)
        await registry.set_process_wait("deploy-approval", WaitState(kind=kind, since_ms=1))
        await registry.register_process(ext("broken"))
        await registry.complete_process("broken", failure("upstream_timeout", "no answer"))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _leaves(item, (*path, n))


def _replaced(text: str, path: tuple[Any, ...]) -> str:
    value = json.loads(text)
    place = value
    for step in path[:-1]:
        place = place[step]
    place[path[-1]] = HOSTILE
    return json.dumps(value)


def _rows(
    conn: Tx, table: str, where: str = "", params: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    cursor: Any = conn.execute(f"SELECT * FROM {table} {where}", params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _insert(conn: Tx, table: str, row: dict[str, Any]) -> None:
    names = list(row)
    conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        tuple(row[n] for n in names),
    )


class _Copier:
    def __init__(self, conn: Tx) -> None:
        self.conn = conn
        self.seq = int(conn.execute("SELECT max(change_seq) FROM processes").fetchone()[0])
        self.made: list[str] = []

    def copy(self, template: str, change: dict[str, Any]) -> None:
        """A copy of `template`'s row, its events, lease and grants, under a new id, with
        `change` applied: `record` (a path in the record's JSON), `column` (a processes
        column), `event` ((sequence, path or column name)), `lease` / `grant` (a column,
        or (column, path) in its JSON)."""
        conn = self.conn
        self.seq += 1
        new = f"{template}~{len(self.made)}"
        (row,) = _rows(conn, "processes", "WHERE process_id = ?", (template,))
        row["record_json"] = row["record_json"].replace(json.dumps(template), json.dumps(new))
        if "record" in change:
            row["record_json"] = _replaced(row["record_json"], change["record"])
        if "column" in change:
            row[change["column"]] = HOSTILE
        row.update(process_id=new, change_seq=self.seq)
        _insert(conn, "processes", row)
        for event in _rows(conn, "process_events", "WHERE process_id = ?", (template,)):
            event["event_json"] = event["event_json"].replace(json.dumps(template), json.dumps(new))
            event["process_id"] = new
            if event["idempotency_key"] is not None:
                event["idempotency_key"] += new
            sequence, what = change.get("event", (None, None))
            if event["sequence"] == sequence:
                if isinstance(what, tuple):
                    event["event_json"] = _replaced(event["event_json"], what)
                else:
                    event[what] = HOSTILE
            _insert(conn, "process_events", event)
        for table, key in (("process_leases", "lease"), ("process_handle_grants", "grant")):
            for other in _rows(conn, table, "WHERE process_id = ?", (template,)):
                other["process_id"] = new
                what = change.get(key)
                if isinstance(what, tuple):
                    other[what[0]] = _replaced(other[what[0]], what[1])
                elif what is not None:
                    other[what] = HOSTILE
                _insert(conn, table, other)
        self.made.append(new)

    def every_field_of(self, template: str) -> None:
        conn = self.conn
        (row,) = _rows(conn, "processes", "WHERE process_id = ?", (template,))
        for path in _leaves(json.loads(row["record_json"])):
            if path != ("id",):
                self.copy(template, {"record": path})
        for column in ("status", "owner_scope_id", "sort_label"):
            self.copy(template, {"column": column})
        for event in _rows(conn, "process_events", "WHERE process_id = ?", (template,)):
            for path in _leaves(json.loads(event["event_json"])):
                if path != ("process_id",):
                    self.copy(template, {"event": (event["sequence"], path)})
            for column in ("event_type", "idempotency_key"):
                self.copy(template, {"event": (event["sequence"], column)})
        for lease in _rows(conn, "process_leases", "WHERE process_id = ?", (template,)):
            for column in ("lease_owner_id", "lease_owner_incarnation_id", "lease_token"):
                self.copy(template, {"lease": column})
            if lease["lease_owner_liveness_json"]:
                for path in _leaves(json.loads(lease["lease_owner_liveness_json"])):
                    self.copy(template, {"lease": ("lease_owner_liveness_json", path)})
        for grant in _rows(conn, "process_handle_grants", "WHERE process_id = ?", (template,)):
            for column in ("session_id", "scope_id"):
                self.copy(template, {"grant": column})
            for path in _leaves(json.loads(grant["descriptor_json"])):
                self.copy(template, {"grant": ("descriptor_json", path)})


async def hostile_registry(target: str) -> list[str]:
    """The registry at `target` (a SQLite path or a PostgreSQL URL), made by lashtui and
    then made hostile; the ids of the copies (each with one hostile field), which ids are
    plain, and a few rows whose id is `HOSTILE` after a plain prefix."""
    await made_by_lashtui(target)
    with raw_connection(target) as conn:
        copier = _Copier(conn)
        for template in TEMPLATES:
            copier.every_field_of(template)
        for n, template in enumerate(TEMPLATES):
            (row,) = _rows(conn, "processes", "WHERE process_id = ?", (template,))
            new = f"id{n}{HOSTILE}"
            record = json.loads(row["record_json"])
            record["id"] = new
            copier.seq += 1
            row.update(process_id=new, record_json=json.dumps(record), change_seq=copier.seq)
            _insert(conn, "processes", row)
            copier.made.append(new)
        conn.execute(
            "UPDATE process_change_clock SET current_seq = ? WHERE current_seq < ?",
            (copier.seq, copier.seq),
        )
        for column in AUDIT:
            action = {
                "at_ms": 1, "operator": "op", "action": "cancel", "process_id": "payroll-run",
                "outcome": "requested", "sentence": "s", "detail_json": "{}",
            }  # fmt: skip
            action[column] = HOSTILE
            _insert(conn, "lashtui_operator_actions", action)
        _insert(
            conn,
            "lashtui_operator_actions",
            {
                "at_ms": 2, "operator": "op", "action": "cancel", "process_id": "x",
                "outcome": "requested", "sentence": "s",
                "detail_json": json.dumps({HOSTILE: HOSTILE, "reason": HOSTILE}),
            },
        )  # fmt: skip
    return copier.made
