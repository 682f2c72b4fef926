"""The dashboard's reads on a registry of 100,000 rows: still right, and still walking an
index rather than the table.

Not a timed test (timings belong in benchmarks/): the registry is built in a second or two
with raw `executemany` of real record JSON (one record per state and originator shape, ids
substituted), and the outcome checked is the query plan SQLite chooses for each page, read
with EXPLAIN QUERY PLAN over the very statements `page_processes` runs.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    FailureOutput,
    ProcessPageQuery,
    ProcessProvenance,
    ProcessRecord,
    ProcessStatus,
    SessionOriginator,
    SuccessOutput,
    failure,
)
from lashtui.registry import open_registry
from lashtui.registry.sql import repeated
from lashtui.registry.sql.page import page_statements
from lashtui.registry.sqlite.schema import DDL, SCHEMA_VERSION
from tests.builders import ext, own
from tests.registry.rows import ids, scope, wait_state

ROWS = 100_000
START_MS = 1_780_000_000_000
STATES = ("running", "waiting", "completed", "failed", "cancelled", "abandoned")
FRAMES = (None, "f1", "f2")
PID, SID = "__pid__", "__sid__"  # placeholders in the template JSON

Origin = tuple[str, str | None] | None  # (session, frame), or None for the host


def pid(n: int) -> str:
    return f"p{n:06d}"


def template(state: str, origin: Origin) -> str:
    """A real record's JSON in `state`, with placeholders for its id and session id."""
    provenance = ProcessProvenance.host()
    if origin is not None:
        provenance = ProcessProvenance(originator=SessionOriginator(scope=scope(SID, origin[1])))
    prepared, digest = ext(PID, provenance=provenance).prepare()
    record = ProcessRecord.new(prepared, digest, START_MS)
    evidence = AbandonEvidence(writer=AbandonWriter.SWEEP, owner=own("gone"), epoch_ms=1)
    outputs: dict[str, SuccessOutput | FailureOutput | CancelledOutput | AbandonedOutput] = {
        "completed": SuccessOutput(value=1),
        "failed": failure("boom", "it broke"),
        "cancelled": CancelledOutput(message="stop"),
        "abandoned": AbandonedOutput(evidence=evidence),
    }
    if state == "waiting":
        record = record.model_copy(update={"wait": wait_state(PID, START_MS)})
    elif state in outputs:
        record = record.model_copy(update={"status": ProcessStatus.terminal(outputs[state])})
    return record.model_dump_json()


@dataclass
class Large:
    path: Path
    states: list[str]
    origins: list[Origin]

    def owner_scope_id(self, n: int) -> str:
        origin = self.origins[n]
        return "host" if origin is None else scope(*origin).id()

    def first(self, shown: Callable[[int], bool], limit: int, after: int = -1) -> list[str]:
        return [pid(n) for n in range(after + 1, ROWS) if shown(n)][:limit]


def build(path: Path) -> Large:
    rng = random.Random(20_260_101)
    states = [rng.choice(STATES) for _ in range(ROWS)]
    origins: list[Origin] = [
        None if rng.random() < 0.5 else (f"s{rng.randrange(100)}", rng.choice(FRAMES))
        for _ in range(ROWS)
    ]
    large = Large(path, states, origins)
    templates: dict[tuple[str, str | None, bool], str] = {}

    def row(n: int) -> tuple[object, ...]:
        state, origin = states[n], origins[n]
        key = (state, origin[1] if origin else None, origin is None)
        if key not in templates:
            templates[key] = template(state, (SID, origin[1]) if origin else None)
        text = templates[key].replace(PID, pid(n)).replace(SID, origin[0] if origin else SID)
        status = "running" if state == "waiting" else state
        owner = large.owner_scope_id(n)
        return (pid(n), "hash", owner, START_MS, START_MS, n + 1, status, text)

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    for statement in DDL:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.executemany(
        "INSERT INTO processes (process_id, registration_hash, owner_scope_id, created_at_ms, "
        "updated_at_ms, change_seq, status, record_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (row(n) for n in range(ROWS)),
    )
    conn.execute("UPDATE process_change_clock SET current_seq = ?", (ROWS,))
    conn.execute("COMMIT")
    conn.close()
    return large


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Large:
    return build(tmp_path_factory.mktemp("scale") / "large.db")


