"""The Errors view's reads (lashtui extensions): failed, cancelled and abandoned rows grouped
by (state, code, message) over a window of the most recently changed rows, on both stores."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonRequest,
    AbandonWriter,
    CancelledOutput,
    ErrorGroupKey,
    ErrorGroupQuery,
    ErrorSummary,
    ProcessAwaitOutput,
    failure,
)
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.sql.blob_id import BLOB_ID_WORDS
from lashtui.registry.sql.decoded_row import UNDECODABLE_CODE, UNDECODABLE_WORDS
from lashtui.registry.sql.error import NOT_TEXT_CODE
from tests.builders import ext
from tests.cli.test_cli import LASHTUI
from tests.raw import copy_row, raw_connection
from tests.registry.rows import ids, success

HUGE = "x" * 5_000


def abandoned(writer: AbandonWriter) -> AbandonedOutput:
    return AbandonedOutput(evidence=AbandonEvidence(writer=writer, epoch_ms=0))


# (id, output, abandon request reason), ended in this order, one second apart.
ENDINGS: list[tuple[str, ProcessAwaitOutput, str | None]] = [
    ("f1", failure("upstream_timeout", "no answer in 30s"), None),
    ("c1", CancelledOutput(message="requested by dana: stale"), None),
    ("f2", failure("upstream_timeout", "no answer in 30s"), None),
    ("a1", abandoned(AbandonWriter.SWEEP), None),
    ("big1", failure("parse", HUGE + "A"), None),
    ("f3", failure("upstream_timeout", "no answer in 30s"), None),
    ("done", success(), None),
    ("a2", abandoned(AbandonWriter.RECONCILED_REQUEST), "host retired"),
    ("big2", failure("parse", HUGE + "B"), None),
    ("c2", CancelledOutput(message="requested by dana: stale"), None),
    ("c3", CancelledOutput(message="requested by host"), None),
]


async def end_all(registry: ProcessRegistry, clock: ManualClock) -> None:
    await registry.register_process(ext("live"))
    for pid, output, reason in ENDINGS:
        clock.advance(1_000)
        await registry.register_process(ext(pid))
        if reason is not None:
            request = AbandonRequest(requested_by="dana", requested_at_ms=0, reason=reason)
            await registry.request_process_abandon(pid, request)
        await registry.complete_process(pid, output)


def table(summary: ErrorSummary) -> list[tuple[str, str, str, int, int, int]]:
    """Each group as (state, code, message, count, first, last), seconds after the start."""
    start = 1_780_000_000_000
    assert all(g.first_seen_ms is not None and g.last_seen_ms for g in summary.groups)
    return [
        (
            g.state.value,
            g.code,
            g.message,
            g.count,
            (g.first_seen_ms - start) // 1000,  # type: ignore[operator]
            (g.last_seen_ms - start) // 1000,  # type: ignore[operator]
        )
        for g in summary.groups
    ]


async def test_groups_by_state_code_and_message_largest_first(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await end_all(registry, clock)
    summary = await registry.error_groups(ErrorGroupQuery())
    assert table(summary) == [
        ("failed", "upstream_timeout", "no answer in 30s", 3, 1, 6),
        # The same count: the most recent first.
        ("cancelled", "", "requested by dana: stale", 2, 2, 10),
        # Two messages that differ only past the clip are one group, keyed on the clip.
        ("failed", "parse", "x" * 200, 2, 5, 9),
        ("cancelled", "", "requested by host", 1, 11, 11),
        # An abandoned row: who wrote it, and the operator's reason when one asked.
        ("abandoned", "reconciled_request", "host retired", 1, 8, 8),
        ("abandoned", "sweep", "", 1, 4, 4),
    ]
    # 12 rows in the window (the live and the completed one are not grouped).
    assert (summary.scanned, summary.rows, summary.total_groups) == (12, 10, 6)
    assert summary.covers() == "every process (12)"
    assert summary.cursor > 0


async def test_sorted_by_last_seen_and_limited(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await end_all(registry, clock)
    summary = await registry.error_groups(ErrorGroupQuery(order="last_seen", limit=3))
    assert [(g.code, g.message[:20], g.last_seen_ms) for g in summary.groups] == [
        ("", "requested by host", 1_780_000_011_000),
        ("", "requested by dana: s", 1_780_000_010_000),
        ("parse", "x" * 20, 1_780_000_009_000),
    ]
    assert summary.total_groups == 6  # every group is counted, three are returned


async def test_the_window_is_the_most_recently_changed_rows(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await end_all(registry, clock)
    summary = await registry.error_groups(ErrorGroupQuery(window=3))
    # The last three changes: big2, c2, c3.
    assert [(g.state.value, g.code, g.message[:5], g.count) for g in summary.groups] == [
        ("cancelled", "", "reque", 1),
        ("cancelled", "", "reque", 1),
        ("failed", "parse", "xxxxx", 1),
    ]
    assert (summary.scanned, summary.rows) == (3, 3)
    assert summary.covers() == "the 3 most recently changed processes"


async def test_a_groups_rows_newest_change_first(
    registry: ProcessRegistry, clock: ManualClock
) -> None:
    await end_all(registry, clock)
    timeout = ErrorGroupKey(state="failed", code="upstream_timeout", message="no answer in 30s")
    assert ids(await registry.error_group_rows(timeout, 50_000)) == ["f3", "f2", "f1"]
    assert ids(await registry.error_group_rows(timeout, 50_000, limit=2)) == ["f3", "f2"]
    clipped = ErrorGroupKey(state="failed", code="parse", message="x" * 200)
    assert ids(await registry.error_group_rows(clipped, 50_000)) == ["big2", "big1"]
    cancelled = ErrorGroupKey(state="cancelled", code="", message="requested by dana: stale")
    assert ids(await registry.error_group_rows(cancelled, 50_000)) == ["c2", "c1"]
    sweep = ErrorGroupKey(state="abandoned", code="sweep", message="")
    assert ids(await registry.error_group_rows(sweep, 50_000)) == ["a1"]
    # The same window as the groups: f1 changed long before the last four rows.
    assert ids(await registry.error_group_rows(timeout, 4)) == []
    # Cut by the records' size too (one row here: each record passes one character).
    rows, cut = await registry.error_group_rows_within(timeout, 50_000, 500, 1)
    assert (ids(rows), cut) == (["f3"], True)
    rows, cut = await registry.error_group_rows_within(timeout, 50_000, 500, 10**9)
    assert (ids(rows), cut) == (["f3", "f2", "f1"], False)
    with pytest.raises(InvalidRequest, match="an error group's row list size limit must be"):
        await registry.error_group_rows_within(timeout, 50_000, 500, 0)


async def test_an_empty_registry_has_no_groups(registry: ProcessRegistry) -> None:
    summary = await registry.error_groups(ErrorGroupQuery())
    assert (summary.groups, summary.scanned, summary.rows, summary.total_groups) == ([], 0, 0, 0)


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        ({"window": 0}, "an error window is a whole number from 1 to 1,000,000, got `0`"),
        ({"limit": 10_001}, "an error group limit is a whole number from 1 to 10,000"),
        ({"order": "age"}, "error groups sort by `count` or `last_seen`, got `age`"),
    ],
)
def test_a_bad_query_is_one_sentence(fields: dict[str, object], sentence: str) -> None:
    with pytest.raises(InvalidRequest, match=sentence.replace("`", ".")):
        ErrorGroupQuery.model_validate(fields)


def test_a_group_is_of_an_ended_badly_state() -> None:
    with pytest.raises(InvalidRequest, match="got `completed`"):
        ErrorGroupKey.model_validate({"state": "completed", "code": "", "message": ""})


async def test_a_row_that_is_not_json_groups_as_undecodable(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Under the stand-in's code and words (it grouped under no code and no message)."""
    await end_all(registry, clock)
    with raw_connection(registry_target) as conn:
        conn.execute("UPDATE processes SET record_json = 'not json {' WHERE process_id = 'f1'")
    summary = await registry.error_groups(ErrorGroupQuery())
    code, words = "process_record_undecodable", "record could not be decoded"
    assert ("failed", code, words, 1) in [
        (g.state.value, g.code, g.message, g.count) for g in summary.groups
    ]
    broken = ErrorGroupKey(state="failed", code=code, message=words)
    rows = await registry.error_group_rows(broken, 50_000)
    assert ids(rows) == ["f1"] and rows[0].undecodable


