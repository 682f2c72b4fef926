"""The indexes a registry is read by, and adding those an older lashtui did not make
(`lashtui index`).

Each store's schema.py lists its indexes in its DDL, and a new registry gets them all. A
registry made by an earlier lashtui build has only the indexes of that build: opening it
writes nothing, so it is never given new ones behind the operator's back, and every query is
correct without them (page.py). Without them some reads scan instead of seek: on the
million-row benchmark registry a sorted Processes page, the Health view's charts and the
audit trail take seconds instead of milliseconds. Building an index on such a registry takes
its write lock for as long as the build (seconds on a million rows: workers wait), so it is
an act the operator asks for, with `--dry-run` to see what it would do first.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple

from lashtui.registry.sql.dialect import Tx, dialect
from lashtui.registry.sql.version import has_backlog_seq, has_column, has_sort_label

_NAME = re.compile(r"CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)


class IndexReport(NamedTuple):
    """What `add_missing` found and did: the indexes it created (or, in a dry run, would
    create), the ones already there, how long the builds took, the `processes` columns it
    added first (with the rows each one's fill wrote, where it has one) and the superseded
    indexes it dropped last (or would)."""

    created: list[str]
    present: list[str]
    dry_run: bool
    seconds: float = 0.0
    columns: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    filled: tuple[tuple[str, int], ...] = ()


def index_statements(ddl: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, statement) of every index `ddl` creates, in the DDL's order."""
    named = ((_NAME.match(statement.strip()), statement) for statement in ddl)
    return [(match.group(1), statement) for match, statement in named if match]


def missing(conn: Tx, ddl: tuple[str, ...]) -> list[str]:
    """The indexes of `ddl` the registry does not have."""
    exists = dialect(conn).index_exists()
    return [
        name for name, _ in index_statements(ddl) if conn.execute(exists, [name]).fetchone() is None
    ]


def add_missing(
    conn: Tx,
    ddl: tuple[str, ...],
    dry_run: bool,
    columns: tuple[tuple[str, tuple[str, ...]], ...] = (),
    superseded: tuple[str, ...] = (),
) -> IndexReport:
    """Create the indexes of `ddl` the registry lacks, in one transaction (all or none):
    first the `processes` columns of `columns` ((name, statements: the ALTER, then any
    that fill it), SQLite) it lacks, which new indexes may read, and last drop the
    `superseded` indexes it has, each replaced by one of `ddl` (each store's schema.py
    `SUPERSEDED`)."""
    absent = set(missing(conn, ddl))
    statements = index_statements(ddl)
    present = [name for name, _ in statements if name not in absent]
    created = [name for name, _ in statements if name in absent]
    added = tuple(name for name, _ in columns if not has_column(conn, name))
    exists = dialect(conn).index_exists()
    dropped = tuple(
        name for name in superseded if conn.execute(exists, [name]).fetchone() is not None
    )
    if dry_run:
        return IndexReport(created, present, dry_run=True, columns=added, dropped=dropped)
    started = time.perf_counter()
    filled = []
    for name, (alter, *fill) in columns:
        if name in added:
            conn.execute(alter)
            if fill:
                written = [conn.execute(statement).rowcount for statement in fill]
                filled.append((name, sum(count for count in written if count > 0)))
    for name, statement in statements:
        if name in absent:
            conn.execute(statement)
    for name in dropped:
        conn.execute(f"DROP INDEX {name}")
    # This connection's inserts now fill the columns added.
    if added and hasattr(conn, "sort_label") and hasattr(conn, "backlog_seq"):
        conn.sort_label = has_sort_label(conn)
        conn.backlog_seq = has_backlog_seq(conn)
    return IndexReport(
        created, present, dry_run=False, seconds=time.perf_counter() - started,
        columns=added, dropped=dropped, filled=tuple(filled),
    )

