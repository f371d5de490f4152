"""Data types and the base classes a plugin implements.

The whole toolkit speaks these types: a dataset yields :class:`VideoRecord`\\ s, an
extractor turns a decoded video into :class:`Features` on a fixed snippet grid, a scorer
turns features into a :class:`ScoreTrack` (higher = more likely forged), and a proposer
turns a score track into :class:`Segment`\\ s in seconds.

Components are classes with a unique ``name`` and typed keyword-only constructor options;
dataclasses are the easy way to write one (each field is an option, with
``field(metadata={"help": ...})`` for its documentation). :func:`component_options`
reads them so that the CLI can pass ``--opt key=value`` and benchmarks can record them.
This module imports numpy only: torch and av stay out of plugin discovery.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from forensicloc.media import MediaSource

#: Progress callback used by library code instead of printing:
#: ``progress(completed, total, description)``; ``total`` may be ``None`` (unknown).
ProgressCallback = Callable[[float, "float | None", str], None]

Supervision = Literal["none", "real-only", "video-level"]
SUPERVISION_LEVELS: tuple[str, ...] = ("none", "real-only", "video-level")

#: AV-Deepfake1M's ``modify_type`` vocabulary, also derived for LAV-DF records.
MODIFY_TYPES: tuple[str, ...] = ("real", "visual_modified", "audio_modified", "both_modified")

#: The snippet grid: one snippet per video frame of a 25 fps video, as in LAV-DF.
DEFAULT_RATE: float = 25.0


def no_progress(completed: float, total: float | None, description: str) -> None:
    """A :data:`ProgressCallback` that ignores progress."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Segment:
    """A time interval in seconds with a confidence (higher = more likely forged).

    ``modality`` says which track looks forged (``"visual"``, ``"audio"``, ``"both"``)
    when the scorer can tell; ``None`` otherwise.
    """

    start: float
    end: float
    score: float = 1.0
    modality: str | None = None

    @property
    def length(self) -> float:
        return self.end - self.start

    def as_official(self) -> list[float]:
        """The official predictions entry ``[score, start, end]``."""
        return [float(self.score), float(self.start), float(self.end)]


@dataclass(frozen=True)
class VideoRecord:
    """One video of a dataset.

    ``file`` is the key as written in the metadata (predictions files use it);
    ``path`` is where it lies, resolved inside the dataset root. ``label`` is 1 for a
    fake, 0 for an authentic video, ``None`` when unknown. The segment fields carry the
    ground truth used by evaluation only: training code receives records from
    :meth:`without_annotations`, so weak supervision is enforced rather than promised.
    """

    file: str
    path: Path
    split: str | None = None
    label: int | None = None
    duration: float | None = None
    fake_segments: tuple[tuple[float, float], ...] | None = None
    visual_segments: tuple[tuple[float, float], ...] | None = None
    audio_segments: tuple[tuple[float, float], ...] | None = None
    modify_type: str | None = None
    #: forgery family of each fake segment (synthetic data), aligned with fake_segments
    families: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_annotations(self) -> bool:
        return any(
            s is not None
            for s in (self.fake_segments, self.visual_segments, self.audio_segments, self.families)
        )

    def without_annotations(self) -> VideoRecord:
        """This record with every segment-level field removed (video label kept)."""
        return dataclasses.replace(
            self,
            fake_segments=None,
            visual_segments=None,
            audio_segments=None,
            families=None,
            modify_type=None,
            extra={},
        )

    def without_label(self) -> VideoRecord:
        """This record with no annotation at all (for scorers that learn nothing)."""
        return dataclasses.replace(self.without_annotations(), label=None)


@dataclass
class Dataset:
    """Records of one dataset, as read by a :class:`DatasetFormat`."""

    root: Path
    format: str
    records: list[VideoRecord]

    def split(self, name: str) -> list[VideoRecord]:
        return [r for r in self.records if r.split == name]

    @property
    def splits(self) -> list[str]:
        return sorted({r.split for r in self.records if r.split is not None})

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[VideoRecord]:
        return iter(self.records)


# --------------------------------------------------------------------------- arrays


