"""PostgreSQL reading record JSON around rows jsonb refuses (sql/dialect.py): the plain
`::jsonb` cast fails the statement, the transaction runs again in the tolerant form
(`lashtui_try_jsonb`, which writable opens add), and a read-only handle without it says so
in one sentence naming the row."""

from __future__ import annotations

import json

import psycopg
import pytest

from lashtui.errors import StoreError, WritableOpenNeeded
from lashtui.model import ProcessPageQuery
from lashtui.registry import ProcessRegistry, open_registry
from lashtui.registry.postgres import PostgresProcessRegistry
from lashtui.registry.sql.dialect import POSTGRES, POSTGRES_TRY, TRY_JSONB
from tests.builders import ext, rr
from tests.raw import raw_connection
from tests.registry.rows import ANY, scope, wake_event_type
from tests.registry.test_grants import DESCRIPTOR

# Texts the plain cast refuses, each for another reason (SQLSTATE measured on 15).
REFUSED = {
    "not-json": '{"id": "not-json", ',  # 22P02
    "surrogate": '{"id": "surrogate", "x": "\\udc00"}',  # 22P02, a lone low surrogate
    "numeric": '{"id": "numeric", "x": 1e1000000}',  # 22003, past numeric's range
    "deep": "[" * 100_000 + "]" * 100_000,  # 54001, past the server's stack
}


def _spoil(target: str, texts: dict[str, str]) -> None:
    with raw_connection(target) as conn:
        for process_id, text in texts.items():
            conn.execute(
                "UPDATE processes SET record_json = ? WHERE process_id = ?", (text, process_id)
            )


def _server_version(target: str) -> int:
    with psycopg.connect(target) as pg:
        return pg.info.server_version


async def _reads(registry: ProcessRegistry) -> set[str]:
    """Every read that reads record JSON in SQL; the live ids the census saw."""
    assert len(await registry.page_processes(ProcessPageQuery(limit=10, text="zzz"))) == 0
    assert len(await registry.page_processes(ProcessPageQuery(limit=10))) >= 1
    await registry.list_abandon_candidates(10)
    items = {i.process_id for i in await registry.list_work_items()}
    census = set((await registry.process_census()).live)
    assert items == census
    return census


async def test_every_kind_of_refused_text_is_read_around(postgres_schema: str) -> None:
    async with open_registry(postgres_schema) as registry:
        for process_id in ["good", *REFUSED]:
            await registry.register_process(rr(process_id))
        _spoil(postgres_schema, REFUSED)

        assert await _reads(registry) == {"good", *REFUSED}
        listed = {r.id: r for r in await registry.list_processes(ANY)}
        assert listed["not-json"].undecodable and listed["deep"].undecodable
        assert listed["good"].undecodable is None
        items = {i.process_id: i for i in await registry.list_work_items()}
        assert items["not-json"].undecodable and not items["good"].undecodable


async def test_a_write_that_reads_json_runs_again_once_not_twice(postgres_schema: str) -> None:
    """Deleting a session reads wake targets from the JSON inside a write transaction: the
    first attempt fails on the bad row and is rolled back, the second does the work once."""
    async with open_registry(postgres_schema) as registry:
        for process_id in ("waker", "bad"):
            waking = ext(process_id, wake_target=scope("gone"), event_types=[wake_event_type()])
            await registry.register_process(waking)
            await registry.grant_handle(scope("gone"), process_id, DESCRIPTOR)
        _spoil(postgres_schema, {"bad": REFUSED["not-json"]})

        assert isinstance(registry, PostgresProcessRegistry)
        before = _change_seqs(postgres_schema)

        report = await registry.delete_session_process_state("gone")

        assert report.revoked_handle_count == 2
        assert report.orphaned_process_ids == ["bad", "waker"]
        waker = await registry.get_process("waker")
        assert waker is not None and waker.wake_target is None
        # The attempt that failed was rolled back, its save with it: the waker's row moved
        # by its one save, the bad row not at all. (Read from the rows, not the change
        # feed, whose cursor may lag behind commits in flight elsewhere on the server,
        # other tests' among them, and then hand back rows it had already: by design, a
        # reader sees a change again rather than miss one.)
        after = _change_seqs(postgres_schema)
        assert after["bad"] == before["bad"] and after["waker"] > before["waker"]


def _change_seqs(target: str) -> dict[str, int]:
    with raw_connection(target) as conn:
        return {
            str(pid): int(seq)
            for pid, seq in conn.execute("SELECT process_id, change_seq FROM processes")
        }


