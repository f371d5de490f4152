"""Dataset readers: what they read, and a clear error for every kind of bad metadata.

Videos here are empty placeholder files: readers never decode, they only check that a
listed video exists. Each bad-input case has its own test and checks the message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forensicloc.datasets import detect_format, open_dataset
from forensicloc.datasets.avdf1m import AVDeepfake1MFormat
from forensicloc.datasets.folder import FolderFormat
from forensicloc.datasets.lavdf import LAVDFFormat
from forensicloc.datasets.summary import summarize
from forensicloc.datasets.validation import resolve_inside
from forensicloc.errors import ForensiclocError, MetadataError, UnknownComponentError

# --------------------------------------------------------------------------- helpers


def lavdf_entry(file: str, split: str = "train", periods: list[list[float]] | None = None, *, video: bool = False, audio: bool = False, **extra: Any) -> dict[str, Any]:
    periods = periods or []
    return {
        "file": file,
        "n_fakes": len(periods),
        "fake_periods": periods,
        "duration": 4.0,
        "original": None if not periods else "train/000000.mp4",
        "modify_video": video,
        "modify_audio": audio,
        "split": split,
        "video_frames": 100,
        "audio_channels": 1,
        "audio_frames": 64000,
        **extra,
    }


def write_lavdf(root: Path, entries: list[dict[str, Any]], name: str = "metadata.json", touch: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(json.dumps(entries, indent=1))
    if touch:
        for e in entries:
            if isinstance(e.get("file"), str) and not os.path.isabs(e["file"]) and ".." not in e["file"]:
                (root / e["file"]).parent.mkdir(parents=True, exist_ok=True)
                (root / e["file"]).touch()
    return root


def avdf_entry(file: str, modify_type: str = "real", segments: list[list[float]] | None = None, split: str = "train") -> dict[str, Any]:
    segments = segments or []
    audio = modify_type in ("audio_modified", "both_modified", "both-modified")
    visual = modify_type in ("visual_modified", "both_modified", "both-modified")
    return {
        "file": file,
        "original": None,
        "split": split,
        "modify_type": modify_type,
        "audio_model": "yourtts" if audio else "",
        "fake_segments": segments,
        "audio_fake_segments": segments if audio else [],
        "visual_fake_segments": segments if visual else [],
        "video_frames": 250,
        "audio_frames": 160000,
    }


def write_avdf(root: Path, split: str, entries: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{split}_metadata.json").write_text(json.dumps(entries))
    for e in entries:
        (root / split / e["file"]).parent.mkdir(parents=True, exist_ok=True)
        (root / split / e["file"]).touch()
    return root


def error_of(root: Path, fmt: str | None = None, **options: Any) -> str:
    with pytest.raises(MetadataError) as info:
        open_dataset(root, fmt, **options)
    return str(info.value)


# --------------------------------------------------------------------------- LAV-DF


def test_lavdf_reads_labels_segments_and_modify_types(tmp_path: Path) -> None:
    root = write_lavdf(
        tmp_path,
        [
            lavdf_entry("train/000000.mp4"),
            lavdf_entry("train/000001.mp4", periods=[[0.5, 1.25]], video=True, families=["lip-sync"], speaker="s1"),
            lavdf_entry("dev/000002.mp4", "dev", periods=[[1.0, 1.5], [2.0, 3.0]], audio=True),
            lavdf_entry("test/000003.mp4", "test", periods=[[0.2, 0.6]], video=True, audio=True, transcript="ignored"),
        ],
    )
    ds = open_dataset(root)
    assert ds.format == "lavdf" and len(ds) == 4 and ds.splits == ["dev", "test", "train"]
    real, visual, audio, both = ds.records
    assert (real.label, real.modify_type, real.fake_segments, real.visual_segments) == (0, "real", (), ())
    assert visual.label == 1 and visual.modify_type == "visual_modified"
    assert visual.fake_segments == visual.visual_segments == ((0.5, 1.25),) and visual.audio_segments == ()
    assert visual.families == ("lip-sync",) and visual.extra["speaker"] == "s1"
    assert audio.modify_type == "audio_modified" and audio.audio_segments == ((1.0, 1.5), (2.0, 3.0))
    assert audio.visual_segments == () and audio.families is None
    assert both.modify_type == "both_modified" and both.visual_segments == both.audio_segments == ((0.2, 0.6),)
    assert both.extra["transcript"] == "ignored"
    assert both.path == root / "test/000003.mp4" and both.duration == 4.0


def test_lavdf_prefers_min_metadata_and_honours_the_option(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4")], "metadata.json")
    write_lavdf(tmp_path, [lavdf_entry("train/b.mp4")], "metadata.min.json")
    assert [r.file for r in open_dataset(tmp_path)] == ["train/b.mp4"]
    assert [r.file for r in open_dataset(tmp_path, metadata="metadata.json")] == ["train/a.mp4"]


def test_without_annotations_leaves_nothing_segment_level(tmp_path: Path) -> None:
    root = write_lavdf(tmp_path, [lavdf_entry("train/a.mp4", periods=[[0.5, 1.0]], video=True, families=["blend"])])
    record = open_dataset(root).records[0].without_annotations()
    assert record.label == 1
    assert record.fake_segments is None and record.visual_segments is None and record.audio_segments is None
    assert record.families is None and record.modify_type is None and dict(record.extra) == {}
    assert not record.has_annotations


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('[\n  {"file": "a.mp4",\n  "split": }\n]\n')
    message = error_of(tmp_path)
    assert "metadata.json" in message and "malformed JSON at line 3" in message


def test_metadata_that_is_not_a_list(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('{"file": "a.mp4"}')
    assert "expected a JSON list of entries" in error_of(tmp_path)


def test_missing_field_names_entry_and_field(tmp_path: Path) -> None:
    entry = lavdf_entry("train/a.mp4")
    del entry["fake_periods"]
    write_lavdf(tmp_path, [lavdf_entry("train/b.mp4"), entry])
    message = error_of(tmp_path)
    assert "metadata.json: entry 1 (train/a.mp4)" in message
    assert "missing required field 'fake_periods'" in message


def test_wrong_type_names_the_field(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4", n_fakes="one")])
    message = error_of(tmp_path)
    assert "entry 0 (train/a.mp4)" in message and "'n_fakes' must be an integer, got a string \"one\"" in message


def test_bad_segment_is_named(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4", periods=[[2.0, 1.0]], video=True)])
    assert "'fake_periods'[0] = [2.0, 1.0] is not a valid segment" in error_of(tmp_path)


def test_n_fakes_must_match_the_periods(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [{**lavdf_entry("train/a.mp4", periods=[[0.1, 0.5]], video=True), "n_fakes": 2}])
    assert "n_fakes is 2 but fake_periods has 1 segment(s)" in error_of(tmp_path)


def test_families_must_align_with_the_periods(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4", periods=[[0.1, 0.5]], video=True, families=["a", "b"])])
    assert "field 'families' has 2 items but the entry has 1 fake segments" in error_of(tmp_path)


def test_file_escaping_the_root_with_dotdot(tmp_path: Path) -> None:
    (tmp_path / "outside.mp4").touch()
    root = write_lavdf(tmp_path / "data", [lavdf_entry("../outside.mp4")])
    message = error_of(root)
    assert "entry 0 (../outside.mp4)" in message and "resolves outside the dataset root" in message


def test_file_given_as_an_absolute_path(tmp_path: Path) -> None:
    video = tmp_path / "data" / "train" / "a.mp4"
    root = write_lavdf(tmp_path / "data", [lavdf_entry(str(video))])
    video.parent.mkdir(parents=True)
    video.touch()
    message = error_of(root)
    assert "entry 0" in message and "is an absolute path" in message


def test_symlink_pointing_out_of_the_root(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.mp4").touch()
    root = tmp_path / "data"
    root.mkdir()
    (root / "train").symlink_to(tmp_path / "elsewhere")
    write_lavdf(root, [lavdf_entry("train/a.mp4")], touch=False)
    assert "resolves outside the dataset root" in error_of(root)


def test_resolve_inside_accepts_inner_paths(tmp_path: Path) -> None:
    assert resolve_inside(tmp_path, "a/../b.mp4") == tmp_path / "a/../b.mp4"
    with pytest.raises(MetadataError, match="non-empty relative path"):
        resolve_inside(tmp_path, "")


def test_duplicate_entries(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4"), lavdf_entry("train/b.mp4"), lavdf_entry("train/a.mp4")])
    message = error_of(tmp_path)
    assert "entry 2 (train/a.mp4)" in message and "duplicate entry" in message and "also entry 0" in message


def test_missing_video_file_is_reported(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4"), lavdf_entry("train/b.mp4")])
    (tmp_path / "train" / "b.mp4").unlink()
    message = error_of(tmp_path)
    assert "1 video file(s) listed in" in message and "entry 1 (train/b.mp4)" in message
    assert "missing=skip" in message
    assert [r.file for r in open_dataset(tmp_path, missing="skip")] == ["train/a.mp4"]
    assert len(open_dataset(tmp_path, missing="ignore")) == 2


def test_bad_missing_policy(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4")])
    assert "missing='maybe' is not one of error, skip, ignore" in error_of(tmp_path, missing="maybe")


# --------------------------------------------------------------------------- AV-Deepfake1M


def test_avdf1m_both_modified_spellings_and_layout(tmp_path: Path) -> None:
    write_avdf(
        tmp_path,
        "train",
        [
            avdf_entry("id0/real.mp4"),
            avdf_entry("id0/fake1.mp4", "both_modified", [[1.0, 1.5]]),
            avdf_entry("id0/fake2.mp4", "both-modified", [[2.0, 2.4]]),
            avdf_entry("id0/fake3.mp4", "audio_modified", [[0.5, 0.9]]),
        ],
    )
    write_avdf(tmp_path, "val", [avdf_entry("id1/fake.mp4", "visual_modified", [[3.0, 3.2]], split="val")])
    ds = open_dataset(tmp_path)
    assert ds.format == "avdf1m" and ds.splits == ["train", "val"]
    real, both1, both2, audio, visual = ds.records
    assert real.label == 0 and real.modify_type == "real" and real.duration == 10.0
    assert both1.modify_type == both2.modify_type == "both_modified"
    assert both2.visual_segments == both2.audio_segments == ((2.0, 2.4),)
    assert audio.audio_segments == ((0.5, 0.9),) and audio.visual_segments == ()
    assert visual.split == "val" and visual.path == tmp_path / "val" / "id1/fake.mp4"
    assert [r.file for r in open_dataset(tmp_path, splits="val")] == ["id1/fake.mp4"]


def test_avdf1m_test_files_listing_has_no_labels(tmp_path: Path) -> None:
    write_avdf(tmp_path, "train", [avdf_entry("a.mp4")])
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "x.mp4").touch()
    (tmp_path / "test_files.txt").write_text("x.mp4\n")
    record = open_dataset(tmp_path).split("test")[0]
    assert record.label is None and record.fake_segments is None and record.path == tmp_path / "test" / "x.mp4"


def test_avdf1m_unknown_modify_type(tmp_path: Path) -> None:
    write_avdf(tmp_path, "train", [avdf_entry("a.mp4", "face_swapped", [[0.1, 0.2]])])
    message = error_of(tmp_path)
    assert "train_metadata.json: entry 0 (a.mp4)" in message and "'modify_type' is 'face_swapped'" in message


def test_avdf1m_real_video_with_segments_is_inconsistent(tmp_path: Path) -> None:
    write_avdf(tmp_path, "train", [avdf_entry("a.mp4", "real", [[0.1, 0.2]])])
    assert "modify_type is 'real' but fake_segments is not empty" in error_of(tmp_path)


def test_avdf1m_file_escaping_the_split_folder(tmp_path: Path) -> None:
    (tmp_path / "train_metadata.json").write_text(json.dumps([avdf_entry("../../x.mp4")]))
    assert "resolves outside the dataset root" in error_of(tmp_path)


def test_avdf1m_requested_split_that_does_not_exist(tmp_path: Path) -> None:
    write_avdf(tmp_path, "train", [avdf_entry("a.mp4")])
    message = error_of(tmp_path, splits="val")
    assert "no val_metadata.json" in message and "splits=train" in message


# --------------------------------------------------------------------------- folder


def test_folder_without_labels(tmp_path: Path) -> None:
    for name in ("b/clip.mkv", "a.mp4", "notes.txt", ".hidden/x.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    ds = open_dataset(tmp_path)
    assert ds.format == "folder"
    assert [(r.file, r.label, r.split) for r in ds] == [("a.mp4", None, None), ("b/clip.mkv", None, None)]


def test_folder_labels_csv(tmp_path: Path) -> None:
    for name in ("r.mp4", "f.mp4", "z.webm", "u.mp4"):
        (tmp_path / name).touch()
    (tmp_path / "labels.csv").write_text("file,label,split\nr.mp4,real,train\nf.mp4,FAKE,test\nz.webm,1,\n")
    ds = open_dataset(tmp_path)
    got = {r.file: (r.label, r.split) for r in ds}
    assert got == {"r.mp4": (0, "train"), "f.mp4": (1, "test"), "z.webm": (1, None), "u.mp4": (None, None)}


def test_folder_bad_label(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").touch()
    (tmp_path / "labels.csv").write_text("file,label\na.mp4,maybe\n")
    message = error_of(tmp_path)
    assert "labels.csv: line 2 (a.mp4)" in message and "'maybe' is not real, fake, 0 or 1" in message


def test_folder_csv_missing_columns(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").touch()
    (tmp_path / "labels.csv").write_text("name,label\na.mp4,real\n")
    assert "must name the columns 'file' and 'label'" in error_of(tmp_path)


def test_folder_csv_duplicate_and_escape(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").touch()
    (tmp_path / "labels.csv").write_text("file,label\na.mp4,real\na.mp4,fake\n")
    assert "line 3 (a.mp4): duplicate entry: also on line 2" in error_of(tmp_path)
    (tmp_path / "labels.csv").write_text("file,label\n../a.mp4,real\n")
    assert "resolves outside the dataset root" in error_of(tmp_path)


def test_folder_is_not_detected_next_to_metadata(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4")])
    assert not FolderFormat.detect(tmp_path) and LAVDFFormat.detect(tmp_path)
    assert detect_format(tmp_path) == "lavdf"


# --------------------------------------------------------------------------- open_dataset


def test_open_dataset_root_does_not_exist(tmp_path: Path) -> None:
    message = error_of(tmp_path / "nope")
    assert "dataset root" in message and "does not exist" in message


def test_open_dataset_root_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text("[]")
    assert "is a file, not a folder" in error_of(tmp_path / "metadata.json")


def test_open_dataset_nothing_recognised_lists_formats(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hello")
    message = error_of(tmp_path)
    assert "not a dataset any installed format recognises" in message
    for name in ("avdf1m", "folder", "lavdf"):
        assert name in message


def test_open_dataset_unknown_format_and_option(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4")])
    with pytest.raises(UnknownComponentError, match="unknown dataset 'lavdf2'"):
        open_dataset(tmp_path, "lavdf2")
    with pytest.raises(UnknownComponentError, match="bad options"):
        open_dataset(tmp_path, "lavdf", colour="red")


def test_explicit_format_on_the_wrong_layout(tmp_path: Path) -> None:
    write_lavdf(tmp_path, [lavdf_entry("train/a.mp4")])
    assert "has no {train,val,test}_metadata.json" in error_of(tmp_path, "avdf1m")
    assert isinstance(AVDeepfake1MFormat(), AVDeepfake1MFormat)


# --------------------------------------------------------------------------- summary and CLI


def test_summary_counts_and_histogram(tmp_path: Path) -> None:
    root = write_lavdf(
        tmp_path,
        [
            lavdf_entry("train/a.mp4"),
            lavdf_entry("train/b.mp4", periods=[[0.0, 0.3], [1.0, 2.5]], video=True, families=["blend", "freeze"]),
            lavdf_entry("test/c.mp4", "test", periods=[[0.1, 0.2]], audio=True, video=True, families=["splice+lip-sync"]),
        ],
    )
    summary = summarize(open_dataset(root))
    total = summary["total"]
    assert (total["videos"], total["real"], total["fake"], total["segments"]) == (3, 1, 2, 3)
    assert total["modify_types"] == {"both_modified": 1, "real": 1, "visual_modified": 1}
    assert total["families"] == {"blend": 1, "freeze": 1, "lip-sync": 1, "splice": 1}
    assert total["segment_length_histogram"]["0-0.25 s"] == 1
    assert total["segment_length_histogram"]["0.25-0.5 s"] == 1
    assert total["segment_length_histogram"]["1-2 s"] == 1
    assert total["segments_per_video"] == {"0": 1, "1": 1, "2": 1}
    assert list(summary["splits"]) == ["train", "test"]


def test_datasets_info_and_formats_commands(tmp_path: Path) -> None:
    from forensicloc.cli import build_cli

    root = write_lavdf(tmp_path / "d", [lavdf_entry("train/a.mp4"), lavdf_entry("train/b.mp4", periods=[[0.5, 1.0]], video=True)])
    runner = CliRunner()
    cli = build_cli()
    result = runner.invoke(cli, ["datasets", "info", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "lavdf" and data["total"]["fake"] == 1
    result = runner.invoke(cli, ["datasets", "info", str(root)])
    assert result.exit_code == 0 and "forged segments" in result.output
    result = runner.invoke(cli, ["datasets", "formats", "--json"])
    assert {"lavdf", "avdf1m", "folder"} <= {f["name"] for f in json.loads(result.output)}
    result = runner.invoke(cli, ["datasets", "info", str(root), "--opt", "missing=nope"])
    assert result.exit_code != 0 and isinstance(result.exception, ForensiclocError)
