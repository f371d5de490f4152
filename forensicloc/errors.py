"""Errors a user can cause, and how the CLI renders them.

Every error that stems from user input (a bad file, bad metadata, a missing model) is a
:class:`ForensiclocError`: the CLI prints its message and hint in one block and exits
non-zero, never with a traceback. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

from pathlib import Path


class ForensiclocError(Exception):
    """An error the user can fix. ``hint`` says how."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, path: str | Path | None = None):
        self.message = message
        self.hint = hint
        self.path = str(path) if path is not None else None
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.path}: " if self.path and self.path not in self.message else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class BadInputError(ForensiclocError):
    """A video, metadata or feature file that cannot be used as given."""


class MetadataError(BadInputError):
    """Dataset metadata that does not follow its format (names the entry and field)."""


class MediaError(BadInputError):
    """A media file PyAV cannot decode, or that lacks a stream the task needs."""


class ModelError(ForensiclocError):
    """A model directory that is missing, corrupt, or does not match the features."""


class PluginError(ForensiclocError):
    """A plugin that registered something invalid (names the plugin)."""


class UnknownComponentError(ForensiclocError):
    """A component name that no loaded plugin registered."""

    exit_code = 2
