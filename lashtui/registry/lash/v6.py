"""lash's registry version 6 (SamGalanakis/lash 1699e6a0, crates/lash-sqlite-store and
crates/lash-core/src/runtime/process/model.rs) decoded into lashtui's records.

What differs from version 10, and what the decoder does with it:

- the record has no `disposition`: lash v6 had no recovery contract. The model needs one, so
  the decoder gives `externally_owned` (the one under which lashtui never runs or recovers
  a row; the file is open read-only anyway), and the views show "not recorded" for every
  row of a v6 registry (`lashtui.registry.records_dispositions`).
- no `identity`: named from the input as lash v6's own handle descriptors name it (a
  lashlang process is kind `lashlang` with its process name as label), else as lashtui names
  an input (`ProcessIdentity.from_process_input`).
- `provenance` is `{owner_scope, host_profile_id, caused_by}`: the owner scope is the
  originator (a session scope); `caused_by` (15 of the fixture's 68 are lash's `effect`
  variant) and `host_profile_id` are kept as stored (the models keep fields they do not
  name).
- the input `lashlang_process` (no such input in version 10) becomes an `engine` input of
  kind `lashlang_process` whose payload is the stored input's fields, so all of it shows.
- the table has no `change_seq` (and there is no change clock): the views use
  `updated_at_ms`, so a refresh sees rows lash changed since (view.py).

Events and grants are in version 10's shapes already; leases lack the incarnation and
liveness columns, which the views fill with NULL.
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from lashtui.model import ProcessIdentity
from lashtui.model.input import ProcessInput
from lashtui.registry.lash.decode import Functions, Json, SqlValue, as_dict, translated
from lashtui.registry.sql.dialect import SQLITE

_INPUT: TypeAdapter[ProcessInput] = TypeAdapter(ProcessInput)
LASHLANG = "lashlang_process"


def record(text: SqlValue) -> SqlValue:
    """The SQL function `lash_v6_record(record_json)`."""
    return translated(text, _record)


def _record(data: Json) -> Json:
    out = {key: value for key, value in data.items() if key != "provenance"}
    process_input = as_dict(data["input"])
    if process_input.get("type") == LASHLANG:
        payload = {key: value for key, value in process_input.items() if key != "type"}
        out["input"] = {"type": "engine", "kind": LASHLANG, "payload": payload}
    out["disposition"] = "externally_owned"
    out["identity"] = _identity(process_input, out["input"])
    out["provenance"] = _provenance(as_dict(data["provenance"]))
    return out


def _identity(stored: Json, decoded: object) -> Json:
    if stored.get("type") == LASHLANG:
        name = stored.get("process_name")
        return {"kind": "lashlang", **({"label": name} if isinstance(name, str) else {})}
    try:
        identity = ProcessIdentity.from_process_input(_INPUT.validate_python(decoded))
    except ValidationError:
        return {"kind": str(stored.get("type", "unknown"))}
    return identity.model_dump(mode="json", exclude_none=True)


def _provenance(stored: Json) -> Json:
    originator = {"type": "session", "scope": stored["owner_scope"]}
    return {"originator": originator} | {k: v for k, v in stored.items() if k != "owner_scope"}


# The views over lash v6's tables (view.py installs them as TEMP views, which shadow the
# tables of `main` for lashtui's unqualified SQL); tables already in version 10's shape
# (process_events, process_handle_grants, process_wake_acks) are read as they are. The
# processes view names the table's rowid (v21.py says why).
VIEWS: tuple[str, ...] = (
    f"""CREATE TEMP VIEW processes AS SELECT rowid AS rowid, process_id, registration_hash,
        owner_scope_id, created_at_ms, updated_at_ms, updated_at_ms AS change_seq, status,
        lash_v6_record({SQLITE.stored_json("record_json")}) AS record_json
        FROM main.processes""",
    """CREATE TEMP VIEW process_change_clock AS SELECT 1 AS singleton,
        coalesce((SELECT max(updated_at_ms) FROM main.processes), 0) AS current_seq""",
    """CREATE TEMP VIEW process_leases AS SELECT process_id, lease_owner_id,
        NULL AS lease_owner_incarnation_id, NULL AS lease_owner_liveness_json, lease_token,
        lease_fencing_token, lease_claimed_at_ms, lease_expires_at_ms FROM main.process_leases""",
    """CREATE TEMP VIEW process_execution_envs AS SELECT NULL AS env_ref,
        NULL AS spec_json, NULL AS created_at_ms WHERE 0""",
)
FUNCTIONS: Functions = {"lash_v6_record": (1, record)}
