"""A process's event log read in pages bounded by size (sql/log_read.py), on both stores.

An event's payload may be a mebibyte and a log has no length limit, so `events_after` and
`recent_events` take `max_chars` (lashtui extensions): a page ends with the event whose
stored JSON takes it to `max_chars` or past it, one event at least, so a reader holds at
most `max_chars` plus one event a page. `recent_events` also takes `before`, so a log is read
from its end backwards. `pending_wake_sequences` is `wake_events_after(pid, 0)`'s
sequences, read in such pages and decoding only the events whose JSON may name a wake.
The change feed takes `max_chars` too: a record may be a mebibyte or two.
"""

from __future__ import annotations

import json
import re

import pytest
from pydantic import JsonValue

from lashtui.errors import InvalidRequest, UnknownProcess
from lashtui.model import (
    External,
    ProcessEventAppendRequest,
    ProcessEventType,
    ProcessIdentity,
    SessionScope,
)
from lashtui.model.event import ProcessEventSemanticsSpec, ProcessWakeSpec
from lashtui.registry import ProcessRegistry
from tests.builders import ext
from tests.raw import raw_connection

BIG = 100_000  # characters of one big payload


async def log(registry: ProcessRegistry, sizes: list[int]) -> None:
    """Process `p` with one `note` event of each payload size."""
    await registry.register_process(ext("p", event_types=[ProcessEventType.plain("note")]))
    for n, size in enumerate(sizes):
        note = ProcessEventAppendRequest.new("note", {"n": n, "x": "y" * size})
        await registry.append_event("p", note)


def seqs(events: list) -> list[int]:  # type: ignore[type-arg]
    return [e.sequence for e in events]


async def test_a_page_ends_with_the_event_that_fills_it(registry: ProcessRegistry) -> None:
    await log(registry, [BIG, BIG, 10, 10, BIG, 10])
    # One big event fills a page of BIG characters; small ones share one.
    assert seqs(await registry.events_after("p", 0, max_chars=BIG)) == [1]
    assert seqs(await registry.events_after("p", 1, max_chars=BIG)) == [2]
    assert seqs(await registry.events_after("p", 2, max_chars=BIG)) == [3, 4, 5]
    assert seqs(await registry.events_after("p", 5, max_chars=BIG)) == [6]
    assert await registry.events_after("p", 6, max_chars=BIG) == []
    # A page smaller than one event still holds that event: a reader always moves on.
    assert seqs(await registry.events_after("p", 0, max_chars=1)) == [1]
    # With a count too, whichever ends the page first.
    assert seqs(await registry.events_after("p", 2, limit=2, max_chars=BIG)) == [3, 4]
    assert seqs(await registry.events_after("p", 0, limit=9, max_chars=10**9)) == [1, 2, 3, 4, 5, 6]


async def test_paging_by_size_reads_every_event_once_in_order(registry: ProcessRegistry) -> None:
    await log(registry, [BIG if n % 3 == 0 else 50 for n in range(20)])  # 1, 4, 7... big
    read, after, firsts = [], 0, []
    while page := await registry.events_after("p", after, limit=4, max_chars=BIG):
        read += page
        firsts.append(page[0].sequence)
        after = page[-1].sequence
    assert seqs(read) == list(range(1, 21))
    assert [e.payload for e in read] == [e.payload for e in await registry.events_after("p", 0)]
    # Each page ends at a big event (or at the end): [1], [2, 3, 4], [5, 6, 7]...
    assert firsts == [1, 2, 5, 8, 11, 14, 17, 20]


async def test_recent_reads_the_newest_that_fit_and_pages_backwards(
    registry: ProcessRegistry,
) -> None:
    await log(registry, [10, BIG, 10, 10, BIG, 10])
    assert seqs(await registry.recent_events("p", 3)) == [4, 5, 6]  # lash's read, unchanged
    assert seqs(await registry.recent_events("p", 10, max_chars=BIG)) == [5, 6]
    assert seqs(await registry.recent_events("p", 10, before=5, max_chars=BIG)) == [2, 3, 4]
    assert seqs(await registry.recent_events("p", 10, before=2, max_chars=BIG)) == [1]
    assert await registry.recent_events("p", 10, before=1) == []
    assert seqs(await registry.recent_events("p", 2, before=5)) == [3, 4]
    assert seqs(await registry.recent_events("p", 10, max_chars=1)) == [6]


