"""Baseline scorers for forensicloc: the methods every new localizer is compared with.

- ``mil``: multiple-instance learning from video-level labels (weakly supervised);
- ``pca``: one-class PCA reconstruction error of authentic snippets;
- ``avsync``: audio-visual consistency, each modality regressed from the other;
- ``random``: seeded random scores, the floor.

Discovered through the entry point ``baselines`` in group ``forensicloc``
(:mod:`forensicloc_baselines.plugin`), exactly as any third-party plugin. Only numpy is
imported here; torch is imported when the ``mil`` scorer trains or scores.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("forensicloc-baselines")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
