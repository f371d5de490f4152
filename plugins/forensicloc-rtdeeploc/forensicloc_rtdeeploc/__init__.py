"""RT-DeepLoc for forensicloc: reconstruction-error cues and the AICL localizer.

Two scorers, discovered through the entry point ``rtdeeploc`` of group ``forensicloc``:

``mae``
    a masked audio-visual autoencoder trained on authentic videos only; its
    per-snippet, per-modality reconstruction error is the forgery score.
``rtdeeploc``
    a temporal localizer trained with video-level labels, the MAE's error as a cue,
    a multiple-instance loss and the Asymmetric Intra-video Contrastive Loss.

This package root imports nothing heavy: torch is imported only when a model is built.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("forensicloc-rtdeeploc")
except PackageNotFoundError:  # pragma: no cover - source tree not installed
    __version__ = "0.0.0"
