"""Dataset metadata readers and :func:`open_dataset`.

Formats are components of kind ``"dataset"`` (LAV-DF, AV-Deepfake1M and a plain
folder are built in; plugins may add more). :func:`open_dataset` picks the format by
asking each registered one whether it recognises the root, so users rarely need to
name it. This package imports numpy at most: no torch, no av.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forensicloc.api import Dataset
from forensicloc.errors import MetadataError

__all__ = ["detect_format", "open_dataset"]


def detect_format(root: str | Path) -> str:
    """The name of the registered format that recognises ``root``.

    Formats marked ``fallback`` (the plain folder) are chosen only when no other
    matches; two specific formats matching at once is ambiguous and an error.
    """
    from forensicloc.plugins import registry

    root = _check_root(root)
    formats = registry("dataset")
    matches, fallbacks = [], []
    for name, cls in formats.items():
        try:
            hit = cls.detect(root)
        except OSError:
            hit = False
        if hit:
            (fallbacks if getattr(cls, "fallback", False) else matches).append(name)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise MetadataError(
            f"{root} looks like several dataset formats: {', '.join(matches)}",
            hint=f"name one with --format ({', '.join(matches)})",
        )
    if fallbacks:
        return fallbacks[0]
    raise MetadataError(
        f"{root} is not a dataset any installed format recognises",
        hint=f"name the format with --format (one of: {', '.join(formats.names())}), "
        "or point at the folder that holds the metadata file or the videos",
    )


def open_dataset(root: str | Path, format: str | None = None, **options: Any) -> Dataset:
    """Read the dataset at ``root``: ``format`` names a registered format (detected
    when ``None``); ``options`` are that format's options (e.g. ``missing="skip"``)."""
    from forensicloc.plugins import create

    root = _check_root(root)
    name = format or detect_format(root)
    reader = create("dataset", name, options)
    return reader.load(root)


def _check_root(root: str | Path) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise MetadataError(f"dataset root {path} does not exist", hint="check the path (a folder of the dataset)")
    if not path.is_dir():
        raise MetadataError(
            f"dataset root {path} is a file, not a folder",
            hint="pass the folder that holds the metadata file and the videos",
        )
    return path
