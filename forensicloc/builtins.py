"""Core's built-in components and commands.

Registered through core's own entry point in group ``forensicloc``, exactly as a third
party's plugin would be. Each class is imported only when its registry is first needed;
the modules named here keep torch and av out of their top level.
"""

from __future__ import annotations

from typing import Any, Callable

from forensicloc.hookspecs import hookimpl
from forensicloc.plugins import import_builtin

EXTRACTORS = (
    "forensicloc.features.handcrafted:HandcraftedExtractor",
    "forensicloc.features.precomputed:PrecomputedExtractor",
)
PROPOSERS = ("forensicloc.proposals:ThresholdProposer",)
DATASETS = (
    "forensicloc.datasets.lavdf:LAVDFFormat",
    "forensicloc.datasets.avdf1m:AVDeepfake1MFormat",
    "forensicloc.datasets.folder:FolderFormat",
)
#: one module per command under forensicloc.commands, each exposing ``command``
COMMANDS = ("plugins", "synth", "datasets", "extract", "eval", "train", "run", "bench", "demo")


def _register_all(register: Callable[[Any], None], paths: tuple[str, ...]) -> None:
    for path in paths:
        register(import_builtin(path))


@hookimpl
def register_extractors(register: Callable[[Any], None]) -> None:
    _register_all(register, EXTRACTORS)


@hookimpl
def register_proposers(register: Callable[[Any], None]) -> None:
    _register_all(register, PROPOSERS)


@hookimpl
def register_datasets(register: Callable[[Any], None]) -> None:
    _register_all(register, DATASETS)


@hookimpl
def register_commands(cli: Any) -> None:
    import importlib

    for name in COMMANDS:
        cli.add_command(importlib.import_module(f"forensicloc.commands.{name}").command)
