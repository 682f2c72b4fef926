"""lash's registry versions 21 to 24 (Ascending-AI/lash e8a230d9e for 21, b08327f5f for 24;
crates/lash-sqlite-store and crates/lash-core/src/runtime/process/) decoded into lashtui's
records and events. 22 to 24 change no column the views read (lash's schema.rs at those
commits): 22 stores `process-env:v3` env refs, 23 adds a worklist index, 24 the parent-end
plan and tool-intent tables (not shown); 24's session originator may carry an
`agent_frame_id`, kept in the scope, though lash's `originator_id` column names the session
only, so the lineage lens sees the session, not the frame.

What differs from version 10, and what the decoder does with it:

- `registration_fingerprint` (`process-registration-definition:v2:sha256:...`) is shown as
  the registration hash;
- `status` is a plain string (running, waiting, completed, failed, cancelled, abandoned) and
  a terminal row carries its `outcome` beside it: version 10's `{"state", "await_output"}`;
  waiting is running with the `wait` the record already has (as in version 10);
- a session originator is `{"type":"session","session_id",...}`: version 10 nests the scope;
  the column `originator_id` is a bare session id (`host`, `host:NAME` stay as they are),
  shown as the scope id `session:ID`;
- terminal specs and materialized terminals say `status`/`outcome` where version 10 says
  `state`/`await_output`; a materialized wake has no `dedupe_key` (lash dropped wake
  dedupe), shown as empty;
- `max_attempts` and a session turn's `definition_key` are kept as stored (the models keep
  fields they do not name);
- grants became observers (`process_observers`: a session id per process), shown as the
  session's grants without a descriptor; the wake target is the `wake_session_id` column.

Not shown: tombstones of pruned rows, the wake delivery outbox, segment handovers, parent-end
plans and tool intents (the README's lash compatibility section lists them).
"""

from __future__ import annotations

from typing import Any

from lashtui.registry.lash.decode import Functions, Json, SqlValue, as_dict, translated
from lashtui.registry.sql.dialect import SQLITE

# Renamed (the fingerprint) or folded into the status (the outcome).
_DROPPED = ("registration_fingerprint", "outcome")


def record(text: SqlValue, wake_session_id: SqlValue) -> SqlValue:
    """The SQL function `lash_v21_record(record_json, wake_session_id)`."""
    return translated(text, lambda data: _record(data, wake_session_id))


def event(text: SqlValue) -> SqlValue:
    """The SQL function `lash_v21_event(event_json)`."""
    return translated(text, _event)


def _record(data: Json, wake_session_id: object) -> Json:
    out = {key: value for key, value in data.items() if key not in _DROPPED}
    out["registration_hash"] = data["registration_fingerprint"]
    out["status"] = _status(data.get("status", "running"), data.get("outcome"))
    out["provenance"] = _provenance(as_dict(data["provenance"]))
    out["event_types"] = [_event_type(as_dict(t)) for t in data.get("event_types", [])]
    if isinstance(wake_session_id, str):
        out["wake_target"] = {"session_id": wake_session_id}
    return out


def _status(status: object, outcome: Any) -> Json:
    if status in ("running", "waiting"):
        return {"state": "running"}
    return {"state": status, "await_output": outcome}


def _provenance(stored: Json) -> Json:
    provenance = dict(stored)
    originator = as_dict(stored["originator"])
    if originator.get("type") == "session":
        scope = {k: v for k, v in originator.items() if k != "type"}
        provenance["originator"] = {"type": "session", "scope": scope}
    return provenance


def _event_type(stored: Json) -> Json:
    semantics = as_dict(stored.get("semantics"))
    terminal = semantics.get("terminal")
    if not isinstance(terminal, dict) or "status" not in terminal:
        return stored
    spec = {"state": terminal["status"]} | {k: v for k, v in terminal.items() if k != "status"}
    return stored | {"semantics": semantics | {"terminal": spec}}


def _event(data: Json) -> Json:
    semantics = as_dict(data.get("semantics"))
    terminal, wake = semantics.get("terminal"), semantics.get("wake")
    if isinstance(terminal, dict) and "status" in terminal:
        semantics = semantics | {
            "terminal": {"state": terminal["status"], "await_output": terminal.get("outcome")}
        }
    if isinstance(wake, dict) and "dedupe_key" not in wake:
        semantics = semantics | {"wake": wake | {"dedupe_key": ""}}
    return data | {"semantics": semantics}


# lash writes a session originator's column as the bare session id; lashtui's scope id.
_SCOPE_ID = (
    "CASE WHEN originator_id = 'host' OR originator_id LIKE 'host:%' THEN originator_id "
    "ELSE 'session:' || originator_id END"
)

# The views over lash 21-24's tables (view.py installs them as TEMP views, which shadow the
# tables of `main` for lashtui's unqualified SQL); process_leases and process_change_clock
# are in version 10's shape already and are read as they are. The processes view names the
# table's rowid (a view has none of its own, so SQLite read `p.rowid` as NULL): lash's key is
# a rowid table's TEXT PRIMARY KEY too, which takes NULL more than once, and each such row
# is told apart, and named, by its rowid (registry/sql/blob_id.py), as in lashtui's files.
VIEWS: tuple[str, ...] = (
    f"""CREATE TEMP VIEW processes AS SELECT rowid AS rowid, process_id,
        registration_fingerprint AS registration_hash, {_SCOPE_ID} AS owner_scope_id,
        created_at_ms, updated_at_ms, change_seq,
        CASE status WHEN 'waiting' THEN 'running' ELSE status END AS status,
        lash_v21_record({SQLITE.stored_json("record_json")}, wake_session_id)
        AS record_json FROM main.processes""",
    f"""CREATE TEMP VIEW process_events AS SELECT process_id, sequence, event_type,
        '' AS payload_hash, idempotency_key, occurred_at_ms,
        lash_v21_event({SQLITE.stored_json("event_json")}) AS event_json
        FROM main.process_events""",
    """CREATE TEMP VIEW process_handle_grants AS SELECT session_id,
        'session:' || session_id AS scope_id, process_id, '{}' AS descriptor_json
        FROM main.process_observers""",
    """CREATE TEMP VIEW process_wake_acks AS SELECT NULL AS process_id, NULL AS sequence
        WHERE 0""",
    """CREATE TEMP VIEW process_execution_envs AS SELECT NULL AS env_ref,
        NULL AS spec_json, NULL AS created_at_ms WHERE 0""",
)
FUNCTIONS: Functions = {"lash_v21_record": (2, record), "lash_v21_event": (1, event)}
