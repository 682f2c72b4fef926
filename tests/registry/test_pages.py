"""Keyset pages (`page_processes`, a lashtui extension): the dashboard's window on a large
registry.

Covers paging forwards and backwards in process-id order, each of the six states (waiting
apart from running), the text filter (id, label, originator scope; case-insensitive; LIKE
wildcards literal), the three lenses (granted to exactly one scope id; originated by a
session or one of its frames, never by the host) and their combinations, and a sweep of
combined queries checked against the same rules written in plain Python.
"""

from __future__ import annotations

import itertools

import pytest

from lashtui.admin import originated_by
from lashtui.clock import ManualClock
from lashtui.errors import InvalidRequest
from lashtui.model import (
    AbandonedOutput,
    AbandonEvidence,
    AbandonWriter,
    CancelledOutput,
    HostOriginator,
    ProcessHandleDescriptor,
    ProcessIdentity,
    ProcessOriginator,
    ProcessPageQuery,
    ProcessProvenance,
    ProcessRecord,
    SessionOriginator,
    SessionScope,
    failure,
    process_state,
)
from lashtui.registry import ProcessRegistry
from tests.builders import ext, ob, own
from tests.registry.rows import ANY, finish, ids, park, scope

S1 = scope("s1")
S1F = scope("s1", "f")
S1G = scope("s1", "g")
S1_OMEGA = scope("s1", "ω")  # a frame id whose bytes sort after every ASCII character
S1_DASH = scope("s1-x")  # sorts between `session:s1` and `session:s1/frame:` bytewise
S_PERCENT = scope("s%")
S2 = scope("s2")

LAST = "\U0010ffff"  # sorts after every process id


def by(originator: SessionScope | str | None) -> ProcessProvenance:
    """A provenance from a session scope, a host scope name, or None for the bare host."""
    source: ProcessOriginator
    if isinstance(originator, SessionScope):
        source = SessionOriginator(scope=originator)
    else:
        source = HostOriginator(scope=originator)
    return ProcessProvenance(originator=source)


# (id, originator, label, state): the population every test below pages through.
ROWS: list[tuple[str, SessionScope | str | None, str | None, str]] = [
    ("p01", None, "Nightly Report", "running"),
    ("p02", S1, "deploy api", "waiting"),
    ("p03", S1F, None, "completed"),
    ("p04", S1G, "100%_done", "failed"),
    ("p05", S2, "Deploy web", "cancelled"),
    ("p06", "ops", "cleanup", "abandoned"),
    ("p07", S1F, "Ünïcode Straße", "running"),
    ("p08", S1_DASH, "neighbour", "waiting"),
    ("p09", S_PERCENT, "percent session", "completed"),
    ("p10", S1, "", "running"),
    ("p11", S1_OMEGA, "omega", "running"),
]
GRANTS = [(S1, "p01"), (S1, "p03"), (S1F, "p07"), (S2, "p02")]


async def populate(registry: ProcessRegistry, clock: ManualClock) -> None:
    evidence = AbandonEvidence(writer=AbandonWriter.SWEEP, owner=own("gone"), epoch_ms=1)
    outputs = {
        "completed": None,
        "failed": failure("boom", "it broke"),
        "cancelled": CancelledOutput(message="stop"),
        "abandoned": AbandonedOutput(evidence=evidence),
    }
    # Registered out of id order, so any order seen is the registry's.
    for pid, originator, label, state in reversed(ROWS):
        identity = ProcessIdentity(kind="external", label=label)
        if state == "abandoned":
            await registry.register_process(ob(pid, provenance=by(originator), identity=identity))
        else:
            await registry.register_process(ext(pid, provenance=by(originator), identity=identity))
        if state == "waiting":
            await park(registry, pid, clock.now_ms())
        elif state in outputs:
            await finish(registry, pid, outputs[state])
    for grantee, pid in GRANTS:
        await registry.grant_handle(grantee, pid, ProcessHandleDescriptor(label=pid))


@pytest.fixture
async def populated(registry: ProcessRegistry, clock: ManualClock) -> ProcessRegistry:
    await populate(registry, clock)
    return registry


async def page(registry: ProcessRegistry, **fields: object) -> list[str]:
    return ids(await registry.page_processes(ProcessPageQuery.model_validate(fields)))


# --- keyset -------------------------------------------------------------------------------------


async def test_pages_forwards_and_backwards_in_id_order(registry: ProcessRegistry) -> None:
    for n in reversed(range(25)):
        await registry.register_process(ext(f"k{n:02}"))
    everything = [f"k{n:02}" for n in range(25)]

    assert await page(registry, limit=10) == everything[:10]
    assert await page(registry, limit=10, after_id="k09") == everything[10:20]
    assert await page(registry, limit=10, after_id="k19") == everything[20:]
    assert await page(registry, limit=10, after_id="k24") == []
    # Between ids and before the first: a cursor need not be an existing id.
    assert await page(registry, limit=3, after_id="k09x") == ["k10", "k11", "k12"]
    assert await page(registry, limit=3, after_id="") == everything[:3]

    # Backwards: the `limit` ids just before the cursor, still ascending.
    assert await page(registry, limit=10, before_id="k15") == everything[5:15]
    assert await page(registry, limit=10, before_id="k05") == everything[:5]
    assert await page(registry, limit=10, before_id="k00") == []
    assert await page(registry, limit=4, before_id=LAST) == everything[21:]


