"""The threshold proposer and its steps: grouping, contrast, NMS, seconds, modality."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from forensicloc.api import ScoreTrack, Segment, parse_options
from forensicloc.errors import BadInputError
from forensicloc.proposals import ThresholdProposer, nms, runs, segment_iou


def bumps(length: int = 100, *spans: tuple[int, int, float]) -> np.ndarray:
    track = np.zeros(length)
    for start, end, height in spans:
        track[start:end] = height
    return track


def test_registered_as_the_threshold_proposer():
    from forensicloc.plugins import create, get_component

    assert get_component("proposer", "threshold") is ThresholdProposer
    assert isinstance(create("proposer", "threshold", {"top_n": 5}), ThresholdProposer)


def test_runs_and_merge_gap():
    mask = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], bool)
    starts, ends = runs(mask)
    assert starts.tolist() == [1, 4, 7] and ends.tolist() == [3, 5, 10]
    starts, ends = runs(mask, merge_gap=1)
    assert starts.tolist() == [1, 7] and ends.tolist() == [5, 10]
    starts, ends = runs(mask, merge_gap=2)
    assert starts.tolist() == [1] and ends.tolist() == [10]
    assert [a.tolist() for a in runs(np.zeros(4, bool))] == [[], []]


def test_a_clean_bump_becomes_one_segment_in_seconds():
    # snippets 20..39 at 25 Hz cover [0.8, 1.6) s
    track = ScoreTrack(bumps(100, (20, 40, 0.9)), rate=25.0)
    (segment,) = ThresholdProposer().propose(track)
    assert (segment.start, segment.end) == pytest.approx((0.8, 1.6))
    assert segment.score == pytest.approx(0.9)  # inner 0.9, outer 0
    assert segment.modality is None


def test_segments_are_clamped_to_the_duration():
    # a track a little longer than the media (last snippet past the end)
    track = ScoreTrack(bumps(50, (40, 50, 0.8)), rate=25.0, duration=1.9)
    (segment,) = ThresholdProposer().propose(track)
    assert (segment.start, segment.end) == pytest.approx((1.6, 1.9))


def test_contrast_ranks_the_more_distinct_bump_first():
    track = ScoreTrack(bumps(200, (20, 40, 0.9), (100, 130, 0.5)), rate=25.0)
    segs = ThresholdProposer().propose(track)
    assert [(round(s.start, 2), round(s.end, 2)) for s in segs] == [(0.8, 1.6), (4.0, 5.2)]
    assert segs[0].score > segs[1].score
    # outer-inner: 0.5 inside, surroundings 0.2 -> 0.3
    raised = bumps(200, (100, 130, 0.5)) + np.where(bumps(200, (100, 130, 1.0)) > 0, 0.0, 0.2)
    (seg,) = ThresholdProposer(thresholds=[0.3]).propose(ScoreTrack(raised, rate=25.0))
    assert seg.score == pytest.approx(0.3)
    (seg,) = ThresholdProposer(thresholds=[0.3], outer_weight=0.0).propose(ScoreTrack(raised, rate=25.0))
    assert seg.score == pytest.approx(0.5)


def test_min_length_drops_short_spikes():
    track = ScoreTrack(bumps(50, (10, 11, 0.9), (30, 35, 0.9)))
    assert len(ThresholdProposer().propose(track)) == 1
    assert len(ThresholdProposer(min_length=1).propose(track)) == 2


def test_normalisation_auto_keeps_probabilities_absolute():
    quiet = ScoreTrack(np.full(60, 0.05) + bumps(60, (20, 30, 0.02)))  # a low, real-looking track
    assert ThresholdProposer().propose(quiet) == []  # auto: in [0, 1] -> absolute thresholds
    assert len(ThresholdProposer(normalize="minmax").propose(quiet)) == 1
    unbounded = ScoreTrack(bumps(60, (20, 30, 40.0)) + 3.0)  # e.g. a reconstruction error
    (seg,) = ThresholdProposer().propose(unbounded)  # auto: min-max
    assert (seg.start, seg.end) == pytest.approx((0.8, 1.2))
    assert ThresholdProposer(normalize="none", thresholds=[50.0]).propose(unbounded) == []


def test_flat_and_empty_tracks_give_no_proposal():
    assert ThresholdProposer(normalize="minmax").propose(ScoreTrack(np.full(30, 0.7))) == []
    assert ThresholdProposer().propose(ScoreTrack(np.zeros(0))) == []


def test_hard_nms_drops_and_soft_nms_decays():
    segs = np.array([[0.0, 1.0], [0.1, 1.0], [2.0, 3.0]])
    keep, scores = nms(segs, np.array([0.9, 0.8, 0.5]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2] and scores.tolist() == [0.9, 0.5]
    keep, scores = nms(segs, np.array([0.9, 0.8, 0.5]), iou_threshold=0.5, soft=True, sigma=0.5)
    # [0.1, 1] overlaps [0, 1] at IoU 0.9: 0.8 * exp(-0.81 / 0.5) = 0.158 < 0.5
    assert keep.tolist() == [0, 2, 1]
    assert scores.tolist() == pytest.approx([0.9, 0.5, 0.8 * np.exp(-0.81 / 0.5)])
    # a negative score is lowered too
    keep, scores = nms(segs[:2], np.array([0.9, -0.2]), soft=True)
    assert scores[1] < -0.2
    keep, _ = nms(segs, np.array([0.9, 0.8, 0.5]), soft=True, top_n=2)
    assert len(keep) == 2
    np.testing.assert_allclose(segment_iou(segs[0], segs), [1.0, 0.9, 0.0])


def test_modality_of_each_segment():
    fused = bumps(100, (10, 20, 0.9), (50, 60, 0.9), (80, 90, 0.9))
    visual = bumps(100, (10, 20, 0.9), (80, 90, 0.8))
    audio = bumps(100, (50, 60, 0.9), (80, 90, 0.7))
    track = ScoreTrack(fused, modalities={"visual": visual, "audio": audio})
    got = {round(s.start, 1): s.modality for s in ThresholdProposer().propose(track)}
    assert got == {0.4: "visual", 2.0: "audio", 3.2: "both"}
    only_audio = ScoreTrack(fused, modalities={"audio": audio})
    assert {s.modality for s in ThresholdProposer().propose(only_audio)} == {"audio"}


def test_options_are_checked_and_parse_from_the_command_line():
    opts = parse_options(ThresholdProposer, ["thresholds=[0.3, 0.6]", "nms=hard", "top_n=7", "merge-gap=2"])
    proposer = ThresholdProposer(**opts)
    assert (proposer.thresholds, proposer.nms, proposer.top_n, proposer.merge_gap) == ([0.3, 0.6], "hard", 7, 2)
    with pytest.raises(ValueError, match="nms"):
        parse_options(ThresholdProposer, ["nms=medium"])
    for bad in ({"thresholds": []}, {"top_n": 0}, {"min_length": 0}, {"sigma": 0.0}, {"iou_threshold": 1.5}):
        with pytest.raises(BadInputError, match="bad options for proposer"):
            ThresholdProposer(**bad)


@settings(max_examples=80, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 300), elements=st.floats(-5, 5, allow_nan=False)),
    st.sampled_from([10.0, 25.0]),
    st.floats(0.2, 1.5),
    st.integers(1, 120),
    st.sampled_from(["hard", "soft"]),
    st.integers(0, 3),
)
def test_output_is_sorted_within_bounds_and_at_most_top_n(scores, rate, stretch, top_n, kind, gap):
    duration = len(scores) / rate * stretch
    track = ScoreTrack(scores, rate=rate, duration=duration)
    segs = ThresholdProposer(top_n=top_n, nms=kind, merge_gap=gap).propose(track)
    assert len(segs) <= top_n
    assert all(isinstance(s, Segment) for s in segs)
    assert all(0.0 <= s.start < s.end <= duration for s in segs)
    assert [s.score for s in segs] == sorted((s.score for s in segs), reverse=True)
    assert all(np.isfinite(s.score) for s in segs)
