"""Binding text that is not UTF-8: how a row whose id another program wrote as raw bytes is
still looked up, ended and pruned by that id (SQLite only).

SQLite stores whatever bytes a program hands it in a TEXT column. Read back, sqlite3 cannot
decode such text, so the read path decodes it with `surrogateescape` (`row.fetch_rows`): the
byte 0xff becomes the lone surrogate U+DCFF, and the id reaches every list as a `str` that
`lashtui.untrusted.visible` shows as `\\udcff`. Bound as a parameter, sqlite3 encodes a `str`
as strict UTF-8, which a lone surrogate fails (UnicodeEncodeError), so such an id could be
listed but never named again. `bound_raw` is the way back: each such parameter is bound as
its original bytes (`surrogateescape` again) and cast to TEXT in the statement, which
compares equal to the stored bytes (a BLOB never equals TEXT, hence the cast).

It is only the retry of a statement that failed that way (`RegistryConnection.execute`), so
no other statement pays for it. Nothing new can be written with such text: the write path
refuses lone surrogates in every value it stores (lashtui.model.limit), so the ids this
reaches are the ones already in the file. PostgreSQL cannot store text that is not UTF-8 at
all, so there is no such row there to reach.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# A placeholder (`?` or `?NNN`) outside a string literal. The registry's SQL names no
# identifier with a `?` in it and holds no comments, so string literals are all to skip.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\?(\d*)")


def _encodable(value: object) -> bool:
    if not isinstance(value, str) or value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bound_raw(sql: str, parameters: Sequence[Any]) -> tuple[str, list[Any]] | None:
    """`sql` and `parameters` with every `str` parameter that UTF-8 cannot encode bound as
    its `surrogateescape` bytes and cast to TEXT; None if there is none (the error was not
    this one). Placeholders are numbered as SQLite numbers them: a bare `?` takes one more
    than the largest number so far."""
    if isinstance(parameters, dict):
        return None  # the registry binds by position only
    values = list(parameters)
    raw = {index for index, value in enumerate(values) if not _encodable(value)}
    if not raw:
        return None
    largest = 0

    def placeholder(match: re.Match[str]) -> str:
        nonlocal largest
        if match.group(0).startswith("'"):
            return match.group(0)
        number = int(match.group(1)) if match.group(1) else largest + 1
        largest = max(largest, number)
        if number - 1 in raw:
            return f"CAST(?{number} AS TEXT)"
        return f"?{number}"

    try:
        for index in raw:
            values[index] = values[index].encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None  # a surrogate no byte decodes to: no stored text can hold it
    return _TOKEN.sub(placeholder, sql), values
