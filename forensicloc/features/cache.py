"""The on-disk feature cache: extract a video once per extractor configuration.

Key. A cache entry is found by the SHA-256 of

- the video's identity: its absolute path, size in bytes and modification time in
  nanoseconds (``st_mtime_ns``) — so a re-encoded or replaced file is extracted anew;
  with ``content_hash=True`` also the SHA-256 of its bytes (slower; for files whose
  timestamps are not trustworthy, e.g. copied with reset mtimes);
- the extractor: its ``name``, ``version`` and options (``json.dumps(extractor.config,
  sort_keys=True)``) — so changing any option, or a release that bumps the version,
  never serves stale features.

Layout: ``<directory>/<extractor name>/<key[:2]>/<key>.npz`` (default directory:
``forensicloc.paths.cache_dir() / "features"``, i.e. ``$FORENSICLOC_CACHE/features``),
outside any dataset root. Each file holds one array per stream (``stream.<modality>``)
and a JSON string ``meta`` (key, rate, duration, extractor and its config, file
identity) that is checked on reading.

Safety. Files are written to a temporary file in the same folder, flushed to disk and
moved into place with :func:`os.replace`, which is atomic: a reader sees either no
entry or a complete one, a killed run leaves at most a stray ``*.tmp`` file, and two
processes extracting the same dataset at once simply both write the same entry (the
last replace wins; both are complete). Reading never unpickles
(``np.load(allow_pickle=False)``); an unreadable or mismatching entry is a miss and is
overwritten by the next :meth:`FeatureCache.put`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from forensicloc.api import FeatureExtractor, Features
from forensicloc.errors import MediaError

_HASH_BLOCK = 1 << 20


class FeatureCache:
    """Features of (video file, extractor configuration) pairs, stored as ``.npz``."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, content_hash: bool = False):
        if directory is None:
            from forensicloc.paths import cache_dir

            directory = cache_dir() / "features"
        self.directory = Path(directory).expanduser()
        self.content_hash = content_hash
        self._hashes: dict[tuple[str, int, int], str] = {}

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.directory)!r}, content_hash={self.content_hash})"

    # ---------------------------------------------------------------- keys

    def identity(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """The file identity that goes into the key (raises :class:`MediaError` if the
        file is missing)."""
        resolved = Path(path).expanduser().resolve()
        try:
            st = resolved.stat()
        except OSError:
            raise MediaError(f"{path} does not exist", hint="check the path or the dataset metadata", path=path) from None
        ident: dict[str, Any] = {"path": str(resolved), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        if self.content_hash:
            memo = (str(resolved), st.st_size, st.st_mtime_ns)
            if memo not in self._hashes:
                digest = hashlib.sha256()
                with open(resolved, "rb") as fh:
                    for block in iter(lambda: fh.read(_HASH_BLOCK), b""):
                        digest.update(block)
                self._hashes[memo] = digest.hexdigest()
            ident["sha256"] = self._hashes[memo]
        return ident

    @staticmethod
    def extractor_identity(extractor: FeatureExtractor) -> dict[str, Any]:
        return {"name": extractor.name, "version": str(extractor.version), "config": extractor.config}

    def key(self, path: str | os.PathLike[str], extractor: FeatureExtractor) -> str:
        blob = json.dumps(
            {"file": self.identity(path), "extractor": self.extractor_identity(extractor)},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def entry_path(self, key: str, extractor: FeatureExtractor) -> Path:
        return self.directory / extractor.name / key[:2] / f"{key}.npz"

    # ---------------------------------------------------------------- reading

    def get(self, path: str | os.PathLike[str], extractor: FeatureExtractor, *, key: str | None = None) -> Features | None:
        """The cached features, or ``None`` on a miss (absent, unreadable or stale)."""
        key = key or self.key(path, extractor)
        return self._read(self.entry_path(key, extractor), key)

    def contains(self, path: str | os.PathLike[str], extractor: FeatureExtractor) -> bool:
        """Whether a complete entry exists (reads the zip index and the metadata only)."""
        key = self.key(path, extractor)
        file = self.entry_path(key, extractor)
        try:
            with np.load(file, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                return meta.get("key") == key and any(name.startswith("stream.") for name in data.files)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return False

    @staticmethod
    def _read(file: Path, key: str) -> Features | None:
        try:
            with np.load(file, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("key") != key:
                    return None
                streams = {
                    name[len("stream.") :]: np.asarray(data[name], dtype=np.float32)
                    for name in data.files
                    if name.startswith("stream.")
                }
            return Features(
                streams=streams,
                rate=float(meta["rate"]),
                duration=None if meta.get("duration") is None else float(meta["duration"]),
                extractor=meta.get("extractor"),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            return None  # a partial or corrupt entry: a miss, rewritten by the next put

    # ---------------------------------------------------------------- writing

    def put(
        self, path: str | os.PathLike[str], extractor: FeatureExtractor, features: Features, *, key: str | None = None
    ) -> Path:
        """Store ``features`` atomically; returns the entry's path. ``key`` lets a caller
        use the key computed *before* extraction (a file changed meanwhile is then
        not mistaken for the version that was extracted)."""
        key = key or self.key(path, extractor)
        file = self.entry_path(key, extractor)
        file.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "key": key,
            "rate": features.rate,
            "duration": features.duration,
            "extractor": features.extractor or extractor.name,
            "extractor_identity": self.extractor_identity(extractor),
            "file": str(Path(path).expanduser().resolve()),
        }
        arrays: dict[str, np.ndarray] = {f"stream.{m}": np.ascontiguousarray(v, dtype=np.float32) for m, v in features.streams.items()}
        arrays["meta"] = np.array(json.dumps(meta, sort_keys=True, default=str))
        fd, tmp_name = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=file.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, file)
        except BaseException:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
            raise
        return file
