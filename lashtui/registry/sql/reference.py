"""`live_reference_summary`: non-terminal rows counted by captured definition and env (lash
43e4b822f, `ProcessRegistry::live_reference_summary`; the model is lashtui.model.reference).

One grouped read of the live rows (`status = 'running'`, walked by the status index), with
the definition and env ref read from the record in SQL, so no record is decoded. The
definition comes back as JSON text, which the two stores space and order differently (and
SQLite by the stored text), so groups whose definitions are equal as JSON values are merged
here, after decoding each group's text once. A row whose record is not JSON the store can
read counts with neither definition nor env.

Measured (EXPLAIN QUERY PLAN: SEARCH processes USING INDEX processes_status_process_idx
(status=?), a temp B-tree for the GROUP BY) on the benchmark registry, 1,000,000 rows of which
100,000 live, SQLite: 1.0-1.2 s warm, 25 s from a cold page cache; reading those rows' 143 MB
of record text costs 0.5-0.65 s of it. An index would not help: the fields are inside the
record, and no view calls this (it is a host's read before retiring a definition or env).
"""

from __future__ import annotations

import json

from pydantic import JsonValue

from lashtui.model import ProcessLiveReferenceSummary
from lashtui.model.reference import summaries
from lashtui.model.wire import lenient_json
from lashtui.registry.sql.dialect import Tx, dialect


def live_reference_summary(conn: Tx) -> list[ProcessLiveReferenceSummary]:
    sql = dialect(conn)
    definition = sql.json_value("record_json", "identity.definition")
    env_ref = sql.json_text("record_json", "env_ref")
    rows = conn.execute(
        f"SELECT {definition}, {env_ref}, COUNT(*) FROM processes "
        "WHERE status = 'running' GROUP BY 1, 2"
    ).fetchall()
    merged: dict[tuple[str, str | None], tuple[JsonValue | None, int]] = {}
    for definition_text, env, count in rows:
        value: JsonValue | None = None if definition_text is None else json.loads(definition_text)
        env = None if env is None else str(env)
        key = (lenient_json(value), env)
        _, before = merged.get(key, (value, 0))
        merged[key] = (value, before + int(count))
    return summaries((value, env, count) for (_, env), (value, count) in merged.items())
