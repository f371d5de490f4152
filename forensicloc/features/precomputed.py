"""The ``precomputed`` extractor: features someone already extracted, read from disk.

Published feature sets (e.g. TSN visual and BYOL-A audio features of LAV-DF) let a
method be trained without decoding a single video. This extractor reads them and puts
them on the snippet grid, so that every scorer sees them exactly like extracted ones.

Layout under ``root``, for a video whose path ends in ``<rel>.mp4`` (``rel`` is tried
from the longest trailing part of the path to the bare stem, so both
``root/train/000001.npz`` and ``root/000001.npz`` are found for ``…/train/000001.mp4``;
the most specific match wins):

1. one ``.npz`` per video, ``root/<rel>.npz``, holding arrays ``visual_key`` and/or
   ``audio_key`` (default ``"visual"`` and ``"audio"``), each ``[T, D]``;
2. or a pair of ``.npy`` folders named after the keys: ``root/<visual_key>/<rel>.npy``
   and ``root/<audio_key>/<rel>.npy`` (e.g. ``--opt visual_key=tsn --opt
   audio_key=byola`` for ``root/tsn/train/000001.npy`` + ``root/byola/train/000001.npy``).

An empty key skips that modality. A 1-D array is one feature per time step
(``[T, 1]``). Arrays are at ``rate`` steps per second (step ``j`` centred on
``(j + 0.5) / rate`` s) and are resampled onto the snippet grid (``resample="linear"``
interpolates between neighbouring steps, ``"nearest"`` takes the step covering each
snippet's centre). The grid has the video's snippet count when the video exists, else
``round(T * grid_rate / rate)`` snippets. Arrays are loaded with
``allow_pickle=False``. A missing feature file is a :class:`BadInputError` naming the
paths that were tried.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from forensicloc.api import DEFAULT_RATE, Features, FeatureExtractor, ProgressCallback, no_progress
from forensicloc.errors import BadInputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from forensicloc.media import MediaSource

_VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def resample_to_grid(
    array: np.ndarray, rate: float, grid_rate: float, length: int, method: str = "linear"
) -> np.ndarray:
    """``[T, D]`` at ``rate`` steps/s -> ``[length, D]`` at ``grid_rate`` snippets/s.

    Both sequences are taken as centred samples (step ``j`` at ``(j + 0.5) / rate``);
    positions outside the array take its first / last step.
    """
    t = array.shape[0]
    if t == 0:
        raise ValueError("empty feature array")
    if t == length and rate == grid_rate:
        return array.astype(np.float32, copy=False)
    centres = (np.arange(length, dtype=np.float64) + 0.5) * (rate / grid_rate)  # in source steps
    if method == "nearest":
        idx = np.clip(np.floor(centres).astype(np.int64), 0, t - 1)
        return array[idx].astype(np.float32)
    x = np.clip(centres - 0.5, 0.0, t - 1)
    lo = np.floor(x).astype(np.int64)
    hi = np.minimum(lo + 1, t - 1)
    w = (x - lo)[:, None]
    return ((1.0 - w) * array[lo] + w * array[hi]).astype(np.float32)


@dataclass
class PrecomputedExtractor(FeatureExtractor):
    """Per-video feature arrays from disk (.npz, or a pair of .npy folders), resampled
    onto the snippet grid."""

    name: ClassVar[str] = "precomputed"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "features read from per-video .npz/.npy files (e.g. public TSN / BYOL-A arrays)"
    requires_audio: ClassVar[bool] = False  # nothing is decoded
    #: reading arrays is as cheap as the cache, and the files may change under the same video
    cacheable: ClassVar[bool] = False

    root: str = field(default="", metadata={"help": "folder of the feature files (see the layout in the docs)"})
    rate: float = field(default=DEFAULT_RATE, metadata={"help": "time steps per second of the stored arrays"})
    visual_key: str = field(default="visual", metadata={"help": "array name (.npz) or folder (.npy) of visual features; empty: none"})
    audio_key: str = field(default="audio", metadata={"help": "array name (.npz) or folder (.npy) of audio features; empty: none"})
    resample: Literal["linear", "nearest"] = field(default="linear", metadata={"help": "how to map steps onto the grid"})

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise BadInputError(f"precomputed option rate must be positive, got {self.rate}")
        if self.resample not in ("linear", "nearest"):
            raise BadInputError(f"precomputed option resample must be linear or nearest, got {self.resample!r}")
        if not (self.visual_key or self.audio_key):
            raise BadInputError("precomputed needs visual_key or audio_key (both are empty)")
        self.modalities = tuple(m for m, k in (("visual", self.visual_key), ("audio", self.audio_key)) if k)
        self._dims: dict[str, int] | None = None

    # ---------------------------------------------------------------- files

    def _root(self) -> Path:
        if not self.root:
            raise BadInputError(
                "the precomputed extractor needs the folder of the feature files",
                hint="pass --opt root=/path/to/features",
            )
        root = Path(self.root).expanduser()
        if not root.is_dir():
            raise BadInputError(f"precomputed feature folder {root} does not exist", hint="check --opt root=...", path=root)
        return root

    @staticmethod
    def _relative_names(video: Path) -> list[Path]:
        """Trailing parts of the video path without its suffix, longest first."""
        stem_path = video.with_suffix("") if video.suffix.lower() in _VIDEO_SUFFIXES else video
        parts = [p for p in stem_path.parts if p not in ("/", "\\") and not p.endswith(":\\")]
        return [Path(*parts[-k:]) for k in range(len(parts), 0, -1)]

    def locate(self, video: str | os.PathLike[str]) -> dict[str, tuple[Path, str | None]]:
        """Where each modality of ``video`` is stored: ``{modality: (file, npz key or None)}``."""
        root = self._root()
        tried: list[Path] = []
        for rel in self._relative_names(Path(video)):
            npz = root / rel.parent / f"{rel.name}.npz"
            tried.append(npz)
            if npz.is_file():
                return {m: (npz, k) for m, k in (("visual", self.visual_key), ("audio", self.audio_key)) if k}
            pair = {m: root / k / rel.parent / f"{rel.name}.npy" for m, k in (("visual", self.visual_key), ("audio", self.audio_key)) if k}
            tried.extend(pair.values())
            if all(p.is_file() for p in pair.values()):
                return {m: (p, None) for m, p in pair.items()}
        shown = ", ".join(str(p) for p in tried[:3]) + (f" (and {len(tried) - 3} more)" if len(tried) > 3 else "")
        raise BadInputError(
            f"no precomputed features for {video}: tried {shown}",
            hint="check --opt root= and the layout (root/<name>.npz, or root/<key>/<name>.npy)",
            path=video,
        )

    def _load(self, file: Path, key: str | None) -> np.ndarray:
        try:
            if key is None:
                array = np.load(file, allow_pickle=False)
            else:
                with np.load(file, allow_pickle=False) as data:
                    if key not in data.files:
                        raise BadInputError(
                            f"{file} has no array {key!r} (it has: {', '.join(data.files) or 'none'})",
                            hint="set --opt visual_key=/audio_key= to the array names",
                            path=file,
                        )
                    array = data[key]
        except BadInputError:
            raise
        except Exception as exc:  # corrupt zip, pickled object arrays, bad header...
            raise BadInputError(f"{file} cannot be read as a feature array: {exc}", path=file) from None
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[0] == 0 or not np.issubdtype(array.dtype, np.number):
            raise BadInputError(f"{file}: expected a numeric [T, D] array, got {array.dtype} {array.shape}", path=file)
        return array

    # ---------------------------------------------------------------- contract

    def dims(self) -> dict[str, int]:
        """Read from the first feature file found under ``root`` (all files share them)."""
        if self._dims is None:
            root = self._root()
            keys = [(m, k) for m, k in (("visual", self.visual_key), ("audio", self.audio_key)) if k]
            found: dict[str, int] = {}
            npz = next(iter(sorted(root.rglob("*.npz"))), None)
            for modality, key in keys:
                if npz is not None:
                    found[modality] = int(self._load(npz, key).shape[1])
                elif (root / key).is_dir():
                    npy = next(iter(sorted((root / key).rglob("*.npy"))), None)
                    if npy is not None:
                        found[modality] = int(self._load(npy, None).shape[1])
            if not found:
                raise BadInputError(f"no feature files under {root}", hint="check --opt root= and the keys", path=root)
            self._dims = found
        return dict(self._dims)

    def extract(self, source: MediaSource | str | os.PathLike[str], progress: ProgressCallback = no_progress) -> Features:
        """The stored arrays of ``source``'s video on its snippet grid (the video itself
        is only probed for its length, and need not exist)."""
        from forensicloc.media import MediaSource

        if not isinstance(source, MediaSource):
            source = MediaSource(source)
        arrays = {m: self._load(f, k) for m, (f, k) in self.locate(source.path).items()}
        longest = max(a.shape[0] for a in arrays.values())
        duration = longest / self.rate
        if source.path.exists():
            length = source.n_snippets
            duration = source.info.duration
        else:
            length = max(1, int(round(longest * source.rate / self.rate)))
        streams = {m: resample_to_grid(a, self.rate, source.rate, length, self.resample) for m, a in arrays.items()}
        progress(1, 1, f"{self.name}: {source.path.name}")
        return Features(streams=streams, rate=source.rate, duration=duration, extractor=self.name)
