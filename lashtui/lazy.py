"""A package's names imported from their modules on first use (PEP 562's module
`__getattr__`): a command that needs one module of a package does not pay at its start for
the others' imports (lashtui/worker, lashtui/command)."""

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def on_first_use(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`, which imports each name of `modules` (a name
    -> the module that holds it) when it is first asked for."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
