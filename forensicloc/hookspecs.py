"""The plugin contract: pluggy hook specifications for project ``forensicloc``.

Every hook is ``register_<kind>(register)``: the core passes a ``register`` callable that
validates what it receives (base class, unique ``name``) and records which plugin gave it,
so a bad registration fails with an error naming the plugin. Hooks are called lazily,
the first time a registry of that kind is needed, once per process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click

    from forensicloc.api import DatasetFormat, FeatureExtractor, Proposer, Scorer

hookspec = pluggy.HookspecMarker("forensicloc")
hookimpl = pluggy.HookimplMarker("forensicloc")


@hookspec
def register_extractors(register: Callable[[type[FeatureExtractor]], None]) -> None:
    """Register feature extractor classes.

    :param register: call ``register(cls)`` once per class; ``cls`` subclasses
        :class:`forensicloc.api.FeatureExtractor` and has a unique ``name``.

    Called the first time the extractor registry is needed (``extract``, ``train``,
    ``run``, ``bench``, ``plugins``).
    """


@hookspec
def register_scorers(register: Callable[[type[Scorer]], None]) -> None:
    """Register anomaly scorer / localizer classes.

    :param register: call ``register(cls)`` once per class; ``cls`` subclasses
        :class:`forensicloc.api.Scorer`, has a unique ``name`` and declares
        ``supervision`` as ``"none"``, ``"real-only"`` or ``"video-level"``.

    Called the first time the scorer registry is needed (``train``, ``run``, ``bench``,
    ``plugins``).
    """


@hookspec
def register_proposers(register: Callable[[type[Proposer]], None]) -> None:
    """Register temporal proposal generator classes.

    :param register: call ``register(cls)`` once per class; ``cls`` subclasses
        :class:`forensicloc.api.Proposer` and has a unique ``name``.

    Called the first time the proposer registry is needed (``run``, ``bench``, ``plugins``).
    """


@hookspec
def register_datasets(register: Callable[[type[DatasetFormat]], None]) -> None:
    """Register dataset (metadata) format classes.

    :param register: call ``register(cls)`` once per class; ``cls`` subclasses
        :class:`forensicloc.api.DatasetFormat` and has a unique ``name``.

    Called the first time a dataset is opened or the format registry is listed.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``forensicloc`` command group.

    :param cli: the top-level :class:`click.Group`; call ``cli.add_command(cmd)``.
        A command name already taken is an error naming the plugin.

    Called once when the CLI is built, before arguments are parsed. Keep the module
    that defines the commands light: import torch or av inside the command body.
    """