async def test_a_row_whose_outcome_contradicts_its_status_groups_as_undecodable(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """Another program gave a failed row a cancel's output, and set a running row's status
    column to failed: neither record decodes (`show` says so), yet the Errors view grouped
    the first under the cancel's words ("failed - operator cancelled it") and the second
    under no code. Both group under the stand-in's code and words now."""
    await end_all(registry, clock)
    await registry.register_process(ext("edited"))
    await registry.complete_process("edited", failure("boom", "it broke"))
    cancel = CancelledOutput(message="operator cancelled it").model_dump_json()
    with raw_connection(registry_target) as conn:
        edit = "UPDATE processes SET record_json = ? WHERE process_id = 'edited'"
        (stored,) = conn.execute(
            "SELECT record_json FROM processes WHERE process_id = 'edited'"
        ).fetchone()
        record = json.loads(stored)
        record["status"]["await_output"] = json.loads(cancel)
        conn.execute(edit, (json.dumps(record),))
        conn.execute("UPDATE processes SET status = 'failed' WHERE process_id = 'live'")
    summary = await registry.error_groups(ErrorGroupQuery())
    found = {(g.state.value, g.code, g.message): g.count for g in summary.groups}
    assert found[("failed", "process_record_undecodable", "record could not be decoded")] == 2
    assert not any("operator cancelled it" in message for _, _, message in found)
    assert found[("failed", "upstream_timeout", "no answer in 30s")] == 3  # the others hold


async def test_a_row_whose_record_fails_validation_elsewhere_groups_as_undecodable(
    registry: ProcessRegistry, registry_target: str, clock: ManualClock
) -> None:
    """A failed row whose outcome is well formed but whose record the models refuse
    elsewhere (`"created_at_ms": "soon"`, an identity that is not an object) is its
    stand-in in `ls` and `show`, no failure with a code; the Errors view and `lashtui
    errors` grouped it under its stored code, as if it had failed so. It groups with the
    undecodable rows now, and its group's rows are the stand-ins."""
    await end_all(registry, clock)
    with raw_connection(registry_target) as conn:
        for pid, field, value in (("f1", "created_at_ms", "soon"), ("big1", "identity", 7)):
            (stored,) = conn.execute(
                "SELECT record_json FROM processes WHERE process_id = ?", (pid,)
            ).fetchone()
            record = json.loads(stored)
            record[field] = value
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?",
                (json.dumps(record), pid),
            )
    for pid in ("f1", "big1"):  # what every list shows
        shown = await registry.get_process(pid)
        assert shown is not None and shown.undecodable is not None, pid
    summary = await registry.error_groups(ErrorGroupQuery())
    found = {(g.state.value, g.code, g.message): g.count for g in summary.groups}
    undecodable = ("failed", UNDECODABLE_CODE, UNDECODABLE_WORDS)
    assert found[undecodable] == 2
    assert found[("failed", "upstream_timeout", "no answer in 30s")] == 2  # f2, f3
    assert found[("failed", "parse", "x" * 200)] == 1  # big2 alone
    key = ErrorGroupKey(state="failed", code=UNDECODABLE_CODE, message=UNDECODABLE_WORDS)
    rows = await registry.error_group_rows(key, 50_000)
    assert sorted(ids(rows)) == ["big1", "f1"] and all(r.undecodable for r in rows)
    timeouts = ErrorGroupKey(state="failed", code="upstream_timeout", message="no answer in 30s")
    assert sorted(ids(await registry.error_group_rows(timeouts, 50_000))) == ["f2", "f3"]
    # The command line says the same.
    done = await asyncio.to_thread(
        subprocess.run,
        [LASHTUI, "--db", registry_target, "errors", "-o", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = {
        (g["state"], g["code"], g["message"]): g["count"] for g in json.loads(done.stdout)["groups"]
    }
    assert listed[undecodable] == 2
    assert listed[("failed", "upstream_timeout", "no answer in 30s")] == 2


async def test_a_row_never_takes_the_verdict_of_a_row_it_differs_from(tmp_path: Path) -> None:
    """The read keeps each row's verdict (does its record decode?) for the next read. It
    kept them by a 64-bit hash of the row, in one dict every store in the process shared,
    and a text id hashes as a blob of the same bytes: a blob-id copy of a failed row, read
    first, handed its verdict (a stand-in: undecodable) to the sound row once it was in
    the window, which then grouped as process_record_undecodable instead of by its code.
    Each row now keeps its verdict only for a row equal to it, value and type (SQLite:
    only it stores a blob id)."""
    db = str(tmp_path / "r.db")
    async with open_registry(db) as registry:
        await registry.register_process(ext("p-1"))
        await registry.complete_process("p-1", failure("upstream_timeout", "no answer in 30s"))
    copy_row(db, "p-1", b"p-1")  # every other column the same
    with raw_connection(db) as conn:  # the sound row out of the read, for now
        conn.execute("UPDATE processes SET status = 'running' WHERE process_id = 'p-1'")
    not_text = ("failed", NOT_TEXT_CODE, BLOB_ID_WORDS)
    async with open_registry(db, read_only=True) as registry:
        first = await registry.error_groups(ErrorGroupQuery())
        assert {(g.state.value, g.code, g.message): g.count for g in first.groups} == {
            not_text: 1
        }
        with raw_connection(db) as conn:  # now the same as its copy but for the id's type
            conn.execute("UPDATE processes SET status = 'failed' WHERE process_id = 'p-1'")
        summary = await registry.error_groups(ErrorGroupQuery())
        found = {(g.state.value, g.code, g.message): g.count for g in summary.groups}
        assert found == {
            ("failed", "upstream_timeout", "no answer in 30s"): 1,
            not_text: 1,
        }, found
        key = ErrorGroupKey(state="failed", code="upstream_timeout", message="no answer in 30s")
        assert ids(await registry.error_group_rows(key, 50_000)) == ["p-1"]
