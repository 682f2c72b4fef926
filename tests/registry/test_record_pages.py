"""Pages of processes cut by their records' size (`page_processes_within`), on both stores.

A record may be a mebibyte or two (its input) and another program may write larger ones, so a
page of 2,000 (`ls`) could be gigabytes. With `max_chars` a page ends with the row whose
stored record takes its total to `max_chars` or past it, one row at least, keeping the rows
nearest its cursor, and says it was cut, so that a reader reads on instead of taking a short
page for the last. The records past the cut are never read (sql/fetch.py `ordered_rows`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lashtui.errors import InvalidRequest
from lashtui.model import (
    External,
    ProcessIdentity,
    ProcessPageQuery,
    ProcessRecord,
    ProcessRegistration,
    ProcessStarted,
    SessionScope,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob, own
from tests.raw import store_record_json

BIG = 100_000  # characters of one big input


async def records(
    registry: ProcessRegistry,
    sizes: list[int],
    build: Callable[[str], ProcessRegistration] = ext,
) -> None:
    """Rows r00, r01... with inputs of these sizes, labelled so that label order runs
    opposite to id order."""
    for n, size in enumerate(sizes):
        given = External(metadata={"label": f"L{99 - n:02d}", "x": "y" * size})
        await registry.register_process(
            build(f"r{n:02d}").model_copy(
                update={"input": given, "identity": ProcessIdentity.from_process_input(given)}
            )
        )


def ids(rows: list[ProcessRecord]) -> list[str]:
    return [r.id for r in rows]


async def test_a_page_ends_with_the_row_that_fills_it(registry: ProcessRegistry) -> None:
    await records(registry, [BIG, BIG, 10, 10, BIG, 10])

    async def page(max_chars: int, **query: object) -> tuple[list[str], bool]:
        rows, cut = await registry.page_processes_within(
            ProcessPageQuery(**query), max_chars  # type: ignore[arg-type]
        )
        return ids(rows), cut

    assert await page(BIG) == (["r00"], True)
    assert await page(BIG, after_id="r00") == (["r01"], True)
    assert await page(BIG, after_id="r01") == (["r02", "r03", "r04"], True)
    assert await page(BIG, after_id="r04") == (["r05"], False)  # the last: short, not cut
    # A size smaller than one record still holds that record: a reader always moves on.
    assert await page(1, after_id="r01") == (["r02"], True)
    assert await page(1, after_id="r04") == (["r05"], False)
    # A count ends a page too; that page was not cut (a full page says "maybe more").
    assert await page(BIG, after_id="r01", limit=2) == (["r02", "r03"], False)
    assert await page(10**9) == ([f"r{n:02d}" for n in range(6)], False)
    # Backwards, the rows nearest the cursor are kept, and come back in the query's order.
    assert await page(BIG, before_id="r05") == (["r04"], True)
    assert await page(BIG, before_id="r04") == (["r01", "r02", "r03"], True)
    # In another order, the same: label order is the reverse of id order here.
    assert await page(BIG, order="label") == (["r05", "r04"], True)
    # Without a size the page is the same rows `page_processes` reads.
    assert ids(await registry.page_processes(ProcessPageQuery(after_id="r01"))) == [
        "r02", "r03", "r04", "r05",
    ]


@pytest.mark.parametrize(
    "shape",
    [
        {},
        {"descending": True},
        {"order": "label"},
        {"order": "label", "descending": True},
        {"order": "age"},
        {"states": frozenset({"running"})},
        {"text": "r0"},
    ],
)
async def test_reading_on_from_cut_pages_reads_every_row_once_in_order(
    registry: ProcessRegistry, shape: dict[str, object]
) -> None:
    await records(registry, [BIG if n % 3 == 0 else 50 for n in range(10)])
    query = ProcessPageQuery(limit=4, **shape)  # type: ignore[arg-type]
    whole = ids(await registry.page_processes(query.model_copy(update={"limit": 100})))
    assert len(whole) == 10
    read: list[str] = []
    lengths: list[int] = []
    while True:
        rows, cut = await registry.page_processes_within(query, BIG)
        read += ids(rows)
        lengths.append(len(rows))
        if not cut and len(rows) < query.limit:
            break
        query = query.model_copy(
            update={"after_id": rows[-1].id, "after_key": None, "before_id": None}
        )
    assert read == whole, shape
    assert max(lengths) <= 4 and len(lengths) > 10 // 4 + 1  # cut, not only counted
    # And backwards from the end, each page the rows just before its cursor.
    back: list[str] = []
    query = ProcessPageQuery(limit=4, before_id=whole[-1], **shape)  # type: ignore[arg-type]
    while True:
        rows, cut = await registry.page_processes_within(query, BIG)
        back = ids(rows) + back
        if not cut and len(rows) < query.limit:
            break
        query = query.model_copy(update={"before_id": rows[0].id, "before_key": None})
    assert back == whole[:-1], shape


async def test_a_bad_size_is_refused_in_one_sentence(registry: ProcessRegistry) -> None:
    await records(registry, [10])
    for bad in (0, -1, True, "5"):
        with pytest.raises(InvalidRequest) as raised:
            await registry.page_processes_within(ProcessPageQuery(), bad)  # type: ignore[arg-type]
        assert str(raised.value) == (
            f"a process page size limit must be a whole number >= 1, got `{bad}`"
        )


async def test_the_lease_and_abandon_lists_are_cut_by_size_too(
    registry: ProcessRegistry,
) -> None:
    """The Leases and Abandon requests views' lists: the same cut, in their own orders
    (soonest to lapse; id), and the same refusal."""
    await records(registry, [BIG, 10, 10, BIG], ob)
    for n in range(4):
        pid = f"r{n:02d}"
        lease = (await registry.claim_process_lease(pid, own("w"), 1_000 + n)).acquired()
        assert lease is not None
        started = ProcessStarted(owner=own("w"), started_at_ms=1)
        await registry.record_first_started(pid, started, lease)
    leased = registry.list_leased_processes_within
    rows, cut = await leased(10, BIG)
    assert (ids(rows), cut) == (["r00"], True)
    assert ids((await leased(10, 10**9))[0]) == ["r00", "r01", "r02", "r03"]
    assert (await leased(2, 10**9))[1] is False
    assert ids((await leased(10, 10**9))[0]) == ids(await registry.list_leased_processes(10))
    candidates = registry.list_abandon_candidates_within
    rows, cut = await candidates(10, BIG)
    assert (ids(rows), cut) == (["r00"], True)
    rows, cut = await candidates(10, 10**9)
    assert (ids(rows), cut) == (["r00", "r01", "r02", "r03"], False)
    assert ids(rows) == ids(await registry.list_abandon_candidates(10))
    with pytest.raises(InvalidRequest, match="a leased-process list size limit must be"):
        await leased(10, 0)
    with pytest.raises(InvalidRequest, match="an abandon-candidate list size limit must be"):
        await candidates(10, 0)


async def test_the_rows_that_wake_a_session_are_found_without_decoding_the_rest(
    registry: ProcessRegistry, registry_target: str
) -> None:
    """`list_waking_session`: the rows whose wake target is in the session (any frame),
    exactly as the models read the records, including a key another program spelled with
    an escape; read on page after page (by candidates, by size) to the end."""
    s, f = SessionScope(session_id="s"), SessionScope(session_id="s", agent_frame_id="f")
    await registry.register_process(ext("a-root", wake_target=s))
    await registry.register_process(ext("b-frame", wake_target=f))
    await registry.register_process(ext("c-other", wake_target=SessionScope(session_id="t")))
    await registry.register_process(ext("d-none"))
    await registry.register_process(ext("e-escaped", wake_target=s))
    quoted = ProcessIdentity(kind="external", label='a "quoted" label')  # a backslash
    await registry.register_process(ext("f-backslash", identity=quoted))
    stored = await registry.get_process("e-escaped")
    assert stored is not None
    text = stored.stored_json()
    assert text.count('"wake_target":') == 1
    escaped = text.replace('"wake_target":', '"w\\u0061ke_target":')
    store_record_json(registry_target, "e-escaped", escaped)
    expected = ["a-root", "b-frame", "e-escaped"]
    found, after = await registry.list_waking_session("s")
    assert ([r.id for r in found], after) == (expected, None)
    for limit, max_chars in ((1, None), (2, None), (100, 1)):
        read, after = [], None
        while True:
            found, after = await registry.list_waking_session(
                "s", after_id=after, limit=limit, max_chars=max_chars
            )
            read += [r.id for r in found]
            if after is None:
                break
        assert read == expected, (limit, max_chars)
    assert (await registry.list_waking_session("nobody"))[0] == []
    with pytest.raises(InvalidRequest, match="a waking-rows page size limit must be"):
        await registry.list_waking_session("s", max_chars=0)
