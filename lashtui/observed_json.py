"""An `ObservedProcess`'s JSON made from a stored row without the models, for the rows this
module can vouch for: the `ls --json` read of lashtui/cli_listing.py.

`lashtui ls --json` prints each row as `ObservedProcess.from_record(record, lease).to_json()`,
the record validated by lash's pydantic models. Importing those models costs more than the
whole stdlib peer S1 measures against (README, Performance, S1), so this module makes the
same bytes from the stored JSON with the stdlib's `json` alone, for the shapes it knows, and
answers None for every other row, which then goes through the models exactly as before.

It vouches for a row only where the models would accept the stored record unchanged and
print exactly these bytes, so it is narrow on purpose: the record is one record_shape.py
vouches for (`vouched_record`: only fields its model declares, each of the JSON type it
requires, lash's core event types, bounded nesting, no surrogate escape; that module says
which and why), keyed by its id column and in the state its status column says; the held
lease's columns are read by the same rules (json_shape.py); and the whole printed text
holds no lone surrogate (pydantic cannot write one, and the models' path then escapes
everything past ASCII: `WireModel.to_json`).

The models stay the source of truth: tests/test_observed_json.py checks every field list
(record_shape.py) against the models' own, and stores hypothesis-made and hand-made hostile
rows in a real SQLite file to check that every row vouched for prints exactly what the
models print and that nothing the models reject or change is vouched for.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lashtui.json_shape import DECODER, Json, Refused, Shaped, is_int64
from lashtui.record_shape import OPAQUE, RUNNING, liveness, vouched_record

# The longest lease name (owner, incarnation, token) vouched for: the ceiling every read
# takes a plain-text column under (registry/sql/stored_text.py `READ_CHARS`, 4,096; a test
# checks they are the same). A longer one was read cut, and its lease is a stand-in the
# models print with why.
MAX_NAME_READ = 4096
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lease(lease: tuple[Any, ...] | None) -> tuple[Shaped, int | None] | None:
    """The lease columns (lease_row.py `LeaseRow`, held) as the observed lease holder and
    expiry; (None, None) without a lease; None when not vouched for."""
    if lease is None:
        return None, None
    owner_id, incarnation, liveness_json, token, fence, claimed, expires = lease
    if not (
        type(owner_id) is str
        and (incarnation is None or type(incarnation) is str)
        and type(token) is str
        and max(len(owner_id), len(incarnation or ""), len(token)) <= MAX_NAME_READ
        and is_int64(fence)
        and is_int64(claimed)
        and is_int64(expires)
    ):
        return None
    if not liveness_json:
        holder_liveness: Shaped = OPAQUE
    else:
        if type(liveness_json) is not str:
            return None
        try:
            holder_liveness = liveness(DECODER.decode(liveness_json))
        except (ValueError, Refused, RecursionError):
            return None
        if holder_liveness is None:
            return None  # the models read it as opaque; let them
    holder = {
        "owner_id": owner_id,
        "incarnation_id": incarnation or owner_id,
        "liveness": holder_liveness,
    }
    return holder, expires


def observed_json(row: tuple[Any, ...], lease: tuple[Any, ...] | None) -> str | None:
    """The row (read with `ROW_COLUMNS`) and its held lease's columns as the compact JSON
    `ObservedProcess.from_record(...).to_json()` prints; None when not vouched for."""
    text, process_id = row[0], row[1]
    if type(text) is not str or type(process_id) is not str:
        return None
    record = vouched_record(text)
    if record is None or record["id"] != process_id:
        return None  # the models' path keys it by the column (decoded_row.py `keyed`)
    leased = _lease(lease)
    if leased is None:
        return None
    holder, expires = leased
    identity = record["identity"]
    status_: dict[str, Json] = record.get("status") or RUNNING
    state = status_["state"]
    if state != row[6]:
        # Its status column says otherwise: the models decide (decoded_row.py `checked`).
        return None
    output = status_.get("await_output")
    process_input = record["input"]
    provenance = record["provenance"]
    observed: dict[str, Json] = {
        "process_id": process_id,
        "graph_key": f"process:{process_id}",
        "kind": identity["kind"],
        "lifecycle": state,
        "identity": identity,
        "status_label": state,
        "terminal": state != "running",
        "disposition": record["disposition"],
    }
    if output is not None and output["type"] in ("failure", "cancelled"):
        observed["error"] = output["message"]
    observed["created_at_ms"] = record.get("created_at_ms", 0)
    observed["updated_at_ms"] = record.get("updated_at_ms", 0)
    _put(observed, "first_started", record.get("first_started"))
    _put(observed, "lease_holder", holder)
    _put(observed, "lease_expires_at_ms", expires)
    _put(observed, "abandon_request", record.get("abandon_request"))
    observed["input"] = process_input
    observed["originator"] = provenance["originator"]
    _put(observed, "env_ref", record.get("env_ref"))
    _put(observed, "wake_target", record.get("wake_target"))
    _put(observed, "caused_by", provenance.get("caused_by"))
    _put(observed, "external_ref", record.get("external_ref"))
    _put(observed, "wait", record.get("wait"))
    if process_input["type"] == "session_turn":
        request = process_input["create_request"]
        if type(request) is dict:
            child = request.get("session_id")
            if type(child) is str:
                observed["child_session_id"] = child
    observed["label"] = identity.get("label") or identity["kind"]
    observed["status"] = status_
    printed = _ENCODER.encode(observed)
    if not printed.isascii() and _SURROGATE.search(printed):
        return None  # the models' path writes this row with every non-ASCII escaped
    return printed

def _put(observed: dict[str, Json], name: str, value: Json) -> None:
    if value is not None:
        observed[name] = value
