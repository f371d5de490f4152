"""Evaluation speed at LAV-DF scale: forensicloc vs the official avdeepfake1m evaluator.

Writes a LAV-DF-size test split (26,100 videos, a quarter authentic, 1-3 fake segments
per fake, about 40k segments) and a predictions file with 100 proposals per video,
then times, on the same files:

* ``forensicloc``: read the predictions + metadata and evaluate (``lavdf`` protocol);
* ``forensicloc (in memory)``: :func:`forensicloc.evaluation.evaluate` alone, inputs
  already parsed (what ``forensicloc bench`` pays per evaluation);
* ``avdeepfake1m``: the official Rust evaluator, ``ap_ar_1d(...)`` with ``fps=1``,
  which reads both files itself (multi-threaded with rayon).

Each is run ``--repeats`` times (default 3) and the median reported, with the ratio to
the official evaluator, and the largest metric difference between the two (they must
agree). Results go to ``benchmarks/results/evaluation_speed.json``.

The official evaluator is optional: ``pip install --no-deps avdeepfake1m`` gives its
compiled module without the training dependencies (which would replace numpy/torch);
it is loaded without importing the rest of the package. When absent, only
forensicloc is timed.

    python benchmarks/evaluation_speed.py [--videos 26100] [--proposals 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from forensicloc.evaluation import PROTOCOLS, evaluate, load_ground_truth, official_evaluator
from forensicloc.predictions import load_prediction_arrays

RESULTS = Path(__file__).resolve().parent / "results" / "evaluation_speed.json"




def make_split(n_videos: int, n_proposals: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, list[list[float]]]]:
    """LAV-DF-like metadata entries and a predictions mapping (half the proposals near
    a ground-truth segment for fakes, the rest random, scores sorted descending)."""
    rng = np.random.default_rng(seed)
    meta, preds = [], {}
    for v in range(n_videos):
        duration = float(rng.uniform(3.0, 20.0))
        fake = rng.random() >= 0.25
        periods = []
        if fake:
            for _ in range(int(rng.integers(1, 4))):
                start = float(rng.uniform(0, duration - 1.0))
                periods.append([round(start, 3), round(min(duration, start + rng.uniform(0.1, 1.5)), 3)])
            periods.sort()
        flags = rng.integers(0, 3) if fake else -1
        file = f"test/{v:06d}.mp4"
        meta.append(
            {
                "file": file,
                "split": "test",
                "n_fakes": len(periods),
                "fake_periods": periods,
                "duration": round(duration, 3),
                "original": None if not fake else f"train/{v:06d}.mp4",
                "modify_video": bool(flags in (0, 2)),
                "modify_audio": bool(flags in (1, 2)),
                "video_frames": int(duration * 25),
                "audio_channels": 1,
                "audio_frames": int(duration * 16000),
            }
        )
        starts = rng.uniform(0, duration - 0.2, n_proposals)
        ends = np.minimum(duration, starts + rng.uniform(0.04, 2.0, n_proposals))
        if periods:
            near = rng.random(n_proposals) < 0.5
            which = rng.integers(0, len(periods), n_proposals)
            gt = np.array(periods)[which]
            jitter = rng.normal(0, 0.1, (n_proposals, 2))
            starts = np.where(near, np.clip(gt[:, 0] + jitter[:, 0], 0, duration), starts)
            ends = np.where(near, np.clip(gt[:, 1] + jitter[:, 1], 0, duration), ends)
            starts, ends = np.minimum(starts, ends), np.maximum(starts, ends)
        scores = np.sort(rng.random(n_proposals))[::-1]
        preds[file] = np.round(np.stack([scores, starts, ends], axis=1), 4).tolist()
    return meta, preds


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=26100)
    parser.add_argument("--proposals", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    protocol = PROTOCOLS["lavdf"]

    with tempfile.TemporaryDirectory() as tmp:
        meta, preds = make_split(args.videos, args.proposals, args.seed)
        meta_path, preds_path = Path(tmp) / "metadata.json", Path(tmp) / "predictions.json"
        meta_path.write_text(json.dumps(meta))
        preds_path.write_text(json.dumps(preds))
        n_segments = sum(len(m["fake_periods"]) for m in meta)

        def ours_from_files() -> dict[str, float]:
            records = load_ground_truth(meta_path, "test")
            arrays = load_prediction_arrays(preds_path)
            return evaluate(arrays, records, "lavdf", breakdown=False, auc_from_proposals=False).metrics

        records = load_ground_truth(meta_path, "test")
        arrays = load_prediction_arrays(preds_path)

        def ours_in_memory() -> dict[str, float]:
            return evaluate(arrays, records, "lavdf", breakdown=False, auc_from_proposals=False).metrics

        rows: dict[str, Any] = {}
        med, times, ours = timed(ours_from_files, args.repeats)
        rows["forensicloc"] = {"median_s": med, "runs_s": times}
        med, times, _ = timed(ours_in_memory, args.repeats)
        rows["forensicloc (in memory)"] = {"median_s": med, "runs_s": times}

        stages = {
            "read predictions (json + checks)": timed(lambda: load_prediction_arrays(preds_path), args.repeats)[0],
            "read ground truth (metadata checks)": timed(lambda: load_ground_truth(meta_path, "test"), args.repeats)[0],
        }

        official = official_evaluator()
        agreement = None
        if official is not None:

            def theirs() -> dict[str, Any]:
                return official.ap_ar_1d(
                    str(preds_path),
                    str(meta_path),
                    "file",
                    "fake_periods",
                    1.0,
                    list(protocol.ap_thresholds),
                    list(protocol.ar_ns),
                    list(protocol.ar_thresholds),
                )

            med, times, ref = timed(theirs, args.repeats)
            rows["avdeepfake1m (official, Rust)"] = {"median_s": med, "runs_s": times}
            diffs = [abs(ours[f"AP@{t:g}"] - ref["ap"][k]) for t, k in zip(protocol.ap_thresholds, ref["ap"])]
            diffs += [abs(ours[f"AR@{n}"] - ref["ar"][n]) for n in protocol.ar_ns]
            agreement = max(diffs)
            base = rows["avdeepfake1m (official, Rust)"]["median_s"]
            for row in rows.values():
                row["ratio_to_official"] = row["median_s"] / base

    result = {
        "benchmark": "evaluation_speed",
        "videos": args.videos,
        "proposals_per_video": args.proposals,
        "ground_truth_segments": n_segments,
        "protocol": "lavdf",
        "repeats": args.repeats,
        "timings": rows,
        "forensicloc_stages_median_s": stages,
        "metrics": ours,
        "max_abs_difference_to_official": agreement,
        "official_available": official is not None,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            # other work on the machine skews timings: the 1-minute load when done
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    width = max(len(k) for k in rows)
    for name, row in rows.items():
        ratio = f"  x{row['ratio_to_official']:.2f} of official" if "ratio_to_official" in row else ""
        sys.stdout.write(f"{name:<{width}}  {row['median_s']:.2f} s{ratio}\n")
    for name, seconds in stages.items():
        sys.stdout.write(f"  of which {name}: {seconds:.2f} s\n")
    if agreement is not None:
        sys.stdout.write(f"largest metric difference to the official evaluator: {agreement:.2e}\n")
    return result


if __name__ == "__main__":
    main()
