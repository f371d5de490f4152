"""Entry-point module of the plugin: registers the scorers, imports nothing heavy.

The scorer modules import numpy only at their top; torch is imported when a model is
built, so ``forensicloc plugins`` stays instant.
"""

from __future__ import annotations

from typing import Any, Callable

from forensicloc.hookspecs import hookimpl


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    from forensicloc_rtdeeploc.localizer import RTDeepLocScorer
    from forensicloc_rtdeeploc.mae import MAEScorer

    register(MAEScorer)
    register(RTDeepLocScorer)
