"""``forensicloc extract``: a dataset into the cache, bad videos listed, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensicloc.cli import main


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def folder(tmp_path, tiny_video) -> Path:
    root = tmp_path / "videos"
    root.mkdir()
    for i in range(2):
        tiny_video(seconds=0.6, seed=i, name=f"videos/clip{i}.mp4")
    (root / "broken.mp4").write_bytes(b"not a video at all" * 10)
    return root


def test_extract_folder_lists_failures_and_exits_1(folder, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert run(["extract", str(folder), "--cache", str(cache)]) == 1
    out, err = capsys.readouterr()
    assert "2 extracted" in out and "1 failed" in out
    assert "broken.mp4" in err and "not a media file" in err
    assert len(list((cache / "handcrafted").rglob("*.npz"))) == 2

    assert run(["extract", str(folder), "--cache", str(cache), "--workers", "2"]) == 1
    out, _ = capsys.readouterr()
    assert "0 extracted, 2 already cached, 1 failed" in out


def test_extract_clean_folder_exits_0_with_workers(tmp_path, tiny_video, capsys):
    for i in range(3):
        tiny_video(seconds=0.5, seed=i, name=f"clip{i}.mp4")
    (tmp_path / "cache").mkdir()
    code = run(["extract", str(tmp_path), "--cache", str(tmp_path / "cache"), "--workers", "2", "--opt", "face_size=32"])
    assert code == 0
    assert "3 extracted, 0 already cached, 0 failed" in capsys.readouterr().out


def test_extract_single_video_visual_only(tiny_video, tmp_path, capsys):
    video = tiny_video(audio=False)
    cache = tmp_path / "cache"
    assert run(["extract", str(video), "--cache", str(cache)]) == 1  # audio needed by default
    assert "use a visual-only extractor" in capsys.readouterr().err
    assert run(["extract", str(video), "--cache", str(cache), "--opt", "audio=false"]) == 0
    assert "1 extracted" in capsys.readouterr().out


def test_extract_bad_option_is_a_clear_error(tiny_video, tmp_path, capsys):
    code = run(["extract", str(tiny_video()), "--cache", str(tmp_path / "c"), "--opt", "n_mel=3"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no option 'n_mel'" in err and "Traceback" not in err


def test_extract_lavdf_split(tmp_path, tiny_video, capsys):
    root = tmp_path / "lavdf"
    entries = []
    for i, split in enumerate(["train", "train", "test"]):
        file = f"{split}/{i:06d}.mp4"
        (root / split).mkdir(parents=True, exist_ok=True)
        tiny_video(seconds=0.6, seed=i, name=f"lavdf/{file}")
        entries.append(
            {
                "file": file,
                "split": split,
                "n_fakes": 0,
                "fake_periods": [],
                "duration": 0.6,
                "original": None,
                "modify_video": False,
                "modify_audio": False,
                "video_frames": 15,
                "audio_channels": 1,
                "audio_frames": 9600,
            }
        )
    (root / "metadata.json").write_text(json.dumps(entries))
    cache = tmp_path / "cache"
    assert run(["extract", str(root), "--cache", str(cache), "--split", "train"]) == 0
    out = capsys.readouterr().out
    assert "2 videos" in out and "2 extracted" in out
    assert run(["extract", str(root), "--cache", str(cache), "--split", "nope"]) != 0
    assert "no split 'nope'" in capsys.readouterr().err
