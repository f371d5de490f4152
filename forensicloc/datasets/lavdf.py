"""LAV-DF metadata (``metadata.json`` / ``metadata.min.json``).

Each entry: ``file`` (relative to the root, e.g. ``"train/000001.mp4"``), ``split``
(train / dev / test), ``n_fakes``, ``fake_periods`` (``[[start, end], ...]`` seconds),
``duration``, ``original`` (the source video of a fake, else null), ``modify_video``,
``modify_audio``, ``video_frames``, ``audio_channels``, ``audio_frames``. The full file
may also carry ``timestamps`` and ``transcript`` (ignored). Synthetic datasets written
by ``forensicloc synth`` add ``families`` (the forgery family of each fake period) and
``speaker``; those are read when present.

LAV-DF modifies whole videos in one way, so the per-modality segments follow from the
flags: the visual track is forged in every fake period when ``modify_video`` is true,
the audio track when ``modify_audio`` is true.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from forensicloc.api import Dataset, DatasetFormat, VideoRecord
from forensicloc.datasets.validation import (
    MISSING_POLICIES,
    DuplicateChecker,
    Entry,
    PathGuard,
    check_missing,
    load_entries,
    resolve_inside,
)
from forensicloc.errors import MetadataError

METADATA_FILES = ("metadata.min.json", "metadata.json")


def modify_type_of(modify_video: bool, modify_audio: bool) -> str:
    """AV-Deepfake1M's ``modify_type`` for LAV-DF's two flags."""
    if modify_video and modify_audio:
        return "both_modified"
    if modify_video:
        return "visual_modified"
    if modify_audio:
        return "audio_modified"
    return "real"


@dataclass
class LAVDFFormat(DatasetFormat):
    """LAV-DF: one ``metadata.json`` list at the root, videos under ``train/dev/test``."""

    name: ClassVar[str] = "lavdf"
    description: ClassVar[str] = "LAV-DF metadata.json / metadata.min.json (also what `forensicloc synth` writes)"

    metadata: str | None = field(
        default=None,
        metadata={"help": "metadata file name inside the root (default: metadata.min.json if present, else metadata.json)"},
    )
    missing: str = field(
        default="error",
        metadata={"help": "videos listed but not on disk: error, skip (leave them out) or ignore (do not check)"},
    )

    _guards: dict[Path, PathGuard] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def detect(cls, root: Path) -> bool:
        return any((Path(root) / name).is_file() for name in METADATA_FILES)

    def _guard(self, root: Path) -> PathGuard:
        guard = self._guards.get(Path(root))
        if guard is None:
            guard = self._guards[Path(root)] = PathGuard(root)
        return guard

    def metadata_path(self, root: Path) -> Path:
        if self.metadata is not None:
            path = resolve_inside(root, self.metadata, where=f"metadata option {self.metadata!r}")
            if not path.is_file():
                raise MetadataError(f"{path} does not exist", hint=f"name a metadata file inside {root}")
            return path
        for name in METADATA_FILES:
            if (root / name).is_file():
                return root / name
        raise MetadataError(
            f"{root} has neither metadata.json nor metadata.min.json",
            hint="point at the LAV-DF root folder, or choose another --format",
        )

    def load(self, root: Path) -> Dataset:
        root = Path(root)
        if self.missing not in MISSING_POLICIES:
            raise MetadataError(f"missing={self.missing!r} is not one of {', '.join(MISSING_POLICIES)}")
        path = self.metadata_path(root)
        records = check_missing(self._records(root, path), self.missing, str(path))
        return Dataset(root=root, format=self.name, records=records)

    def _records(self, root: Path, path: Path) -> Iterator[tuple[VideoRecord, Path, str]]:
        duplicates = DuplicateChecker(path)
        guard = PathGuard(root)
        for index, data in enumerate(load_entries(path)):
            entry = Entry(data, index, path)
            yield self.parse_entry(guard, entry, duplicates)

    def parse_entry(
        self, root: Path | PathGuard, entry: Entry, duplicates: DuplicateChecker
    ) -> tuple[VideoRecord, Path, str]:
        """One checked entry: ``(record, video path, where)``. ``root`` is the dataset
        root, or a :class:`PathGuard` of it when called for many entries."""
        guard = root if isinstance(root, PathGuard) else self._guard(root)
        file = entry.text("file")
        assert file is not None
        video = guard.resolve(file, where=entry.where)
        duplicates.check(entry)
        split = entry.text("split")
        n_fakes = entry.integer("n_fakes")
        periods = entry.segments("fake_periods")
        assert periods is not None and n_fakes is not None
        if n_fakes != len(periods):
            raise entry.error(f"n_fakes is {n_fakes} but fake_periods has {len(periods)} segment(s)")
        duration = entry.number("duration")
        modify_video = bool(entry.flag("modify_video"))
        modify_audio = bool(entry.flag("modify_audio"))
        entry.text("original", required=False, nullable=True)
        for name in ("video_frames", "audio_channels", "audio_frames"):
            entry.integer(name, required=False)
        families = entry.str_list("families", length=len(periods))
        label = int(n_fakes > 0 or modify_video or modify_audio)
        record = VideoRecord(
            file=file,
            path=video,
            split=split,
            label=label,
            duration=duration,
            fake_segments=periods,
            visual_segments=periods if modify_video else (),
            audio_segments=periods if modify_audio else (),
            # a fake with neither flag set says nothing about which track was forged
            modify_type=modify_type_of(modify_video, modify_audio) if modify_video or modify_audio or not label else None,
            families=families,
            extra=dict(entry.data),
        )
        return record, video, entry.where
