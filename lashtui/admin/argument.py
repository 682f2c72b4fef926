"""The facade's arguments, held to the facade's own type hints (api.md §2).

`Processes` is called from programs as well as from the command line and the dashboard, and
a program's wrong-typed argument went deep before anything noticed: a TypeError from inside
a length check (`cancel(pid, reason=123)`), an AttributeError (`list({"status": "any"})`),
a pydantic traceback (`request_abandon(pid, None)`), a PostgreSQL error quoting SQL
(`get(5)`), or nothing at all (`events(pid, "x")` read as no events; `transfer(a, b, "g0")`
read as the ids "g" and "0"). `checked` makes each method refuse such an argument first,
with one sentence naming the parameter and the value, from the method's annotations: one
rule for every method, so a method's signature is its check.

Only annotations this can check exactly are checked: a class, a union of classes and
None, a list of a class. Others (`JsonValue`, a `Literal`) are left to the models, which
validate them. An `int` is never a `bool` here (`prune(True)` is a mistake, not epoch
millisecond 1), and a `float` takes an `int`, as the type system does.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar, cast

from lashtui.errors import InvalidRequest
from lashtui.worker.argument import shown as _shown

F = TypeVar("F", bound=Callable[..., Any])

_MISSING = object()


class _Rule:
    """What one parameter takes: instances of `classes` (None among them when optional),
    or, for a list, a list whose every item is one of `items`."""

    def __init__(self, classes: tuple[type, ...], items: tuple[type, ...] | None = None):
        self.classes = classes
        self.items = items

    def allows(self, value: object) -> bool:
        if self.items is not None:
            return isinstance(value, list) and all(_is(item, self.items) for item in value)
        return _is(value, self.classes)

    def expected(self) -> str:
        if self.items is not None:
            return "a list of " + " or ".join(_name(c) for c in self.items)
        names = [_name(c) for c in self.classes if c is not types.NoneType]
        first = f"an {names[0]}" if names[0][0] in "aeiouAEIOU" else f"a {names[0]}"
        words = " or ".join([first, *names[1:]])
        return f"{words} or None" if types.NoneType in self.classes else words


def _is(value: object, classes: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in classes:
        return False  # a bool is an int to isinstance, and never the int meant here
    if isinstance(value, int) and float in classes:
        return True
    return isinstance(value, classes)


def _name(cls: type) -> str:
    return "None" if cls is types.NoneType else cls.__name__


def _classes(hint: object) -> tuple[type, ...] | None:
    """The classes a hint names, or None when it is not a class or a union of them."""
    if hint is None or hint is types.NoneType:
        return (types.NoneType,)
    if isinstance(hint, type) and not isinstance(hint, types.GenericAlias):
        return (hint,)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [_classes(arg) for arg in typing.get_args(hint)]
        if any(m is None for m in members):
            return None
        return tuple(c for m in members for c in cast(tuple[type, ...], m))
    return None


def _rule(hint: object) -> _Rule | None:
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        items = _classes(item)
        return _Rule((list,), items) if items is not None else None
    classes = _classes(hint)
    return _Rule(classes) if classes is not None else None


def _rules(method: Callable[..., Any]) -> list[tuple[int, str, _Rule]]:
    """(position, name, rule) of each checkable parameter after `self`."""
    hints = typing.get_type_hints(method)
    rules = []
    parameters = list(inspect.signature(method).parameters.values())[1:]
    for position, parameter in enumerate(parameters, start=1):
        rule = _rule(hints.get(parameter.name))
        if rule is not None:
            rules.append((position, parameter.name, rule))
    return rules


def checked(method: F) -> F:
    """`method` (a method of the facade: coroutine, async generator or plain) refusing an
    argument its annotation does not allow with an `InvalidRequest`, before it runs. The
    hints are read at the first call, when every name they use has been defined."""
    rules: list[tuple[int, str, _Rule]] | None = None
    where = f"{method.__qualname__}"

    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        nonlocal rules
        if rules is None:
            rules = _rules(method)
        for position, name, rule in rules:
            value = args[position] if position < len(args) else kwargs.get(name, _MISSING)
            if value is not _MISSING and not rule.allows(value):
                raise InvalidRequest(
                    f"`{name}` of {where} must be {rule.expected()}, "
                    f"got {type(value).__name__} `{_shown(value)}`"
                )

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def checked_coroutine(*args: Any, **kwargs: Any) -> Any:
            check(args, kwargs)
            return await method(*args, **kwargs)

        return cast(F, checked_coroutine)

    # An async generator is refused when called, not at its first step: where the mistake is.
    @functools.wraps(method)
    def checked_call(*args: Any, **kwargs: Any) -> Any:
        check(args, kwargs)
        return method(*args, **kwargs)

    return cast(F, checked_call)
