"""End-to-end speed: decoding vs feature extraction vs scoring, and ``forensicloc run``.

Everything is measured side by side in one run, on one machine, with the machine
described in the results (CPU model, cores, memory, library versions, load average at
the start and the end: the figures of a shared machine only mean something next to
its load).

Set-up (not timed as part of any figure). A small synthetic dataset is written with
:func:`forensicloc.synth.synthesize` (``--videos`` videos of 4-6 s at 224x224, the
LAV-DF resolution) in a temporary folder, features are extracted once and kept in
memory, and every installed scorer is trained briefly on its train split (``--epochs``
epochs; ``rtdeeploc``'s internal MAE cue model gets one epoch). The scorers are not
meant to be good here, only to have the size and the code path they have when trained
fully (training length does not change scoring cost).

1. Throughput over every video of the dataset, per repeat:

   * ``decode``: plain PyAV, no forensicloc code, the same baseline as
     ``extraction_speed.py`` (every frame decoded and converted to the 64x64 RGB the
     extractor analyses, every audio frame resampled to 16 kHz mono);
   * ``extract``: ``HandcraftedExtractor().extract(MediaSource(path))``;
   * ``score:<name>``: each trained scorer scoring the features *already in memory*
     (``forensicloc.inference.score_records``: the batched path of ``bench``), once
     with torch's default intra-op threads and once with one thread (``<name>@1t``;
     ``--threads``; a scorer's own ``threads`` option, where it has one, is set to
     match): on a small, shared machine the two differ by far more than the core
     count (see the README).

   ``decode`` and ``extract`` alternate video by video (which goes first alternates
   too), so both see the same machine load; the scorers run right after, in the same
   repeat. Reported in videos/s and snippets/s (1 snippet = 1 frame at 25 fps) and in
   process CPU time (all threads), which a busy machine disturbs less than wall time.
   The headline ratios are medians over repeats of ratios taken *within* a repeat
   (paired): ``extract / decode`` throughput, and, per scorer, ``score / extract``
   (how many times faster scoring is than extracting the same videos) and
   ``pipeline / decode`` (extract then score, one after the other, against decoding
   alone; 1.0 would be "as fast as decoding").

2. ``forensicloc run`` on a 60 s video (``--long``; synthesized at 224x224 with
   :func:`forensicloc.synth.synthesize`): :func:`forensicloc.inference.score_video`
   (decode → handcrafted features → scores → threshold proposals) for every trained
   scorer and thread setting, each run paired with a PyAV decode-only of the same file
   right next to it (which goes first alternates). Headline: ``run / decode`` time,
   median of the paired ratios. A raw decode (no conversion, no resampling) is timed
   for reference. The CLI is timed once per thread setting as a subprocess
   (``forensicloc run --scorer rtdeeploc --model DIR video.mp4``, one thread through
   ``OMP_NUM_THREADS=1``): that adds interpreter start-up, plugin discovery,
   importing torch, loading the model and rendering the table.

3. Peak memory of ``run`` on the 60 s video: the kernel's high-water mark (``VmHWM`` in
   ``/proc/self/status``) of a fresh Python subprocess per measurement, so that
   nothing of this process counts: ``idle`` (imports and model loaded, no video),
   ``decode`` (decode-only), ``run (API)`` and ``run (CLI)`` (the ``run`` command
   called in-process in the child).

Writes ``benchmarks/results/speed.json`` and prints a compact table.

    python benchmarks/speed.py [--repeats 5] [--videos 30] [--epochs 2] [--long 60]
                                 [--threads default,1] [--memory-long 600 ...] [--quick]

``--quick``: 12 videos, one training epoch, for a check in two to three minutes. The default
run takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "speed.json"
#: the scorer ``run`` is timed with in the CLI and the memory measurement
RUN_SCORER = "rtdeeploc"
#: size of the synthetic videos: LAV-DF's resolution
SIZE = 224


# --------------------------------------------------------------------------- machine


def _read_proc(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read_proc("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _meminfo_gb(key: str) -> float | None:
    for line in _read_proc("/proc/meminfo").splitlines():
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 2**20, 2)  # kB → GiB
    return None


def machine() -> dict[str, Any]:
    """What the figures were measured on (load average added at the start and end)."""
    import av
    import numpy as np
    import torch

    from forensicloc import __version__

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "ram_gb": _meminfo_gb("MemTotal"),
        "ram_available_gb_at_start": _meminfo_gb("MemAvailable"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "forensicloc": __version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "pyav": av.__version__,
        "ffmpeg_libavcodec": ".".join(map(str, av.library_versions.get("libavcodec", ()))),
        "numpy": np.__version__,
    }


def source_state() -> dict[str, Any]:
    """The commit measured, and the files that differed from it (the figures belong to
    the working tree as it was)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "forensicloc", "plugins") or ""
    return {"commit": commit.strip() if commit else None, "modified": [line[3:] for line in changed.splitlines()]}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- helpers


