"""lashtui's mark on a registry's running rows whose records are plainly the backlog's, and
the two partial indexes of the rest, which a worker's drive reads instead of testing every
running row's record (drive.py `drive_work_items`). The same on both stores (PostgreSQL
since its schema version 15, postgres/upgrade.py).

A drive lists the worklist with the backlog (filter.py `in_backlog`: rerunnable, no abandon
request, no live lease) cut to its first rows. Telling the backlog from the rest took a test
of every running row's record JSON: over a backlog of 100,000 rows ~0.35 s of CPU a drive,
for each worker, every renew interval (~3.5 s over a million; on PostgreSQL, which casts
each record to jsonb, ~1.1 s over 100,000). An index on that JSON test is
evaluated by every save of a running row (a parse of the ~1.3 kB record and a byte search,
for the old row and the new) inside the write lock: four workers drained 7% slower with it
(5 interleaved pairs, 2026-12-05). So lashtui marks instead what it writes.

The column `backlog_seq` (lashtui's own, beside `sort_label`; lash's inserts name their
columns and leave it NULL) holds the change sequence of the save that wrote a record
lashtui knew plainly the backlog's (`plainly_backlog`), and NULL otherwise. Any later save
by another program moves `change_seq` (the change feed's contract: each save takes a new
sequence) and leaves the mark behind it; lashtui's own saves carry it forward where they
cannot take the record out of the backlog (`CARRY_MARK`). A program that saves a record
without a new sequence (a hand edit in the sqlite3 shell, say) loses the mark through the
trigger (`TRIGGER_DDL`). So a running row whose mark equals its change sequence holds a
record in the backlog, and is in it while its lease is not live. A batch claim's pick reads
the mark too (filter.py `in_backlog`'s `marked`, sql/run.py `_pick`): a marked row needs no
record test there either, nor its text compared with the one read ahead, so the texts are
not bound: four workers drained 3.2% faster (7 pairs, CPU a row 233 -> 223 us), one
worker 4.1%, and a four-worker PostgreSQL drain 4.1% (2026-12-05).

The rest is two partial indexes, on columns a save that keeps a row in them does not
change, so that on SQLite no save moves an entry in or out (each move is a page more to
write at commit: an event appended to an external row cost 10.8 -> 15.5 us with one index
on `backlog_seq IS NOT change_seq`, whose entry every save moved; PostgreSQL writes a new
entry in every index a saved row is in anyway, its `change_seq` index being one):

- `UNMARKED_INDEX`: running rows without a mark: owner-bound and external work, abandon
  requests, rows other programs started, records lashtui could not tell plain without a
  parse. Saves of those leave the mark alone (NULL), and status only changes at the end.
- `STALE_INDEX`: running rows whose mark is behind their sequence: another program saved
  them. Rare; a save of such a row moves its entry.
"""

from __future__ import annotations

from collections.abc import Iterable

from lashtui.registry.sql.dialect import has_backslash

# The two indexes' conditions on the row `p` (with `status = 'running'`), and the marked
# rows' (neither).
UNMARKED = "p.backlog_seq IS NULL"
STALE = "p.backlog_seq IS NOT NULL AND p.backlog_seq <> p.change_seq"
MARKED = "p.backlog_seq = p.change_seq"

UNMARKED_INDEX = "processes_drive_unmarked_idx"
STALE_INDEX = "processes_drive_stale_idx"


def _index_ddl(name: str, condition: str) -> str:
    return (
        f"CREATE INDEX IF NOT EXISTS {name} ON processes(process_id) "
        f"WHERE status = 'running' AND {condition.replace('p.', '')}"
    )


INDEX_DDL = (_index_ddl(UNMARKED_INDEX, UNMARKED), _index_ddl(STALE_INDEX, STALE))

