"""The link between a process and its re-run (issue 17 item 4): lashtui's event type, the
id a re-run gets, and `RerunLink`, the link as read back from the re-run's event log.

lash has no field for it, so the re-run declares one more event type, `lashtui.rerun_of`,
and its log holds one event `{"rerun_of": <old id>, "by": <operator>}`; the old row is not
written (see lashtui/registry/sql/rerun.py for why). A re-run's id is `<old>~rerun-<n>`,
n counting from 1: readable, and it puts every re-run of a row in one range of the primary
key, so the old row's "re-run as" side is one indexed range read, never a scan of events.

Pure: no I/O. A link is read from stored events, which are untrusted: a payload of the
wrong shape reads as no link rather than failing the read.
"""

from pydantic import BaseModel, ConfigDict

from lashtui.errors import InvalidRequest
from lashtui.model import limit
from lashtui.model.event import ProcessEvent
from lashtui.model.event_type import ProcessEventType

RERUN_OF = "lashtui.rerun_of"
RERUN_OF_TYPE = ProcessEventType.plain(
    RERUN_OF,
    {
        "type": "object",
        "properties": {"rerun_of": {"type": "string"}, "by": {"type": "string"}},
        "required": ["rerun_of", "by"],
    },
)
RERUN_SUFFIX = "~rerun-"


def rerun_prefix(process_id: str) -> str:
    """What every re-run id of `process_id` starts with."""
    return process_id + RERUN_SUFFIX


def rerun_number(process_id: str, candidate: str) -> int | None:
    """n when `candidate` is `<process_id>~rerun-<n>`, else None (a re-run of a re-run,
    `x~rerun-1~rerun-1`, is in the same id range but is not x's)."""
    prefix = rerun_prefix(process_id)
    rest = candidate[len(prefix) :] if candidate.startswith(prefix) else ""
    return int(rest) if rest.isascii() and rest.isdigit() and not rest.startswith("0") else None


def rerun_id(process_id: str, number: int) -> str:
    """`<process_id>~rerun-<number>`, refused in one sentence past the id limit."""
    new_id = f"{rerun_prefix(process_id)}{number}"
    if len(new_id) > limit.MAX_ID_CHARS:
        raise InvalidRequest(
            f"process `{process_id}` cannot be run again: its re-run's id `{RERUN_SUFFIX}"
            f"{number}` appended would pass the {limit.MAX_ID_CHARS}-character id limit"
        )
    return new_id


def rerun_replay_key(new_id: str) -> str:
    return f"process:{new_id}:{RERUN_OF}"


class RerunLink(BaseModel):
    """`process_id` re-runs `rerun_of`, as `by` asked at `at_ms`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    process_id: str
    rerun_of: str
    by: str
    at_ms: int

    @classmethod
    def from_event(cls, event: ProcessEvent) -> "RerunLink | None":
        payload = event.payload
        if event.event_type != RERUN_OF or not isinstance(payload, dict):
            return None
        rerun_of, by = payload.get("rerun_of"), payload.get("by")
        if not isinstance(rerun_of, str) or not isinstance(by, str):
            return None
        return cls(
            process_id=event.process_id, rerun_of=rerun_of, by=by, at_ms=event.occurred_at_ms
        )
