"""The synthetic dataset generator: layout, metadata, determinism, and that its forgeries
are a localization problem (segments where they should be, AV correlation broken by
lip-sync), not a visible mark.

Datasets here are tiny (<= 8 videos of 1.2-2 s at 64x64) and shared by module fixtures.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from forensicloc.datasets import open_dataset
from forensicloc.errors import BadInputError
from forensicloc.synth import FAMILIES, VideoSpec, plan_dataset, render_video, synthesize
from forensicloc.synth.forgery import AUDIO_FAMILIES, VISUAL_FAMILIES

TINY = dict(min_seconds=1.2, max_seconds=2.0, size=64, max_segment=1.0)


def digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def lavdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "lavdf"
    synthesize(out, 8, seed=7, **TINY)
    return out


# --------------------------------------------------------------------------- layout and metadata


def test_lavdf_layout_round_trips_through_the_reader(lavdf: Path) -> None:
    entries = json.loads((lavdf / "metadata.json").read_text())
    assert len(entries) == 8
    expected = {"file", "n_fakes", "fake_periods", "duration", "original", "modify_video", "modify_audio", "split",
                "video_frames", "audio_channels", "audio_frames", "families", "speaker"}  # fmt: skip
    files = {e["file"] for e in entries}
    for e in entries:
        assert set(e) == expected
        split, name = e["file"].split("/")
        assert split == e["split"] in ("train", "dev", "test") and (lavdf / e["file"]).is_file()
        assert e["audio_channels"] == 1 and e["audio_frames"] == e["video_frames"] * 640
        assert e["duration"] == pytest.approx(e["video_frames"] / 25)
        reals_here = any(x["split"] == split and not x["n_fakes"] for x in entries)
        if e["n_fakes"] and reals_here:  # a fake edits a real video of its own split
            assert e["original"] in files and e["original"].startswith(split + "/")
            assert e["modify_video"] or e["modify_audio"]
        elif e["n_fakes"]:
            assert e["original"] is None  # no real video in its split to have come from
        else:
            assert e["original"] is None and not (e["modify_video"] or e["modify_audio"])
    ds = open_dataset(lavdf)
    assert ds.format == "lavdf" and [r.file for r in ds] == [e["file"] for e in entries]
    for record, e in zip(ds, entries, strict=True):
        assert record.label == int(e["n_fakes"] > 0)
        assert record.fake_segments == tuple(tuple(p) for p in e["fake_periods"])
        assert record.families == tuple(e["families"])


def test_videos_decode_with_the_declared_length(lavdf: Path) -> None:
    from forensicloc.media import probe

    entry = json.loads((lavdf / "metadata.json").read_text())[0]
    info = probe(lavdf / entry["file"])
    assert info.has_video and info.has_audio and (info.width, info.height) == (64, 64)
    assert info.n_frames == entry["video_frames"] and info.sample_rate == 16000


def test_segments_are_in_range_on_the_frame_grid_and_within_the_video(lavdf: Path) -> None:
    for record in open_dataset(lavdf):
        if not record.label:
            continue
        assert 1 <= len(record.fake_segments) <= 2
        assert len(record.families) == len(record.fake_segments)
        previous_end = -1.0
        for (start, end), family in zip(record.fake_segments, record.families, strict=True):
            assert 0 <= start < end <= record.duration + 1e-9
            assert 0.2 - 1e-9 <= end - start <= 1.0 + 1e-9
            assert start > previous_end  # sorted, no overlap
            previous_end = end
            for t in (start, end):
                assert abs(t * 25 - round(t * 25)) < 1e-6
            modalities = {FAMILIES[f] for f in family.split("+")}
            assert modalities == {"visual"} if record.modify_type == "visual_modified" else True
            assert modalities == {"audio"} if record.modify_type == "audio_modified" else True
            assert modalities == {"audio", "visual"} if record.modify_type == "both_modified" else True


def test_same_seed_same_bytes_serial_and_parallel(lavdf: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    synthesize(again, 8, seed=7, workers=2, **TINY)
    assert digests(again) == digests(lavdf)


def test_another_seed_gives_another_dataset(lavdf: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    synthesize(other, 2, seed=8, fake_ratio=0.0, splits=(1, 0, 0), **TINY)
    assert digests(other)["train/000000.mp4"] != digests(lavdf).get("train/000000.mp4")


def test_avdf1m_layout_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "av"
    summary = synthesize(out, 6, seed=1, format="avdf1m", **TINY)
    assert sorted(p.name for p in summary.metadata) == ["test_metadata.json", "train_metadata.json", "val_metadata.json"]
    ds = open_dataset(out)
    assert ds.format == "avdf1m" and set(ds.splits) == {"train", "val", "test"}
    for record in ds:
        entry = dict(record.extra)
        assert record.path == out / record.split / entry["file"] and record.path.is_file()
        assert "/" not in entry["file"]  # relative to its split folder, as in the release
        assert record.duration == pytest.approx(entry["video_frames"] / 25)
        assert record.modify_type == entry["modify_type"]
        if entry["modify_type"] != "real":
            audio = set(entry["audio_model"].split(",")) - {""}
            assert audio == {f for fam in entry["families"] for f in fam.split("+") if FAMILIES[f] == "audio"}


# --------------------------------------------------------------------------- plan: ratios, families


def test_real_fake_ratio_and_modify_kinds_are_balanced() -> None:
    jobs = plan_dataset(300, 0, "lavdf", 0.5, AUDIO_FAMILIES, VISUAL_FAMILIES, 3.0, 6.0, 96, (0.6, 0.2, 0.2), 0.2, 2.0, 2)
    assert [j.spec.index for j in jobs] == list(range(300))
    splits = {s: [j for j in jobs if j.split == s] for s in ("train", "dev", "test")}
    assert [len(v) for v in splits.values()] == [180, 60, 60]
    for members in splits.values():
        fakes = [j for j in members if j.spec.kind != "real"]
        assert len(fakes) == len(members) // 2
        kinds = [j.spec.kind for j in fakes]
        assert {kinds.count(k) for k in ("visual", "audio", "both")} == {len(fakes) // 3}
    speakers = {s: {j.spec.speaker for j in v} for s, v in splits.items()}
    assert not (speakers["train"] & speakers["test"])  # unseen identities at test time
    assert 3.0 <= min(j.spec.n_frames for j in jobs) / 25 and max(j.spec.n_frames for j in jobs) / 25 <= 6.0


@pytest.mark.parametrize("ratio, fakes", [(0.0, 0), (1.0, 30), (0.25, 8)])
def test_fake_ratio_is_honoured(ratio: float, fakes: int) -> None:
    jobs = plan_dataset(30, 0, "lavdf", ratio, AUDIO_FAMILIES, VISUAL_FAMILIES, 3.0, 6.0, 96, (1, 0, 0), 0.2, 2.0, 2)
    assert sum(j.spec.kind != "real" for j in jobs) == fakes


def test_families_filter_is_honoured(tmp_path: Path) -> None:
    out = tmp_path / "filtered"
    synthesize(out, 8, seed=3, families="lip-sync,splice", fake_ratio=0.75, **TINY)
    seen = {f for r in open_dataset(out) for fam in (r.families or ()) for f in fam.split("+")}
    assert seen and seen <= {"lip-sync", "splice"}


def test_audio_only_families_make_audio_only_fakes() -> None:
    jobs = plan_dataset(30, 0, "lavdf", 0.5, ("voice-swap",), (), 3.0, 6.0, 96, (1, 0, 0), 0.2, 2.0, 2)
    assert {j.spec.kind for j in jobs} == {"real", "audio"}


# --------------------------------------------------------------------------- what the forgeries do


def _activity(video) -> np.ndarray:
    """How far the mouth region of each frame is from its look in the quietest frames."""
    r = int(video.mouth_radius * 0.6)
    boxes = []
    for t in range(video.frames.shape[0]):
        y, x = np.round(video.mouth_centre[t]).astype(int)
        boxes.append(video.frames[t, y - r // 2 : y + r // 2 + 2, x - r : x + r + 1].astype(float))
    boxes = np.array(boxes)
    quiet = np.argsort(_loudness(video))[:5]
    return np.abs(boxes - boxes[quiet].mean(axis=0)).mean(axis=(1, 2, 3))


def _loudness(video) -> np.ndarray:
    frames = video.audio.reshape(-1, 640)
    return np.log(np.sqrt((frames**2).mean(axis=1)) + 1e-4)


def test_mouth_follows_the_audio_in_real_videos_but_not_under_lip_sync() -> None:
    real_corr, fake_corr = [], []
    span = slice(5, 70)
    for i in range(4):
        base = dict(seed=2, source=i, speaker=i, n_frames=75, size=64)
        real = render_video(VideoSpec(index=i, kind="real", **base))
        fake = render_video(VideoSpec(index=50 + i, kind="visual", segments=((5, 70),), families=("lip-sync",), **base))
        real_corr.append(np.corrcoef(_activity(real)[span], _loudness(real)[span])[0, 1])
        fake_corr.append(np.corrcoef(_activity(fake)[span], _loudness(fake)[span])[0, 1])
    assert np.mean(real_corr) > 0.4
    assert np.mean(real_corr) > np.mean(fake_corr) + 0.3


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_forgery_changes_only_its_segment(family: str) -> None:
    base = dict(seed=4, source=0, speaker=0, n_frames=50, size=64)
    real = render_video(VideoSpec(index=0, kind="real", **base))
    kind = FAMILIES[family]
    fake = render_video(VideoSpec(index=9, kind=kind, segments=((15, 35),), families=(family,), **base))
    track = fake.frames if kind == "visual" else fake.audio.reshape(50, 640)
    orig = real.frames if kind == "visual" else real.audio.reshape(50, 640)
    # the audio cross-fade reaches 48 samples into the neighbouring frames
    outside = np.r_[0:14, 36:50] if kind == "audio" else np.r_[0:15, 35:50]
    assert np.array_equal(track[outside], orig[outside])
    assert not np.array_equal(track[15:35], orig[15:35])
    # subtle: the edit moves no global statistic much
    if kind == "visual":
        assert abs(fake.frames.mean() - real.frames.mean()) < 1.0
    else:
        level = lambda a: np.sqrt(np.mean(a**2))  # noqa: E731
        assert 0.5 < level(fake.audio) / level(real.audio) < 2.0


def test_segments_sit_on_word_boundaries() -> None:
    video = render_video(VideoSpec(seed=5, index=3, source=1, speaker=1, n_frames=100, kind="audio", n_segments=2))
    plan = video.extras["plan"]
    for start, stop in video.segments:
        s, e = start / 25, stop / 25
        for word in plan.words:  # no word is cut: each lies inside the segment or outside it
            assert word.end <= s + 0.041 or word.start >= e - 0.041 or (word.start >= s - 1e-9 and word.end <= e + 1e-9)


# --------------------------------------------------------------------------- options and CLI


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(families="lip-sync,teleport"), "unknown forgery family: teleport"),
        (dict(size=63), "size must be an even number"),
        (dict(fake_ratio=1.5), "fake ratio must be within [0, 1]"),
        (dict(min_seconds=2.0, max_seconds=1.5), "video length range"),
        (dict(max_segment=3.0), "do not fit in videos"),
        (dict(format="dfdc"), "format 'dfdc' is not one of"),
    ],
)
def test_bad_options_are_user_errors(tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(BadInputError) as info:
        synthesize(tmp_path / "x", 2, **options)
    assert message in str(info.value)
    assert not (tmp_path / "x").exists()


def test_refuses_a_non_empty_output_folder(lavdf: Path) -> None:
    with pytest.raises(BadInputError, match="is not empty"):
        synthesize(lavdf, 2, **TINY)


def test_synth_and_datasets_info_commands(tmp_path: Path) -> None:
    from forensicloc.cli import build_cli

    out = tmp_path / "cli"
    runner = CliRunner()
    cli = build_cli()
    args = ["synth", str(out), "-n", "4", "--seed", "1", "--min-seconds", "1.2", "--max-seconds", "1.6",
            "--max-segment", "1", "--size", "64", "--families", "freeze,voice-swap", "--json"]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["videos"] == 4 and summary["format"] == "lavdf" and summary["real"] + summary["fake"] == 4
    assert set(summary["families"]) <= {"freeze", "voice-swap"}

    result = runner.invoke(cli, ["datasets", "info", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["total"]["videos"] == 4 and info["total"]["fake"] == summary["fake"]
    assert info["total"]["segments"] == summary["segments"]

    result = runner.invoke(cli, ["synth", str(out), "-n", "2"])
    assert result.exit_code != 0 and "is not empty" in str(result.exception)
    result = runner.invoke(cli, ["datasets", "families", "--json"])
    assert set(json.loads(result.output)) == set(FAMILIES)
