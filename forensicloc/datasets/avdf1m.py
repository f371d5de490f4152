"""AV-Deepfake1M metadata (``{split}_metadata.json``).

Layout of the released dataset (and of ``forensicloc synth --format avdf1m``)::

    root/
      train_metadata.json   train/<file>
      val_metadata.json     val/<file>
      test_metadata.json    test/<file>     (or test_files.txt: file names, no labels)

A ``file`` is relative to its split's folder (``root/<split>/<file>``), as the official
loader reads it; the per-video ``{split}_metadata/`` folders of the release are not
needed. Entry fields: ``file``, ``original``, ``split``, ``modify_type`` (``real``,
``visual_modified``, ``audio_modified``, ``both_modified``; the official loader's
``both-modified`` spelling is accepted too), ``audio_model``, ``fake_segments``,
``audio_fake_segments``, ``visual_fake_segments``, ``video_frames``, ``audio_frames``.
There is no duration field: it is ``video_frames / fps`` (25 fps in the release).
The test split of the release has no labels: when only ``test_files.txt`` exists its
videos are read with ``label = None``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from forensicloc.api import MODIFY_TYPES, Dataset, DatasetFormat, VideoRecord
from forensicloc.datasets.validation import (
    MISSING_POLICIES,
    DuplicateChecker,
    Entry,
    PathGuard,
    check_missing,
    load_entries,
)
from forensicloc.errors import MetadataError

SPLITS = ("train", "val", "test")
#: spellings found in the wild -> the documented one
MODIFY_TYPE_ALIASES = {"both-modified": "both_modified", "visual-modified": "visual_modified", "audio-modified": "audio_modified"}


@dataclass
class AVDeepfake1MFormat(DatasetFormat):
    """AV-Deepfake1M: ``{split}_metadata.json`` per split, videos under ``<split>/``."""

    name: ClassVar[str] = "avdf1m"
    description: ClassVar[str] = "AV-Deepfake1M {train,val,test}_metadata.json, videos under <split>/"

    # a str on the command line; Python callers may pass a list
    splits: str | None = field(
        default=None,
        metadata={"help": "comma-separated splits to read, e.g. train,val (default: every split present)"},
    )
    fps: float = field(default=25.0, metadata={"help": "frame rate used to turn video_frames into a duration"})
    missing: str = field(
        default="error",
        metadata={"help": "videos listed but not on disk: error, skip (leave them out) or ignore (do not check)"},
    )

    _guards: dict[Path, PathGuard] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def detect(cls, root: Path) -> bool:
        return any((Path(root) / f"{s}_metadata.json").is_file() for s in SPLITS)

    def _guard(self, folder: Path) -> PathGuard:
        guard = self._guards.get(folder)
        if guard is None:
            guard = self._guards[folder] = PathGuard(folder)
        return guard

    def wanted_splits(self) -> list[str]:
        if self.splits is None:
            return list(SPLITS)
        splits: str | Sequence[str] = self.splits
        names = splits.split(",") if isinstance(splits, str) else list(splits)
        return [n.strip() for n in names if n.strip()]

    def load(self, root: Path) -> Dataset:
        root = Path(root)
        if self.missing not in MISSING_POLICIES:
            raise MetadataError(f"missing={self.missing!r} is not one of {', '.join(MISSING_POLICIES)}")
        if not self.fps > 0:
            raise MetadataError(f"fps must be positive, got {self.fps}")
        records: list[VideoRecord] = []
        found = []
        for split in self.wanted_splits():
            meta = root / f"{split}_metadata.json"
            listing = root / f"{split}_files.txt"
            if meta.is_file():
                found.append(meta.name)
                records += check_missing(self._entries(root, split, meta), self.missing, str(meta))
            elif listing.is_file():
                found.append(listing.name)
                records += check_missing(self._listed(root, split, listing), self.missing, str(listing))
            elif self.splits is not None:
                raise MetadataError(
                    f"{root} has no {meta.name} for the requested split {split!r}",
                    hint=f"choose among the splits present, e.g. --opt splits={','.join(self._present(root)) or 'train'}",
                )
        if not found:
            raise MetadataError(
                f"{root} has no {{train,val,test}}_metadata.json",
                hint="point at the AV-Deepfake1M root folder, or choose another --format",
            )
        return Dataset(root=root, format=self.name, records=records)

    @staticmethod
    def _present(root: Path) -> list[str]:
        return [s for s in SPLITS if (root / f"{s}_metadata.json").is_file()]

    def _entries(self, root: Path, split: str, meta: Path) -> Iterator[tuple[VideoRecord, Path, str]]:
        duplicates = DuplicateChecker(meta)
        guard = PathGuard(root / split)
        for index, data in enumerate(load_entries(meta)):
            yield self.parse_entry(guard, split, Entry(data, index, meta), duplicates)

    def parse_entry(
        self, root: Path | PathGuard, split: str, entry: Entry, duplicates: DuplicateChecker
    ) -> tuple[VideoRecord, Path, str]:
        """One checked entry: ``(record, video path, where)``. ``root`` is the dataset
        root (videos under ``root/split``), or a :class:`PathGuard` of ``root/split``."""
        guard = root if isinstance(root, PathGuard) else self._guard(Path(root) / split)
        file = entry.text("file")
        assert file is not None
        video = guard.resolve(file, where=entry.where)
        duplicates.check(entry)
        entry.text("original", required=False, nullable=True)
        entry.text("split", required=False)
        entry.text("audio_model", required=False, nullable=True)
        modify_type = entry.choice("modify_type", MODIFY_TYPES, aliases=MODIFY_TYPE_ALIASES)
        fake = entry.segments("fake_segments")
        assert fake is not None
        if modify_type == "real" and fake:
            raise entry.error("modify_type is 'real' but fake_segments is not empty")
        if modify_type != "real" and not fake:
            raise entry.error(f"modify_type is {modify_type!r} but fake_segments is empty")
        visual = entry.segments("visual_fake_segments", required=False)
        audio = entry.segments("audio_fake_segments", required=False)
        # older metadata lacks the per-modality lists: the modify type says which track
        if visual is None:
            visual = fake if modify_type in ("visual_modified", "both_modified") else ()
        if audio is None:
            audio = fake if modify_type in ("audio_modified", "both_modified") else ()
        frames = entry.integer("video_frames", required=not entry.has("duration"))
        entry.integer("audio_frames", required=False)
        if entry.has("duration"):
            duration = entry.number("duration")
        else:
            assert frames is not None
            duration = frames / self.fps
        record = VideoRecord(
            file=file,
            path=video,
            split=split,
            label=int(modify_type != "real"),
            duration=duration,
            fake_segments=fake,
            visual_segments=visual,
            audio_segments=audio,
            modify_type=modify_type,
            families=entry.str_list("families", length=len(fake)),
            extra=dict(entry.data),
        )
        return record, video, entry.where

    def _listed(self, root: Path, split: str, listing: Path) -> Iterator[tuple[VideoRecord, Path, str]]:
        """``{split}_files.txt``: one file per line, labels withheld."""
        try:
            lines = listing.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise MetadataError(f"cannot read {listing}: {exc}", path=listing) from None
        seen: dict[str, int] = {}
        guard = PathGuard(root / split)
        for number, line in enumerate(lines, start=1):
            file = line.strip()
            if not file:
                continue
            where = f"{listing}: line {number} ({file})"
            if file in seen:
                raise MetadataError(f"{where}: duplicate entry: also on line {seen[file]}", hint="list each video once")
            seen[file] = number
            video = guard.resolve(file, where=where)
            yield VideoRecord(file=file, path=video, split=split), video, where
