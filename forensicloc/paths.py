"""Where forensicloc keeps things outside the dataset (never inside the data root).

``FORENSICLOC_HOME`` (default ``~/.local/share/forensicloc``) holds default models;
``FORENSICLOC_CACHE`` (default ``~/.cache/forensicloc``) holds extracted features.
"""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    env = os.environ.get("FORENSICLOC_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "forensicloc"


def cache_dir() -> Path:
    env = os.environ.get("FORENSICLOC_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "forensicloc"


def models_dir() -> Path:
    """Default model of each scorer: ``models_dir() / <scorer name>``."""
    return home_dir() / "models"
