"""Localization quality of every installed scorer: in-distribution and unseen forgery families.

Synthesizes one dataset (default 600 videos, seed 0; LAV-DF layout, speakers disjoint
across splits) and runs ``forensicloc bench`` on it twice, with fixed seeds:

* ``in-distribution``: every forgery family in train, dev and test;
* ``unseen-family``: train/dev fakes only from ``--train-families`` (default: voice-swap,
  pitch-shift, lip-sync, blend), test fakes only from ``--test-families`` (default:
  splice, colour-shift, freeze) — authentic videos are kept in every split, so a scorer
  must localize forgery kinds it never saw as fakes.

Writes ``benchmarks/results/quality.json`` (every metric of every scorer under both
protocols, train time, scoring speed, peak memory, versions, seeds, machine) and
``benchmarks/results/quality.md`` (the tables and the command that reproduces them);
full bench outputs (report.md, plots, predictions) stay in ``--work``.

    python benchmarks/quality.py [--videos 600] [--seed 0] [--work /tmp/forensicloc-quality]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from forensicloc.bench import BenchConfig, run_bench, write_bench
from forensicloc.report import markdown_table, table_rows, write_json
from forensicloc.synth import synthesize

RESULTS = Path(__file__).resolve().parent / "results"
TRAIN_FAMILIES = ("voice-swap", "pitch-shift", "lip-sync", "blend")
TEST_FAMILIES = ("splice", "colour-shift", "freeze")


def _dataset(work: Path, videos: int, seed: int, workers: int) -> Path:
    """Synthesize once; a later run with the same arguments reuses it."""
    data = work / "data"
    stamp = data / "quality.json"
    wanted = {"videos": videos, "seed": seed}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return data
    summary = synthesize(data, videos, seed=seed, workers=workers, overwrite=True)
    stamp.write_text(json.dumps(wanted))
    print(f"synthesized {summary.videos} videos in {summary.seconds:.0f} s", file=sys.stderr)
    return data


def _progress(completed: float, total: float | None, description: str) -> None:
    if total and completed >= total:
        print(f"  {description} ✓", file=sys.stderr)


def _machine() -> dict[str, Any]:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_at_start": _load(),
    }


def _result_args(argv: list[str]) -> list[str]:
    """The arguments that change the results (where files go does not)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--work", "--out", "--repeats"):
            skip = True
            continue
        if arg.startswith(("--work=", "--out=", "--repeats=")):
            continue
        out.append(arg)
    return out


def _load() -> list[float] | None:
    """1, 5 and 15 minute load averages: how busy the machine was (it changes timings)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _compact(results: dict[str, Any]) -> dict[str, Any]:
    """What the committed JSON keeps of one bench run (no predictions, no per-epoch logs)."""
    keep = ("status", "supervision", "distribution", "version", "options", "metrics", "auc", "by_modify_type",
            "family_detection", "train_seconds", "score_seconds", "videos_per_second", "peak_rss_mb",
            "peak_cuda_mb", "validation", "stage", "error")
    return {
        "dataset": results["dataset"],
        "config": {k: results["config"][k] for k in ("protocol", "extractor", "proposer", "seed", "epochs",
                                                    "train_families", "test_families", "device")},
        "proposer_options": results["proposer"]["options"],
        "seconds": results["seconds"],
        "scorers": {n: {k: e[k] for k in keep if k in e} for n, e in results["scorers"].items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0, help="seed of the dataset and of every scorer")
    parser.add_argument("--scorers", default=None, help="comma-separated (default: every installed scorer)")
    parser.add_argument("--train-families", default=",".join(TRAIN_FAMILIES))
    parser.add_argument("--test-families", default=",".join(TEST_FAMILIES))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/forensicloc-quality"),
                        help="dataset, feature cache and full bench outputs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where quality.json and quality.md go")
    parser.add_argument("--repeats", type=int, default=1,
                        help="accepted so that `benchmarks/run.py -- --repeats N` works; a quality run is "
                        "deterministic for its seed, so it runs once")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    machine = _machine()
    data = _dataset(args.work, args.videos, args.seed, args.workers)
    scorers = [s for s in args.scorers.split(",") if s] if args.scorers else None
    protocols = {
        "in-distribution": {},
        "unseen-family": {
            "train_families": args.train_families.split(","),
            "test_families": args.test_families.split(","),
        },
    }
    runs: dict[str, Any] = {}
    for name, families in protocols.items():
        print(f"[{name}]", file=sys.stderr)
        config = BenchConfig(data, scorers=scorers, cache_dir=args.work / "cache", seed=args.seed,
                             device=args.device, workers=args.workers, **families)
        result = run_bench(config, progress=_progress,
                           on_scorer=lambda o: print(f"  {o.name}: {o.entry['status']}", file=sys.stderr))
        write_bench(result, args.work / name)
        runs[name] = result.results

    command = "python benchmarks/quality.py " + shlex.join(_result_args(argv if argv is not None else sys.argv[1:]))
    first = next(iter(runs.values()))
    machine["load_average_at_end"] = _load()
    summary = {
        "command": command.strip(),
        "videos": args.videos,
        "seed": args.seed,
        "machine": machine,
        "versions": first["versions"],
        "seconds": time.perf_counter() - started,
        "protocols": {name: _compact(results) for name, results in runs.items()},
    }
    write_json(args.out / "quality.json", summary)
    (args.out / "quality.md").write_text(_markdown(summary, runs), encoding="utf-8")
    print(f"wrote {args.out / 'quality.json'} and {args.out / 'quality.md'}", file=sys.stderr)


def _markdown(summary: dict[str, Any], runs: dict[str, Any]) -> str:
    m = summary["machine"]
    lines = [
        "# Localization quality on synthetic data",
        "",
        f"{summary['videos']} synthetic videos (seed {summary['seed']}; train/dev/test 60/20/20 %, speakers "
        "disjoint across splits), `handcrafted` features, `threshold` proposer, LAV-DF protocol on the test "
        "split; metrics in percent, AUC is video-level detection.",
        "",
    ]
    for name, results in runs.items():
        used = results["dataset"]["used"]
        counts = "; ".join(f"{s}: {c['real']} real / {c['fake']} fake" for s, c in used.items())
        lines += [f"## {name}", ""]
        cfg = results["config"]
        if cfg.get("train_families"):
            lines += [f"Train/dev fakes from {', '.join(cfg['train_families'])}; test fakes from "
                      f"{', '.join(cfg['test_families'])}.", ""]
        lines += [f"Videos — {counts}.", "", markdown_table(*table_rows(results, "full")), ""]
    lines += [
        f"Machine: {m['platform']}, {m['cpus']} CPU(s) ({m['processor']}), torch threads {m['torch_threads']}, "
        f"CUDA: {m['cuda'] or 'none'}; load average at start {m['load_average_at_start']}, at end "
        f"{m['load_average_at_end']} (a shared machine inflates the torch scorers' train times). "
        f"Total {summary['seconds'] / 60:.0f} min.",
        "",
        "Reproduce:",
        "",
        "```bash",
        summary["command"],
        "```",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
