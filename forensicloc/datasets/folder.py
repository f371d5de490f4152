"""A plain folder of videos, for data that has no metadata format.

Every video file under the root (``.mp4 .avi .mov .mkv .webm``, searched recursively)
is a record keyed by its path relative to the root. Labels are unknown unless a CSV
gives them: ``labels.csv`` at the root (or the file named by ``labels``), with a
header row and columns ``file,label`` (``real``/``fake`` or ``0``/``1``) and optionally
``split``. Such a folder can be scored and localized; evaluation needs segment
annotations, which a folder does not have.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from forensicloc.api import Dataset, DatasetFormat, VideoRecord
from forensicloc.datasets.validation import MISSING_POLICIES, PathGuard, check_missing
from forensicloc.errors import MetadataError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
LABELS_FILE = "labels.csv"
LABEL_WORDS = {"real": 0, "0": 0, "fake": 1, "1": 1}
#: files whose presence means the folder is a dataset of a richer format
METADATA_MARKERS = ("metadata.json", "metadata.min.json")


def iter_videos(root: Path) -> Iterator[Path]:
    """Video files under ``root``, in sorted order, hidden folders skipped."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.lower().endswith(VIDEO_EXTENSIONS) and not name.startswith("."):
                yield Path(dirpath) / name


@dataclass
class FolderFormat(DatasetFormat):
    """Any folder of videos; labels (and splits) from an optional CSV."""

    name: ClassVar[str] = "folder"
    description: ClassVar[str] = "a folder of videos (labels unknown, or from labels.csv: file,label[,split])"
    #: detected only when no other format claims the root
    fallback: ClassVar[bool] = True

    labels: str | None = field(
        default=None,
        metadata={"help": "CSV of file,label[,split] relative to the root (default: labels.csv if present)"},
    )
    missing: str = field(
        default="error",
        metadata={"help": "CSV rows naming a video not on disk: error, skip or ignore"},
    )

    @classmethod
    def detect(cls, root: Path) -> bool:
        root = Path(root)
        if not root.is_dir() or any((root / m).is_file() for m in METADATA_MARKERS):
            return False
        if any(root.glob("*_metadata.json")):
            return False
        return next(iter_videos(root), None) is not None

    def load(self, root: Path) -> Dataset:
        root = Path(root)
        if self.missing not in MISSING_POLICIES:
            raise MetadataError(f"missing={self.missing!r} is not one of {', '.join(MISSING_POLICIES)}")
        videos = {p.relative_to(root).as_posix(): p for p in iter_videos(root)}
        csv_path = self._labels_path(root)
        if csv_path is None:
            if not videos:
                raise MetadataError(
                    f"{root} contains no video files ({', '.join(VIDEO_EXTENSIONS)})",
                    hint="point at a folder of videos, or choose another --format",
                )
            records = [VideoRecord(file=f, path=p) for f, p in videos.items()]
            return Dataset(root=root, format=self.name, records=records)
        labelled = check_missing(self._read_csv(root, csv_path), self.missing, str(csv_path))
        named = {r.file for r in labelled}
        # videos the CSV does not mention stay in, with an unknown label
        unnamed = [VideoRecord(file=f, path=p) for f, p in videos.items() if f not in named]
        records = sorted(labelled + unnamed, key=lambda r: r.file)
        return Dataset(root=root, format=self.name, records=records)

    def _labels_path(self, root: Path) -> Path | None:
        if self.labels is None:
            default = root / LABELS_FILE
            return default if default.is_file() else None
        path = Path(self.labels)
        if not path.is_absolute():
            path = root / path
        if not path.is_file():
            raise MetadataError(f"labels file {path} does not exist", hint="pass a CSV of file,label rows")
        return path

    def _read_csv(self, root: Path, path: Path) -> Iterator[tuple[VideoRecord, Path, str]]:
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise MetadataError(f"cannot read {path}: {exc}", path=path) from None
        if not rows:
            raise MetadataError(f"{path} is empty", hint="write a header row: file,label[,split]")
        header = [h.strip().lower() for h in rows[0]]
        if "file" not in header or "label" not in header:
            raise MetadataError(
                f"{path}: the header row must name the columns 'file' and 'label', found {rows[0]}",
                hint="start the CSV with: file,label (and optionally split)",
            )
        col = {name: header.index(name) for name in ("file", "label", "split") if name in header}
        seen: dict[str, int] = {}
        guard = PathGuard(root)
        for number, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            where = f"{path}: line {number}"
            if len(row) < len(header):
                raise MetadataError(f"{where}: expected {len(header)} columns, found {len(row)}", path=path)
            file = row[col["file"]].strip()
            where = f"{where} ({file})"
            if file in seen:
                raise MetadataError(f"{where}: duplicate entry: also on line {seen[file]}", hint="list each video once")
            seen[file] = number
            video = guard.resolve(file, where=where)
            word = row[col["label"]].strip().lower()
            if word not in LABEL_WORDS and word != "":
                raise MetadataError(f"{where}: label {row[col['label']]!r} is not real, fake, 0 or 1", path=path)
            split = row[col["split"]].strip() or None if "split" in col else None
            record = VideoRecord(file=file, path=video, split=split, label=LABEL_WORDS.get(word))
            yield record, video, where
