"""How many live processes use each captured definition and execution env: lash's
`ProcessLiveReferenceSummary` (lash 43e4b822f, `runtime/process/references.rs`).

A host that retires a definition or an env asks the registry whether any non-terminal row
still refers to it; terminal rows never run again, so they do not count. The store counts in
SQL (registry/sql/reference.py); `from_records` is lash's own reduction over records, the
reference the store's answer is tested against.
"""

from collections.abc import Iterable

from pydantic import JsonValue

from lashtui.model.record import ProcessRecord
from lashtui.model.wire import WireModel, lenient_json


class ProcessLiveReferenceSummary(WireModel):
    """Non-terminal rows sharing one `identity.definition` and one `env_ref` (either may be
    absent: lash writes both fields, `null` when absent)."""

    definition: JsonValue | None = None
    env_ref: str | None = None
    process_count: int

    def sort_key(self) -> tuple[str, str]:
        """lash's order: the definition's serde JSON (sorted keys), then the env ref; an
        absent one as the empty string."""
        definition = "" if self.definition is None else lenient_json(self.definition)
        return definition, self.env_ref or ""

    @classmethod
    def from_records(cls, records: Iterable[ProcessRecord]) -> "list[ProcessLiveReferenceSummary]":
        counts: dict[tuple[str, str | None], tuple[JsonValue | None, int]] = {}
        for record in records:
            if record.is_terminal():
                continue
            definition = record.identity.definition
            key = (lenient_json(definition), record.env_ref)
            _, count = counts.get(key, (definition, 0))
            counts[key] = (definition, count + 1)
        return summaries(
            (definition, env_ref, count) for (_, env_ref), (definition, count) in counts.items()
        )


def summaries(
    groups: Iterable[tuple[JsonValue | None, str | None, int]],
) -> list[ProcessLiveReferenceSummary]:
    """One summary per group, in lash's order."""
    found = [
        ProcessLiveReferenceSummary(definition=d, env_ref=e, process_count=n) for d, e, n in groups
    ]
    return sorted(found, key=ProcessLiveReferenceSummary.sort_key)
