"""No view can forget the untrusted-text boundary: every call in `lashtui/tui` that Textual
reads as markup is given a literal of the dashboard's own words or a value built by
`lashtui.tui.text` (a rich `Text` or a Textual `Content`, never parsed), and a notification
goes through `text.say`. Read from the source with `ast`, so a new view that passes a
label to `Static(f"...")` fails here before any hostile registry reaches it; mypy strict
keeps the annotations this check trusts true.

Markup-reading calls checked: `notify(...)` (anywhere but text.py), the content of
`Static`, `Label` and `Button`, a `Tree`'s labels (`Tree(label)`, `add_leaf`, `set_label`,
`node.label = ...`, and `node.add(label, data=...)`: a node's `add` is told from a set's by
its keywords, so the payload tree passes `data=` to every one), `.update(...)` on a
`query_one(..., Static | Label)`,
`Hit`/`DiscoveryHit` displays and help, `border_title`/`border_subtitle`, and `Binding`
descriptions and tooltips. A safe value is a string literal, a call into `text.*`, a
`Text(...)`/`Content(...)` (or a method of one, bar `from_markup`), a module constant
string, a parameter annotated `Text`/`Content`, or a local name every assignment of which
is safe. DataTable cells are left to the widgets' own tests and to tests/tui/
test_hostile_app.py, which drive them with hostile rows.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import lashtui.tui

TUI = Path(lashtui.tui.__file__).parent
WIDGETS = {"Static", "Label", "Button"}  # their first argument is content read as markup
SAFE_TYPES = {"Text", "Content"}
TITLES = {"border_title", "border_subtitle", "label"}
TREE_ADD_KEYWORDS = {"data", "expand", "allow_expand", "before", "after"}


@dataclass
class Scope:
    """What a function (or the module) says about its names."""

    safe_params: set[str] = field(default_factory=set)
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)
    widgets: set[str] = field(default_factory=set)  # locals holding a Static or Label


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _root(node: ast.expr) -> ast.expr:
    """The innermost object of `a.b(c).d`: what a chain of calls and attributes starts at."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return node


class Checker(ast.NodeVisitor):
    def __init__(self, path: Path, module: ast.Module) -> None:
        self.path = path
        self.problems: list[str] = []
        self.constants = {
            target.id
            for statement in module.body
            if isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
            for target in statement.targets
            if isinstance(target, ast.Name)
        }
        self.scopes: list[Scope] = [Scope()]

    # --- what is safe

    def safe(self, node: ast.expr | None) -> bool:
        if node is None:
            return True
        if isinstance(node, ast.Constant):
            return node.value is None or isinstance(node.value, str)
        if isinstance(node, ast.IfExp):
            return self.safe(node.body) and self.safe(node.orelse)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "from_markup":
                return False
            root = _root(node.func)
            return isinstance(root, ast.Name) and (root.id == "text" or root.id in SAFE_TYPES)
        if isinstance(node, ast.Name):
            scope = self.scopes[-1]
            if node.id in scope.safe_params:
                return True
            if node.id in scope.assigned:
                return all(self.safe(value) for value in scope.assigned[node.id])
            return node.id in self.constants
        return False  # an f-string, a bare attribute, a concatenation...

    def _flag(self, node: ast.stmt | ast.expr, what: str) -> None:
        self.problems.append(f"{self.path.name}:{node.lineno}: {what}")

    def _check(self, node: ast.stmt | ast.expr, value: ast.expr | None, what: str) -> None:
        if not self.safe(value):
            self._flag(node, f"{what} is given {ast.unparse(value) if value else ''!r}")

    # --- scopes

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = Scope()
        arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        for argument in arguments:
            annotation = ast.unparse(argument.annotation) if argument.annotation else ""
            if any(t in annotation for t in SAFE_TYPES) and "str" not in annotation:
                scope.safe_params.add(argument.arg)
        for child in ast.walk(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Name):
                        scope.assigned.setdefault(target.id, []).append(child.value)
                        if self._is_widget_query(child.value):
                            scope.widgets.add(target.id)
            elif (
                isinstance(child, ast.AnnAssign)
                and isinstance(child.target, ast.Name)
                and child.value is not None
            ):
                scope.assigned.setdefault(child.target.id, []).append(child.value)
        self.scopes.append(scope)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    @staticmethod
    def _is_widget_query(node: ast.expr) -> bool:
        """`self.query_one(..., Static)` and the like: a widget that reads markup."""
        return (
            isinstance(node, ast.Call)
            and _name(node.func) in ("query_one", "query_exactly_one")
            and any(_name(argument) in WIDGETS for argument in node.args)
        )

    @staticmethod
    def _is_tree_label(node: ast.Call, name: str | None, keywords: dict[str, ast.expr]) -> bool:
        """`Tree(label)`, `node.add_leaf(label)`, `node.set_label(label)`, and
        `node.add(label, data=...)` (a set's `add` takes no keywords)."""
        if name == "Tree" and isinstance(node.func, ast.Name):
            return True
        if not isinstance(node.func, ast.Attribute):
            return False
        return name in ("add_leaf", "set_label") or (
            name == "add" and bool(TREE_ADD_KEYWORDS & keywords.keys())
        )

    # --- the markup-reading calls

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr in TITLES:
                self._check(node, node.value, target.attr)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if name == "notify" and isinstance(node.func, ast.Attribute):
            self._flag(node, "notify() reads its message as markup: use text.say")
        elif name in WIDGETS and isinstance(node.func, ast.Name):
            content = node.args[0] if node.args else keywords.get("content")
            self._check(node, content or keywords.get("label"), f"{name}()")
        elif self._is_tree_label(node, name, keywords):
            label = node.args[0] if node.args else keywords.get("label")
            self._check(node, label, f"a Tree label ({name})")
        elif name == "update" and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if self._is_widget_query(receiver) or (
                isinstance(receiver, ast.Name) and receiver.id in self.scopes[-1].widgets
            ):
                self._check(node, node.args[0] if node.args else None, "Static.update()")
        elif name in ("Hit", "DiscoveryHit"):
            index = 1 if name == "Hit" else 0
            display = node.args[index] if len(node.args) > index else None
            self._check(node, display or keywords.get("match_display") or keywords.get("display"),
                        f"{name} display")
            help_text = keywords.get("help")
            if help_text is not None and not isinstance(help_text, ast.Constant):
                self._flag(node, f"{name} help is read as markup: put it in the display")
        elif name == "Binding":
            description = node.args[2] if len(node.args) > 2 else keywords.get("description")
            for value, what in ((description, "description"), (keywords.get("tooltip"), "tooltip")):
                if value is not None and not isinstance(value, ast.Constant):
                    self._flag(node, f"a Binding {what} is markup: it must be a literal")
        self.generic_visit(node)