# lashtui's saves all move `change_seq`, so for them the condition is false and the body
# never runs. On PostgreSQL, a row trigger whose condition the server tests without
# calling the function, and which clears the mark in the row being written.
POSTGRES_TRIGGER_DDL = (
    "CREATE OR REPLACE FUNCTION lashtui_backlog_seq_stale() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN NEW.backlog_seq := NULL; RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS processes_backlog_seq_stale ON processes",
    "CREATE TRIGGER processes_backlog_seq_stale BEFORE UPDATE OF record_json ON processes "
    "FOR EACH ROW WHEN (NEW.backlog_seq IS NOT NULL AND NEW.change_seq = OLD.change_seq) "
    "EXECUTE PROCEDURE lashtui_backlog_seq_stale()",
)
TRIGGER_DDL = (
    "CREATE TRIGGER IF NOT EXISTS processes_backlog_seq_stale "
    "AFTER UPDATE OF record_json ON processes "
    "WHEN NEW.backlog_seq IS NOT NULL AND NEW.change_seq IS OLD.change_seq "
    "BEGIN UPDATE processes SET backlog_seq = NULL WHERE rowid = NEW.rowid; END"
)

# The fields whose change can take a record out of the backlog (filter.py `in_backlog`).
# Setting any other top-level field in place makes no top-level `abandon_request` key, so a
# rerunnable record plainly the backlog's stays one, and the save moves its mark to its own
# sequence: `CARRY_MARK`, `{seq}` being the save's sequence in its statement. A save of a
# row that is not rerunnable leaves the column out, so the unmarked index is untouched.
UNPLAIN_FIELDS = frozenset({"abandon_request", "disposition"})
CARRY_MARK = "backlog_seq = CASE WHEN backlog_seq = change_seq THEN {seq} END, "


def carries(disposition: str, fields: Iterable[str]) -> bool:
    """Whether an in-place save of a record with `disposition` setting `fields` carries
    the row's mark forward (`CARRY_MARK`)."""
    return disposition == "rerunnable" and UNPLAIN_FIELDS.isdisjoint(fields)


def plainly_backlog(disposition: str, text: str) -> bool:
    """Whether `text`, a record lashtui encoded with that disposition, is one that
    `in_backlog`'s record test passes on either store, known without parsing it: valid
    JSON (the models' own, each key once), its top-level `disposition` is `rerunnable`,
    and it has no key named `abandon_request`: not that text at all, nor a backslash, so
    no key is spelled with an escape (and no `\u0000`, which jsonb refuses)."""
    return disposition == "rerunnable" and "\\" not in text and '"abandon_request"' not in text


def mark(disposition: str, text: str, seq: int) -> int | None:
    """The mark a save of `text` with that disposition and change sequence writes: the
    sequence where the record is plainly the backlog's (`plainly_backlog`), else none."""
    return seq if plainly_backlog(disposition, text) else None


def not_backlog_json(column: str = "p.record_json") -> str:
    """On SQLite, 1 where the record JSON may keep its running row out of the backlog
    (`in_backlog`'s record test may say no, or NULL), 0 where it plainly cannot, read from
    the JSON: what `lashtui index` marks the running rows an older build wrote by."""
    return (
        f"(CASE WHEN NOT json_valid({column}) THEN 1 "
        f"WHEN json_extract({column}, '$.disposition') IS NOT 'rerunnable' THEN 1 "
        f"WHEN json_type({column}, '$.abandon_request') IS NOT NULL THEN 1 "
        f"WHEN {has_backslash(column)} THEN 1 ELSE 0 END)"
    )


# What `lashtui index` runs to give an older registry the column (sqlite/schema.py
# `COLUMNS`): the column, the marks of the running rows already there, as an insert would
# have made them (a backlog an older build started is then read as one), and the trigger.
ADD_COLUMN = (
    "ALTER TABLE processes ADD COLUMN backlog_seq INTEGER",
    "UPDATE processes SET backlog_seq = change_seq WHERE status = 'running' "
    f"AND {not_backlog_json('record_json')} = 0",
    TRIGGER_DDL,
)