async def test_a_bad_size_or_an_unknown_process_is_refused(registry: ProcessRegistry) -> None:
    await log(registry, [10])
    for bad in (0, -1, True, 1.5):
        refused = f"an event-page size limit must be a whole number >= 1, got `{bad}`"
        with pytest.raises(InvalidRequest, match=re.escape(refused)):
            await registry.events_after("p", 0, max_chars=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequest, match=re.escape(f"got `{bad}`")):
            await registry.recent_events("p", 5, max_chars=bad)  # type: ignore[arg-type]
    for read in (
        registry.events_after("missing", 0, max_chars=5),
        registry.recent_events("missing", 5, before=3, max_chars=5),
        registry.pending_wake_sequences("missing"),
    ):
        with pytest.raises(UnknownProcess):
            await read


def waking(name: str) -> ProcessEventType:
    """A type whose every event carries a wake (its payload as the wake's input)."""
    return ProcessEventType(
        name=name, semantics=ProcessEventSemanticsSpec(wake=ProcessWakeSpec(input="payload"))
    )


async def test_pending_wakes_are_the_wake_events_nobody_acked(registry: ProcessRegistry) -> None:
    await registry.register_process(
        ext(
            "p",
            event_types=[ProcessEventType.plain("note"), waking("wake")],
            wake_target=SessionScope(session_id="s"),
        )
    )
    for n in range(12):
        # Notes whose payloads say "wake" and hold backslashes are read and found plain.
        payload: JsonValue = f"w{n}" if n % 4 == 0 else {"wake": "a\\b\n"}
        kind = "wake" if n % 4 == 0 else "note"
        await registry.append_event("p", ProcessEventAppendRequest.new(kind, payload))
    listed = [e.sequence for e in await registry.wake_events_after("p", 0)]
    assert listed == [1, 5, 9]
    assert await registry.pending_wake_sequences("p") == listed
    await registry.ack_wake("p", 5)
    assert await registry.pending_wake_sequences("p") == [1, 9]
    assert await registry.pending_wake_sequences("p", 1) == [9]  # past a sequence
    assert await registry.pending_wake_sequences("p", 9) == []


async def test_a_wake_written_with_an_escaped_key_is_still_pending(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """Another program may spell the key `wake` as `\\u0077ake`: JSON (and the event's
    decode) reads it as `wake`, so it is listed, and found by the byte search's backslash."""
    await registry.register_process(
        ext("p", event_types=[waking("ping")], wake_target=SessionScope(session_id="s"))
    )
    await registry.append_event("p", ProcessEventAppendRequest.new("ping", "go"))
    with raw_connection(registry_target) as conn:
        (text,) = conn.execute(
            "SELECT event_json FROM process_events WHERE process_id = 'p'"
        ).fetchone()
        assert text.count('"wake"') == 1  # the key alone: the type is `ping`
        conn.execute(
            "UPDATE process_events SET event_json = ? WHERE process_id = 'p'",
            (text.replace('"wake":', '"\\u0077ake":'),),
        )
    assert [e.sequence for e in await registry.wake_events_after("p", 0)] == [1]
    assert await registry.pending_wake_sequences("p") == [1]
    # And one whose semantics name no wake at all is not.
    with raw_connection(registry_target) as conn:
        stored = json.loads(text)
        stored["semantics"] = {}
        conn.execute(
            "UPDATE process_events SET event_json = ? WHERE process_id = 'p'",
            (json.dumps(stored),),
        )
    assert await registry.wake_events_after("p", 0) == []
    assert await registry.pending_wake_sequences("p") == []


async def test_the_change_feed_is_cut_by_size_and_read_whole_until_an_empty_page(
    registry: ProcessRegistry,
) -> None:
    """`processes_changed_since(..., max_chars=)`: a page ends with the row whose record
    takes it to `max_chars` (one row at least), each row once, in feed order; only an empty
    page says the end has been reached."""
    _, start = await registry.processes_changed_since(0, 0)
    for n in range(6):
        blob = "b" * (BIG // 2 if n in (1, 4) else 10)  # rows 1 and 4 are big
        external = External(metadata={"blob": blob})
        registration = ext(f"p{n}").model_copy(
            update={"input": external, "identity": ProcessIdentity.from_process_input(external)}
        )
        await registry.register_process(registration)
    whole, _ = await registry.processes_changed_since(start, 100)
    read, cursor, pages = [], start, []
    while True:
        page, cursor = await registry.processes_changed_since(cursor, 3, max_chars=BIG // 2)
        if not page:
            break
        pages.append([record.id for record in page])
        read += page
    assert [r.id for r in read] == [r.id for r in whole] == [f"p{n}" for n in range(6)]
    assert pages == [["p0", "p1"], ["p2", "p3", "p4"], ["p5"]]
    refused = "a change-feed page size limit must be a whole number >= 1, got `0`"
    with pytest.raises(InvalidRequest, match=re.escape(refused)):
        await registry.processes_changed_since(start, 3, max_chars=0)