def problems(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "text.py" and path.parent == root:
            continue  # the boundary itself
        checker = Checker(path, module := ast.parse(path.read_text(), str(path)))
        checker.visit(module)
        found.extend(checker.problems)
    return found


def test_no_view_passes_stored_text_to_a_markup_reading_call() -> None:
    assert problems(TUI) == []


@pytest.mark.parametrize(
    "source",
    [
        'self.notify(f"cancelled {pid}")',
        "yield Label(f'Signal {self.targets}')",
        "yield Static(self.outlook)",
        'self.query_one("#summary", Static).update(str(error))',
        "box = self.query_one(Static)\n    box.update(label)",
        "yield Hit(1, matcher.highlight(title), go)",
        "yield Hit(1, text.content(title), go, help=process.label)",
        "Binding('x', 'go', f'Go to {pid}')",
        "panel.border_title = process.label",
        "yield Static(Content.from_markup(label))",
        "yield Static(text.plain(x) if ok else label)",
        "node.add(f'{key}: {value}', data=value)",
        "node.add_leaf(label)",
        "tree.root.set_label(label)",
        "node.label = label",
        "yield Tree(label)",
    ],
)
def test_the_check_catches_each_way_to_forget(tmp_path: Path, source: str) -> None:
    (tmp_path / "view.py").write_text(f"def view(self, label: str):\n    {source}\n")
    assert len(problems(tmp_path)) == 1


@pytest.mark.parametrize(
    "source",
    [
        "yield Static(text.plain('Signal ', self.targets))",
        "yield Static('no leases held', id='x')",
        "yield Static(HELP)",
        "shown = text.joined(lines)\n    self.query_one(Static).update(shown)",
        "yield Hit(1, Content('\\n').join(parts), go, text=title)",
        "text.say(self, str(error), title='export failed')",
        "node.add(text.plain(key, ': '), data=value)",
        "node.add_leaf(Text(key))",
        "seen.add(key)",
    ],
)
def test_the_check_passes_what_is_safe(tmp_path: Path, source: str) -> None:
    (tmp_path / "view.py").write_text(f"HELP = 'keys'\ndef view(self):\n    {source}\n")
    assert problems(tmp_path) == []


def test_a_cell_shows_at_most_cell_chars_of_a_stored_value() -> None:
    """Every one-line cell of stored text is cut before it is escaped and measured: a value
    another program made a mebibyte long costs what its first 1,024 characters cost."""
    from lashtui.tui import text

    assert text.cell("ok\x1b").plain == "ok\\x1b"
    long = text.cell("\x1b" + "x" * 1_000_000)
    assert long.plain == ("\\x1b" + "x" * 1_000_000)[: text.CELL_CHARS - 1] + "…"
    assert long.no_wrap
