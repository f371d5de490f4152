"""Writing a synthetic dataset: who says what in which video, files and metadata.

The dataset is planned first, entirely from the seed (splits, which videos are real,
which fake video edits which real one, speakers, durations, forgery kinds), then each
video is rendered independently, so a process pool gives the same bytes as a serial
run. Metadata follows the real formats field for field (plus ``families`` and
``speaker``) and is written last, atomically: a dataset without its metadata file is
visibly unfinished.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensicloc.api import ProgressCallback, no_progress
from forensicloc.errors import BadInputError
from forensicloc.synth.forgery import AUDIO_FAMILIES, FAMILIES, KINDS, VISUAL_FAMILIES
from forensicloc.synth.speech import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from forensicloc.synth.video import VideoSpec

FORMATS = ("lavdf", "avdf1m")
SPLIT_NAMES = {"lavdf": ("train", "dev", "test"), "avdf1m": ("train", "val", "test")}
MODIFY_TYPE = {"real": "real", "visual": "visual_modified", "audio": "audio_modified", "both": "both_modified"}
# purposes in the seed key (disjoint from those of video.py)
_ROLES, _DURATION, _KIND, _SPEAKERS, _SEGMENTS = 90, 91, 92, 93, 94


@dataclass(frozen=True)
class Job:
    """One video to render and where it goes."""

    spec: VideoSpec
    split: str
    file: str  # as written in the metadata
    path: str  # relative to the dataset root
    original: str | None
    speaker_name: str


@dataclass
class SynthSummary:
    """What :func:`synthesize` wrote."""

    root: Path
    format: str
    videos: int
    real: int
    fake: int
    splits: dict[str, int]
    modify_types: dict[str, int]
    families: dict[str, int]  # forged segments per family (a both-modified segment counts for both)
    segments: int
    speakers: int
    media_seconds: float
    seconds: float  # wall-clock time
    metadata: list[Path] = field(default_factory=list)

    @property
    def videos_per_second(self) -> float:
        return self.videos / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "format": self.format,
            "videos": self.videos,
            "real": self.real,
            "fake": self.fake,
            "splits": self.splits,
            "modify_types": self.modify_types,
            "families": self.families,
            "segments": self.segments,
            "speakers": self.speakers,
            "media_seconds": round(self.media_seconds, 3),
            "seconds": round(self.seconds, 3),
            "videos_per_second": round(self.videos_per_second, 2),
            "metadata": [str(p) for p in self.metadata],
        }


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _split_counts(videos: int, ratios: Sequence[float]) -> list[int]:
    """Largest-remainder split of ``videos``; every split with a share gets one if it can."""
    total = sum(ratios)
    exact = [videos * r / total for r in ratios]
    counts = [int(math.floor(x)) for x in exact]
    for i in sorted(range(len(ratios)), key=lambda i: exact[i] - counts[i], reverse=True)[: videos - sum(counts)]:
        counts[i] += 1
    for i, r in enumerate(ratios):  # an empty split would make a protocol impossible
        if r > 0 and counts[i] == 0:
            donor = max(range(len(counts)), key=lambda k: counts[k])
            if counts[donor] > 1:
                counts[donor] -= 1
                counts[i] += 1
    return counts


def plan_dataset(
    videos: int,
    seed: int,
    format: str,
    fake_ratio: float,
    audio_families: tuple[str, ...],
    visual_families: tuple[str, ...],
    min_seconds: float,
    max_seconds: float,
    size: int,
    splits: Sequence[float],
    min_segment: float,
    max_segment: float,
    max_segments: int,
) -> list[Job]:
    """Every video of the dataset, decided from the seed alone."""
    kinds = [k for k in KINDS if (k != "visual" or visual_families) and (k != "audio" or audio_families)]
    if not (audio_families and visual_families):
        kinds = [k for k in kinds if k != "both"]
    names = SPLIT_NAMES[format]
    jobs: list[Job] = []
    index = 0
    speaker_base = 0
    for s, (split, count) in enumerate(zip(names, _split_counts(videos, splits), strict=True)):
        if count == 0:
            continue
        n_fake = int(math.floor(count * fake_ratio + 0.5)) if kinds else 0
        if kinds and 0 < fake_ratio < 1 and count >= 2:  # both classes in every split that can hold them
            n_fake = min(max(n_fake, 1), count - 1)
        roles = np.array([True] * n_fake + [False] * (count - n_fake))
        _rng(seed, _ROLES, s).shuffle(roles)
        n_real = count - n_fake
        # speakers are split-disjoint (unseen identities at test time), ~3 real videos each
        n_speakers = max(1, math.ceil((n_real or count) / 3))
        pool = list(range(speaker_base, speaker_base + n_speakers))
        speaker_base += n_speakers
        # LAV-DF's mix: the kinds in equal shares (the remainder drawn at random)
        krng = _rng(seed, _KIND, s)
        offset = int(krng.integers(len(kinds))) if kinds else 0
        fake_kinds = [kinds[(k + offset) % len(kinds)] for k in range(n_fake)] if kinds else []
        krng.shuffle(fake_kinds)
        first = index
        reals: list[Job] = []
        pending: list[tuple[int, str]] = []
        for k, is_fake in enumerate(roles):
            i = first + k
            file, path = _names(format, split, i)
            if is_fake:
                pending.append((i, fake_kinds[len(pending)]))
                jobs.append(None)  # type: ignore[arg-type]  # filled below, once the reals are known
                continue
            speaker = pool[int(_rng(seed, _SPEAKERS, i).integers(len(pool)))]
            n_frames = int(round(_rng(seed, _DURATION, i).uniform(min_seconds, max_seconds) * FPS))
            spec = VideoSpec(seed=seed, index=i, source=i, speaker=speaker, n_frames=max(n_frames, 1), size=size)
            job = Job(spec, split, file, path, None, f"speaker{speaker:04d}")
            reals.append(job)
            jobs.append(job)
        for ordinal, (i, kind) in enumerate(pending):
            file, path = _names(format, split, i)
            n_segments = int(_rng(seed, _SEGMENTS, i).integers(1, max_segments + 1))
            if reals:
                src = reals[ordinal % len(reals)]
                source, speaker, n_frames, original = src.spec.source, src.spec.speaker, src.spec.n_frames, src.file
            else:  # no authentic video in this split: the fake's source exists only here
                speaker = pool[int(_rng(seed, _SPEAKERS, i).integers(len(pool)))]
                n_frames = max(1, int(round(_rng(seed, _DURATION, i).uniform(min_seconds, max_seconds) * FPS)))
                source, original = i, None
            spec = VideoSpec(
                seed=seed,
                index=i,
                source=source,
                speaker=speaker,
                n_frames=n_frames,
                size=size,
                kind=kind,
                n_segments=n_segments,
                audio_families=audio_families,
                visual_families=visual_families,
                min_segment=min_segment,
                max_segment=max_segment,
            )
            jobs[i] = Job(spec, split, file, path, original, f"speaker{speaker:04d}")
        index += count
    return jobs


def _names(format: str, split: str, index: int) -> tuple[str, str]:
    """``(file in metadata, path under the root)``."""
    name = f"{index:06d}.mp4"
    if format == "lavdf":
        return f"{split}/{name}", f"{split}/{name}"
    return name, f"{split}/{name}"  # AV-Deepfake1M: file is relative to the split folder


def render_job(job: Job, root: str, crf: int, preset: str) -> dict[str, Any]:
    """Render one video and write it; returns what the metadata needs. Runs in workers."""
    from forensicloc.media import write_video
    from forensicloc.synth.video import render_video

    video = render_video(job.spec)
    target = Path(root) / job.path
    target.parent.mkdir(parents=True, exist_ok=True)
    write_video(target, video.frames, video.audio, fps=FPS, sample_rate=SAMPLE_RATE, crf=crf, preset=preset, deterministic=True)
    return {
        "index": job.spec.index,
        "n_frames": int(video.frames.shape[0]),
        "n_samples": int(video.audio.shape[0]),
        "segments": [[int(a), int(b)] for a, b in video.segments],
        "families": list(video.families),
    }


def metadata_entry(format: str, job: Job, result: dict[str, Any]) -> dict[str, Any]:
    """The metadata entry of one video, fields as in the real format (plus extras)."""
    kind = job.spec.kind
    frames = result["n_frames"]
    periods = [[round(a / FPS, 4), round(b / FPS, 4)] for a, b in result["segments"]]
    visual = kind in ("visual", "both")
    audio = kind in ("audio", "both")
    if format == "lavdf":
        return {
            "file": job.file,
            "n_fakes": len(periods),
            "fake_periods": periods,
            "duration": round(frames / FPS, 4),
            "original": job.original,
            "modify_video": visual,
            "modify_audio": audio,
            "split": job.split,
            "video_frames": frames,
            "audio_channels": 1,
            "audio_frames": result["n_samples"],
            "families": result["families"],
            "speaker": job.speaker_name,
        }
    audio_models = sorted({f for fam in result["families"] for f in fam.split("+") if FAMILIES[f] == "audio"})
    return {
        "file": job.file,
        "original": job.original,
        "split": job.split,
        "modify_type": MODIFY_TYPE[kind],
        "audio_model": ",".join(audio_models),
        "fake_segments": periods,
        "audio_fake_segments": periods if audio else [],
        "visual_fake_segments": periods if visual else [],
        "video_frames": frames,
        "audio_frames": result["n_samples"],
        "families": result["families"],
        "speaker": job.speaker_name,
    }


def write_json_list(path: Path, entries: list[dict[str, Any]]) -> None:
    """A JSON list with one entry per line (readable, and errors point at a line),
    written to a temporary file and moved into place."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    text = "[\n" + ",\n".join(json.dumps(e, separators=(", ", ": ")) for e in entries) + "\n]\n"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def parse_families(families: Sequence[str] | str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(audio families, visual families)`` allowed; unknown names are an error."""
    if families is None:
        return AUDIO_FAMILIES, VISUAL_FAMILIES
    names = [f.strip() for f in (families.split(",") if isinstance(families, str) else families) if f.strip()]
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        raise BadInputError(
            f"unknown forgery famil{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}",
            hint=f"choose among {', '.join(FAMILIES)}",
        )
    if not names:
        raise BadInputError("no forgery family given", hint=f"choose among {', '.join(FAMILIES)}")
    return tuple(f for f in AUDIO_FAMILIES if f in names), tuple(f for f in VISUAL_FAMILIES if f in names)


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out} exists and is not a folder", hint="choose a new output folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise BadInputError(
            f"output folder {out} is not empty",
            hint="choose a new folder, or pass --overwrite to write over it",
        )


