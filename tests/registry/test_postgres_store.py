"""What only the PostgreSQL store has to get right: opening (refusing what is not ours, and
leaving it untouched), a change feed that stays exact while several connections commit at
once, and LISTEN/NOTIFY wake-ups. The shared contract suite covers the rest."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import psycopg
import pytest

from lashtui.clock import ManualClock
from lashtui.command.advice import for_the_command_line
from lashtui.errors import (
    NotARegistry,
    ProcessConflict,
    RegistryMissing,
    StoreError,
    UnsupportedSchema,
    WritableOpenNeeded,
)
from lashtui.model import (
    Engine,
    ProcessEventAppendRequest,
    ProcessLease,
    ProcessStartRequest,
    RecoveryDisposition,
)
from lashtui.registry import open_registry
from lashtui.registry.display import redacted
from lashtui.registry.postgres import PostgresProcessRegistry
from lashtui.registry.postgres.connection import CONNECT_TIMEOUT_S
from lashtui.registry.postgres.schema import (
    BEGIN_WRITE_FUNCTION,
    COMPLETE_FUNCTION,
    SCHEMA_VERSION,
    START_FUNCTION,
)
from lashtui.registry.postgres.tx import PgTx
from lashtui.registry.sql import lease
from lashtui.registry.sql.dialect import Tx
from lashtui.registry.sql.fetch import read_ahead
from tests.builders import ext, ob, own, rr, started
from tests.proxy import Proxy, proxied, target_of
from tests.raw import raw_connection
from tests.registry.rows import success
from tests.registry.server_functions import as_version_13_layout


def _tables(url: str) -> dict[str, int]:
    """Each table of the registry's schema with its row count."""
    with raw_connection(url) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        return {
            name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            for name in names
        }


async def test_a_new_schema_gets_lashs_tables_and_the_version(postgres_schema: str) -> None:
    async with open_registry(postgres_schema) as registry:
        await registry.register_process(ext("p"))
    tables = _tables(postgres_schema)
    assert set(tables) == {
        "lashtui_operator_actions",  # lashtui's audit trail (lashtui.model.audit)
        "process_registry_meta",
        "processes",
        "process_change_clock",
        "process_events",
        "process_wake_acks",
        "process_handle_grants",
        "process_leases",
        "process_execution_envs",
    }
    with raw_connection(postgres_schema) as conn:
        assert conn.execute("SELECT schema_version FROM process_registry_meta").fetchone()[0] == (
            SCHEMA_VERSION
        )


async def test_another_version_is_refused_and_left_untouched(postgres_schema: str) -> None:
    async with open_registry(postgres_schema) as registry:
        await registry.register_process(ext("p"))
    with raw_connection(postgres_schema) as conn:
        conn.execute("UPDATE process_registry_meta SET schema_version = 9")
    before = _tables(postgres_schema)
    with pytest.raises(UnsupportedSchema) as refused:
        async with open_registry(postgres_schema):
            pass
    assert "supports PostgreSQL schema version 15 (and migrates 10, 11, 12, 13 and 14), " \
        "but the database reports version 9" in str(refused.value)
    assert _tables(postgres_schema) == before


async def test_a_schema_of_other_tables_is_not_a_registry(postgres_schema: str) -> None:
    with raw_connection(postgres_schema) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(NotARegistry, match="not a lash process registry"):
        async with open_registry(postgres_schema):
            pass
    assert _tables(postgres_schema) == {"invoices": 0}


async def test_an_empty_schema_opened_without_create_or_read_only_is_refused(
    postgres_schema: str,
) -> None:
    with pytest.raises(RegistryMissing, match="no process registry at"):
        async with open_registry(postgres_schema, create=False):
            pass
    with pytest.raises(RegistryMissing, match="to open read-only"):
        async with open_registry(postgres_schema, read_only=True):
            pass
    assert _tables(postgres_schema) == {}


