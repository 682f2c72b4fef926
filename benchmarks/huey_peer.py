"""huey, the peer queue of P1 and P3, opened on a SQLite file the way each benchmark says.

huey is imported only here, and only when a benchmark asks for it (it is a benchmark and
test dependency, not lashtui's)."""

from __future__ import annotations

import logging
from typing import Any


def open_huey(name: str, path: str, *, normal_sync: bool) -> Any:
    """A `Huey` on `SqliteStorage` (WAL) at `path`. `normal_sync` commits like lashtui
    (synchronous=NORMAL: no fsync per commit in WAL mode); without it huey runs as it ships,
    with SQLite's default synchronous=FULL."""
    from huey import Huey  # type: ignore[import-untyped]
    from huey.storage import SqliteStorage  # type: ignore[import-untyped]

    class NormalSyncSqliteStorage(SqliteStorage):  # type: ignore[misc]
        def _create_connection(self):  # type: ignore[no-untyped-def]
            conn = super()._create_connection()
            conn.execute("PRAGMA synchronous = NORMAL")
            return conn

    logging.getLogger("huey").setLevel(logging.ERROR)
    storage = NormalSyncSqliteStorage if normal_sync else SqliteStorage
    return Huey(name, storage_class=storage, filename=path)