@dataclass
class Features:
    """Per-snippet features of one video: ``streams[modality]`` is ``[T, D]`` float32.

    All streams share one grid of ``T`` snippets at ``rate`` Hz (snippet ``i`` covers
    ``[i / rate, (i + 1) / rate)`` seconds). ``duration`` is the media duration in
    seconds. Modality names in use: ``"visual"``, ``"audio"``.
    """

    streams: dict[str, np.ndarray]
    rate: float = DEFAULT_RATE
    duration: float | None = None
    extractor: str | None = None

    def __post_init__(self) -> None:
        lengths = {k: int(v.shape[0]) for k, v in self.streams.items()}
        if not lengths:
            raise ValueError("Features needs at least one stream")
        if len(set(lengths.values())) != 1:
            raise ValueError(f"streams have different lengths: {lengths}")
        for k, v in self.streams.items():
            if v.ndim != 2:
                raise ValueError(f"stream {k!r} must be [T, D], got shape {v.shape}")
        if self.duration is None:
            self.duration = self.length / self.rate

    @property
    def length(self) -> int:
        return int(next(iter(self.streams.values())).shape[0])

    @property
    def dims(self) -> dict[str, int]:
        return {k: int(v.shape[1]) for k, v in self.streams.items()}

    def concatenated(self, modalities: Sequence[str] | None = None) -> np.ndarray:
        """``[T, sum(D)]``: the named streams (default: all, sorted by name) side by side."""
        names = list(modalities) if modalities is not None else sorted(self.streams)
        return np.concatenate([self.streams[m] for m in names], axis=1)


@dataclass
class ScoreTrack:
    """Per-snippet forgery scores of one video; higher = more likely forged.

    ``scores`` is ``[T]`` on the grid of the features it came from. ``modalities`` holds
    optional per-modality tracks (``"visual"``, ``"audio"``) on the same grid, so a user
    can see *which* track looks forged. ``video_score`` is the video-level score used for
    detection AUC; when ``None`` the maximum of ``scores`` is used.
    """

    scores: np.ndarray
    rate: float = DEFAULT_RATE
    duration: float | None = None
    modalities: dict[str, np.ndarray] = field(default_factory=dict)
    video_score: float | None = None

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(self.scores)):
            raise ValueError("score track contains NaN or inf")
        for k, v in list(self.modalities.items()):
            v = np.asarray(v, dtype=np.float64).reshape(-1)
            if v.shape != self.scores.shape:
                raise ValueError(f"modality track {k!r} has shape {v.shape}, expected {self.scores.shape}")
            self.modalities[k] = v
        if self.duration is None:
            self.duration = len(self.scores) / self.rate

    @property
    def length(self) -> int:
        return int(self.scores.shape[0])

    @property
    def video_level(self) -> float:
        if self.video_score is not None:
            return float(self.video_score)
        return float(self.scores.max()) if self.length else 0.0


@dataclass
class Sample:
    """What a scorer trains on: a record (annotations withheld) and its features."""

    record: VideoRecord
    features: Features


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Option:
    """One constructor option of a component, as the CLI and benchmarks see it."""

    name: str
    type: Any
    default: Any
    help: str = ""

    def parse(self, text: str) -> Any:
        """Convert ``--opt name=text`` to this option's type."""
        tp = self.type
        origin = typing.get_origin(tp)
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = type(None) in typing.get_args(tp)  # not list[float], which also has one arg
        if origin is not None and optional and len(args) == 1 and origin is not Literal:  # Optional[X]
            if text.lower() in ("none", "null", ""):
                return None
            tp = args[0]
        if tp is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true/false, got {text!r}")
        if tp in (int, float, str):
            return tp(text)
        if typing.get_origin(tp) is Literal:
            if text not in typing.get_args(tp):
                raise ValueError(f"expected one of {typing.get_args(tp)}, got {text!r}")
            return text
        # lists, tuples, dicts: JSON
        return json.loads(text)


def component_options(cls: type) -> list[Option]:
    """The documented options of a component class, from its dataclass fields or
    its ``__init__`` signature (keyword parameters with defaults)."""
    hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
    if dataclasses.is_dataclass(cls):
        out = []
        for f in dataclasses.fields(cls):
            if not f.init or f.name.startswith("_"):
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            else:
                default = None
            out.append(Option(f.name, hints.get(f.name, Any), default, f.metadata.get("help", "")))
        return out
    sig = inspect.signature(cls.__init__)
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # unresolvable annotations: fall back to untyped
        hints = {}
    out = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        out.append(Option(p.name, hints.get(p.name, Any), default, ""))
    return out


def component_config(obj: Any) -> dict[str, Any]:
    """The option values of a component instance (JSON-friendly), for caches and reports."""
    cfg = {}
    for opt in component_options(type(obj)):
        value = getattr(obj, opt.name, opt.default)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        cfg[opt.name] = value
    return cfg


def parse_options(cls: type, pairs: Sequence[str]) -> dict[str, Any]:
    """Parse ``["key=value", ...]`` against a component's options (misspelt keys fail)."""
    options = {o.name: o for o in component_options(cls)}
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"option {pair!r} is not of the form key=value")
        key, _, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if key not in options:
            known = ", ".join(sorted(options)) or "(none)"
            raise ValueError(f"{getattr(cls, 'name', cls.__name__)} has no option {key!r}; options: {known}")
        try:
            out[key] = options[key].parse(text)
        except ValueError as exc:
            raise ValueError(f"option {key}: {exc}") from None
    return out


