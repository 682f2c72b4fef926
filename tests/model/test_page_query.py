"""The dashboard's page query, census and state rules, without a registry: each bad query
is refused in one sentence naming the bad value, and the six states and the
silent-not-dead verdict follow from the facts on a row."""

from __future__ import annotations

import re

import pytest

from lashtui.errors import InvalidRequest
from lashtui.model import (
    NO_LEASE,
    AbandonRequest,
    ObservedProcess,
    ProcessCensus,
    ProcessLease,
    ProcessPageQuery,
    ProcessRecord,
    ProcessStarted,
    ProcessState,
    ProcessStatus,
    SessionScope,
    SuccessOutput,
    WaitKind,
    WaitState,
    process_state,
    silent_not_dead,
)
from tests.builders import ext, ob, own, rr

S1 = SessionScope(session_id="s1")
NOW = 1_000_000


def test_a_default_query_is_the_first_page_of_everything() -> None:
    query = ProcessPageQuery()
    assert (query.lens, query.scope, query.states, query.text) == ("all", None, None, "")
    assert (query.after_id, query.before_id, query.limit) == (None, None, 200)
    assert not query.backwards
    assert ProcessPageQuery(before_id="x").backwards


def test_queries_are_frozen() -> None:
    query = ProcessPageQuery()
    with pytest.raises(ValueError, match="frozen"):
        query.limit = 5  # type: ignore[misc]
    assert query.model_copy(update={"limit": 5}).limit == 5


@pytest.mark.parametrize("lens", ["granted", "originated"])
def test_a_lens_needs_a_scope(lens: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(f"the `{lens}` lens needs a session scope")):
        ProcessPageQuery.model_validate({"lens": lens})
    assert ProcessPageQuery.model_validate({"lens": lens, "scope": S1}).scope == S1


def test_an_unknown_lens_is_named() -> None:
    with pytest.raises(
        InvalidRequest,
        match=re.escape("a process page lens is `all`, `granted` or `originated`, got `mine`"),
    ):
        ProcessPageQuery.model_validate({"lens": "mine", "scope": S1})


def test_states_are_the_six_dashboard_states() -> None:
    every = {"running", "waiting", "completed", "failed", "cancelled", "abandoned"}
    query = ProcessPageQuery.model_validate({"states": every})
    assert query.states == frozenset(ProcessState)
    assert "waiting" in query.states
    message = (
        "unknown process state `queued`; the states are `running`, `waiting`, `completed`, "
        "`failed`, `cancelled`, `abandoned`"
    )
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        ProcessPageQuery.model_validate({"states": {"running", "queued"}})
    with pytest.raises(InvalidRequest, match=re.escape("got `running`")):
        ProcessPageQuery.model_validate({"states": "running"})  # a string is not a set
    assert ProcessPageQuery.model_validate({"states": []}).states == frozenset()


@pytest.mark.parametrize("limit", [0, -1, 10_001, True, 2.5, "10"])
def test_limits_are_1_to_10000(limit: object) -> None:
    with pytest.raises(
        InvalidRequest, match=re.escape(f"whole number from 1 to 10000, got `{limit}`")
    ):
        ProcessPageQuery.model_validate({"limit": limit})


def test_limit_bounds_themselves_are_allowed() -> None:
    assert ProcessPageQuery(limit=1).limit == 1
    assert ProcessPageQuery(limit=10_000).limit == 10_000


def test_after_and_before_together_are_refused() -> None:
    with pytest.raises(
        InvalidRequest, match="a process page goes after an id or before one, not both"
    ):
        ProcessPageQuery(after_id="a", before_id="b")


def test_census_counts_every_state() -> None:
    census = ProcessCensus(
        cursor=7,
        terminal={"completed": 2, "failed": 1, "cancelled": 0, "abandoned": 4},
        live={"a": "running", "b": "waiting", "c": "running"},
    )
    assert census.counts() == {
        "running": 2,
        "waiting": 1,
        "completed": 2,
        "failed": 1,
        "cancelled": 0,
        "abandoned": 4,
    }
    assert list(census.counts()) == [state.value for state in ProcessState]
    assert census.total() == 10
    assert ProcessCensus(cursor=0, terminal={}, live={}).counts() == dict.fromkeys(
        [state.value for state in ProcessState], 0
    )


# --- states ---------------------------------------------------------------------------------------


def record(registration_id: str = "p", **changes: object) -> ProcessRecord:
    prepared, digest = ob(registration_id).prepare()
    return ProcessRecord.new(prepared, digest, NOW).model_copy(update=changes)


