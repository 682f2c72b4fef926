"""A session scope as its id writes it, `session:ID` or `session:ID/frame:F`: the grammar
of that id and its refusal sentences, in one place.

It lives here, outside `lashtui.model` (as lashtui/state.py does), because importing
anything inside that package builds every pydantic model: `ls --json` with a lens
(lashtui/listing.py) and the command line's check of a scope flag (parser/usage.py
`scope_check`) read a scope without loading pydantic. `SessionScope` (model/scope.py) reads
and writes its id through these same functions, so the model, the check and the model-free
listing cannot disagree on what a scope id names or on the sentence that refuses one.
"""

from __future__ import annotations

from typing import NamedTuple

from lashtui.errors import InvalidRequest

SESSION_PREFIX = "session:"
FRAME_SEPARATOR = "/frame:"


def session_scope_id(session_id: str, agent_frame_id: str | None) -> str:
    """`session:<id>`, or `session:<id>/frame:<frame>` when a non-empty frame is named."""
    if agent_frame_id:
        return f"{SESSION_PREFIX}{session_id}{FRAME_SEPARATOR}{agent_frame_id}"
    return f"{SESSION_PREFIX}{session_id}"


def check_session_id(session_id: str, agent_frame_id: str | None) -> None:
    """Refuse a session id whose scope id could name another scope (model/scope.py's
    docstring says why: grants and lenses match by scope id) in one `InvalidRequest`."""
    if not session_id:
        raise InvalidRequest("a session id must not be empty")
    if "/" in session_id:
        raise InvalidRequest(
            f"session id `{session_id}` contains `/`, so its scope id "
            f"`{session_scope_id(session_id, agent_frame_id)}` could name another session's frame; "
            "a session id has no `/`"
        )


class ScopeId(NamedTuple):
    """A session scope read from its id: what the store's lens SQL asks of a scope
    (sql/filter.py `ScopeShape`), without the model."""

    session_id: str
    agent_frame_id: str | None = None

    def id(self) -> str:
        return session_scope_id(self.session_id, self.agent_frame_id)


def parse_scope(text: str) -> ScopeId:
    """Read a scope id back: `session:ID` or `session:ID/frame:F` (the frame is everything
    after the first `/frame:`), its session id checked (`check_session_id`); anything else
    is an `InvalidRequest` naming the text."""
    if not text.startswith(SESSION_PREFIX) or text == SESSION_PREFIX:
        raise _malformed(text)
    session_id, sep, frame = text.removeprefix(SESSION_PREFIX).partition(FRAME_SEPARATOR)
    if not session_id or (sep and not frame):
        raise _malformed(text)
    check_session_id(session_id, frame or None)
    return ScopeId(session_id, frame or None)


def _malformed(text: str) -> InvalidRequest:
    return InvalidRequest(
        f"a session scope is written `session:ID` or `session:ID/frame:F`, got `{text}`"
    )