# --------------------------------------------------------------------------- components


class Component:
    """Base of every pluggable component. ``name`` is unique within its kind."""

    kind: ClassVar[str] = "component"
    name: ClassVar[str] = ""
    #: one line for ``forensicloc plugins`` and reports
    description: ClassVar[str] = ""

    @property
    def config(self) -> dict[str, Any]:
        return component_config(self)


class FeatureExtractor(Component):
    """Turns a decoded video into :class:`Features` on the snippet grid.

    ``version`` is part of the feature cache key: bump it whenever the output changes.
    ``requires_audio``: extracting from a video without an audio stream is an error.
    """

    kind: ClassVar[str] = "extractor"
    version: ClassVar[str] = "1"
    requires_audio: ClassVar[bool] = True
    modalities: ClassVar[tuple[str, ...]] = ("visual", "audio")

    def dims(self) -> dict[str, int]:
        """Feature dimension per modality (known before extraction)."""
        raise NotImplementedError

    def extract(self, source: MediaSource, progress: ProgressCallback = no_progress) -> Features:
        """Features of one video. Consume ``source`` in chunks: memory must not grow
        with video length."""
        raise NotImplementedError


class Scorer(Component):
    """Per-snippet forgery scores from features (higher = more likely forged).

    ``supervision`` declares what the scorer may learn from, and the core hands it no
    more: ``"none"`` — nothing (``fit`` is still called, with no samples); ``"real-only"``
    — authentic training videos only, labels withheld; ``"video-level"`` — real and fake
    videos with their video label and no segment annotation.

    State is saved as tensors (``safetensors``) plus a JSON-able dict, never a pickle:
    implement :meth:`state` and :meth:`load_state`.
    """

    kind: ClassVar[str] = "scorer"
    supervision: ClassVar[Supervision] = "none"

    def fit(self, train: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        """Learn from ``train``; return a JSON-able summary (losses, epochs...)."""
        return {}

    def score(self, features: Features) -> ScoreTrack:
        raise NotImplementedError

    def score_batch(self, batch: Sequence[Features]) -> list[ScoreTrack]:
        """Score several videos; override to batch on the device."""
        return [self.score(f) for f in batch]

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(tensors, meta)``: arrays to save as safetensors, and JSON-able metadata
        needed to rebuild the model (e.g. feature dimensions)."""
        return {}, {}

    def load_state(self, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore what :meth:`state` returned."""

    def to(self, device: str) -> Scorer:
        """Move to a torch device; scorers without torch state ignore it."""
        return self


@dataclass
class FitContext:
    """Everything a scorer's ``fit`` may use besides its training samples.

    ``validation`` is the dev split under the same withholding as ``train`` except that
    video labels are kept (model selection by video-level AUC needs them; segments are
    never there). ``evaluate`` scores the validation split (if given) and returns metrics
    computed by the core; scorers call it once per epoch to select a model.
    """

    device: str = "cpu"
    seed: int = 0
    epochs: int | None = None
    validation: Sequence[Sample] = ()
    progress: ProgressCallback = no_progress
    log: Callable[[str], None] = lambda message: None
    evaluate: Callable[[Scorer], dict[str, float]] | None = None


class Proposer(Component):
    """Turns a :class:`ScoreTrack` into scored :class:`Segment`\\ s (seconds).

    It sees the score track and the duration only, never ground truth. The result is
    sorted by score, descending, and lies within ``[0, duration]``.
    """

    kind: ClassVar[str] = "proposer"

    def propose(self, track: ScoreTrack) -> list[Segment]:
        raise NotImplementedError


class DatasetFormat(Component):
    """Reads one metadata format into a :class:`Dataset`.

    ``detect`` says cheaply whether ``root`` looks like this format (used when the user
    does not name one). ``load`` validates every entry with an error naming the entry
    and field, and resolves each ``file`` inside ``root`` (escaping it is an error).
    """

    kind: ClassVar[str] = "dataset"

    @classmethod
    def detect(cls, root: Path) -> bool:
        return False

    def load(self, root: Path) -> Dataset:
        raise NotImplementedError


#: kind name -> base class, the protocol a registered class must satisfy
COMPONENT_KINDS: dict[str, type[Component]] = {
    "extractor": FeatureExtractor,
    "scorer": Scorer,
    "proposer": Proposer,
    "dataset": DatasetFormat,
}

#: the methods each kind must implement itself (not inherit from the base)
REQUIRED_METHODS: dict[str, tuple[str, ...]] = {
    "extractor": ("extract", "dims"),
    "scorer": ("score",),
    "proposer": ("propose",),
    "dataset": ("load",),
}
