"""Importing the models builds no validator a command may not need: each model's is built
at its first use (`defer_build`), which every `lashtui` command's start pays for otherwise.
Checked in a fresh interpreter, as tests/test_import_hygiene.py checks imports."""

from __future__ import annotations

import subprocess
import sys

# Each model class lashtui.model's modules define, as (name, class), in a fresh interpreter.
MODELS = """
import importlib, inspect, pkgutil
import pydantic
import lashtui.model

def models():
    for info in pkgutil.iter_modules(lashtui.model.__path__):
        module = importlib.import_module(f"lashtui.model.{info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value) and issubclass(value, pydantic.BaseModel)
                and value.__module__ == module.__name__
            ):
                yield name, value
"""

BUILT = MODELS + """
from lashtui.model import wire

built = [name for name, model in models() if model.__pydantic_complete__]
if wire._JSON_VALUE.pydantic_complete:
    built.append("_JSON_VALUE")
print(",".join(sorted(built)))
"""

# Built at import on purpose: the shared instances the modules make (the core event types,
# the running status, the runtime scope, the empty env's ref) and a model rebuilt to
# resolve its forward reference.
BUILT_BY_INSTANCES = {
    "LashSchema",
    "PointerSelector",
    "ProcessEventSemanticsSpec",
    "ProcessEventType",
    "ProcessExecutionEnvSpec",
    "ProcessStatus",
    "ProcessTemplate",
    "ProcessTerminalSpec",
    "RuntimeScope",
}


def test_importing_the_models_builds_only_what_their_instances_need() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BUILT], capture_output=True, text=True, check=True, timeout=60
    )
    built = set(filter(None, result.stdout.strip().split(",")))
    assert built <= BUILT_BY_INSTANCES, f"built at import: {sorted(built - BUILT_BY_INSTANCES)}"


TEXT_ANNOTATIONS = MODELS + """
text = [
    f"{name}.{field}"
    for name, model in models()
    for field, a in vars(model).get("__annotations__", {}).items()
    if isinstance(a, str)
]
print(",".join(sorted(text)))
"""


def test_model_fields_are_annotated_with_types_not_text() -> None:
    # A field annotated with text (`from __future__ import annotations` makes every one
    # text) is evaluated by pydantic as the class is made: ~480 evaluations, each compiling
    # its string, were ~3% of a one-row `show`'s instructions (1,186M -> 1,148M). Text only
    # for a name defined further down the module.
    result = subprocess.run(
        [sys.executable, "-c", TEXT_ANNOTATIONS],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.strip() == "ProcessTemplate.fields"