async def test_walking_every_page_visits_each_row_once(registry: ProcessRegistry) -> None:
    for n in range(23):
        await registry.register_process(ext(f"w{n:02}"))
    seen: list[str] = []
    cursor: str | None = None
    while batch := await page(registry, limit=5, after_id=cursor):
        seen += batch
        cursor = batch[-1]
    assert seen == [f"w{n:02}" for n in range(23)]
    back: list[str] = []
    cursor = LAST
    while batch := await page(registry, limit=5, before_id=cursor):
        back = batch + back
        cursor = batch[0]
    assert back == seen


async def test_limit_bounds(populated: ProcessRegistry) -> None:
    assert await page(populated, limit=1) == ["p01"]
    assert len(await page(populated, limit=10_000)) == len(ROWS)
    for bad in (0, 10_001):
        with pytest.raises(InvalidRequest, match="from 1 to 10000"):
            await page(populated, limit=bad)


# --- states ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ({"running"}, ["p01", "p07", "p10", "p11"]),
        ({"waiting"}, ["p02", "p08"]),
        ({"running", "waiting"}, ["p01", "p02", "p07", "p08", "p10", "p11"]),
        ({"completed"}, ["p03", "p09"]),
        ({"failed"}, ["p04"]),
        ({"cancelled"}, ["p05"]),
        ({"abandoned"}, ["p06"]),
        ({"completed", "failed", "cancelled", "abandoned"}, ["p03", "p04", "p05", "p06", "p09"]),
        ({"waiting", "failed"}, ["p02", "p04", "p08"]),
        (set(), []),
    ],
)
async def test_each_state_filter(
    populated: ProcessRegistry, states: set[str], expected: list[str]
) -> None:
    assert await page(populated, states=states) == expected


async def test_every_state_is_no_filter(populated: ProcessRegistry) -> None:
    every = {"running", "waiting", "completed", "failed", "cancelled", "abandoned"}
    assert await page(populated, states=every) == await page(populated) == [r[0] for r in ROWS]


async def test_a_state_set_pages_across_its_arms_in_id_order(populated: ProcessRegistry) -> None:
    # Four stored statuses merged: each page is the next ids of the union, both ways.
    states = {"waiting", "completed", "failed", "running"}
    assert await page(populated, states=states, limit=3) == ["p01", "p02", "p03"]
    assert await page(populated, states=states, limit=3, after_id="p03") == ["p04", "p07", "p08"]
    assert await page(populated, states=states, limit=3, after_id="p08") == ["p09", "p10", "p11"]
    assert await page(populated, states=states, limit=3, before_id="p08") == ["p03", "p04", "p07"]
    assert await page(populated, states=states, limit=3, before_id="p03") == ["p01", "p02"]


async def test_a_wait_cleared_moves_a_row_from_waiting_to_running(
    populated: ProcessRegistry,
) -> None:
    await populated.clear_process_wait("p02")
    assert await page(populated, states={"waiting"}) == ["p08"]
    assert await page(populated, states={"running"}) == ["p01", "p02", "p07", "p10", "p11"]


# --- text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P0", ["p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09"]),  # id
        ("report", ["p01"]),  # label, any case
        ("DEPLOY", ["p02", "p05"]),
        ("session:s1/frame:", ["p03", "p04", "p07", "p11"]),  # originator scope id
        ("host:OPS", ["p06"]),
        ("host", ["p01", "p06"]),
        ("EXTERNAL", ["p03", "p10"]),  # no label (or an empty one): the kind is the label
        ("%", ["p04", "p09"]),  # a literal %, not "anything"
        ("_", ["p04"]),  # a literal _, not "any one character"
        ("0%_d", ["p04"]),
        ("s%", ["p09"]),
        ("ünï", ["p07"]),  # non-ASCII, folded as Python folds it
        ("STRASSE", []),
        ("STRAßE", ["p07"]),
        ("nothing like it", []),
    ],
)
async def test_text_filter(populated: ProcessRegistry, text: str, expected: list[str]) -> None:
    assert await page(populated, text=text) == expected


# --- lenses ---------------------------------------------------------------------------------------


async def test_granted_lens_is_exact_to_the_scope_id(populated: ProcessRegistry) -> None:
    assert await page(populated, lens="granted", scope=S1) == ["p01", "p03"]
    assert await page(populated, lens="granted", scope=S1F) == ["p07"]  # not the root's grants
    assert await page(populated, lens="granted", scope=S1G) == []
    assert await page(populated, lens="granted", scope=S2) == ["p02"]
    await populated.transfer_handle_grants(S1, S2, ["p03"])
    assert await page(populated, lens="granted", scope=S1) == ["p01"]
    assert await page(populated, lens="granted", scope=S2) == ["p02", "p03"]


