"""What a row the plain jsonb cast refuses does to a handle: the tolerant form its
transactions then run in, or, on a server without one, the refusal naming the row.
`JsonbTolerance` is mixed into the connection (transaction.py, connection.py).

A statement that reads record JSON with the plain `::jsonb` cast fails, and aborts its
transaction, when one row's text is not what jsonb reads (sql/dialect.py). The runner then
rolls the transaction back and runs it again, whole, in a tolerant form: nothing of the
first attempt was committed, and a transaction function is a plain function over its
connection, so running it twice is running it once. The handle keeps the tolerant form for
`TOLERANT_S` before it tries the plain cast again: the row is seldom gone sooner, and a
failed attempt costs up to a whole statement.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from lashtui.errors import WritableOpenNeeded
from lashtui.registry.display import first_line
from lashtui.registry.sql.dialect import POSTGRES_TRY, POSTGRES_VALID, TRY_JSONB, Dialect

# How long a handle that met a row the plain jsonb cast refuses keeps the tolerant form.
TOLERANT_S = 60.0
# What the plain cast raises for text jsonb refuses (measured on 15): class 22, data
# exception (22P02 not JSON or a lone surrogate escaped, 22P05 a `\u0000` escape, 22003 a
# number past numeric's range), and 54001 for nesting past the server's stack.
_JSONB_REFUSALS = (psycopg.DataError, pg_errors.StatementTooComplex)


class JsonbRefused(Exception):
    """A statement in the plain jsonb form failed, perhaps on a row's text: the runner
    runs its transaction again in a tolerant form (see the module docstring)."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


class JsonbTolerance:
    """The connection's methods that keep the tolerant form and tell the refusal."""

    # Set by PostgresConnection.__init__ (connection.py).
    display: str
    _tolerant: tuple[Dialect, float]
    _refused_id: str | None

    def _tolerate(self, pg: psycopg.Connection[Any], error: psycopg.Error) -> Dialect:
        """The tolerant jsonb form, kept for `TOLERANT_S`: the registry's try-cast function,
        else `pg_input_is_valid` on 16+; without either, the refusal in one sentence."""
        has_function = pg.execute(
            "SELECT to_regprocedure(%s) IS NOT NULL", (f"{TRY_JSONB}(text)",)
        ).fetchone()
        if has_function and has_function[0]:
            form = POSTGRES_TRY
        elif pg.info.server_version >= 160000:
            form = POSTGRES_VALID
        else:
            raise self._refusal(pg, error) from None
        self._tolerant = (form, time.monotonic() + TOLERANT_S)
        return form

    def _refusal(self, pg: psycopg.Connection[Any], error: psycopg.Error) -> Exception:
        """Why a read failed on a server without a tolerant form, to raise: the row (the one
        found before, while it is still refused, else the first a scan finds) and what to
        do about it; the statement's own error if no row is refused now."""
        found = self._refused_id
        if found is None or _jsonb_reads(pg, found):
            found = self._refused_id = _refused_row(pg)
        if found is None:
            return error
        shown = found if len(found) <= 200 else f"{found[:200]}..."
        return WritableOpenNeeded(
            f"process registry `{self.display}` holds a row PostgreSQL cannot read as JSON "
            f"(process {shlex.quote(shown)}: {first_line(error)}); open the registry writable "
            "once to add the function that reads around it"
        )


def _jsonb_reads(pg: psycopg.Connection[Any], process_id: str) -> bool:
    """Whether the plain cast reads the row's record (a missing row reads)."""
    try:
        pg.execute(  # (the cast's outcome, not the value: a record may be any size)
            "SELECT record_json::jsonb IS NOT NULL FROM processes WHERE process_id = %s",
            (process_id,),
        )
    except _JSONB_REFUSALS:
        return False
    return True


# Without the function, a DO block can still catch the cast's failure row by row: it reads
# only, so a read-only transaction runs it (the tests run it so). It stops at the first row
# refused and names it in its error. Measured: 1,280 ms of backend CPU for 100,000 rows
# none refused; paid once per failed read while no row is known, else one row's cast.
_FIND_REFUSED = """DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT process_id, record_json FROM processes LOOP
        BEGIN
            PERFORM r.record_json::jsonb;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION USING ERRCODE = 'LTJ01', MESSAGE = r.process_id;
        END;
    END LOOP;
END $$"""


def _refused_row(pg: psycopg.Connection[Any]) -> str | None:
    """The id of a row whose record the plain jsonb cast refuses, or None if none is."""
    try:
        pg.execute(_FIND_REFUSED)
    except psycopg.Error as error:
        if error.sqlstate == "LTJ01" and error.diag.message_primary is not None:
            return error.diag.message_primary
        raise
    return None