async def test_read_only_handles_read_and_refuse_writes(postgres_schema: str) -> None:
    async with open_registry(postgres_schema) as registry:
        await registry.register_process(ext("p"))
    async with open_registry(postgres_schema, read_only=True) as reader:
        assert (await reader.get_process("p")) is not None
        with pytest.raises(StoreError, match="is open read-only"):
            await reader.register_process(ext("q"))
    assert _tables(postgres_schema)["processes"] == 1


async def test_concurrent_first_opens_converge_on_one_registry(postgres_schema: str) -> None:
    async def open_and_register(n: int) -> None:
        async with open_registry(postgres_schema) as registry:
            await registry.register_process(ext(f"p{n}"))

    await asyncio.gather(*(open_and_register(n) for n in range(6)))
    assert _tables(postgres_schema)["processes"] == 6


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_server_is_one_sentence_without_the_password() -> None:
    url = f"postgresql://lash:s3cret@127.0.0.1:{_closed_port()}/registry"
    with pytest.raises(StoreError) as refused:
        async with open_registry(url):
            pass
    message = str(refused.value)
    assert message.startswith("cannot reach process registry `postgresql://lash:***@127.0.0.1:")
    assert "s3cret" not in message
    assert "\n" not in message


def test_redaction_keeps_everything_but_the_password() -> None:
    assert redacted("postgresql://u:p@h:5/db?x=1") == "postgresql://u:***@h:5/db?x=1"
    assert redacted("postgresql://h/db") == "postgresql://h/db"


def test_redaction_keeps_an_empty_host_part() -> None:
    """libpq's URL with its host in the query (`postgresql:///db?host=...`): the message
    showed `postgresql:/db?...`, a URL the user never gave (urlunsplit drops the `//` of an
    empty netloc), in the worker's start line and every error."""
    url = "postgresql:///ops?host=/run/postgresql&user=lash&password=s3cret"
    assert redacted(url) == "postgresql:///ops?host=/run/postgresql&user=lash&password=***"
    assert redacted("postgresql:///ops?host=h") == "postgresql:///ops?host=h"


async def test_the_change_feed_misses_nothing_while_many_connections_commit(
    postgres_schema: str,
) -> None:
    """Writers on separate handles commit in any order; a reader polling the feed must see
    every row exactly at its latest save, never skipping a sequence that committed late."""
    async with open_registry(postgres_schema) as reader:
        handles = [await PostgresProcessRegistry.open(postgres_schema) for _ in range(4)]
        try:
            seen: dict[str, int] = {}
            cursor = 0
            done = asyncio.Event()

            async def write(handle: PostgresProcessRegistry, n: int) -> None:
                for i in range(40):
                    await handle.register_process(ext(f"w{n}-{i}"))

            async def follow() -> None:
                nonlocal cursor
                while True:
                    finished = done.is_set()
                    records, cursor = await reader.processes_changed_since(cursor, 50)
                    for record in records:
                        seen[record.id] = record.updated_at_ms
                    if finished and not records:
                        return
                    await asyncio.sleep(0)

            follower = asyncio.create_task(follow())
            await asyncio.gather(*(write(handle, n) for n, handle in enumerate(handles)))
            done.set()
            await follower
        finally:
            for handle in handles:
                await handle.close()
    assert len(seen) == 160


