"""List filters (semantics §3.17) and their decoding from untrusted JSON.

`ProcessListFilter.decode` is the one door for filters that come from a user or a model: it
names the first bad key or value in lash's words. One deliberate deviation (api.md, port
decision 5): a non-string `status` is rejected instead of silently meaning `running`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import JsonValue

from lashtui.errors import InvalidRequest
from lashtui.model.record import ProcessRecord
from lashtui.model.scope import TriggerOccurrenceCause
from lashtui.model.wire import WireModel, canonical_json, omitted

_STATUS_ERROR = (
    "processes.list status must be `running`, `completed`, `failed`, `cancelled`, "
    "`abandoned`, or `any`, got `{}`"
)


class ProcessListMode(StrEnum):
    LIVE = "live"
    ALL = "all"


class ProcessStatusFilter(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"
    ANY = "any"

    @classmethod
    def decode(cls, value: object) -> ProcessStatusFilter:
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        shown = value if isinstance(value, str) else canonical_json(value)
        raise InvalidRequest(_STATUS_ERROR.format(shown))

    def matches(self, state: str) -> bool:
        return self is ProcessStatusFilter.ANY or self.value == state


_STRING_KEYS = (
    "originator_scope_id",
    "identity_kind",
    "identity_label",
    "caused_by_occurrence_id",
    "caused_by_subscription_id",
)
_INTEGER_KEYS = ("created_at_start_ms", "created_at_end_ms")
_ALLOWED_KEYS = {"definition", "status", "waiting", *_STRING_KEYS, *_INTEGER_KEYS}


class ProcessListFilter(WireModel):
    definition: JsonValue | None = omitted()
    status: ProcessStatusFilter = ProcessStatusFilter.RUNNING
    waiting: bool | None = omitted()
    originator_scope_id: str | None = omitted()
    identity_kind: str | None = omitted()
    identity_label: str | None = omitted()
    caused_by_occurrence_id: str | None = omitted()
    caused_by_subscription_id: str | None = omitted()
    created_at_start_ms: int | None = omitted()
    created_at_end_ms: int | None = omitted()

    @classmethod
    def decode(cls, obj: object) -> ProcessListFilter:
        """Read a filter from a JSON object, naming the first key or value that is wrong."""
        if not isinstance(obj, dict):
            raise InvalidRequest("processes.list expects a record of process filters")
        fields: dict[str, Any] = {}
        for key, value in obj.items():
            if key not in _ALLOWED_KEYS:
                raise InvalidRequest(f"processes.list unknown filter `{key}`")
            if key == "status":
                fields["status"] = ProcessStatusFilter.decode(value)
            elif key == "waiting":
                if not isinstance(value, bool):
                    raise InvalidRequest("processes.list `waiting` filter must be a boolean")
                fields["waiting"] = value
            elif key in _STRING_KEYS:
                if not isinstance(value, str):
                    raise InvalidRequest(f"processes.list `{key}` filter must be a string")
                fields[key] = value
            elif key in _INTEGER_KEYS:
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise InvalidRequest(f"processes.list `{key}` filter must be an integer")
                fields[key] = value
            else:
                fields[key] = value
        return cls(**fields)

    def mode(self) -> ProcessListMode:
        """`running` lists live grants only; every other status lists all."""
        if self.status is ProcessStatusFilter.RUNNING:
            return ProcessListMode.LIVE
        return ProcessListMode.ALL

    def matches_record(self, record: ProcessRecord) -> bool:
        return (
            self.status.matches(record.status.state.value)
            and (self.waiting is None or self.waiting == (record.wait is not None))
            and (self.definition is None or self.definition == record.identity.definition)
            and self._matches_enriched(record)
        )

    def _matches_enriched(self, record: ProcessRecord) -> bool:
        identity = record.identity
        scope_id = self.originator_scope_id
        if scope_id is not None and record.originator_scope_id() != scope_id:
            return False
        if self.identity_kind is not None and identity.kind != self.identity_kind:
            return False
        if self.identity_label is not None and identity.label != self.identity_label:
            return False
        if self.caused_by_occurrence_id is not None or self.caused_by_subscription_id is not None:
            cause = record.provenance.caused_by
            if not isinstance(cause, TriggerOccurrenceCause):
                return False
            wanted = (self.caused_by_occurrence_id, self.caused_by_subscription_id)
            actual = (cause.occurrence_id, cause.subscription_id)
            if any(w is not None and w != a for w, a in zip(wanted, actual, strict=True)):
                return False
        start, end = self.created_at_start_ms, self.created_at_end_ms
        if start is not None and record.created_at_ms < start:
            return False
        return end is None or record.created_at_ms < end