@functools.cache
def _extraction_speed() -> ModuleType:
    """``extraction_speed.py`` next to this file, for its decode-only baseline (one
    definition of "decode-only" for both benchmarks)."""
    spec = importlib.util.spec_from_file_location("forensicloc_bench_extraction_speed", HERE / "extraction_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decode_only(path: Path) -> int:
    """PyAV decode + conversion to the extractor's analysis size (64x64 RGB) + audio
    resampling: the work any extractor must do. Returns video frames."""
    return _extraction_speed().decode_only(path, 64)


def decode_raw(path: Path) -> int:
    """PyAV decoding only: every video and audio frame decoded, nothing converted."""
    import av

    frames = 0
    with av.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for frame in container.decode(video=0, audio=0):
            frames += isinstance(frame, av.VideoFrame)
    return frames


class MemoryStore:
    """Features held in memory, keyed by ``record.file``: scoring and training then
    measure the scorer alone, never the disk or the decoder."""

    def __init__(self, features: dict[str, Any]):
        self._features = features

    def features(self, record: Any, progress: Any = None) -> Any:
        return self._features[record.file]

    def is_cached(self, record: Any) -> bool:
        return record.file in self._features


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """``(wall seconds, process CPU seconds, result)`` of ``fn()``."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - wall0, time.process_time() - cpu0, out


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(float(x), digits)


# --------------------------------------------------------------------------- set-up


def make_dataset(root: Path, videos: int, seed: int) -> Any:
    from forensicloc.datasets import open_dataset
    from forensicloc.synth import synthesize

    synthesize(root, videos, seed=seed, min_seconds=4.0, max_seconds=6.0, size=SIZE, workers=1)
    return open_dataset(root)


def make_long_video(root: Path, seconds: float, seed: int) -> Path:
    """One authentic ``seconds``-long talking-head video at 224x224."""
    from forensicloc.datasets import open_dataset
    from forensicloc.synth import synthesize

    synthesize(root, 1, seed=seed, fake_ratio=0.0, min_seconds=seconds, max_seconds=seconds, size=SIZE,
               splits=(0.0, 0.0, 1.0))
    return open_dataset(root).records[0].path


def train_scorers(
    names: Sequence[str], dataset: Any, store: MemoryStore, epochs: int, seed: int, log: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every scorer trained briefly; returns ``(scorers, entries)``. A scorer that fails
    is recorded and left out of the timings."""
    from forensicloc.plugins import create
    from forensicloc.training import fit_scorer

    proposer = create("proposer", "threshold", {})
    train, dev = dataset.split("train"), dataset.split("dev")
    small = {"mae": {"epochs": epochs}, "rtdeeploc": {"mae_options": {"epochs": 1}}}
    scorers, entries = {}, {}
    for name in names:
        try:
            scorer = create("scorer", name, small.get(name, {}))
            fitted = fit_scorer(scorer, train, dev, store, seed=seed, epochs=epochs, proposer=proposer)
        except Exception as exc:  # one scorer must not stop the benchmark
            entries[name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            log(f"{name}: training failed: {exc}")
            continue
        scorers[name] = scorer
        entries[name] = {"status": "ok", "supervision": scorer.supervision, "train_seconds": _r(fitted.seconds)}
        log(f"{name}: trained in {fitted.seconds:.1f} s")
    return scorers, entries


# --------------------------------------------------------------------------- 1. throughput


def _summarise(wall: Sequence[float], cpu: Sequence[float], videos: int | None = None, snippets: int | None = None) -> dict[str, Any]:
    med = _median(wall)
    row: dict[str, Any] = {
        "seconds_median": _r(med, 4),
        "seconds_runs": [_r(s, 4) for s in wall],
        # process CPU time, all threads: steadier than wall time on a busy machine
        "cpu_seconds_median": _r(_median(cpu), 4),
    }
    if videos is not None and snippets is not None:
        row["videos_per_s"] = _r(videos / med, 2)
        row["snippets_per_s"] = _r(snippets / med, 1)
    return row


@contextlib.contextmanager
def thread_setting(scorer: Any, n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, or torch's default (``None``).

    Scorers with a ``threads`` option (``mae``, ``rtdeeploc``: they cap torch's
    threads themselves, 1 by default) get it set to match for the block (0 = torch's
    default), so that every scorer is timed under both settings whatever it ships with.
    """
    import torch

    before = torch.get_num_threads()
    own = getattr(scorer, "threads", None)
    if n is not None:
        torch.set_num_threads(n)
    if own is not None:
        scorer.threads = 0 if n is None else n
    try:
        yield
    finally:
        torch.set_num_threads(before)
        if own is not None:
            scorer.threads = own


def variants(scorers: dict[str, Any], threads: Sequence[int | None]) -> list[tuple[str, str, int | None]]:
    """``(key, scorer, torch threads)`` of every timed scorer: ``mae`` with torch's
    default threads, ``mae@1t`` with one thread, ..."""
    return [(name if t is None else f"{name}@{t}t", name, t) for name in scorers for t in threads]


def shipped_threads(scorers: dict[str, Any]) -> dict[str, Any]:
    """The thread count each scorer uses as installed: its ``threads`` option, else
    torch's default."""
    import torch

    out: dict[str, Any] = {}
    for name, scorer in scorers.items():
        own = getattr(scorer, "threads", None)
        out[name] = torch.get_num_threads() if own in (None, 0) else min(own, torch.get_num_threads())
    return out


def throughput(
    records: Sequence[Any], scorers: dict[str, Any], store: MemoryStore, repeats: int, threads: Sequence[int | None]
) -> dict[str, Any]:
    """decode vs extract (alternating per video) then every scorer on in-memory
    features (under each torch thread setting, alternating), per repeat; medians and
    paired ratios."""
    from forensicloc.features.handcrafted import HandcraftedExtractor
    from forensicloc.inference import score_records
    from forensicloc.media import MediaSource

    extractor = HandcraftedExtractor()
    methods: dict[str, Callable[[Path], int]] = {
        "decode": decode_only,
        "extract": lambda path: extractor.extract(MediaSource(path)).length,
    }
    timed_scorers = variants(scorers, threads)
    snippets = sum(store.features(r).length for r in records)
    # warm-up: imports, codec set-up, page cache, torch kernels
    for fn in methods.values():
        fn(records[0].path)
    for _, name, t in timed_scorers:
        with thread_setting(scorers[name], t):
            score_records(scorers[name], records[:2], store)

    names = [*methods, *(f"score:{key}" for key, _, _ in timed_scorers)]
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        totals = {name: [0.0, 0.0] for name in methods}
        for i, record in enumerate(records):
            order = list(methods) if (r + i) % 2 == 0 else list(reversed(methods))
            for name in order:
                w, c, _ = _timed(lambda: methods[name](record.path))
                totals[name][0] += w
                totals[name][1] += c
        for name, (w, c) in totals.items():
            wall[name].append(w)
            cpu[name].append(c)
        for key, name, t in timed_scorers if r % 2 == 0 else list(reversed(timed_scorers)):
            with thread_setting(scorers[name], t):
                w, c, tracks = _timed(lambda: score_records(scorers[name], records, store))
            assert len(tracks) == len(records), tracks.failed
            wall[f"score:{key}"].append(w)
            cpu[f"score:{key}"].append(c)

    n = len(records)
    out: dict[str, Any] = {"videos": n, "snippets": snippets, "methods": {}}
    for name in names:
        out["methods"][name] = _summarise(wall[name], cpu[name], n, snippets)
    dec, ext = wall["decode"], wall["extract"]
    paired = [d / e for d, e in zip(dec, ext)]  # throughput ratio = inverse time ratio
    out["ratio_extract_vs_decode"] = _r(_median(paired))
    out["ratio_extract_vs_decode_per_repeat"] = [_r(x) for x in paired]
    out["cpu_ratio_extract_vs_decode"] = _r(_median([d / e for d, e in zip(cpu["decode"], cpu["extract"])]))
    per_scorer = {}
    for key, _, _ in timed_scorers:
        sc = wall[f"score:{key}"]
        per_scorer[key] = {
            # how many times faster than extraction scoring the same videos is
            "score_vs_extract": _r(_median([e / s for e, s in zip(ext, sc)]), 2),
            "cpu_score_vs_extract": _r(_median([e / s for e, s in zip(cpu["extract"], cpu[f"score:{key}"])]), 2),
            # extract then score, against decoding alone (1.0 = as fast as decoding)
            "pipeline_vs_decode": _r(_median([d / (e + s) for d, e, s in zip(dec, ext, sc)])),
            "pipeline_snippets_per_s": _r(_median([snippets / (e + s) for e, s in zip(ext, sc)]), 1),
        }
    out["per_scorer"] = per_scorer
    return out


# --------------------------------------------------------------------------- 2. run on a long video


def run_timings(path: Path, scorers: dict[str, Any], repeats: int, threads: Sequence[int | None]) -> dict[str, Any]:
    """Decode-only vs ``score_video`` on one long video, for every scorer (and torch
    thread setting): each run is paired with a decode right next to it (which goes
    first alternates), so that the ratio compares the two under the same load."""
    from forensicloc.features.handcrafted import HandcraftedExtractor
    from forensicloc.inference import score_video
    from forensicloc.plugins import create

    extractor = HandcraftedExtractor()
    proposer = create("proposer", "threshold", {})
    timed_scorers = variants(scorers, threads)

    def run(name: str, t: int | None) -> Any:
        with thread_setting(scorers[name], t):
            return score_video(path, scorers[name], extractor, proposer)

    decode_raw(path)  # warm-up: page cache, codec
    for _, name, t in timed_scorers:  # warm-up: torch kernels at this length
        run(name, t)
    wall: dict[str, list[float]] = {"decode": [], "decode (raw)": [], **{f"run:{k}": [] for k, _, _ in timed_scorers}}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    ratios: dict[str, list[float]] = {k: [] for k, _, _ in timed_scorers}
    cpu_ratios: dict[str, list[float]] = {k: [] for k, _, _ in timed_scorers}
    segments: dict[str, int] = {}
    for r in range(repeats):
        w, c, _ = _timed(lambda: decode_raw(path))
        wall["decode (raw)"].append(w)
        cpu["decode (raw)"].append(c)
        order = timed_scorers if r % 2 == 0 else list(reversed(timed_scorers))
        for k, (key, name, t) in enumerate(order):
            pair: dict[str, tuple[float, float]] = {}
            for step in (("decode", f"run:{key}") if (r + k) % 2 == 0 else (f"run:{key}", "decode")):
                if step == "decode":
                    w, c, _ = _timed(lambda: decode_only(path))
                else:
                    w, c, result = _timed(lambda: run(name, t))
                    segments[key] = len(result[1])
                pair[step] = (w, c)
                wall[step].append(w)
                cpu[step].append(c)
            ratios[key].append(pair[f"run:{key}"][0] / pair["decode"][0])
            cpu_ratios[key].append(pair[f"run:{key}"][1] / pair["decode"][1])
    out: dict[str, Any] = {"methods": {name: _summarise(wall[name], cpu[name]) for name in wall}}
    out["ratio_run_vs_decode"] = {k: _r(_median(v)) for k, v in ratios.items()}
    out["ratio_run_vs_decode_per_repeat"] = {k: [_r(x) for x in v] for k, v in ratios.items()}
    out["cpu_ratio_run_vs_decode"] = {k: _r(_median(v)) for k, v in cpu_ratios.items()}
    out["segments_proposed"] = segments
    return out


def _cli() -> list[str]:
    """The ``forensicloc`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "forensicloc"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from forensicloc.cli import main; main()"]


def time_cli(path: Path, model: Path, scorer: str, threads: Sequence[int | None]) -> dict[str, Any]:
    """``forensicloc run`` as a user runs it, once per torch thread setting (through
    ``OMP_NUM_THREADS``), and ``forensicloc --help`` (start-up alone)."""
    env = {**os.environ, "COLUMNS": "100"}
    help_s, _, _ = _timed(lambda: subprocess.run([*_cli(), "--help"], capture_output=True, env=env, check=True))
    cmd = [*_cli(), "run", "--scorer", scorer, "--model", str(model), "--device", "cpu", str(path)]
    out: dict[str, Any] = {"command": f"forensicloc run --scorer {scorer} --model MODEL --device cpu VIDEO"}
    for t in threads:
        run_env = env if t is None else {**env, "OMP_NUM_THREADS": str(t)}
        run_s, _, done = _timed(lambda: subprocess.run(cmd, capture_output=True, text=True, env=run_env))
        if done.returncode != 0:
            raise RuntimeError(f"forensicloc run failed ({done.returncode}): {done.stderr[-2000:]}")
        out["seconds" if t is None else f"seconds_OMP_NUM_THREADS={t}"] = _r(run_s, 3)
    out["help_seconds"] = _r(help_s, 3)
    # most of the CLI's start-up is importing torch (plugins load it to build models)
    torch_s, _, _ = _timed(lambda: subprocess.run([sys.executable, "-c", "import torch"], env=env, check=True))
    out["import_torch_seconds"] = _r(torch_s, 3)
    return out


# --------------------------------------------------------------------------- 3. memory


def _vm_hwm_mb() -> float | None:
    for line in _read_proc("/proc/self/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _memory_child(mode: str, path: str, model: str, scorer: str) -> None:
    """In a fresh interpreter: load what ``run`` loads, do ``mode``, print the peak."""
    from forensicloc.features.handcrafted import HandcraftedExtractor
    from forensicloc.inference import score_video
    from forensicloc.models import load_model
    from forensicloc.plugins import create

    t0 = time.perf_counter()
    if mode == "cli":
        from forensicloc.cli import main as cli_main

        with contextlib.redirect_stdout(io.StringIO()):
            try:
                cli_main(["run", "--scorer", scorer, "--model", model, "--device", "cpu", path])
            except SystemExit as exc:
                if exc.code not in (0, None):
                    raise
    else:
        extractor = HandcraftedExtractor()
        trained, _ = load_model(model, features_dims=extractor.dims(), scorer=scorer)
        proposer = create("proposer", "threshold", {})
        if mode == "decode":
            decode_only(Path(path))
        elif mode == "run":
            score_video(path, trained, extractor, proposer)
    seconds = time.perf_counter() - t0
    print(json.dumps({"peak_rss_mb": _vm_hwm_mb(), "seconds": seconds}))


def measure_memory(mode: str, path: Path, model: Path, scorer: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--memory-child", mode, str(path), str(model), scorer]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {mode!r} failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return {"peak_rss_mb": _r(out["peak_rss_mb"], 1), "seconds": _r(out["seconds"], 3)}


def _recorded(fn: Callable[[], dict[str, Any]], log: Callable[[str], None]) -> dict[str, Any]:
    """``fn()``, or its failure recorded as ``{"error": ...}``: a measurement in a
    subprocess that fails must not lose the figures already taken."""
    try:
        return fn()
    except Exception as exc:
        log(f"failed: {exc}")
        return {"error": str(exc)}


# --------------------------------------------------------------------------- report


def render(summary: dict[str, Any]) -> str:
    """The compact table printed at the end."""
    lines: list[str] = []
    m = summary["machine"]
    lines.append(
        f"machine: {m['cpu']}, {m['cpus_usable']} cores, {m['ram_gb']} GiB; torch {m['torch']} "
        f"({m['torch_threads']} threads), PyAV {m['pyav']}; load {m['load_average_at_start'][0]} → "
        f"{m['load_average_at_end'][0]}"
    )
    tp = summary.get("throughput")
    if tp:
        lines.append(f"\nthroughput over {tp['videos']} videos ({tp['snippets']} snippets), median of {summary['repeats']}:")
        lines.append(f"  {'method':<20}{'videos/s':>10}{'snippets/s':>13}{'vs extract':>12}{'pipeline/decode':>17}")
        for name, row in tp["methods"].items():
            extra = tp["per_scorer"].get(name.split(":", 1)[1], {}) if name.startswith("score:") else {}
            vs = f"{extra['score_vs_extract']:.1f}x" if extra else ""
            pipe = f"{extra['pipeline_vs_decode']:.2f}" if extra else ""
            lines.append(f"  {name:<20}{row['videos_per_s']:>10.2f}{row['snippets_per_s']:>13.0f}{vs:>12}{pipe:>17}")
        lines.append(
            f"  extract / decode throughput (paired): {tp['ratio_extract_vs_decode']:.2f} "
            f"(by CPU time: {tp['cpu_ratio_extract_vs_decode']:.2f})"
        )
    run = summary.get("run_60s")
    if run:
        lines.append(f"\n`run` on a {summary['long_video']['seconds']:g} s video (seconds, median):")
        for name, row in run["methods"].items():
            ratio = run["ratio_run_vs_decode"].get(name[4:]) if name.startswith("run:") else None
            cpu = run["cpu_ratio_run_vs_decode"].get(name[4:]) if name.startswith("run:") else None
            lines.append(
                f"  {name:<20}{row['seconds_median']:>8.2f} s"
                + (f"   {ratio:.2f}x decode (CPU time {cpu:.2f}x)" if ratio else "")
            )
        cli = summary.get("cli")
        if cli and "help_seconds" in cli:
            for key, value in cli.items():
                if key.startswith("seconds"):
                    label = "CLI run:" + RUN_SCORER + ("" if key == "seconds" else "@" + key.split("=")[1] + "t")
                    lines.append(
                        f"  {label:<20}{value:>8.2f} s   (once; `--help` alone {cli['help_seconds']:.2f} s, "
                        f"`python -c 'import torch'` {cli['import_torch_seconds']:.2f} s)"
                    )
    mem = summary.get("memory")
    if mem:
        lines.append("\npeak memory (VmHWM, fresh process each): " + ", ".join(
            f"{k} {v['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in v else f"{k} failed"
            for k, v in mem.items()
            if isinstance(v, dict)
        ))
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="repeats of every timing (median; at least 3)")
    parser.add_argument("--videos", type=int, default=30, help="synthetic videos (train/dev/test 60/20/20 %%)")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs of every trainable scorer")
    parser.add_argument("--long", type=float, default=60.0, help="length (s) of the video `run` is timed on")
    parser.add_argument("--scorers", default=None, help="comma-separated scorers [default: every installed one]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="12 videos, 1 epoch: a check in two to three minutes")
    parser.add_argument("--threads", default="default,1",
                        help="torch thread settings every scorer is timed under: 'default' (torch's choice) and/or counts")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI timing and the memory measurements")
    parser.add_argument("--memory-long", type=float, nargs="*", default=[], metavar="SECONDS",
                        help="also measure the peak memory of `run` on videos this long (e.g. 600)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--memory-child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        _memory_child(*args.memory_child)
        return {}
    if args.repeats < 3:
        parser.error("--repeats must be at least 3 (medians)")
    if args.quick:
        args.videos, args.epochs = min(args.videos, 12), 1
    try:
        threads = [None if t.strip() == "default" else int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        parser.error("--threads: comma-separated 'default' and/or positive integers, e.g. default,1")
    if not threads or any(t is not None and t < 1 for t in threads):
        parser.error("--threads: comma-separated 'default' and/or positive integers, e.g. default,1")

    def log(message: str) -> None:
        print(f"[speed] {message}", file=sys.stderr, flush=True)

    from forensicloc.plugins import registry

    started = time.perf_counter()
    load_start = load_average()
    summary: dict[str, Any] = {
        "benchmark": "speed",
        "command": "python benchmarks/speed.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "source": source_state(),
        "machine": machine(),
        "repeats": args.repeats,
    }
    summary["machine"]["load_average_at_start"] = load_start
    names = args.scorers.split(",") if args.scorers else registry("scorer").names()
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="forensicloc-speed-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        dataset = make_dataset(folder / "data", args.videos, args.seed)
        long_path = make_long_video(folder / "long", args.long, args.seed + 1)
        phases["synthesize"] = time.perf_counter() - t0
        log(f"synthesized {len(dataset.records)} videos and a {args.long:g} s video in {phases['synthesize']:.0f} s")

        from forensicloc.features.handcrafted import HandcraftedExtractor
        from forensicloc.media import MediaSource

        extractor = HandcraftedExtractor()
        store = MemoryStore({r.file: extractor.extract(MediaSource(r.path)) for r in dataset.records})
        summary["dataset"] = {
            "videos": len(dataset.records),
            "splits": {s: len(dataset.split(s)) for s in dataset.splits},
            "seconds_per_video": "4-6",
            "size": f"{SIZE}x{SIZE}",
            "fps": 25,
        }
        phases["extract (in memory)"] = time.perf_counter() - t0 - phases["synthesize"]
        scorers, entries = train_scorers(names, dataset, store, args.epochs, args.seed, log)
        phases["train"] = time.perf_counter() - t0 - sum(phases.values())
        summary["scorers"] = entries
        summary["training"] = {"epochs": args.epochs, "note": "brief training: scoring cost does not depend on it"}

        log(f"throughput: {args.repeats} repeats over {len(dataset.records)} videos")
        summary["throughput"] = throughput(dataset.records, scorers, store, args.repeats, threads)
        summary["load_average_after_throughput"] = load_average()
        phases["throughput"] = time.perf_counter() - t0 - sum(phases.values())

        summary["long_video"] = {"seconds": args.long, "size": f"{SIZE}x{SIZE}", "fps": 25, "frames": decode_raw(long_path)}
        log(f"run on the {args.long:g} s video: {args.repeats} repeats")
        summary["run_60s"] = run_timings(long_path, scorers, args.repeats, threads)
        phases["run"] = time.perf_counter() - t0 - sum(phases.values())

        if not args.no_cli and RUN_SCORER in scorers:
            from forensicloc.models import save_model

            model = save_model(scorers[RUN_SCORER], folder / "model", extractor=extractor)
            log("CLI run (once) and peak memory (fresh process each)")
            summary["cli"] = _recorded(lambda: time_cli(long_path, model, RUN_SCORER, threads), log)
            summary["cli"]["api_seconds_median"] = {
                key: summary["run_60s"]["methods"][f"run:{key}"]["seconds_median"]
                for key, name, _ in variants(scorers, threads)
                if name == RUN_SCORER
            }
            memory: dict[str, Any] = {
                mode_name: _recorded(lambda mode=mode: measure_memory(mode, long_path, model, RUN_SCORER), log)
                for mode_name, mode in (("idle", "idle"), ("decode", "decode"), ("run (API)", "run"), ("run (CLI)", "cli"))
            }
            for seconds in args.memory_long:
                path = make_long_video(folder / f"long{seconds:g}", seconds, args.seed + 2)
                memory[f"run (API), {seconds:g} s video"] = _recorded(
                    lambda path=path: measure_memory("run", path, model, RUN_SCORER), log
                )
            memory["scorer"] = RUN_SCORER
            memory["note"] = "idle = interpreter, forensicloc, torch, PyAV imported and the model loaded, no video"
            summary["memory"] = memory
            phases["cli and memory"] = time.perf_counter() - t0 - sum(phases.values())

    summary["machine"]["load_average_at_end"] = load_average()
    summary["seconds"] = _r(time.perf_counter() - started, 1)
    summary["phase_seconds"] = {k: _r(v, 1) for k, v in phases.items()}
    tp, run = summary["throughput"], summary["run_60s"]
    keys = [key for key, _, _ in variants(scorers, threads)]
    summary["torch_threads_timed"] = ["default" if t is None else t for t in threads]
    summary["threads_as_shipped"] = shipped_threads(scorers)
    summary["headline"] = {
        "extract_vs_decode_throughput": tp["ratio_extract_vs_decode"],
        "run_vs_decode_time_60s": {k: v for k, v in run["ratio_run_vs_decode"].items() if k.split("@")[0] == RUN_SCORER},
        "scoring_snippets_per_s": {k: tp["methods"][f"score:{k}"]["snippets_per_s"] for k in keys},
        "run_peak_rss_mb": summary.get("memory", {}).get("run (API)", {}).get("peak_rss_mb"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(render(summary))
    print(f"\nwritten to {args.out} in {summary['seconds']:.0f} s")
    return summary


if __name__ == "__main__":
    main()