def waiting() -> WaitState:
    kind = WaitKind(name="go", event_type="signal.go", key="process:p:signal.go:1", ordinal=1)
    return WaitState(kind=kind, since_ms=NOW)


def lease(expires_at_ms: int) -> ProcessLease:
    return ProcessLease(
        process_id="p",
        owner=own("w"),
        lease_token="t",
        fencing_token=1,
        claimed_at_epoch_ms=0,
        expires_at_epoch_ms=expires_at_ms,
    )


def test_process_state_of_records_and_observed_rows() -> None:
    running, parked = record(), record(wait=waiting())
    done = record(status=ProcessStatus.terminal(SuccessOutput(value=1)))
    assert process_state(running) is ProcessState.RUNNING
    assert process_state(parked) is ProcessState.WAITING
    assert process_state(done) is ProcessState.COMPLETED
    for row in (running, parked, done):
        assert process_state(ObservedProcess.from_record(row, None)) is process_state(row)
    assert [s.is_terminal for s in ProcessState] == [False, False, True, True, True, True]


STARTED = ProcessStarted(owner=own("w"), started_at_ms=NOW)


@pytest.mark.parametrize(
    ("row", "held", "silent"),
    [
        (record(first_started=STARTED), None, True),  # started, no lease at all
        (record(first_started=STARTED), lease(NOW), True),  # expiry == now has lapsed
        (record(first_started=STARTED), lease(NOW + 1), False),  # still renewing
        (record(), None, False),  # never started: the next worker runs it
        (
            record(
                first_started=STARTED,
                status=ProcessStatus.terminal(SuccessOutput(value=1)),
            ),
            None,
            False,
        ),
    ],
)
def test_silent_not_dead(row: ProcessRecord, held: ProcessLease | None, silent: bool) -> None:
    assert silent_not_dead(ObservedProcess.from_record(row, held), NOW) is silent


def test_only_owner_bound_rows_can_be_silent_not_dead() -> None:
    for registration in (ext("p"), rr("p")):
        prepared, digest = registration.prepare()
        row = ProcessRecord.new(prepared, digest, NOW).model_copy(update={"first_started": STARTED})
        assert not silent_not_dead(ObservedProcess.from_record(row, None), NOW)
    assert silent_not_dead(ObservedProcess.from_record(record(first_started=STARTED), None), NOW)
    # Once an operator has requested its abandon, the next sweep honours it: no longer a row
    # only an operator can decide (as `lashtui check` counts; `ls` and the views said silent).
    requested = record(
        first_started=STARTED, abandon_request=AbandonRequest(requested_by="op", requested_at_ms=0)
    )
    assert not silent_not_dead(ObservedProcess.from_record(requested, None), NOW)


# --- orders and their cursors


def test_an_unknown_order_is_one_sentence_listing_the_orders() -> None:
    with pytest.raises(InvalidRequest) as refused:
        ProcessPageQuery.model_validate({"order": "size"})
    assert str(refused.value) == (
        "unknown process order `size`; the orders are `id`, `status`, `label`, `age`, "
        "`updated`, `lease_expiry`"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"order": "age", "after_id": "p", "after_key": "old"}, "cannot be `'old'`"),
        ({"order": "label", "before_id": "p", "before_key": 3}, "cannot be `3`"),
        ({"order": "id", "after_id": "p", "after_key": "p"}, "in `id` order cannot be"),
        ({"order": "age", "after_key": 3}, "`after_key` needs its `after_id`"),
        ({"order": "age", "after_id": "p", "after_key": True}, "cannot be `True`"),
    ],
)
def test_a_sort_key_must_fit_its_order(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        ProcessPageQuery.model_validate(fields)


def test_the_cursor_of_a_held_row_is_its_key_as_the_registry_computes_it() -> None:
    row = record("p-1", created_at_ms=5, updated_at_ms=9)
    observed = ObservedProcess.from_record(row, lease(77))
    free = ObservedProcess.from_record(row, None)
    expected = {
        "id": None,
        "status": "running",
        "label": row.identity.label or row.identity.kind,
        "age": 5,
        "updated": 9,
        "lease_expiry": 77,
    }
    for order, key in expected.items():
        query = ProcessPageQuery.model_validate({"order": order}).after(observed)
        assert (query.after_id, query.after_key) == ("p-1", key)
        back = query.before(observed)
        assert (back.before_id, back.before_key, back.after_id) == ("p-1", key, None)
    query = ProcessPageQuery(order="lease_expiry").after(free)
    assert query.after_key == NO_LEASE
    assert ProcessPageQuery(order="age").after(None).cursor is None