def synthesize(
    out: str | Path,
    videos: int,
    seed: int = 0,
    format: str = "lavdf",
    fake_ratio: float = 0.5,
    families: Sequence[str] | str | None = None,
    min_seconds: float = 3.0,
    max_seconds: float = 6.0,
    size: int = 96,
    workers: int = 1,
    progress: ProgressCallback = no_progress,
    *,
    splits: Sequence[float] = (0.6, 0.2, 0.2),
    min_segment: float = 0.2,
    max_segment: float = 2.0,
    max_segments: int = 2,
    crf: int = 23,
    preset: str = "veryfast",
    overwrite: bool = False,
) -> SynthSummary:
    """Write a synthetic audio-visual deepfake dataset to ``out``; deterministic for ``seed``.

    ``fake_ratio`` of the videos (per split) are fakes, each editing a real video of
    its split in 1..``max_segments`` segments of ``min_segment``..``max_segment``
    seconds; ``families`` restricts the forgery families used (see :data:`FAMILIES`);
    ``fake_ratio=0`` writes authentic videos only. ``splits`` are the train / dev (val)
    / test shares. ``workers > 1`` renders in a process pool with identical output.
    """
    out = Path(out)
    audio_families, visual_families = check_options(
        out, videos, format, fake_ratio, families, min_seconds, max_seconds, size, workers,
        splits, min_segment, max_segment, max_segments, overwrite,
    )  # fmt: skip
    started = time.perf_counter()
    jobs = plan_dataset(
        videos, seed, format, fake_ratio, audio_families, visual_families, min_seconds, max_seconds, size,
        splits, min_segment, max_segment, max_segments,
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    for name in ("metadata.json", "metadata.min.json", *(f"{s}_metadata.json" for s in SPLIT_NAMES["avdf1m"])):
        (out / name).unlink(missing_ok=True)  # never leave a stale index next to new videos
    progress(0, len(jobs), "synthesizing videos")
    results = _run(jobs, out, crf, preset, workers, progress)
    entries = [metadata_entry(format, job, results[job.spec.index]) for job in jobs]
    written = _write_metadata(out, format, jobs, entries)
    return _summary(out, format, jobs, entries, results, written, time.perf_counter() - started)


def check_options(
    out: str | Path,
    videos: int,
    format: str = "lavdf",
    fake_ratio: float = 0.5,
    families: Sequence[str] | str | None = None,
    min_seconds: float = 3.0,
    max_seconds: float = 6.0,
    size: int = 96,
    workers: int = 1,
    splits: Sequence[float] = (0.6, 0.2, 0.2),
    min_segment: float = 0.2,
    max_segment: float = 2.0,
    max_segments: int = 2,
    overwrite: bool = False,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check :func:`synthesize`'s options (a :class:`BadInputError` for the first
    problem); returns the allowed (audio, visual) families. Cheap: the CLI calls it
    before showing a progress bar."""
    _validate(videos, format, fake_ratio, min_seconds, max_seconds, size, workers, splits, min_segment, max_segment, max_segments)
    allowed = parse_families(families)
    _check_out(Path(out), overwrite)
    return allowed


def _validate(videos, format, fake_ratio, min_seconds, max_seconds, size, workers, splits, min_segment, max_segment, max_segments) -> None:
    problems = []
    if format not in FORMATS:
        problems.append((f"format {format!r} is not one of {', '.join(FORMATS)}", "use --format lavdf or avdf1m"))
    if videos < 1:
        problems.append((f"videos must be at least 1, got {videos}", "pass --videos N"))
    if not 0.0 <= fake_ratio <= 1.0:
        problems.append((f"fake ratio must be within [0, 1], got {fake_ratio}", "e.g. --fake-ratio 0.5"))
    if size < 32 or size % 2:
        problems.append((f"size must be an even number of pixels >= 32, got {size}", "H.264 needs even sizes; e.g. --size 96"))
    if workers < 1:
        problems.append((f"workers must be at least 1, got {workers}", "e.g. --workers 2"))
    if not (1.0 <= min_seconds <= max_seconds):
        problems.append(
            (f"video length range [{min_seconds}, {max_seconds}] s is invalid", "need 1 <= --min-seconds <= --max-seconds")
        )
    if not (1 / FPS <= min_segment <= max_segment):
        problems.append((f"segment length range [{min_segment}, {max_segment}] s is invalid", "need 0.04 <= min <= max"))
    elif max_segment >= min_seconds:
        problems.append(
            (f"forged segments of up to {max_segment} s do not fit in videos of {min_seconds} s", "lower --max-segment or raise --min-seconds")
        )
    if max_segments < 1:
        problems.append((f"max segments must be at least 1, got {max_segments}", "e.g. --max-segments 2"))
    if len(splits) != 3 or any(r < 0 for r in splits) or sum(splits) <= 0:
        problems.append((f"split shares {list(splits)} are invalid", "give three non-negative shares, e.g. 0.6,0.2,0.2"))
    if problems:
        message, hint = problems[0]
        raise BadInputError(message, hint=hint)


def _run(jobs: list[Job], out: Path, crf: int, preset: str, workers: int, progress: ProgressCallback) -> dict[int, dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    if workers == 1 or len(jobs) == 1:
        for k, job in enumerate(jobs, start=1):
            results[job.spec.index] = render_job(job, str(out), crf, preset)
            progress(k, len(jobs), "synthesizing videos")
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: the parent may run threads (a progress bar) that fork would copy mid-flight
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = [pool.submit(render_job, job, str(out), crf, preset) for job in jobs]
        for k, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            results[result["index"]] = result
            progress(k, len(jobs), "synthesizing videos")
    return results


def _write_metadata(out: Path, format: str, jobs: list[Job], entries: list[dict[str, Any]]) -> list[Path]:
    if format == "lavdf":
        path = out / "metadata.json"
        write_json_list(path, entries)
        return [path]
    written = []
    for split in SPLIT_NAMES["avdf1m"]:
        chosen = [e for job, e in zip(jobs, entries, strict=True) if job.split == split]
        if chosen:
            path = out / f"{split}_metadata.json"
            write_json_list(path, chosen)
            written.append(path)
    return written


def _summary(out, format, jobs, entries, results, written, seconds) -> SynthSummary:
    families: Counter[str] = Counter()
    for r in results.values():
        for fam in r["families"]:
            families.update(fam.split("+"))
    fake = sum(1 for j in jobs if j.spec.kind != "real")
    return SynthSummary(
        root=out,
        format=format,
        videos=len(jobs),
        real=len(jobs) - fake,
        fake=fake,
        splits=dict(Counter(j.split for j in jobs)),
        modify_types=dict(Counter(MODIFY_TYPE[j.spec.kind] for j in jobs)),
        families=dict(sorted(families.items())),
        segments=sum(len(r["segments"]) for r in results.values()),
        speakers=len({j.spec.speaker for j in jobs}),
        media_seconds=sum(r["n_frames"] for r in results.values()) / FPS,
        seconds=seconds,
        metadata=written,
    )


__all__ = ["SynthSummary", "check_options", "plan_dataset", "synthesize"]
