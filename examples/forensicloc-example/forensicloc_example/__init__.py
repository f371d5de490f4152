"""An example forensicloc plugin: one component of every kind, and a command.

``mean-rgb`` extracts the mean colour of each snippet (visual only, no audio needed);
``change`` scores each snippet by how abruptly its features change (no training);
``peaks`` proposes one fixed-width segment around each local maximum of a score track;
``csv-list`` reads a dataset described by ``videos.csv`` (``file,label,split``);
``forensicloc example-hello`` shows how a plugin adds a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import click
import numpy as np

import csv
from pathlib import Path

from forensicloc.api import (
    Dataset,
    DatasetFormat,
    FeatureExtractor,
    Features,
    Proposer,
    Scorer,
    ScoreTrack,
    Segment,
    VideoRecord,
    no_progress,
)
from forensicloc.errors import MetadataError
from forensicloc.hookspecs import hookimpl


@dataclass
class MeanColourExtractor(FeatureExtractor):
    """Mean RGB of each snippet's frame: 3 visual dimensions."""

    name: ClassVar[str] = "mean-rgb"
    description: ClassVar[str] = "mean colour per snippet (visual only)"
    version: ClassVar[str] = "1"
    requires_audio: ClassVar[bool] = False
    modalities: ClassVar[tuple[str, ...]] = ("visual",)

    size: int = field(default=32, metadata={"help": "frames are resized to size x size before averaging"})

    def dims(self) -> dict[str, int]:
        return {"visual": 3}

    def extract(self, source, progress=no_progress) -> Features:
        # source is a forensicloc.media.MediaSource; chunks keep memory flat
        parts = []
        for chunk in source.chunks(audio=False):
            parts.append(chunk.frames.reshape(len(chunk.frames), -1, 3).mean(axis=1) / 255.0)
            progress(chunk.start + len(chunk.frames), source.n_snippets, source.path.name)
        visual = np.concatenate(parts).astype(np.float32)
        return Features({"visual": visual}, rate=source.rate, duration=source.info.duration, extractor=self.name)


@dataclass
class FeatureChangeScorer(Scorer):
    """Per-snippet feature change, z-scored within the video (higher = more abrupt)."""

    name: ClassVar[str] = "change"
    description: ClassVar[str] = "feature change magnitude, no training"
    supervision: ClassVar[str] = "none"

    smooth: int = field(default=5, metadata={"help": "moving-average width in snippets"})

    def score(self, features: Features) -> ScoreTrack:
        x = features.concatenated()
        step = np.linalg.norm(np.diff(x, axis=0, prepend=x[:1]), axis=1)
        kernel = np.ones(self.smooth) / self.smooth
        smooth = np.convolve(step, kernel, mode="same")
        z = (smooth - smooth.mean()) / (smooth.std() + 1e-8)
        scores = 1.0 / (1.0 + np.exp(-z))  # squash to [0, 1]
        return ScoreTrack(scores, rate=features.rate, duration=features.duration)


@dataclass
class PeakProposer(Proposer):
    """One segment of ``width`` seconds centred on each local maximum above ``min_score``."""

    name: ClassVar[str] = "peaks"
    description: ClassVar[str] = "fixed-width segments around score peaks"

    width: float = field(default=1.0, metadata={"help": "segment width in seconds"})
    min_score: float = field(default=0.5, metadata={"help": "ignore peaks below this score"})

    def propose(self, track: ScoreTrack) -> list[Segment]:
        s = track.scores
        peaks = [i for i in range(len(s)) if s[i] >= self.min_score and s[i] == s[max(0, i - 2) : i + 3].max()]
        out = []
        for i in peaks:
            centre = (i + 0.5) / track.rate
            start = max(0.0, centre - self.width / 2)
            end = min(float(track.duration), centre + self.width / 2)
            out.append(Segment(start, end, float(s[i])))
        return sorted(out, key=lambda seg: -seg.score)


@dataclass
class CsvListFormat(DatasetFormat):
    """A folder with ``videos.csv``: one ``file,label,split`` row per video."""

    name: ClassVar[str] = "csv-list"
    description: ClassVar[str] = "videos.csv with file,label,split"

    @classmethod
    def detect(cls, root: Path) -> bool:
        return (Path(root) / "videos.csv").is_file()

    def load(self, root: Path) -> Dataset:
        root = Path(root).resolve()
        meta = root / "videos.csv"
        records = []
        with open(meta, newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                path = (root / row["file"]).resolve()
                if not path.is_relative_to(root):
                    raise MetadataError(f"line {line}: file {row['file']!r} escapes the dataset root", path=meta)
                label = {"real": 0, "fake": 1}.get(row["label"])
                if label is None:
                    raise MetadataError(f"line {line}: label must be real or fake", path=meta)
                records.append(VideoRecord(file=row["file"], path=path, split=row.get("split"), label=label))
        return Dataset(root=root, format=self.name, records=records)


@click.command("example-hello")
@click.argument("name", default="world")
def hello(name: str) -> None:
    """Greet NAME (shows how a plugin adds a command)."""
    click.echo(f"hello, {name}")


@hookimpl
def register_extractors(register):
    register(MeanColourExtractor)


@hookimpl
def register_datasets(register):
    register(CsvListFormat)


@hookimpl
def register_scorers(register):
    register(FeatureChangeScorer)


@hookimpl
def register_proposers(register):
    register(PeakProposer)


@hookimpl
def register_commands(cli):
    cli.add_command(hello)
