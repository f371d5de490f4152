"""Media decoding: the snippet grid, streaming chunks, and every kind of bad file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from forensicloc.errors import MediaError
from forensicloc.media import MediaSource, probe, write_test_video, write_video


def _decode(path: Path, **kw) -> tuple[np.ndarray | None, np.ndarray | None]:
    snippets = kw.pop("snippets", 250)
    video, audio = kw.pop("video", True), kw.pop("audio", True)
    chunks = list(MediaSource(path, **kw).chunks(snippets=snippets, video=video, audio=audio))
    frames = np.concatenate([c.frames for c in chunks]) if video else None
    sound = np.concatenate([c.audio for c in chunks]) if audio else None
    return frames, sound


def _index_video(path: Path, levels: list[int], timestamps: list[float] | None = None, audio=None, **kw) -> Path:
    """A video whose frame k is a flat grey of ``levels[k]`` (survives compression)."""
    frames = [np.full((32, 32, 3), v, np.uint8) for v in levels]
    return write_video(path, frames, audio, timestamps=timestamps, **kw)


def test_probe_reads_the_header(tiny_video):
    info = probe(tiny_video(seconds=2.0, size=(64, 48)))
    assert (info.width, info.height) == (64, 48)
    assert info.has_video and info.has_audio
    assert info.fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.sample_rate == 16000
    assert info.n_frames == 50


def test_chunks_cover_the_grid_with_aligned_audio(tmp_path):
    sr = 16000
    sound = np.zeros(2 * sr, np.float32)
    sound[8000:8100] = 0.9  # a click at 0.5 s, inside snippet 12 = [0.48, 0.52)
    path = _index_video(tmp_path / "v.mp4", [10 * k % 250 for k in range(50)], audio=sound)
    src = MediaSource(path, size=(16, 8))
    assert src.n_snippets == 50
    chunks = list(src.chunks(snippets=20))
    assert [c.start for c in chunks] == [0, 20, 40]
    assert [len(c) for c in chunks] == [20, 20, 10]
    frames = np.concatenate([c.frames for c in chunks])
    audio = np.concatenate([c.audio for c in chunks])
    assert frames.shape == (50, 8, 16, 3) and frames.dtype == np.uint8
    assert audio.shape == (50, 640) and audio.dtype == np.float32
    assert int(np.argmax(np.abs(audio).max(axis=1))) == 12
    # frame k is shown in snippet k (25 fps on a 25 Hz grid)
    assert np.abs(frames.mean(axis=(1, 2, 3)) - [10 * k % 250 for k in range(50)]).max() < 4


def test_chunk_size_does_not_change_decoding(tiny_video):
    path = tiny_video(seconds=1.5)
    a = _decode(path, snippets=250, size=(24, 24))
    b = _decode(path, snippets=7, size=(24, 24))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_other_rates_and_crop(tiny_video):
    path = tiny_video(seconds=1.0, size=(64, 64))
    frames, audio = _decode(path, rate=10.0, sample_rate=8000, size=(20, 10), crop=(0.25, 0.5, 0.75, 1.0))
    assert frames.shape == (10, 10, 20, 3)
    assert audio.shape == (10, 800)
    full, _ = _decode(path, rate=10.0, audio=False)
    assert full.shape == (10, 64, 64, 3)
    cropped, _ = _decode(path, rate=10.0, audio=False, crop=(0.25, 0.5, 0.75, 1.0))
    assert cropped.shape == (10, 32, 32, 3)
    assert np.array_equal(cropped, full[:, 32:64, 16:48])


def test_vfr_timestamps_map_to_the_displayed_frame(tmp_path):
    times = [0.0, 0.03, 0.05, 0.13, 0.2, 0.21, 0.22, 0.5, 0.52, 0.9]
    levels = [20 + 20 * k for k in range(len(times))]
    path = _index_video(tmp_path / "vfr.mp4", levels, timestamps=times)
    frames, _ = _decode(path, audio=False, snippets=4)
    shown = np.round((frames.mean(axis=(1, 2, 3)) - 20) / 20).astype(int)
    # snippet i shows the last frame whose timestamp is not after i / 25 s
    expected = [max(k for k, t in enumerate(times) if t <= i / 25 + 1e-9) for i in range(len(shown))]
    assert shown.tolist() == expected
    assert len(shown) == 24  # last frame at 0.9 s, held for one nominal frame period
    assert 7 not in expected[:12] and expected.count(5) == 0  # frames repeated and dropped


def test_vfr_test_video_has_irregular_timestamps(tiny_video):
    import av

    path = tiny_video(seconds=1.0, vfr=True, seed=3)
    with av.open(str(path)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    gaps = np.diff(times)
    assert gaps.max() - gaps.min() > 0.02
    frames, audio = _decode(path, snippets=5)
    assert len(frames) == len(audio) == MediaSource(path).n_snippets


def test_odd_frame_size(tiny_video):
    path = tiny_video(seconds=0.6, size=(63, 47), audio=False)
    info = probe(path)
    assert (info.width, info.height) == (63, 47)
    full, _ = _decode(path, audio=False)
    assert full.shape == (15, 47, 63, 3)
    small, _ = _decode(path, audio=False, size=(33, 17))
    assert small.shape == (15, 17, 33, 3)


def test_write_video_refuses_odd_yuv420(tmp_path):
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", [np.zeros((47, 63, 3), np.uint8)])


def test_no_audio_stream_is_visual_only(tiny_video):
    path = tiny_video(audio=False)
    assert not probe(path).has_audio
    frames, _ = _decode(path, audio=False)
    assert len(frames) == 25
    with pytest.raises(MediaError, match="has no audio stream; use a visual-only extractor") as err:
        _decode(path)
    assert str(path) in str(err.value)


def test_no_video_stream(tmp_path):
    path = write_video(tmp_path / "speech.mp4", None, np.zeros(16000, np.float32))
    with pytest.raises(MediaError, match="no video stream") as err:
        probe(path)
    assert "speech.mp4" in str(err.value)


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(MediaError, match="empty") as err:
        probe(path)
    assert "empty.mp4" in str(err.value)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(20000))
    with pytest.raises(MediaError, match="not a media file") as err:
        MediaSource(path).info
    assert "noise.mp4" in str(err.value)


def test_truncated_mp4(tiny_video, tmp_path):
    data = tiny_video(seconds=1.0).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])  # the index (moov) is written last: it is gone
    with pytest.raises(MediaError, match="truncated") as err:
        probe(path)
    assert "cut.mp4" in str(err.value)


def test_truncated_mp4_with_index_first(tmp_path):
    import av

    full = tmp_path / "fast.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(50):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = full.read_bytes()
    path = tmp_path / "cut_fast.mp4"
    path.write_bytes(data[: len(data) // 3])
    assert probe(path).duration == pytest.approx(2.0)  # the header survived...
    with pytest.raises(MediaError, match="cut_fast.mp4") as err:  # ...the frames did not
        _decode(path, audio=False)
    assert "truncated" in str(err.value) or "cannot be decoded" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        probe(tmp_path / "nope.mp4")


def test_stopping_early_releases_the_decoder(tiny_video):
    path = tiny_video(seconds=2.0)
    before = threading.active_count()
    chunks = MediaSource(path).chunks(snippets=5, prefetch=1)
    next(chunks)
    chunks.close()
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_prefetch_gives_the_same_chunks(tiny_video):
    path = tiny_video(seconds=1.0)
    a = list(MediaSource(path, size=(16, 16)).chunks(snippets=6, prefetch=0))
    b = list(MediaSource(path, size=(16, 16)).chunks(snippets=6, prefetch=2))
    assert [c.start for c in a] == [c.start for c in b]
    assert all(np.array_equal(x.frames, y.frames) and np.array_equal(x.audio, y.audio) for x, y in zip(a, b))