async def test_census_is_exact_at_scale(large: Large) -> None:
    async with open_registry(str(large.path), read_only=True) as registry:
        census = await registry.process_census()
    assert census.cursor == ROWS
    assert census.counts() == {state: Counter(large.states)[state] for state in STATES}
    assert census.live == {
        pid(n): state for n, state in enumerate(large.states) if state in ("running", "waiting")
    }


async def test_pages_are_right_at_scale(large: Large) -> None:
    async with open_registry(str(large.path), read_only=True) as registry:

        async def page(**fields: object) -> list[str]:
            query = ProcessPageQuery.model_validate(fields)
            return ids(await registry.page_processes(query))

        def state(*wanted: str) -> Callable[[int], bool]:
            return lambda n: large.states[n] in wanted

        assert await page(states={"failed"}, after_id=pid(50_000), limit=100) == large.first(
            state("failed"), 100, after=50_000
        )
        assert (
            await page(states={"waiting"}, before_id=pid(50_000), limit=50)
            == [pid(n) for n in range(50_000) if large.states[n] == "waiting"][-50:]
        )
        assert await page(states={"running", "failed"}, limit=300) == large.first(
            state("running", "failed"), 300
        )
        frame = scope("s7", "f2")
        assert await page(lens="originated", scope=frame, limit=20) == large.first(
            lambda n: large.origins[n] == ("s7", "f2"), 20
        )
        in_session = ProcessPageQuery(lens="originated", scope=scope("s7"), states={"running"})
        assert ids(await registry.page_processes(in_session)) == large.first(
            lambda n: (large.origins[n] or ("",))[0] == "s7" and large.states[n] == "running",
            200,
        )
        assert await page(text="P09999", limit=5) == [pid(n) for n in range(99_990, 99_995)]
        wanted = [pid(n) for n in range(0, ROWS, 7)]
        assert sorted(await registry.get_processes(wanted)) == wanted


FULL_SCAN = re.compile(r"SCAN \w+$")  # a table scan; "SCAN p USING ... INDEX" walks an index


def plans(large: Large, query: ProcessPageQuery) -> list[list[str]]:
    """SQLite's plan for each statement the page runs."""
    conn = sqlite3.connect(f"file:{large.path}?mode=ro", uri=True)
    repeated.install(conn)  # (the function the waiting test asks: sql/repeated.py)
    try:
        return [
            [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            for sql, params in page_statements(query)
        ]
    finally:
        conn.close()


@pytest.mark.parametrize(
    "query",
    [
        ProcessPageQuery(),
        ProcessPageQuery(after_id=pid(60_000)),
        ProcessPageQuery(before_id=pid(60_000)),
        ProcessPageQuery(states={"failed"}, after_id=pid(60_000)),
        ProcessPageQuery(states={"waiting"}, after_id=pid(60_000)),
        ProcessPageQuery(states={"running"}, before_id=pid(60_000)),
        ProcessPageQuery(states={"completed", "failed", "cancelled", "abandoned"}),
        ProcessPageQuery(lens="granted", scope=scope("s7"), after_id=pid(10)),
        ProcessPageQuery(lens="granted", scope=scope("s7"), states={"failed"}),
        ProcessPageQuery(lens="originated", scope=scope("s7", "f1"), after_id=pid(10)),
        ProcessPageQuery(lens="originated", scope=scope("s7", "f1"), states={"completed"}),
    ],
    # The same text in every process (a set's repr follows the hash seed; xdist compares).
    ids=lambda q: f"{q.lens}-{','.join(sorted(q.states or ()))}-{q.after_id}-{q.before_id}",
)
def test_pages_walk_an_index_in_id_order(large: Large, query: ProcessPageQuery) -> None:
    for plan in plans(large, query):
        assert not any(FULL_SCAN.match(step) for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort: an ordered walk


def test_a_whole_session_lens_reads_only_its_originator_index_ranges(large: Large) -> None:
    # The root and its frames are two ranges of the originator index: SQLite sorts the ids
    # it finds there, but never scans the table.
    query = ProcessPageQuery(lens="originated", scope=scope("s7"), after_id=pid(10))
    for plan in plans(large, query):
        assert not any(FULL_SCAN.match(step) for step in plan), plan
        assert any("processes_owner_scope_idx" in step for step in plan), plan