async def test_the_tolerant_form_is_kept_a_while_then_the_plain_cast_is_tried_again(
    postgres_schema: str,
) -> None:
    async with open_registry(postgres_schema) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        server = registry._server
        await registry.register_process(rr("good"))
        await registry.register_process(rr("bad"))
        await _reads(registry)
        assert server._tolerant[0] is POSTGRES and server._tolerant[1] == 0.0

        _spoil(postgres_schema, {"bad": REFUSED["not-json"]})
        await _reads(registry)
        form, until = server._tolerant
        assert form is POSTGRES_TRY and until > 0
        await _reads(registry)  # within the minute: no new refusal, so no new window
        assert server._tolerant == (form, until)

        server._tolerant = (POSTGRES_TRY, 0.0)  # the minute is up
        await _reads(registry)  # the plain cast is tried, refused again: a new window
        assert server._tolerant[0] is POSTGRES_TRY and server._tolerant[1] > 0

        await registry.end_undecodable_process("bad", "dana", "garbage")
        server._tolerant = (POSTGRES_TRY, 0.0)
        await _reads(registry)  # the plain cast reads every row again
        assert server._tolerant == (POSTGRES_TRY, 0.0)


async def _without_the_function(target: str, *process_ids: str) -> None:
    """`process_ids` registered, then the try-cast function dropped, as in a registry only
    ever opened read-only by a build from before it (skipped on 16+, which reads around a
    row with pg_input_is_valid, function or not)."""
    if _server_version(target) >= 160000:
        pytest.skip("16+ reads around the row with pg_input_is_valid, function or not")
    async with open_registry(target) as registry:
        for process_id in process_ids:
            await registry.register_process(rr(process_id))
    with raw_connection(target) as conn:
        # CASCADE: the sorted label index reads through it (a registry from before had neither)
        conn.execute(f"DROP FUNCTION {TRY_JSONB}(text) CASCADE")


async def test_read_only_without_the_function_names_the_row_in_one_sentence(
    postgres_schema: str,
) -> None:
    await _without_the_function(postgres_schema, "good", "b a d")
    # Cut off after a `wait` key: the census must parse it (a text that cannot hold one is
    # told without the cast, below).
    _spoil(postgres_schema, {"b a d": '{"id": "b a d", "wait": '})

    async with open_registry(postgres_schema, read_only=True) as registry:
        # Reads that decode in Python need no cast, and still show the row.
        assert {r.id for r in await registry.list_processes(ANY)} == {"b a d", "good"}
        for _ in range(2):  # the second time the row found before is checked, not sought
            with pytest.raises(WritableOpenNeeded) as refused:
                await registry.process_census()
            message = str(refused.value)
            assert "a row PostgreSQL cannot read as JSON (process 'b a d': invalid " in message
            assert message.endswith(
                "; open the registry writable once to add the function that reads around it"
            )
            assert "\n" not in message and "Traceback" not in message
        with pytest.raises(StoreError, match="process 'b a d'"):
            await registry.list_work_items()

        # A writable open adds the function; this read-only handle then reads around the row.
        async with open_registry(postgres_schema):
            pass
        assert set((await registry.process_census()).live) == {"b a d", "good"}


async def test_the_census_parses_only_a_row_that_may_wait(postgres_schema: str) -> None:
    """Without the function, read-only: a row whose text holds neither `"wait"` nor a
    backslash is counted live and not waiting without the cast that would refuse it."""
    await _without_the_function(postgres_schema, "good", "b a d")
    _spoil(postgres_schema, {"b a d": REFUSED["not-json"]})
    async with open_registry(postgres_schema, read_only=True) as registry:
        census = await registry.process_census()
        assert census.live == {"good": "running", "b a d": "running"}
    _spoil(postgres_schema, {"b a d": '{"id": "b a d", "w\\u0061it": '})  # an escape
    async with open_registry(postgres_schema, read_only=True) as registry:
        with pytest.raises(StoreError, match="process 'b a d'"):
            await registry.process_census()


async def test_read_only_without_the_function_and_no_row_refused(postgres_schema: str) -> None:
    """A failure the scan cannot pin on a row (here a parameter's) is the statement's own
    error, with no row named."""
    await _without_the_function(postgres_schema, "good")
    body = json.dumps({"id": "good"})
    async with open_registry(postgres_schema, read_only=True) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        bad_cast = "SELECT ?::jsonb"
        with pytest.raises(StoreError) as refused:
            await registry._server.read(
                lambda conn: conn.execute(bad_cast, (body[:-1],)).fetchall()
            )
        assert str(refused.value).endswith(" failed: invalid input syntax for type json")


async def test_a_writable_open_adds_the_function_to_a_registry_made_without_it(
    postgres_schema: str,
) -> None:
    async with open_registry(postgres_schema):
        pass
    with raw_connection(postgres_schema) as conn:
        # CASCADE: the sorted label index reads through it (a registry from before had neither)
        conn.execute(f"DROP FUNCTION {TRY_JSONB}(text) CASCADE")
    async with open_registry(postgres_schema, read_only=True):
        pass  # a read-only open adds nothing

    def exists() -> bool:
        with raw_connection(postgres_schema) as conn:
            found = conn.execute(f"SELECT to_regprocedure('{TRY_JSONB}(text)')").fetchone()
        return found is not None and found[0] is not None

    assert not exists()
    async with open_registry(postgres_schema):
        pass
    assert exists()