class Announcements:
    """A handle's notifications, counted by a task of their own (cancelling a wait on an
    async generator would end it)."""

    def __init__(self, registry: PostgresProcessRegistry, *, work_only: bool = False) -> None:
        self.stream = registry.notifications(work_only=work_only)
        self.count = 0
        self.arrived = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Announcements:
        await anext(self.stream)  # listening from here on
        self.task = asyncio.create_task(self._count())
        return self

    async def _count(self) -> None:
        async for _ in self.stream:
            self.count += 1
            self.arrived.set()

    async def __aexit__(self, *_: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.stream.aclose()


async def test_a_commit_from_another_handle_is_announced(postgres_schema: str) -> None:
    async with open_registry(postgres_schema) as listener, open_registry(
        postgres_schema
    ) as writer:
        assert isinstance(listener, PostgresProcessRegistry)
        async with Announcements(listener) as heard:
            await writer.register_process(ext("p"))
            async with asyncio.timeout(5):
                await heard.arrived.wait()
            assert heard.count == 1


async def test_a_rolled_back_write_announces_nothing_and_own_commits_are_skipped(
    postgres_schema: str,
) -> None:
    async with open_registry(postgres_schema) as listener, open_registry(
        postgres_schema
    ) as writer:
        assert isinstance(listener, PostgresProcessRegistry)
        await writer.register_process(ext("p"))
        version = await writer.data_version()
        async with Announcements(listener) as heard:
            with pytest.raises(ProcessConflict):  # same id, another registration: rolled back
                await writer.register_process(ob("p"))
            await listener.register_process(ext("own"))  # the listener's own commit
            await writer.register_process(ext("q"))  # and then one to hear
            async with asyncio.timeout(5):
                await heard.arrived.wait()
            # PostgreSQL delivers notifications in commit order: any from the two writes
            # before would have come before this one.
            await asyncio.sleep(0)
            assert heard.count == 1
        # The version moved for the commits (the writer's own too: a wake-up too many).
        assert await writer.data_version() != version


def _as_version_10(url: str, clock: int) -> None:
    """Make the registry at `url` what lashtui stamped before the feed was ordered by
    transaction: the meta row's commit count (every old write updated it first), no base,
    counter or bound function, and sequences taken from the clock row (here ahead of the
    rows, as after a prune of the newest)."""
    as_version_13_layout(url)
    with raw_connection(url) as conn:
        conn.execute("DROP FUNCTION lashtui_change_bound(pg_snapshot)")
        conn.execute(f"DROP FUNCTION {COMPLETE_FUNCTION}")  # (version 12's)
        conn.execute(f"DROP FUNCTION {BEGIN_WRITE_FUNCTION}")
        conn.execute("DROP SEQUENCE process_commit_counter")
        conn.execute("ALTER TABLE process_registry_meta DROP COLUMN change_base")
        conn.execute(
            "ALTER TABLE process_registry_meta ADD COLUMN commits BIGINT NOT NULL DEFAULT 7"
        )
        conn.execute("UPDATE process_registry_meta SET schema_version = 10")
        ids = [pid for (pid,) in conn.execute("SELECT process_id FROM processes ORDER BY 1")]
        for n, pid in enumerate(ids, start=1):
            conn.execute("UPDATE processes SET change_seq = ? WHERE process_id = ?", (n, pid))
        conn.execute("UPDATE process_change_clock SET current_seq = ?", (clock,))


async def test_a_version_10_registry_is_migrated_and_its_old_writers_locked_out(
    postgres_schema: str,
) -> None:
    async with open_registry(postgres_schema) as registry:
        for pid in ("p", "q"):
            await registry.register_process(ext(pid))
    _as_version_10(postgres_schema, clock=40)
    # A read-only open cannot migrate: one sentence, and nothing changed.
    before = _tables(postgres_schema)
    with pytest.raises(WritableOpenNeeded) as refused:
        async with open_registry(postgres_schema, read_only=True):
            pass
    assert str(refused.value).endswith(
        "made by an earlier lashtui (PostgreSQL schema version 10); open it writable once to "
        f"migrate it to version {SCHEMA_VERSION}"
    )
    # The command line, where it catches the refusal, says which of its commands do that.
    assert for_the_command_line(refused.value).endswith(
        f"version {SCHEMA_VERSION} (`lashtui dash` or `lashtui worker` opens it writable)"
    )
    assert _tables(postgres_schema) == before
    async with open_registry(postgres_schema) as registry:
        # A follower of the old registry was at the clock: new saves come after it.
        after = ProcessEventAppendRequest.new("process.cancel_requested", {"reason": "a"}, "a")
        await registry.append_event("p", after)
        changed, cursor = await registry.processes_changed_since(40, 10)
        assert [record.id for record in changed] == ["p"]
        assert cursor > 40
        assert (await registry.get_process("q")) is not None
    with raw_connection(postgres_schema) as conn:
        assert conn.execute("SELECT schema_version FROM process_registry_meta").fetchone()[0] == (
            SCHEMA_VERSION
        )
        for function in (COMPLETE_FUNCTION, BEGIN_WRITE_FUNCTION, START_FUNCTION):
            assert conn.execute(f"SELECT to_regproc('{function}')").fetchone()[0]
    # An old writer still running fails its next write whole, before writing anything.
    with pytest.raises(psycopg.errors.UndefinedColumn), raw_connection(postgres_schema) as conn:
        conn.execute("UPDATE process_registry_meta SET commits = commits + 1 WHERE singleton = 1")


async def test_quiet_commits_are_never_sent_to_a_listener_on_the_work_channel(
    postgres_schema: str,
) -> None:
    """A claim and a terminal under its lease are announced on the quiet channel only
    (notice.py): a connection listening on the registry's channel alone (what a worker's
    wake listens on) is sent nothing for them, and one on the quiet channel is sent each."""
    async with open_registry(postgres_schema) as writer:
        assert isinstance(writer, PostgresProcessRegistry)
        await writer.register_process(rr("r0"))
        url = postgres_schema
        work = await psycopg.AsyncConnection.connect(url, autocommit=True)
        quiet = await psycopg.AsyncConnection.connect(url, autocommit=True)
        try:
            await work.execute(f'LISTEN "{writer.channel}"')
            await quiet.execute(f'LISTEN "{writer.quiet_channel}"')
            claim = await writer.claim_process_for_run("r0", own("w"), 30_000, started("w"))
            lease = claim.outcome.acquired()
            assert lease is not None
            await writer.complete_process_with_lease(lease, success())
            await writer.register_process(ext("new"))  # new work: on the channel

            async def payloads(conn: psycopg.AsyncConnection[object], n: int) -> list[str]:
                found: list[str] = []
                async with asyncio.timeout(5):
                    async for note in conn.notifies():
                        found.append(note.payload)
                        if len(found) == n:
                            return found
                return found

            assert [p.endswith(" quiet") for p in await payloads(quiet, 2)] == [True, True]
            assert [p.endswith(" quiet") for p in await payloads(work, 1)] == [False]
            # Nothing else was sent on the work channel (the quiet ones came before).
            assert [n async for n in work.notifies(timeout=0.2)] == []
        finally:
            await work.close()
            await quiet.close()


async def test_a_worker_is_not_woken_by_claims_renewals_and_terminals_under_a_lease(
    postgres_schema: str,
) -> None:
    """A listener asking for work only (a worker's wake) hears a new row and a released
    lease, and not another worker's claims, renewals, first-started or leased terminals,
    alone or committed as one group; a plain listener (the dashboard) hears every commit."""
    async with open_registry(postgres_schema) as listener, open_registry(
        postgres_schema
    ) as writer:
        assert isinstance(listener, PostgresProcessRegistry)
        for n in range(4):
            await writer.register_process(rr(f"r{n}"))
        async with Announcements(listener) as every, Announcements(
            listener, work_only=True
        ) as work:
            claim = await writer.claim_process_for_run("r0", own("w"), 30_000, started("w"))
            lease = claim.outcome.acquired()
            assert lease is not None
            lease = await writer.renew_process_lease(lease, 30_000)
            await writer.complete_process_with_lease(lease, success())
            # Claims and terminals made in one moment commit as one group.
            batch = await writer.claim_processes_for_run(
                [own("w1"), own("w2")], 30_000, started("w")
            )
            leases = [c.outcome.acquired() for _, c in batch if c is not None]
            assert len(leases) == 2 and all(leases)
            await asyncio.gather(
                *(writer.complete_process_with_lease(held, success()) for held in leases if held)
            )
            # A start through a worker's facade: its new row is claimed in its own
            # transaction, nothing for another worker.
            request = ProcessStartRequest(
                id="started-and-claimed",
                input=Engine(kind="echo", payload={}),
                disposition=RecoveryDisposition.RERUNNABLE,
            )
            _, fused = await writer.start_process_for_run(request, own("w3"), 30_000, started("w"))
            assert fused is not None and fused.started
            await writer.register_process(ext("new"))  # new work: heard by both
            async with asyncio.timeout(5):
                await work.arrived.wait()
            # Delivered in commit order: the quiet commits' would have come before.
            await asyncio.sleep(0)
            assert work.count == 1
            work.arrived.clear()
            last = await writer.claim_process_for_run("r3", own("w"), 30_000, started("w"))
            held = last.outcome.acquired()
            assert held is not None
            await writer.release_process_lease(held)  # a row free again: heard by both
            async with asyncio.timeout(5):
                await work.arrived.wait()
            assert work.count == 2
            # Every commit reached the plain listener: at least claim, renewal, terminal,
            # batch claim, the two terminals (one group or two), register, claim, release.
            async with asyncio.timeout(5):
                while every.count < 8:
                    every.arrived.clear()
                    await every.arrived.wait()


def _reads_ahead(tx: Tx) -> tuple[int, ...]:
    tx.execute("CREATE TEMP TABLE ahead_probe (x int) ON COMMIT DROP")
    count = ("SELECT count(*) FROM ahead_probe", ())

    def counted() -> int:
        return int(tx.execute(*count).fetchone()[0])

    read_ahead(tx, count)
    tx.execute("INSERT INTO ahead_probe VALUES (1)")  # sent right after this statement
    tx.execute("INSERT INTO ahead_probe VALUES (2)")
    ahead = counted()  # the result sent ahead, from between the two inserts
    again = counted()  # used once: run now
    read_ahead(tx, count)
    tx.execute("INSERT INTO ahead_probe VALUES (3)")
    tx.execute("INSERT INTO ahead_probe VALUES (4)")
    assert isinstance(tx, PgTx)
    tx.forget_read_ahead()  # what a group does before its next write
    forgotten = counted()
    return ahead, again, forgotten


async def test_a_read_sent_ahead_travels_with_the_next_statement_and_is_used_once(
    postgres_schema: str,
) -> None:
    """`read_ahead` (what claims and completions send with the row's read): the read runs
    right after the next statement, a later execute of it takes that result once, and
    what a write did not use is gone before the next write of a group."""
    async with open_registry(postgres_schema) as registry:
        assert isinstance(registry, PostgresProcessRegistry)
        assert await registry._db.write(_reads_ahead) == (1, 2, 4)


def _renew_and_hold(
    conn: Tx, held: ProcessLease, now: int, renewed: threading.Event, release: threading.Event
) -> ProcessLease:
    """Renew `held` for a minute, then keep the transaction open until `release` (on a pool
    thread): a write in flight, its BEGIN (the writer lock, its id, the commit counter's
    step) already run."""
    renewal = lease.renew(conn, held, 60_000, lambda: now)
    renewed.set()
    if not release.wait(30):
        raise TimeoutError("never released")
    return renewal


async def test_the_data_version_moves_when_a_write_in_flight_commits(
    postgres_schema: str, clock: ManualClock
) -> None:
    """A version taken while a write is in flight (counted by the commit counter, not yet
    visible) must move once it commits: a dashboard view reads again only when it has moved
    (tui/screens/live.py), so a version that reached its final value before the commit was
    visible left the view showing the old lease for as long as nothing else committed.

    It did, when the writer's id was the newest on the server: a snapshot lists as in
    progress only the ids below its `xmax` (the last one completed, plus one), so the
    writer was in no list, the bound (`lashtui_change_bound`) stood at its end, and the
    version was the one the commit then left. Alone on the server, that is every time."""
    async with open_registry(postgres_schema, clock=clock) as reader, open_registry(
        postgres_schema, clock=clock
    ) as writer:
        assert isinstance(writer, PostgresProcessRegistry)
        await writer.register_process(ext("p"))
        claim = await writer.claim_process_lease("p", own("w-1"), 10_000)
        assert claim.lease is not None
        renewed, release = threading.Event(), threading.Event()
        write = asyncio.create_task(
            writer._db.write(_renew_and_hold, claim.lease, clock.now_ms(), renewed, release)
        )
        try:
            assert await asyncio.to_thread(renewed.wait, 10)
            in_flight = await reader.data_version()
            unseen = await reader.get_process_lease("p")  # what a read at that version sees
            assert unseen is not None
            assert unseen.expires_at_epoch_ms == claim.lease.expires_at_epoch_ms
        finally:
            release.set()
            renewal = await write
        assert await reader.data_version() != in_flight
        seen = await reader.get_process_lease("p")
        assert seen is not None
        assert seen.expires_at_epoch_ms == renewal.expires_at_epoch_ms


async def test_a_new_registrys_first_commit_moves_the_data_version(
    postgres_schema: str,
) -> None:
    """A new sequence's `last_value` is 1 before its first `nextval` and after it: the
    version read from it alone stood still over a new registry's first commit, which a
    dashboard view that re-reads only once it moves (tui/screens/live.py) would not have
    read, nor a worker that polls for work (when it cannot listen) have seen."""
    async with open_registry(postgres_schema) as reader, open_registry(
        postgres_schema
    ) as writer:
        versions = [await reader.data_version()]
        for pid in ("first", "second"):
            await writer.register_process(ext(pid))
            versions.append(await reader.data_version())
    assert len(set(versions)) == 3


async def test_a_listener_gives_up_on_a_server_that_never_answers_within_the_connect_timeout(
    postgres_schema: str,
) -> None:
    """The server reached at open, then silent: the proxy in front of it is killed and its
    port taken by a socket that completes TCP handshakes and never answers PostgreSQL's
    startup message (as a server behind a firewall that drops packets, seen from here). The
    listener's connect gives up within the connect timeout every other connection of the
    store has (the URL's, here 2 s; CONNECT_TIMEOUT_S by default); it had none, so
    psycopg's default, 130 s, held each try to listen again that long."""
    proxy = Proxy(*target_of(postgres_schema))
    proxy.start()
    try:
        url = f"{proxied(postgres_schema, proxy)}&connect_timeout={TIMEOUT_S}"
        async with open_registry(url) as registry:
            assert isinstance(registry, PostgresProcessRegistry)
            proxy.kill()
            with socket.socket() as silent:
                silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                silent.bind(("127.0.0.1", proxy.port))
                silent.listen(8)  # never accepted: the kernel answers the handshake alone
                began = time.monotonic()
                stream = registry.notifications()
                with pytest.raises(StoreError, match="cannot listen on process registry"):
                    async with asyncio.timeout(CONNECT_TIMEOUT_S + 20):  # only a guard
                        await anext(stream)
                took = time.monotonic() - began
                await stream.aclose()
    finally:
        proxy.kill()
    assert TIMEOUT_S - 1 <= took < TIMEOUT_S + 5, took
    assert TIMEOUT_S < CONNECT_TIMEOUT_S - 5  # so the test tells the two apart


TIMEOUT_S = 2


def _backends_named(url: str, name: str) -> int:
    with raw_connection(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", (name,)
        ).fetchone()
    return int(row[0])


async def test_a_backend_names_this_host_and_process_unless_the_url_names_it(
    postgres_schema: str,
) -> None:
    """An operator looking at pg_stat_activity could not tell a fleet's backends apart: every
    lashtui connection had a blank application_name. Each now names the host and process it
    serves, unless the URL gives its own."""
    ours = f"lashtui {socket.gethostname()}:{os.getpid()}"[:63]
    async with open_registry(postgres_schema) as registry:
        await registry.register_process(ext("p"))
        assert _backends_named(postgres_schema, ours) >= 1
    given = f"{postgres_schema}&application_name=ops-board"
    async with open_registry(given) as registry:
        await registry.register_process(ext("q"))
        assert _backends_named(postgres_schema, "ops-board") >= 1  # (kwargs would win)
