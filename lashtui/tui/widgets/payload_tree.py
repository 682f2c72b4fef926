"""A stored JSON value (an event's payload, a process's input or output) as a collapsible
tree: Textual's own `Tree` widget, with labels and loading of our own.

Why not `Tree.add_json`: in Textual 8 it builds each scalar's label with
`Text.from_markup(f"[b]{name}[/b]=")`, so a stored key such as `[@click=app.quit]x` would be
read as markup (a click action, or a crash on `[/]`), and it shows Python's `repr` of each
value. It also adds the whole value at once: a 1 MiB payload of 100,000 keys would build
100,000 nodes before the first frame. So this tree builds its own labels, every one a rich
`Text` made by `lashtui.tui.text` (control characters shown as escapes, nothing parsed),
and `process_label` refuses markup even for a plain `str`. It loads lazily: a container's
children are added when it is first expanded, at most `CHILDREN_SHOWN` at a time, followed
by a `… N more` node that adds the next batch when selected. A scalar's label is cut at
`LABEL_CHARS`; copying the node (`Y` on the payload screen) gives the whole value.
Nesting is bounded by the write limits (64 levels, 1 MiB: `lashtui.model.limit`), and
since each level is built only when opened, depth costs nothing until it is looked at.

The tree scrolls sideways to keep the cursor's label in view: Textual's `Tree` scrolls only
up and down to the cursor ("scrolling the X axis is quite jarring"), so walking down a
value nested 24 levels at 80 columns left the cursor's key and value past the right edge,
with only guide lines on screen. A label wider than the tree shows its start.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pydantic import JsonValue
from rich.text import Text
from textual.geometry import Region
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from lashtui.tui import text
from lashtui.untrusted import visible_json

CHILDREN_SHOWN = 1_000  # children added per batch: a wide object never freezes the UI
LABEL_CHARS = 200  # a scalar's label is cut here; the node's copy holds all of it
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class PayloadNode:
    """What a tree node stands for: the value at `path`, or (with `more_from`) the rest of
    a container's children from that index on."""

    value: JsonValue
    path: str
    more_from: int | None = None
    loaded: bool = False


def child_path(path: str, key: str | int) -> str:
    """`$.steps[0].name`; a key that is not an identifier is quoted: `$["a b"]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if IDENTIFIER.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def summary(value: JsonValue) -> Text:
    """What a collapsed node shows of its value: `{3 keys}`, `[12 items]`, or the scalar as
    JSON, cut at `LABEL_CHARS`."""
    if isinstance(value, dict):
        return text.plain(f"{{{len(value):,} {'key' if len(value) == 1 else 'keys'}}}")
    if isinstance(value, list):
        return text.plain(f"[{len(value):,} {'item' if len(value) == 1 else 'items'}]")
    shown = visible_json(value)  # as the timeline shows it: JSON, controls as escapes
    if len(shown) > LABEL_CHARS:
        shown = shown[:LABEL_CHARS] + f"… ({len(shown):,} characters)"
    return text.data(shown)


def label(key: str | int | None, value: JsonValue) -> Text:
    """`key: value`, the key bold (an index dim); every stored character shown as itself."""
    if key is None:
        return summary(value)
    name = text.data(str(key), style="dim" if isinstance(key, int) else "bold")
    return text.plain(name, ": ", summary(value))


def entries(value: JsonValue) -> list[tuple[str | int, JsonValue]]:
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return []


class PayloadTree(Tree[PayloadNode]):
    """A JSON value, loaded a level (and a batch of `CHILDREN_SHOWN`) at a time."""

    def process_label(self, label: str | Text) -> Text:
        """A `str` label would be read as markup by `Tree`; here it is stored text."""
        return super().process_label(text.data(label) if isinstance(label, str) else label)

    def scroll_to_line(self, line: int, animate: bool = True) -> None:
        """Up and down as `Tree` does, and sideways as far as the label's start and as much
        of it as fits (module docstring). `_get_label_region` is Textual 8's own measure of
        where a line's label is drawn (textual is pinned to one minor series)."""
        region = self._get_label_region(line)
        if region is None:
            return
        fits = max(1, min(region.width, self.scrollable_content_region.width))
        self.scroll_to_region(
            Region(region.x, region.y, fits, 1),
            animate=animate,
            force=True,
            center=self.center_scroll,
            origin_visible=False,
        )

    def show(self, value: JsonValue, title: Text) -> None:
        """Replace the tree with `value`, its first level open."""
        self.clear()
        root = self.root
        root.set_label(text.plain(title, " ", summary(value)))
        root.data = PayloadNode(value, "$")
        root.allow_expand = isinstance(value, dict | list)
        if root.allow_expand:
            self.load(root)
            root.expand()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[PayloadNode]) -> None:
        self.load(event.node)

    def on_tree_node_selected(self, event: Tree.NodeSelected[PayloadNode]) -> None:
        node, data = event.node, event.node.data
        if data is not None and data.more_from is not None and node.parent is not None:
            parent = node.parent
            node.remove()
            self.add_batch(parent, data.value, data.path, data.more_from)

    def load(self, node: TreeNode[PayloadNode]) -> None:
        """Add a container's first batch of children the first time it is opened."""
        data = node.data
        if data is None or data.loaded or data.more_from is not None:
            return
        node.data = PayloadNode(data.value, data.path, loaded=True)
        self.add_batch(node, data.value, data.path, 0)

    def add_batch(
        self, node: TreeNode[PayloadNode], value: JsonValue, path: str, start: int
    ) -> None:
        children = entries(value)
        for key, child in children[start : start + CHILDREN_SHOWN]:
            shown = text.plain(label(key, child))  # one Text, as the boundary test reads it
            opens = isinstance(child, dict | list) and bool(child)
            node.add(shown, data=PayloadNode(child, child_path(path, key)), allow_expand=opens)
        rest = len(children) - start - CHILDREN_SHOWN
        if rest > 0:
            more = text.plain(f"… {rest:,} more (Enter shows the next {CHILDREN_SHOWN:,})")
            after = start + CHILDREN_SHOWN
            node.add(more, data=PayloadNode(value, path, more_from=after), allow_expand=False)

    def selected(self) -> PayloadNode | None:
        """The value under the cursor (for a `… more` node, its container)."""
        node = self.cursor_node
        return node.data if node is not None else None