async def test_originated_lens_by_session_or_frame(populated: ProcessRegistry) -> None:
    # The whole session: its root scope and every frame, never a look-alike session id.
    assert await page(populated, lens="originated", scope=S1) == [
        "p02",
        "p03",
        "p04",
        "p07",
        "p10",
        "p11",
    ]
    assert await page(populated, lens="originated", scope=S1_OMEGA) == ["p11"]
    assert await page(populated, lens="originated", scope=S1F) == ["p03", "p07"]
    assert await page(populated, lens="originated", scope=S1G) == ["p04"]
    assert await page(populated, lens="originated", scope=S1_DASH) == ["p08"]
    assert await page(populated, lens="originated", scope=S_PERCENT) == ["p09"]
    assert await page(populated, lens="originated", scope=scope("s")) == []
    assert await page(populated, lens="originated", scope=scope("s1", "missing")) == []


async def test_host_originated_rows_are_in_no_originated_lens(populated: ProcessRegistry) -> None:
    # p01 is the host's and granted to s1: visible to the security lens only.
    for lens_scope in (S1, S1F, scope("ops"), scope("host")):
        found = await page(populated, lens="originated", scope=lens_scope)
        assert "p01" not in found and "p06" not in found
    assert "p01" in await page(populated, lens="granted", scope=S1)


async def test_lenses_page_and_filter_together(populated: ProcessRegistry) -> None:
    originated = {"lens": "originated", "scope": S1}
    assert await page(populated, **originated, limit=2) == ["p02", "p03"]
    assert await page(populated, **originated, limit=2, after_id="p03") == ["p04", "p07"]
    assert await page(populated, **originated, limit=2, before_id="p07") == ["p03", "p04"]
    assert await page(populated, **originated, states={"running"}) == ["p07", "p10", "p11"]
    assert await page(populated, **originated, states={"running", "completed"}, text="ß") == ["p07"]
    assert await page(populated, **originated, states={"failed"}, text="100%") == ["p04"]
    granted = {"lens": "granted", "scope": S1}
    assert await page(populated, **granted, states={"completed"}) == ["p03"]
    assert await page(populated, **granted, states={"running"}, text="report") == ["p01"]
    assert await page(populated, **granted, after_id="p01") == ["p03"]
    assert await page(populated, **granted, before_id="p03") == ["p01"]


# --- every combination against the rules in plain Python ------------------------------------------


def expected_page(
    records: list[ProcessRecord], granted: dict[str, set[str]], query: ProcessPageQuery
) -> list[str]:
    def shown(record: ProcessRecord) -> bool:
        if query.states is not None and process_state(record) not in query.states:
            return False
        label = record.identity.label or record.identity.kind
        fields = (record.id, label, record.originator_scope_id())
        if query.text and not any(query.text.lower() in f.lower() for f in fields):
            return False
        if query.lens == "granted":
            assert query.scope is not None
            return record.id in granted.get(query.scope.id(), set())
        if query.lens == "originated":
            assert query.scope is not None
            return originated_by(record, query.scope)
        return True

    matching = sorted(record.id for record in records if shown(record))
    if query.after_id is not None:
        return [pid for pid in matching if pid > query.after_id][: query.limit]
    if query.before_id is not None:
        before = [pid for pid in matching if pid < query.before_id]
        return before[-query.limit :]
    return matching[: query.limit]


async def test_combined_queries_match_the_rules(populated: ProcessRegistry) -> None:
    records = await populated.list_processes(ANY)
    granted: dict[str, set[str]] = {}
    for grantee, pid in GRANTS:
        granted.setdefault(grantee.id(), set()).add(pid)
    lenses: list[dict[str, object]] = [
        {},
        {"lens": "granted", "scope": S1},
        {"lens": "originated", "scope": S1},
        {"lens": "originated", "scope": S1F},
    ]
    state_sets = [None, {"running"}, {"waiting"}, {"running", "completed"}, {"failed", "waiting"}]
    texts = ["", "p0", "deploy", "s1"]
    cursors: list[dict[str, object]] = [{}, {"after_id": "p03"}, {"before_id": "p08"}]
    checked = 0
    for lens, states, text, cursor, limit in itertools.product(
        lenses, state_sets, texts, cursors, (1, 2, 50)
    ):
        query = ProcessPageQuery.model_validate(
            {**lens, "states": states, "text": text, **cursor, "limit": limit}
        )
        got = ids(await populated.page_processes(query))
        assert got == expected_page(records, granted, query), query
        checked += 1
    assert checked == 4 * 5 * 4 * 3 * 3


async def test_pages_are_whole_records(populated: ProcessRegistry) -> None:
    [record] = await populated.page_processes(ProcessPageQuery(states={"waiting"}, limit=1))
    assert record == await populated.get_process("p02")
    assert record.wait is not None
