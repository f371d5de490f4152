"""Evaluation: every rule of the official evaluators, by hand-computed cases and properties.

Each expected number below is worked out in the comment next to it, following the
official algorithm (ControlNet/LAV-DF ``metrics.py``, ``avdeepfake1m`` ``loc_1d.rs``).
When the compiled ``avdeepfake1m`` evaluator is installed (``pip install --no-deps
avdeepfake1m``), randomized inputs are also compared with it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensicloc.api import Segment, VideoRecord
from forensicloc.errors import BadInputError, MetadataError
from forensicloc.evaluation import (
    AR_THRESHOLDS,
    PROTOCOLS,
    EvaluationResult,
    average_precision,
    average_recall,
    evaluate,
    iou_matrix,
    load_ground_truth,
    official_evaluator,
    video_auc,
)
from forensicloc.predictions import (
    PredictionsError,
    load_prediction_arrays,
    load_predictions,
    load_video_scores,
    to_official,
    write_predictions,
)

KIND = {"v": "visual_modified", "a": "audio_modified", "b": "both_modified", "r": "real"}


def rec(file: str, segments=(), kind: str | None = None, duration: float | None = 10.0) -> VideoRecord:
    kind = kind or ("v" if segments else "r")
    return VideoRecord(
        file=file,
        path=Path(file),
        split="test",
        label=int(kind != "r"),
        duration=duration,
        fake_segments=tuple(tuple(map(float, s)) for s in segments),
        modify_type=KIND[kind],
    )


# --------------------------------------------------------------------------- protocols and IoU


def test_protocols_have_the_official_thresholds_and_keys():
    assert PROTOCOLS["lavdf"].metric_names == ["AP@0.5", "AP@0.75", "AP@0.95", "AR@100", "AR@50", "AR@20", "AR@10"]
    assert PROTOCOLS["avdf1m"].metric_names == [
        "AP@0.5", "AP@0.75", "AP@0.9", "AP@0.95", "AR@50", "AR@30", "AR@20", "AR@10", "AR@5",
    ]
    assert AR_THRESHOLDS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def test_iou_matrix():
    iou = iou_matrix([[0, 1], [0, 2], [5, 6]], [[0, 2], [1, 3]])
    assert iou.shape == (3, 2)
    np.testing.assert_allclose(iou, [[0.5, 0.0], [1.0, 1 / 3], [0.0, 0.0]], rtol=1e-6)
    # identical zero-length segments: 0/0, which can never exceed a threshold
    assert math.isnan(iou_matrix([[1, 1]], [[1, 1]])[0, 0])


def test_iou_is_float32_like_the_official_code():
    # in float64 the IoU of [3.1, 4] with [3, 4] is 0.8999999999999999; both official
    # evaluators parse into float32, where it is 0.90000010 > float32(0.9): found
    assert average_recall([[[1.0, 3.1, 4.0]]], [[[3.0, 4.0]]], n=1, thresholds=[0.9]) == 1.0


# --------------------------------------------------------------------------- matching rules


def test_iou_must_be_strictly_greater_than_the_threshold():
    # proposal [0, 1] against [0, 2]: IoU exactly 0.5
    assert average_recall([[[1.0, 0.0, 1.0]]], [[[0.0, 2.0]]], n=1, thresholds=[0.5]) == 0.0
    assert average_recall([[[1.0, 0.0, 1.0]]], [[[0.0, 2.0]]], n=1, thresholds=[0.45]) == 1.0
    preds = [[[0.9, 0.0, 2.0]], [[0.8, 0.0, 1.0]]]
    truth = [[[0.0, 2.0]], [[0.0, 2.0]]]
    # t=0.5: ranking TP, FP; the only TP is the first step, which the curve skips: 0
    assert average_precision(preds, truth, 0.5) == 0.0
    # t=0.4: TP, TP; second step: recall 1/2 -> 1 at precision 1: 0.5
    assert average_precision(preds, truth, 0.4) == pytest.approx(0.5)


def test_each_segment_takes_the_first_unused_proposal_in_list_order():
    # one segment, two exact proposals listed low score first: the official code does
    # not sort, so the 0.1 proposal is the TP and 0.9 a FP. Ranking FP, TP: AP 0.5
    assert average_precision([[[0.1, 1.0, 2.0], [0.9, 1.0, 2.0]]], [[[1.0, 2.0]]], 0.5) == pytest.approx(0.5)
    # sorted, the TP comes first and is the uncounted first step: 0
    assert average_precision([[[0.9, 1.0, 2.0], [0.1, 1.0, 2.0]]], [[[1.0, 2.0]]], 0.5) == 0.0


def test_greedy_matching_in_segment_order_when_a_proposal_fits_two_segments():
    # video 0: A=[0,2], B=[0,4]; p0=[0,3] (IoU 2/3 with A, 3/4 with B), p1=[0,2] (1 with A,
    # exactly 0.5 with B: no). A takes p0 (first in list); B's only candidate is used.
    # video 1: C=[0,1] with an exact proposal scored 0.95.
    # Ranking: C TP, p0 TP, p1 FP; 3 segments: AP = (precision 2/2 at the 2nd TP) / 3
    preds = [[[0.9, 0.0, 3.0], [0.8, 0.0, 2.0]], [[0.95, 0.0, 1.0]]]
    truth = [[[0.0, 2.0], [0.0, 4.0]], [[0.0, 1.0]]]
    assert average_precision(preds, truth, 0.5) == pytest.approx(1 / 3)
    # (an optimal assignment would give p1 to A and p0 to B: 2/3 — not the official rule)


def test_pooled_ranking_is_a_stable_sort_over_videos_in_metadata_order():
    # equal scores: the video listed first in the metadata ranks first
    a, b = rec("a", [[1, 2]]), rec("b")
    preds = {"a": [[0.5, 1.0, 2.0]], "b": [[0.5, 0.0, 1.0]]}
    # a first: TP, FP -> the TP is the first step: 0
    assert evaluate(preds, [a, b]).metrics["AP@0.5"] == 0.0
    # b first: FP, TP -> recall 0 -> 1 at precision 1/2: 0.5
    assert evaluate(preds, [b, a]).metrics["AP@0.5"] == pytest.approx(0.5)


def test_precision_is_made_monotone_with_a_running_maximum():
    # ranking TP .9, FP .8, TP .7, FP .6, FP .5, TP .4, TP .3 over 4 segments;
    # precision at the TPs: 1, 2/3, 3/6, 4/7; running max from the bottom: 1, 2/3, 4/7, 4/7;
    # first step skipped: AP = (2/3 + 4/7 + 4/7) / 4
    records = [rec(f"v{i}", [[0, 1]]) for i in range(4)] + [rec("real")]
    preds = {
        "v0": [[0.9, 0.0, 1.0]],
        "v1": [[0.7, 0.0, 1.0]],
        "v2": [[0.4, 0.0, 1.0]],
        "v3": [[0.3, 0.0, 1.0]],
        "real": [[0.8, 0.0, 1.0], [0.6, 1.0, 2.0], [0.5, 2.0, 3.0]],
    }
    expected = (2 / 3 + 4 / 7 + 4 / 7) / 4
    assert evaluate(preds, records).metrics["AP@0.5"] == pytest.approx(expected)
    assert expected != pytest.approx((2 / 3 + 3 / 6 + 4 / 7) / 4)  # without the running max


def test_area_starts_at_the_first_proposals_recall():
    # perfect predictions over n segments give 1 - 1/n, not 1
    for n in (1, 2, 5):
        records = [rec(f"v{i}", [[1, 2]]) for i in range(n)]
        preds = {f"v{i}": [[1.0 - i / 10, 1.0, 2.0]] for i in range(n)}
        result = evaluate(preds, records)
        assert result.metrics["AP@0.95"] == pytest.approx(1 - 1 / n)
        assert result.metrics["AR@10"] == 1.0


def test_ar_takes_the_first_n_proposals_of_each_video():
    # video a: the matching proposal is third in its list; video b: first
    records = [rec("a", [[1, 2]]), rec("b", [[1, 2]])]
    preds = {"a": [[0.9, 5.0, 6.0], [0.8, 7.0, 8.0], [0.7, 1.0, 2.0]], "b": [[0.6, 1.0, 2.0]]}
    protocol = PROTOCOLS["avdf1m"]
    m = evaluate(preds, records, protocol).metrics
    assert m["AR@5"] == 1.0  # b has a single proposal: its first 5 are that one
    from forensicloc.evaluation import Protocol

    m = evaluate(preds, records, Protocol("x", (0.5,), (1, 2, 3))).metrics
    assert (m["AR@1"], m["AR@2"], m["AR@3"]) == (0.5, 0.5, 1.0)


def test_ar_is_averaged_over_the_iou_thresholds_and_pooled_over_videos():
    # IoU 0.8 ([1, 2] vs [1, 2.25]) exceeds 0.50 ... 0.75: 6 of 10 thresholds
    assert average_recall([[[1.0, 1.0, 2.25]]], [[[1.0, 2.0]]], n=1) == pytest.approx(0.6)
    # pooled TP / (TP + FN), not a mean of per-video recalls: video a has 3 segments found,
    # video b 1 segment missed -> 3/4 (a per-video mean would give 1/2)
    preds = [[[0.9, 0, 1], [0.8, 2, 3], [0.7, 4, 5]], [[0.9, 8, 9]]]
    truth = [[[0, 1], [2, 3], [4, 5]], [[0, 1]]]
    assert average_recall(preds, truth, n=10) == pytest.approx(0.75)


def test_real_videos_add_false_positives_and_no_ground_truth():
    fake = rec("fake", [[1, 2]])
    preds = {"fake": [[0.5, 0.0, 0.5], [0.4, 1.0, 2.0]], "real": [[0.9, 0.0, 1.0]]}
    alone = evaluate({"fake": preds["fake"]}, [fake]).metrics
    with_real = evaluate(preds, [fake, rec("real")]).metrics
    assert alone["AP@0.5"] == pytest.approx(0.5)  # FP, TP
    assert with_real["AP@0.5"] == pytest.approx(1 / 3)  # FP, FP, TP
    assert with_real["AR@100"] == alone["AR@100"] == 1.0


# --------------------------------------------------------------------------- subsets, breakdown, AUC


def subset_case():
    records = [
        rec("vis", [[1, 2]], "v"),
        rec("aud", [[1, 2]], "a"),
        rec("both", [[3, 4]], "b"),
        rec("real", (), "r"),
    ]
    preds = {
        "vis": [[0.6, 1.0, 2.0]],
        "aud": [[0.99, 5.0, 6.0], [0.1, 1.0, 2.0]],  # a high FP and a low TP
        "both": [[0.5, 3.0, 4.0]],
        "real": [[0.55, 0.0, 1.0]],
    }
    return records, preds


def test_visual_subset_drops_audio_only_fakes_whole():
    records, preds = subset_case()
    full = evaluate(preds, records, subset="full")
    visual = evaluate(preds, records, subset="visual")
    audio = evaluate(preds, records, subset="audio")
    assert (full.n_videos, full.n_segments) == (4, 3)
    assert (visual.n_videos, visual.n_segments) == (3, 2)
    assert (audio.n_videos, audio.n_segments) == (3, 2)
    # full: .99 FP, .6 TP, .55 FP, .5 TP, .1 TP over 3 segments; precision at the TPs
    # 1/2, 2/4, 3/5, running max from the bottom 3/5 for all three: (3 * 3/5) / 3
    assert full.metrics["AP@0.5"] == pytest.approx(0.6)
    # visual (vis, both, real): .6 TP, .55 FP, .5 TP over 2: (2/3) / 2 — the audio fake's
    # proposals are gone with it
    assert visual.metrics["AP@0.5"] == pytest.approx(1 / 3)
    # audio (aud, both, real): .99 FP, .55 FP, .5 TP, .1 TP over 2; precision 1/3, 2/4,
    # running max 1/2, 1/2: (1/2 + 1/2) / 2
    assert audio.metrics["AP@0.5"] == pytest.approx(0.5)


def test_subset_needs_the_modify_type():
    unknown = VideoRecord(file="x", path=Path("x"), label=1, fake_segments=((0.0, 1.0),))
    with pytest.raises(MetadataError, match="visual subset"):
        evaluate({"x": [[1.0, 0.0, 1.0]]}, [unknown], subset="visual")
    assert evaluate({"x": [[1.0, 0.0, 1.0]]}, [unknown]).n_segments == 1


def test_breakdown_by_modify_type_keeps_the_real_videos():
    records, preds = subset_case()
    result = evaluate(preds, records)
    assert list(result.by_modify_type) == ["visual_modified", "audio_modified", "both_modified"]
    # visual_modified (vis + real): .6 TP, .55 FP over 1 -> the TP is the first step: 0
    assert result.by_modify_type["visual_modified"]["AP@0.5"] == 0.0
    # audio_modified (aud + real): .99 FP, .55 FP, .1 TP over 1: 1/3
    assert result.by_modify_type["audio_modified"]["AP@0.5"] == pytest.approx(1 / 3)
    assert set(result.by_modify_type["both_modified"]) == set(result.metrics)


def test_video_auc():
    assert video_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert video_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts half
    assert video_auc([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9]) == pytest.approx(0.875)
    with pytest.raises(BadInputError, match="real and fake"):
        video_auc([1, 1], [0.1, 0.2])


def test_evaluate_auc_from_video_scores_or_max_proposal():
    records, preds = subset_case()
    # max proposal: vis .6, aud .99, both .5, real .55 -> real ranks above "both" only: 2/3
    assert evaluate(preds, records).auc == pytest.approx(2 / 3)
    scores = {"vis": 0.9, "aud": 0.8, "both": 0.7, "real": 0.1}
    assert evaluate(preds, records, video_scores=scores).auc == 1.0
    assert evaluate(preds, records, auc_from_proposals=False).auc is None
    with pytest.raises(BadInputError, match="no video-level score"):
        evaluate(preds, records, video_scores={"vis": 1.0})
    only_fakes = evaluate({"vis": preds["vis"]}, records[:1])
    assert only_fakes.auc is None and only_fakes.warnings == []
    asked = evaluate({"vis": preds["vis"]}, records[:1], video_scores={"vis": 0.5})
    assert asked.auc is None and any("no AUC" in w and "real and fake" in w for w in asked.warnings)


# --------------------------------------------------------------------------- bad input


def test_missing_videos_are_an_error_unless_allowed():
    records = [rec(f"v{i}", [[1, 2]]) for i in range(5)]
    preds = {"v0": [[0.9, 1.0, 2.0]]}
    with pytest.raises(PredictionsError, match=r"4 of 5 video\(s\).*'v1', 'v2', 'v3' and 1 more") as info:
        evaluate(preds, records, source="p.json")
    assert "--allow-missing" in info.value.render()
    result = evaluate(preds, records, allow_missing=True)
    assert result.metrics["AR@100"] == pytest.approx(1 / 5)  # their segments are missed
    assert any("4 video(s) have no predictions" in w for w in result.warnings)


def test_empty_lists_count_as_no_proposal_with_a_warning():
    result = evaluate({"a": [], "b": [[0.9, 1.0, 2.0]]}, [rec("a", [[1, 2]]), rec("b", [[1, 2]])])
    assert result.metrics["AR@100"] == 0.5
    assert any("empty proposal list" in w and "crash" in w for w in result.warnings)


def test_unsorted_lists_warn_and_are_matched_in_list_order():
    result = evaluate({"a": [[0.1, 1.0, 2.0], [0.9, 1.0, 2.0]]}, [rec("a", [[1, 2]])])
    assert result.metrics["AP@0.5"] == pytest.approx(0.5)  # as the official code: see above
    assert any("not sorted" in w and "list order" in w for w in result.warnings)


def test_out_of_range_segments_and_unknown_videos_warn():
    result = evaluate(
        {"a": [[0.9, -1.0, 2.0], [0.5, 9.0, 12.0]], "stray": [[0.9, 0.0, 1.0]]}, [rec("a", [[1, 2]], duration=10.0)]
    )
    assert any("outside [0, duration]" in w for w in result.warnings)
    assert any("not in the ground truth" in w and "'stray'" in w for w in result.warnings)
    # within the tolerance of a frame: no warning
    ok = evaluate({"a": [[0.9, 0.0, 10.02]]}, [rec("a", [[1, 2]], duration=10.0)])
    assert ok.warnings == []


@pytest.mark.parametrize(
    "value, message",
    [
        ([[float("nan"), 1.0, 2.0]], "finite"),
        ([[0.5, 1.0, float("inf")]], "finite"),
        ([[0.5, 2.0, 1.0]], "start is after its end"),
        ([[0.5, 1.0]], "3 numbers"),
        ([[0.5, 1.0, 2.0], [0.4, 1.0]], "rows"),
        ([[0.5, "x", 2.0]], "numbers"),
        ({"score": 1}, "list of"),
        ("0.5", "list of"),
    ],
)
def test_bad_predictions_name_the_video(value, message):
    with pytest.raises(PredictionsError, match=message) as info:
        evaluate({"good": [[0.9, 0.0, 1.0]], "bad/video.mp4": value}, [rec("good"), rec("bad/video.mp4")], source="p.json")
    assert "'bad/video.mp4'" in str(info.value) and "p.json" in str(info.value)


def test_no_ground_truth_reports_zero_with_a_warning():
    result = evaluate({"r": [[0.9, 0.0, 1.0]]}, [rec("r")])
    assert all(v == 0.0 for v in result.metrics.values())
    assert any("no ground-truth segment" in w for w in result.warnings)


def test_unannotated_fakes_cannot_be_evaluated():
    bare = VideoRecord(file="x", path=Path("x"), label=None)
    with pytest.raises(MetadataError, match="no ground-truth segments"):
        evaluate({"x": [[0.9, 0.0, 1.0]]}, [bare])


def test_unknown_protocol_and_subset():
    with pytest.raises(BadInputError, match="protocol"):
        evaluate({}, [], protocol="thumos")
    with pytest.raises(BadInputError, match="subset"):
        evaluate({}, [], subset="video")


def test_result_as_dict_is_json():
    records, preds = subset_case()
    result = evaluate(preds, records, "avdf1m")
    assert isinstance(result, EvaluationResult)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["protocol"] == "avdf1m" and list(data["metrics"]) == PROTOCOLS["avdf1m"].metric_names
    assert all(0.0 <= v <= 1.0 for v in data["metrics"].values())


# --------------------------------------------------------------------------- predictions files


def test_write_and_load_predictions_round_trip(tmp_path):
    path = tmp_path / "out" / "preds.json"
    preds = {
        "a.mp4": [Segment(1.0, 2.0, 0.2), Segment(0.0, 1.0, 0.9, "visual")],
        "b.mp4": [[0.1, 0.0, 0.5], [0.7, 1.0, 1.5]],
        "c.mp4": [],
    }
    write_predictions(path, preds)
    data = json.loads(path.read_text())
    assert data["a.mp4"] == [[0.9, 0.0, 1.0], [0.2, 1.0, 2.0]]  # sorted by score
    assert data["b.mp4"] == [[0.7, 1.0, 1.5], [0.1, 0.0, 0.5]]
    # no empty list (the official evaluators crash on one): a zero-length placeholder
    # scored below everything else
    assert data["c.mp4"] == [[-0.9, 0.0, 0.0]]
    assert load_predictions(path) == data
    assert set(load_prediction_arrays(path)) == {"a.mp4", "b.mp4", "c.mp4"}
    # the placeholder changes no metric
    records = [rec("a.mp4", [[0, 1]]), rec("b.mp4", [[1, 1.5]]), rec("c.mp4", [[3, 4]])]
    written = evaluate(load_predictions(path), records)
    in_memory = evaluate({k: to_official(v) if k == "a.mp4" else v for k, v in preds.items()}, records)
    assert written.metrics == in_memory.metrics


def test_to_official_sorts_stably():
    segs = [Segment(0, 1, 0.5), Segment(2, 3, 0.9), Segment(4, 5, 0.5)]
    assert to_official(segs) == [[0.9, 2.0, 3.0], [0.5, 0.0, 1.0], [0.5, 4.0, 5.0]]


def test_load_predictions_errors_name_the_file(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(PredictionsError, match="does not exist"):
        load_predictions(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": [[0.9, 1, 2]')
    with pytest.raises(PredictionsError, match=r"broken.json: malformed JSON at line 1"):
        load_predictions(broken)
    nan = tmp_path / "nan.json"
    nan.write_text('{"a": [[NaN, 1, 2]]}')
    with pytest.raises(PredictionsError, match=r"nan.json: video 'a': proposal 0 .* finite"):
        load_predictions(nan)
    listed = tmp_path / "list.json"
    listed.write_text("[[0.9, 1, 2]]")
    with pytest.raises(PredictionsError, match="expected a JSON object"):
        load_predictions(listed)


def test_load_video_scores(tmp_path):
    js = tmp_path / "scores.json"
    js.write_text('{"a": 0.5, "b": 1}')
    assert load_video_scores(js) == {"a": 0.5, "b": 1.0}
    csv = tmp_path / "scores.csv"
    csv.write_text("a;0.25\nb;0.75\n")
    assert load_video_scores(csv) == {"a": 0.25, "b": 0.75}
    csv.write_text("a;high\n")
    with pytest.raises(PredictionsError, match="line 1"):
        load_video_scores(csv)
    js.write_text('{"a": null}')
    with pytest.raises(PredictionsError, match="'a'"):
        load_video_scores(js)


# --------------------------------------------------------------------------- ground truth files


def test_load_ground_truth_from_lavdf_and_avdf1m_metadata(tmp_path):
    lavdf = tmp_path / "metadata.json"
    lavdf.write_text(json.dumps([
        {"file": "test/000001.mp4", "split": "test", "n_fakes": 1, "fake_periods": [[1.0, 2.0]], "duration": 5.0,
         "original": "x.mp4", "modify_video": False, "modify_audio": True, "video_frames": 125,
         "audio_channels": 1, "audio_frames": 80000},
    ]))
    (r,) = load_ground_truth(lavdf)  # no video on disk: not needed
    assert (r.file, r.split, r.fake_segments, r.modify_type) == ("test/000001.mp4", "test", ((1.0, 2.0),), "audio_modified")
    avdf = tmp_path / "val_metadata.json"
    avdf.write_text(json.dumps([
        {"file": "id0/a.mp4", "original": None, "split": "val", "modify_type": "real", "audio_model": None,
         "fake_segments": [], "audio_fake_segments": [], "visual_fake_segments": [], "video_frames": 100,
         "audio_frames": 64000},
        {"file": "id0/b.mp4", "original": "id0/a.mp4", "split": "val", "modify_type": "visual_modified",
         "audio_model": None, "fake_segments": [[0.5, 1.0]], "audio_fake_segments": [],
         "visual_fake_segments": [[0.5, 1.0]], "video_frames": 100, "audio_frames": 64000},
    ]))
    real, fake = load_ground_truth(avdf)
    assert (real.split, real.label, fake.modify_type, fake.duration) == ("val", 0, "visual_modified", 4.0)
    assert [r.file for r in load_ground_truth(avdf, "val")] == ["id0/a.mp4", "id0/b.mp4"]
    with pytest.raises(MetadataError, match=r"no video of split 'test' \(splits present: val\)"):
        load_ground_truth(avdf, "test")
    assert load_ground_truth(lavdf, "test")[0].file == "test/000001.mp4"
    other = tmp_path / "other.json"
    other.write_text('[{"file": "x"}]')
    with pytest.raises(MetadataError, match="neither fake_periods"):
        load_ground_truth(other)


# --------------------------------------------------------------------------- properties


@st.composite
def datasets(draw, max_videos: int = 6):
    """Videos with disjoint, positive-length segments (0-3) and random proposals."""
    n = draw(st.integers(1, max_videos))
    truth, preds = [], []
    for _ in range(n):
        cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=0, max_size=6, unique=True)))
        segs = [[cuts[i] / 10, cuts[i + 1] / 10] for i in range(0, len(cuts) - 1, 2)]
        rows = draw(
            st.lists(
                st.tuples(st.integers(0, 100), st.integers(0, 100), st.integers(1, 30)),
                min_size=0,
                max_size=8,
            )
        )
        preds.append([[0.0, s / 10, (s + length) / 10] for _, s, length in rows])
        truth.append(segs)
    return truth, preds


def with_unique_scores(preds, rng):
    total = sum(len(p) for p in preds)
    scores = iter(rng.permutation(total) / (total + 1) + 0.001)
    out = []
    for p in preds:
        rows = [[float(next(scores)), s, e] for _, s, e in p]
        out.append(sorted(rows, key=lambda r: -r[0]))
    return out


def records_for(truth):
    return [rec(f"v{i}", segs) for i, segs in enumerate(truth)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), st.integers(0, 2**31 - 1))
def test_perfect_predictions_score_one_up_to_the_first_step(data, seed):
    truth, noise = data
    rng = np.random.default_rng(seed)
    n_segments = sum(len(t) for t in truth)
    preds = {}
    for i, (segs, extra) in enumerate(zip(truth, noise)):
        exact = [[2.0 + rng.random(), s, e] for s, e in segs]  # above every noise score
        rows = sorted(exact, key=lambda r: -r[0]) + [[rng.random(), s, e] for _, s, e in extra]
        preds[f"v{i}"] = rows
    result = evaluate(preds, records_for(truth))
    for t in PROTOCOLS["lavdf"].ap_thresholds:
        expected = 1 - 1 / n_segments if n_segments else 0.0
        assert result.metrics[f"AP@{t:g}"] == pytest.approx(expected)
    assert result.metrics["AR@10"] == (1.0 if n_segments else 0.0)


@settings(max_examples=60, deadline=None)
@given(datasets(), st.integers(0, 2**31 - 1))
def test_permuting_videos_changes_nothing(data, seed):
    truth, preds = data
    rng = np.random.default_rng(seed)
    preds = with_unique_scores(preds, rng)
    records = records_for(truth)
    mapping = {r.file: p for r, p in zip(records, preds)}
    base = evaluate(mapping, records, "avdf1m")
    order = rng.permutation(len(records))
    shuffled = evaluate(dict(reversed(list(mapping.items()))), [records[i] for i in order], "avdf1m")
    for key, value in base.metrics.items():
        assert shuffled.metrics[key] == pytest.approx(value, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(datasets(), st.integers(0, 2**31 - 1), st.data())
def test_a_lower_scored_duplicate_never_raises_ar(data, seed, pick):
    truth, preds = data
    rng = np.random.default_rng(seed)
    preds = with_unique_scores(preds, rng)
    candidates = [i for i, p in enumerate(preds) if p]
    if not candidates:
        return
    v = pick.draw(st.sampled_from(candidates))
    j = pick.draw(st.integers(0, len(preds[v]) - 1))
    original = preds[v][j]
    duplicate = [original[0] * float(rng.random()), original[1], original[2]]
    rows = preds[v] + [duplicate]
    rows.sort(key=lambda r: -r[0])  # stable: the duplicate lands after its original
    changed = list(preds)
    changed[v] = rows
    for n in (1, 2, 5):
        assert average_recall(changed, truth, n) <= average_recall(preds, truth, n) + 1e-12


# --------------------------------------------------------------------------- official evaluator




OFFICIAL = official_evaluator()


def random_case(rng: np.random.Generator):
    """Random videos: grid-aligned times (IoUs land exactly on thresholds), tied scores,
    unsorted lists, overlapping segments, real videos."""
    meta, preds, records = [], {}, []
    grid = rng.random() < 0.5
    snap = (lambda x: round(x * 4) / 4) if grid else (lambda x: x)
    for v in range(int(rng.integers(1, 25))):
        duration = float(rng.integers(2, 20))
        segs = []
        for _ in range(int(rng.integers(0, 4))):
            a = snap(rng.random() * duration)
            segs.append([a, snap(a + rng.random() * (duration - a))])
        if segs and rng.random() < 0.3:
            segs.append([segs[0][0], segs[0][1] + 0.25])
        file = f"v{v}.mp4"
        meta.append({"file": file, "fake_segments": segs})
        records.append(rec(file, segs, duration=duration))
        rows = []
        for _ in range(int(rng.integers(1, 12))):
            if segs and rng.random() < 0.5:
                g = segs[int(rng.integers(len(segs)))]
                a, b = snap(g[0] + rng.normal() * 0.3), snap(g[1] + rng.normal() * 0.3)
                a, b = min(a, b), max(a, b)
            else:
                a = snap(rng.random() * duration)
                b = snap(a + rng.random() * (duration - a))
            score = float(rng.integers(0, 5)) / 4 if rng.random() < 0.5 else float(rng.random())
            rows.append([score, float(a), float(b)])
        if rng.random() < 0.7:
            rows.sort(key=lambda r: -r[0])
        preds[file] = rows
    return meta, preds, records


@pytest.mark.skipif(OFFICIAL is None, reason="the official avdeepfake1m evaluator is not installed")
@pytest.mark.parametrize("seed", range(8))
def test_matches_the_official_avdeepfake1m_evaluator(tmp_path, seed):
    rng = np.random.default_rng(seed)
    compared = 0
    for trial in range(25):
        meta, preds, records = random_case(rng)
        if not any(m["fake_segments"] for m in meta):
            continue  # the official AP is NaN there
        meta_path, preds_path = tmp_path / "meta.json", tmp_path / "preds.json"
        meta_path.write_text(json.dumps(meta))
        preds_path.write_text(json.dumps(preds))
        for name, proto in PROTOCOLS.items():
            ref = OFFICIAL.ap_ar_1d(
                str(preds_path), str(meta_path), "file", "fake_segments", 1.0,
                list(proto.ap_thresholds), list(proto.ar_ns), list(proto.ar_thresholds),
            )
            ours = evaluate(preds, records, name, breakdown=False).metrics
            for t, (_, value) in zip(proto.ap_thresholds, sorted(ref["ap"].items())):
                assert ours[f"AP@{t:g}"] == pytest.approx(value, abs=1e-5), (trial, name, t)
            for n in proto.ar_ns:
                assert ours[f"AR@{n}"] == pytest.approx(ref["ar"][n], abs=1e-5), (trial, name, n)
            compared += 1
    assert compared > 0
