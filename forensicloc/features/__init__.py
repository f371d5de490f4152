"""Feature extraction with an on-disk cache, one video or a whole dataset at a time.

:class:`FeatureStore` is what training and inference code asks for features: a cache
hit is read back, a miss is extracted and stored. :func:`extract_all` fills the cache
for many videos, optionally in parallel worker processes; a video that cannot be
decoded is recorded in the report and the others go on.

The built-in extractors live in :mod:`~forensicloc.features.handcrafted` and
:mod:`~forensicloc.features.precomputed`; the cache in
:mod:`~forensicloc.features.cache`. This package imports numpy only (PyAV is imported
when a video is decoded), so plugin discovery stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from forensicloc.api import (
    DEFAULT_RATE,
    FeatureExtractor,
    Features,
    ProgressCallback,
    VideoRecord,
    no_progress,
)
from forensicloc.errors import ForensiclocError
from forensicloc.features.cache import FeatureCache

__all__ = ["ExtractionReport", "FeatureCache", "FeatureStore", "extract_all"]


def _is_cacheable(extractor: FeatureExtractor) -> bool:
    """Extractors that only read files someone else wrote (``cacheable = False``)
    are not cached: a copy would go stale when those files change."""
    return bool(getattr(extractor, "cacheable", True))


def _path_of(item: VideoRecord | str | os.PathLike[str]) -> tuple[str, Path]:
    if isinstance(item, VideoRecord):
        return item.file, Path(item.path)
    return str(item), Path(item)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ForensiclocError):
        text = exc.message
        return f"{text} (fix: {exc.hint})" if exc.hint else text
    return f"{type(exc).__name__}: {exc}"


class FeatureStore:
    """Features of videos for one extractor, through a cache (``cache=None``: none)."""

    def __init__(self, extractor: FeatureExtractor, cache: FeatureCache | None = None, rate: float = DEFAULT_RATE):
        self.extractor = extractor
        self.cache = cache
        self.rate = rate

    def features(
        self, record_or_path: VideoRecord | str | os.PathLike[str], progress: ProgressCallback = no_progress
    ) -> Features:
        """Cached features of a video, extracted (and stored) on a miss."""
        from forensicloc.media import MediaSource

        _, path = _path_of(record_or_path)
        cache = self.cache if _is_cacheable(self.extractor) else None
        key = None
        if cache is not None:
            key = cache.key(path, self.extractor)
            hit = cache.get(path, self.extractor, key=key)
            if hit is not None:
                return hit
        features = self.extractor.extract(MediaSource(path, rate=self.rate), progress)
        if cache is not None:
            cache.put(path, self.extractor, features, key=key)
        return features

    def is_cached(self, record_or_path: VideoRecord | str | os.PathLike[str]) -> bool:
        _, path = _path_of(record_or_path)
        return self.cache is not None and _is_cacheable(self.extractor) and self.cache.contains(path, self.extractor)


@dataclass
class ExtractionReport:
    """What :func:`extract_all` did: counts, and each failed ``(file, reason)``."""

    extracted: int = 0
    cached: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.extracted + self.cached + len(self.failed)

    @property
    def ok(self) -> bool:
        return not self.failed


def _extract_in_worker(
    name: str, config: dict, path: str, cache_dir: str | None, content_hash: bool, rate: float
) -> str | None:
    """Run in a worker process: build the extractor from its registered name and
    options, extract one video into the cache. Returns ``None`` or the failure reason
    (errors cross the process boundary as text)."""
    from forensicloc.plugins import create

    try:
        extractor = create("extractor", name, config)
        cache = FeatureCache(cache_dir, content_hash=content_hash) if cache_dir is not None else None
        FeatureStore(extractor, cache, rate=rate).features(path)
    except Exception as exc:  # reported, never raised: one bad video must not stop the batch
        return _reason(exc)
    return None


def extract_all(
    records: Sequence[VideoRecord | str | os.PathLike[str]],
    extractor: FeatureExtractor,
    cache: FeatureCache | None,
    workers: int = 1,
    progress: ProgressCallback = no_progress,
    *,
    rate: float = DEFAULT_RATE,
) -> ExtractionReport:
    """Extract every video not yet in ``cache``.

    Videos already cached are counted, not decoded. A video that fails (missing,
    corrupt, lacking a stream the extractor needs) is recorded with its reason and the
    others go on; entries already in the cache are never touched. With ``workers > 1``
    videos are extracted in that many spawned processes, each building the extractor
    from its registered name and options (so it must be registered through an
    installed plugin) and writing to the cache itself.
    """
    report = ExtractionReport()
    total = len(records)
    label = f"extract {extractor.name}"
    todo: list[tuple[str, Path]] = []
    store = FeatureStore(extractor, cache, rate=rate)
    for item in records:
        file, path = _path_of(item)
        try:
            if store.is_cached(path):
                report.cached += 1
                continue
        except Exception as exc:  # e.g. the file does not exist
            report.failed.append((file, _reason(exc)))
            continue
        todo.append((file, path))
    done = report.cached + len(report.failed)
    progress(done, total, label)

    if workers <= 1 or len(todo) <= 1:
        for file, path in todo:
            try:
                store.features(path)
                report.extracted += 1
            except Exception as exc:
                report.failed.append((file, _reason(exc)))
            done += 1
            progress(done, total, label)
        return report

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    cache_dir = str(cache.directory) if cache is not None else None
    content_hash = bool(cache.content_hash) if cache is not None else False
    context = multiprocessing.get_context("spawn")  # no fork: safe with threads and PyAV state
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
        futures = {
            pool.submit(_extract_in_worker, extractor.name, extractor.config, str(path), cache_dir, content_hash, rate): file
            for file, path in todo
        }
        for future in as_completed(futures):
            file = futures[future]
            try:
                reason = future.result()
            except BrokenProcessPool:
                reason = "the worker process died while extracting this video (out of memory, or a crash in the decoder)"
            except Exception as exc:
                reason = _reason(exc)
            if reason is None:
                report.extracted += 1
            else:
                report.failed.append((file, reason))
            done += 1
            progress(done, total, label)
    order = {file: i for i, (file, _) in enumerate(map(_path_of, records))}
    report.failed.sort(key=lambda item: order.get(item[0], -1))
    return report
