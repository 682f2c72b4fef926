"""List filters (semantics §3.17) and their decoding from untrusted JSON.

`ProcessListFilter.decode` is the one door for filters that come from a user or a model: it
names the first bad key or value in lash's words. One deliberate deviation (api.md, port
decision 5): a non-string `status` is rejected instead of silently meaning `running`.
"""

from enum import StrEnum
from typing import Any

from pydantic import JsonValue, model_validator

from lashtui.errors import InvalidRequest
from lashtui.model.record import ProcessRecord
from lashtui.model.scope import TriggerOccurrenceCause
from lashtui.model.wire import WireModel, lenient_json, omitted

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
    def decode(cls, value: object) -> "ProcessStatusFilter":
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        shown = value if isinstance(value, str) else lenient_json(value)
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


def _filter_value(key: str, value: object) -> Any:
    """A known filter's value, as the filter holds it, or lash's sentence refusing it."""
    if key == "status":
        return ProcessStatusFilter.decode(value)
    if key == "waiting":
        if not isinstance(value, bool):
            raise InvalidRequest("processes.list `waiting` filter must be a boolean")
    elif key in _STRING_KEYS:
        if not isinstance(value, str):
            raise InvalidRequest(f"processes.list `{key}` filter must be a string")
    elif key in _INTEGER_KEYS and (
        not isinstance(value, int) or isinstance(value, bool) or value < 0
    ):
        raise InvalidRequest(f"processes.list `{key}` filter must be an integer")
    return value


def _given(key: str, value: object) -> bool:
    return key in _ALLOWED_KEYS and (value is not None or key == "status")


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
    def decode(cls, obj: object) -> "ProcessListFilter":
        """Read a filter from a JSON object, naming the first key or value that is wrong."""
        if not isinstance(obj, dict):
            raise InvalidRequest("processes.list expects a record of process filters")
        fields: dict[str, Any] = {}
        for key, value in obj.items():
            if key not in _ALLOWED_KEYS:
                raise InvalidRequest(f"processes.list unknown filter `{key}`")
            fields[key] = _filter_value(key, value)
        return cls(**fields)

    @model_validator(mode="before")
    @classmethod
    def _checked(cls, data: Any) -> Any:
        """A filter built in Python (`ProcessListFilter(status="bogus")`) is refused in the
        same sentences as one decoded from JSON, not with pydantic's report; None stands
        for an optional filter left out (`status` is not optional)."""
        if not isinstance(data, dict):
            return data
        return {
            key: _filter_value(key, value) if _given(key, value) else value
            for key, value in data.items()
        }

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
