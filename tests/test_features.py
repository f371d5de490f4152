"""Extractors, the feature cache, and batch extraction."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from forensicloc.api import Features, VideoRecord
from forensicloc.errors import BadInputError, MediaError
from forensicloc.features import ExtractionReport, FeatureCache, FeatureStore, extract_all
from forensicloc.features.handcrafted import HandcraftedExtractor
from forensicloc.features.precomputed import PrecomputedExtractor, resample_to_grid
from forensicloc.media import MediaSource, write_video

# ----------------------------------------------------------------------------- handcrafted


def test_handcrafted_output_matches_documented_dims(tiny_video):
    ex = HandcraftedExtractor()
    assert ex.dims() == {"visual": 134, "audio": 47}
    feats = ex.extract(MediaSource(tiny_video(seconds=1.0)))
    assert feats.dims == ex.dims()
    assert feats.length == 25 and feats.rate == 25.0 and feats.extractor == "handcrafted"
    assert feats.duration == pytest.approx(1.0, abs=0.05)
    for stream in feats.streams.values():
        assert stream.dtype == np.float32 and np.isfinite(stream).all()


def test_handcrafted_dims_follow_options():
    ex = HandcraftedExtractor(face_grid=4, mouth_grid=3, profile_bins=5, n_mels=20)
    assert ex.dims() == {"visual": 16 + 9 + 12 + 6 + 7 + 6, "audio": 27}


def test_chunk_size_does_not_change_features(tiny_video):
    path = tiny_video(seconds=2.0, size=(96, 80))
    ex = HandcraftedExtractor()
    a = ex.extract(MediaSource(path), chunk=250)
    b = ex.extract(MediaSource(path), chunk=7)
    c = ex.extract(MediaSource(path), chunk=30, prefetch=1)  # decoded in a background thread
    for modality in ("visual", "audio"):
        assert np.array_equal(a.streams[modality], b.streams[modality]), modality
        assert np.array_equal(a.streams[modality], c.streams[modality]), modality


def test_visual_only_works_without_audio_stream(tiny_video):
    path = tiny_video(audio=False)
    visual = HandcraftedExtractor(audio=False)
    assert visual.requires_audio is False and HandcraftedExtractor.requires_audio is True
    assert visual.dims() == {"visual": 134}
    feats = visual.extract(MediaSource(path))
    assert set(feats.streams) == {"visual"} and feats.length == 25
    with pytest.raises(MediaError, match="no audio stream; use a visual-only extractor"):
        HandcraftedExtractor().extract(MediaSource(path))


def test_handcrafted_on_odd_frame_size(tiny_video):
    feats = HandcraftedExtractor().extract(tiny_video(seconds=0.6, size=(63, 47)))
    assert feats.length == 15 and feats.dims == {"visual": 134, "audio": 47}


def test_handcrafted_sees_motion_mouth_and_sound(tmp_path):
    """Static face, then a dark 'mouth' opening in the lower centre, with sound only then."""
    frames, sr = [], 16000
    for k in range(50):
        img = np.full((64, 64, 3), 180, np.uint8)
        if k >= 25:
            img[38:46, 26:38] = 30  # lower-central dark gap
        frames.append(img)
    sound = np.zeros(2 * sr, np.float32)
    t = np.arange(sr) / sr
    sound[sr:] = 0.5 * np.sin(2 * np.pi * 220 * t)
    path = write_video(tmp_path / "mouth.mp4", frames, sound)
    ex = HandcraftedExtractor()
    feats = ex.extract(path)
    v, a = feats.streams["visual"], feats.streams["audio"]
    motion = v[:, -6:]
    assert motion[24, 1] < 0.01 < motion[25, 1]  # mouth motion when it opens
    dark = v[:, -7]  # fraction of dark mouth pixels
    assert dark[:24].max() < 0.05 and dark[26:].min() > 0.1
    energy = a[:, ex.n_mels]
    assert energy[26:].min() > energy[:24].max() + 5
    pitch, voicing = a[:, -2], a[:, -1]
    assert np.median(voicing[27:]) > 0.5
    assert 2 ** np.median(pitch[27:]) * 100 == pytest.approx(220, rel=0.1)


def test_handcrafted_rejects_bad_options():
    with pytest.raises(BadInputError, match="mouth_box"):
        HandcraftedExtractor(mouth_box=(0.5, 0.5, 0.2, 0.9))
    with pytest.raises(BadInputError, match="face_size"):
        HandcraftedExtractor(face_size=4)
    with pytest.raises(BadInputError, match="even"):
        HandcraftedExtractor(face_size=33)


def test_handcrafted_options_round_trip_through_registry():
    from forensicloc.plugins import create

    ex = HandcraftedExtractor(face_box=(0.1, 0.1, 0.9, 0.9), audio=False)
    again = create("extractor", "handcrafted", ex.config)
    assert again.config == ex.config and again.requires_audio is False


# ----------------------------------------------------------------------------- precomputed


def test_resample_to_grid_linear_and_nearest():
    arr = np.arange(4, dtype=np.float32)[:, None]  # steps at 12.5 Hz: centres 0.04, 0.12, ...
    near = resample_to_grid(arr, 12.5, 25.0, 8, "nearest")[:, 0]
    assert near.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    lin = resample_to_grid(arr, 12.5, 25.0, 8, "linear")[:, 0]
    assert lin.tolist() == pytest.approx([0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    same = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    assert np.array_equal(resample_to_grid(same, 25.0, 25.0, 5), same)


def test_precomputed_npz_layout(tmp_path, tiny_video):
    video = tiny_video(seconds=1.0, name="clip.mp4")
    root = tmp_path / "feats"
    (root / "train").mkdir(parents=True)
    np.savez(root / "train" / "clip.npz", visual=np.ones((50, 7)), audio=np.zeros((50, 3)))
    np.savez(root / "clip.npz", visual=np.full((25, 7), 2.0), audio=np.zeros((25, 3)))
    ex = PrecomputedExtractor(root=str(root), rate=50.0)
    # the most specific path wins: <root>/<parent>/<stem>.npz over <root>/<stem>.npz
    moved = video.parent / "train" / "clip.mp4"
    moved.parent.mkdir()
    video.rename(moved)
    feats = ex.extract(MediaSource(moved))
    assert feats.dims == {"visual": 7, "audio": 3} and feats.length == 25
    assert np.all(feats.streams["visual"] == 1.0)
    assert ex.dims() == {"visual": 7, "audio": 3}


def test_precomputed_npy_pair_layout_without_video(tmp_path):
    root = tmp_path / "feats"
    (root / "tsn" / "test").mkdir(parents=True)
    (root / "byola" / "test").mkdir(parents=True)
    np.save(root / "tsn" / "test" / "000001.npy", np.arange(20, dtype=np.float32).reshape(10, 2))
    np.save(root / "byola" / "test" / "000001.npy", np.ones((10, 4), np.float32))
    ex = PrecomputedExtractor(root=str(root), rate=12.5, visual_key="tsn", audio_key="byola", resample="nearest")
    feats = ex.extract(tmp_path / "data" / "test" / "000001.mp4")  # the video need not exist
    assert feats.length == 20 and feats.dims == {"visual": 2, "audio": 4}
    assert feats.streams["visual"][:4, 0].tolist() == [0, 0, 2, 2]
    assert ex.dims() == {"visual": 2, "audio": 4}


def test_precomputed_missing_file_names_it(tmp_path):
    (tmp_path / "feats").mkdir()
    ex = PrecomputedExtractor(root=str(tmp_path / "feats"))
    with pytest.raises(BadInputError, match="no precomputed features for .*lost.mp4") as err:
        ex.extract(tmp_path / "lost.mp4")
    assert "lost.npz" in str(err.value)
    with pytest.raises(BadInputError, match="root"):
        PrecomputedExtractor().extract(tmp_path / "lost.mp4")


def test_precomputed_refuses_pickled_arrays(tmp_path):
    root = tmp_path / "feats"
    root.mkdir()
    np.savez(root / "x.npz", visual=np.array([{"a": 1}], dtype=object), audio=np.zeros((3, 2)))
    with pytest.raises(BadInputError, match="x.npz"):
        PrecomputedExtractor(root=str(root)).extract(tmp_path / "x.mp4")


# ----------------------------------------------------------------------------- cache


class CountingExtractor(HandcraftedExtractor):
    """The handcrafted extractor, counting how often it really extracts."""

    calls = 0

    def extract(self, source, progress=lambda *a: None, **kw):  # type: ignore[override]
        type(self).calls += 1
        return super().extract(source, progress, **kw)


def _features(n: int = 5) -> Features:
    rng = np.random.default_rng(n)
    return Features({"visual": rng.random((n, 4), dtype=np.float32), "audio": rng.random((n, 2), dtype=np.float32)}, duration=0.2)


def test_cache_miss_put_hit(tmp_path, tiny_video):
    video = tiny_video()
    cache = FeatureCache(tmp_path / "cache")
    ex = HandcraftedExtractor()
    assert cache.get(video, ex) is None and not cache.contains(video, ex)
    entry = cache.put(video, ex, _features())
    assert entry.is_relative_to(tmp_path / "cache" / "handcrafted") and entry.suffix == ".npz"
    assert cache.contains(video, ex)
    hit = cache.get(video, ex)
    assert hit is not None and np.array_equal(hit.streams["visual"], _features().streams["visual"])
    assert hit.duration == pytest.approx(0.2) and hit.rate == 25.0
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary left behind
    with zipfile.ZipFile(entry) as zf:  # plain arrays, no pickle
        assert sorted(zf.namelist()) == ["meta.npy", "stream.audio.npy", "stream.visual.npy"]


def test_cache_invalidated_by_config_version_and_file_change(tmp_path, tiny_video):
    video = tiny_video()
    cache = FeatureCache(tmp_path / "cache")
    ex = HandcraftedExtractor()
    cache.put(video, ex, _features())
    assert not cache.contains(video, HandcraftedExtractor(n_mels=20))

    class Bumped(HandcraftedExtractor):
        version = "2"

    assert not cache.contains(video, Bumped())
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not cache.contains(video, ex)


def test_cache_content_hash_survives_touch(tmp_path, tiny_video):
    video = tiny_video()
    cache = FeatureCache(tmp_path / "cache", content_hash=True)
    ex = HandcraftedExtractor()
    key = cache.key(video, ex)
    assert "sha256" in cache.identity(video)
    assert key == FeatureCache(tmp_path / "cache", content_hash=True).key(video, ex)
    assert key != FeatureCache(tmp_path / "cache").key(video, ex)


def test_corrupt_cache_entry_is_a_miss_and_rewritten(tmp_path, tiny_video):
    video = tiny_video()
    cache = FeatureCache(tmp_path / "cache")
    ex = HandcraftedExtractor()
    entry = cache.put(video, ex, _features())
    entry.write_bytes(entry.read_bytes()[:100])  # what a half-written file would look like
    assert cache.get(video, ex) is None and not cache.contains(video, ex)
    CountingExtractor.calls = 0
    store = FeatureStore(CountingExtractor(), cache)
    feats = store.features(video)
    assert CountingExtractor.calls == 1 and cache.contains(video, ex)
    assert np.array_equal(cache.get(video, ex).streams["visual"], feats.streams["visual"])


def test_store_extracts_once(tmp_path, tiny_video):
    video = tiny_video()
    CountingExtractor.calls = 0
    store = FeatureStore(CountingExtractor(), FeatureCache(tmp_path / "cache"))
    first = store.features(VideoRecord(file="v.mp4", path=video))
    second = store.features(video)
    assert CountingExtractor.calls == 1
    assert all(np.array_equal(first.streams[k], second.streams[k]) for k in first.streams)


def test_precomputed_is_not_cached(tmp_path):
    root = tmp_path / "feats"
    root.mkdir()
    np.savez(root / "a.npz", visual=np.ones((5, 2)), audio=np.ones((5, 2)))
    cache = FeatureCache(tmp_path / "cache")
    FeatureStore(PrecomputedExtractor(root=str(root)), cache).features(tmp_path / "a.mp4")
    assert not (tmp_path / "cache").exists()


def test_default_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICLOC_CACHE", str(tmp_path / "c"))
    assert FeatureCache().directory == tmp_path / "c" / "features"


# ----------------------------------------------------------------------------- extract_all


def _dataset(tmp_path: Path, tiny_video) -> list[VideoRecord]:
    good = [tiny_video(seconds=0.8, seed=i, name=f"good{i}.mp4") for i in range(3)]
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 64)
    paths = [good[0], bad, good[1], good[2]]
    return [VideoRecord(file=p.name, path=p) for p in paths]


def test_extract_all_reports_the_bad_file_and_keeps_going(tmp_path, tiny_video):
    records = _dataset(tmp_path, tiny_video)
    cache = FeatureCache(tmp_path / "cache")
    ex = HandcraftedExtractor()
    seen = []
    report = extract_all(records, ex, cache, progress=lambda done, total, text: seen.append((done, total)))
    assert isinstance(report, ExtractionReport)
    assert (report.extracted, report.cached) == (3, 0)
    assert [f for f, _ in report.failed] == ["bad.mp4"] and "bad.mp4" in report.failed[0][1]
    assert seen[-1] == (4, 4)
    again = extract_all(records, ex, cache)
    assert (again.extracted, again.cached, len(again.failed)) == (0, 3, 1)


def test_extract_all_missing_file_is_reported(tmp_path, tiny_video):
    records = [VideoRecord(file="gone.mp4", path=tmp_path / "gone.mp4"), VideoRecord(file="ok.mp4", path=tiny_video())]
    report = extract_all(records, HandcraftedExtractor(), FeatureCache(tmp_path / "cache"))
    assert report.extracted == 1 and report.failed[0][0] == "gone.mp4" and "does not exist" in report.failed[0][1]


def test_extract_all_two_workers_equals_one(tmp_path, tiny_video):
    records = _dataset(tmp_path, tiny_video)
    ex = HandcraftedExtractor(face_size=32)
    one, two = FeatureCache(tmp_path / "one"), FeatureCache(tmp_path / "two")
    r1 = extract_all(records, ex, one, workers=1)
    r2 = extract_all(records, ex, two, workers=2)
    assert (r1.extracted, len(r1.failed)) == (r2.extracted, len(r2.failed)) == (3, 1)
    assert [f for f, _ in r2.failed] == ["bad.mp4"]
    for record in records[::2] + records[3:]:
        a, b = one.get(record.path, ex), two.get(record.path, ex)
        assert a is not None and b is not None
        assert all(np.array_equal(a.streams[k], b.streams[k]) for k in a.streams)
