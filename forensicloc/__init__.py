"""forensicloc: weakly supervised temporal deepfake localization in audio-visual video.

The package root stays import-light (no torch, no av) so that ``forensicloc --help``
and ``forensicloc plugins`` answer instantly; heavy modules are imported where used.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("forensicloc")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
