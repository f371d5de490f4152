"""A pytest plugin for people who write forensicloc plugins (entry point ``pytest11``).

Fixtures:

``forensicloc_plugin``
    ``forensicloc_plugin(obj, name=None)`` registers a plugin object (a module or any
    object with ``@hookimpl`` functions) for the current test and unregisters it after.
``tiny_video``
    ``tiny_video(seconds=1.0, audio=True, **kw)`` writes a small synthetic mp4 in the
    test's temporary folder and returns its path.
``fresh_plugins``
    the plugin manager with entry points loaded anew (state left by other tests gone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def fresh_plugins() -> Iterator[Any]:
    from forensicloc.plugins import get_plugins, reset_plugins

    reset_plugins()
    yield get_plugins()
    reset_plugins()


@pytest.fixture
def forensicloc_plugin() -> Iterator[Callable[..., str]]:
    from forensicloc.plugins import get_plugins

    registered: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        plugin_name = get_plugins().register(plugin, name=name)
        registered.append(plugin_name)
        return plugin_name

    try:
        yield register
    finally:
        for plugin_name in reversed(registered):
            get_plugins().unregister(plugin_name)


@pytest.fixture
def tiny_video(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10**6))

    def make(seconds: float = 1.0, audio: bool = True, name: str | None = None, **kwargs: Any) -> Path:
        from forensicloc.media import write_test_video

        path = tmp_path / (name or f"tiny_{next(counter)}.mp4")
        write_test_video(path, seconds=seconds, audio=audio, **kwargs)
        return path

    return make
