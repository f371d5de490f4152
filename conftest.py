"""Suite-wide isolation: tests never read or write the user's models or feature cache."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _forensicloc_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("forensicloc-user")
    return {"FORENSICLOC_HOME": str(root / "home"), "FORENSICLOC_CACHE": str(root / "cache")}


@pytest.fixture(autouse=True)
def _isolated_user_dirs(_forensicloc_dirs: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _forensicloc_dirs.items():
        monkeypatch.setenv(name, value)
