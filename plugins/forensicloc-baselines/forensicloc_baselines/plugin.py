"""Entry point of the ``baselines`` plugin: registers the baseline scorers.

Light on purpose: the scorer modules import numpy only, so plugin discovery stays fast.
"""

from __future__ import annotations

from typing import Any, Callable

from forensicloc.hookspecs import hookimpl


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    from forensicloc_baselines.avsync import AVSyncScorer
    from forensicloc_baselines.floor import RandomScorer
    from forensicloc_baselines.mil import MILScorer
    from forensicloc_baselines.pca import PCAScorer

    for cls in (MILScorer, PCAScorer, AVSyncScorer, RandomScorer):
        register(cls)
