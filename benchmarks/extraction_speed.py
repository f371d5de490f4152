"""Feature extraction speed and memory: handcrafted extraction vs PyAV decoding alone.

Throughput. ``--videos`` LAV-DF-like clips (``--size`` 224x224, 25 fps, 16 kHz mono
AAC, ``--seconds`` long, textured moving content) are written to a temporary folder;
then, side by side in one run and alternating within each repeat so that both see the
same machine load:

* ``decode``: plain PyAV, no forensicloc code: every video frame decoded (codec
  threading on) and converted to an RGB image of the size the extractor analyses
  (64x64, with swscale's area filter), and every audio frame resampled to 16 kHz mono
  float32;
* ``extract``: ``HandcraftedExtractor().extract(MediaSource(path))`` on the same files
  (decoding, the face box cropped and scaled to 64x64, the snippet grid, visual and
  audio descriptors).

Throughput is snippets (= frames) per second of wall time over all videos, per repeat
(``--repeats`` >= 3). The headline ``ratio_extract_vs_decode`` is the median over
repeats of extract/decode throughput measured in the same repeat (the two methods
alternate video by video, so both see the same machine load); the target is >= 0.8.
Median throughputs and CPU milliseconds per snippet (process CPU time, all threads)
are reported too; on a busy machine CPU time is steadier than wall time.

Memory. Peak resident memory of a fresh subprocess per measurement (the kernel's
high-water mark ``VmHWM``; ``resource.getrusage().ru_maxrss`` is reported beside it,
but on Linux it can carry the launching parent's peak across fork+exec) of
extracting a ``--long`` (600 s) and a ``--short`` (10 s) video, written with
:func:`forensicloc.media.write_video`; the target is <= 1 GB and about equal, since
decoding streams in chunks. ``idle`` is the same subprocess importing everything but
extracting nothing (the interpreter, numpy and PyAV themselves).

Prints a JSON summary and writes it to ``benchmarks/results/extraction_speed.json``.

    python benchmarks/extraction_speed.py [--videos 6] [--seconds 10] [--repeats 3]
                                          [--long 600] [--short 10] [--no-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "extraction_speed.json"


# --------------------------------------------------------------------------- test videos


def _frames(n: int, size: int, seed: int) -> Iterator[np.ndarray]:
    """Textured, moving frames (a drifting background texture and a moving, shaded
    ellipse), so that H.264 has real work to do, as with face videos."""
    rng = np.random.default_rng(seed)
    big = size + 64
    texture = rng.normal(0, 1, (big // 4, big // 4, 3))
    texture = np.kron(texture, np.ones((4, 4, 1)))  # 4x4 blocks: smooth enough to compress
    texture = (110 + 35 * texture).clip(0, 255).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for k in range(n):
        t = k / 25.0
        ox, oy = int(32 + 24 * np.sin(0.3 * t)), int(32 + 24 * np.cos(0.2 * t))
        img = texture[oy : oy + size, ox : ox + size].copy()
        cx, cy = 0.5 + 0.05 * np.sin(1.1 * t), 0.45 + 0.04 * np.cos(0.7 * t)
        face = ((xx - cx) / 0.22) ** 2 + ((yy - cy) / 0.3) ** 2 < 1.0
        img[face] = img[face] * 0.3 + np.array([200, 160, 130], np.float32) * 0.7
        mouth = ((xx - cx) / 0.07) ** 2 + ((yy - cy - 0.15) / (0.01 + 0.03 * abs(np.sin(6 * t)))) ** 2 < 1.0
        img[mouth] = 40
        yield img.astype(np.uint8)


def _speech(seconds: float, seed: int, sample_rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    pitch = 120 + 20 * np.sin(2 * np.pi * 0.5 * t)
    voice = sum(np.sin(2 * np.pi * h * np.cumsum(pitch) / sample_rate) / h for h in range(1, 6))
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    return (0.2 * envelope * voice + 0.01 * rng.normal(size=t.size)).astype(np.float32)


def make_video(path: Path, seconds: float, size: int, seed: int) -> Path:
    from forensicloc.media import write_video

    n = int(round(seconds * 25))
    return write_video(path, _frames(n, size, seed), _speech(seconds, seed), fps=25, crf=23, preset="ultrafast")


# --------------------------------------------------------------------------- throughput


def decode_only(path: Path, size: int) -> int:
    """Plain PyAV: every frame decoded (codec threading on) and converted to a
    ``size`` x ``size`` RGB array, every audio frame resampled to 16 kHz mono float32.
    Returns the number of video frames."""
    import av
    from av.video.reformatter import VideoReformatter

    frames = 0
    with av.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"
        reformatter = VideoReformatter()
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        for frame in container.decode(video=0, audio=0):
            if isinstance(frame, av.VideoFrame):
                reformatter.reformat(frame, size, size, "rgb24", interpolation="AREA").to_ndarray()
                frames += 1
            else:
                for out in resampler.resample(frame):
                    out.to_ndarray()
    return frames


def extract(path: Path) -> int:
    from forensicloc.features.handcrafted import HandcraftedExtractor
    from forensicloc.media import MediaSource

    return HandcraftedExtractor().extract(MediaSource(path)).length


def _timed(fn, *args) -> tuple[float, float, int]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    n = fn(*args)
    return time.perf_counter() - wall0, time.process_time() - cpu0, n


def throughput(videos: list[Path], repeats: int) -> dict[str, Any]:
    """Both methods on every video, alternating which goes first, video by video, so
    that a change of machine load hits both alike; per repeat, totals over all videos."""
    from forensicloc.features.handcrafted import HandcraftedExtractor

    ex = HandcraftedExtractor()
    methods = {
        "decode": lambda path: decode_only(path, ex.face_size),
        "extract": extract,
    }
    # warm-up: imports, codec initialisation, page cache
    for fn in methods.values():
        fn(videos[0])
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in methods}
    for r in range(repeats):
        totals = {name: [0.0, 0.0, 0] for name in methods}
        for i, path in enumerate(videos):
            order = list(methods) if (r + i) % 2 == 0 else list(reversed(methods))
            for name in order:
                wall, cpu, n = _timed(methods[name], path)
                totals[name][0] += wall
                totals[name][1] += cpu
                totals[name][2] += n
        for name, (wall, cpu, n) in totals.items():
            runs[name].append((wall, cpu, int(n)))
    out: dict[str, Any] = {}
    for name, rs in runs.items():
        out[name] = {
            "snippets": rs[0][2],
            "fps_median": statistics.median(n / w for w, _, n in rs),
            "fps_runs": [round(n / w, 1) for w, _, n in rs],
            "cpu_ms_per_snippet_median": statistics.median(1000 * c / n for _, c, n in rs),
        }
    # each repeat pairs the two methods under the same load: the median of the paired
    # ratios is the headline figure (steadier than a ratio of two separate medians)
    paired = [(ne / we) / (nd / wd) for (we, _, ne), (wd, _, nd) in zip(runs["extract"], runs["decode"])]
    out["ratio_extract_vs_decode"] = statistics.median(paired)
    out["ratio_per_repeat"] = [round(r, 3) for r in paired]
    out["ratio_of_median_fps"] = out["extract"]["fps_median"] / out["decode"]["fps_median"]
    out["cpu_ratio_decode_vs_extract"] = (
        out["decode"]["cpu_ms_per_snippet_median"] / out["extract"]["cpu_ms_per_snippet_median"]
    )
    return out


# --------------------------------------------------------------------------- memory


def _memory_child(path: str | None) -> None:
    """Run in a fresh interpreter: extract ``path`` (or nothing) and print peak RSS."""
    from forensicloc.features.handcrafted import HandcraftedExtractor
    from forensicloc.media import MediaSource

    started = time.perf_counter()
    n = HandcraftedExtractor().extract(MediaSource(path)).length if path else 0
    seconds = time.perf_counter() - started
    # ru_maxrss survives fork+exec on Linux (a child may report its parent's peak), so
    # the kernel's per-process high-water mark VmHWM is preferred where it exists
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    peak_mb = maxrss_mb
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    peak_mb = int(line.split()[1]) / 1024
    except OSError:
        pass
    print(json.dumps({"snippets": n, "peak_rss_mb": peak_mb, "ru_maxrss_mb": maxrss_mb, "seconds": seconds}))


def make_video_in_subprocess(path: Path, seconds: float, size: int, seed: int) -> Path:
    """Write a long video in a child process, so that this process stays small (its
    peak would otherwise show up in the ``ru_maxrss`` of the children it launches)."""
    cmd = [sys.executable, __file__, "--make-video", str(path), str(seconds), str(size), str(seed)]
    subprocess.run(cmd, check=True)
    return path


def measure_memory(path: Path | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--memory-child", str(path) if path else ""]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long", type=float, default=600.0, help="length (s) of the long video for the memory test")
    parser.add_argument("--short", type=float, default=10.0, help="length (s) of the short video for the memory test")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--make-video", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        _memory_child(args.memory_child or None)
        return
    if args.make_video is not None:
        path, seconds, size, seed = args.make_video
        make_video(Path(path), float(seconds), int(size), int(seed))
        return
    if args.repeats < 3:
        parser.error("--repeats must be at least 3 (medians)")

    import av

    summary: dict[str, Any] = {
        "benchmark": "extraction_speed",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "pyav": av.__version__,
            "numpy": np.__version__,
            "load_average_at_start": list(os.getloadavg()),
        },
        "videos": {"count": args.videos, "seconds": args.seconds, "size": args.size, "fps": 25, "codec": "h264+aac"},
        "repeats": args.repeats,
    }
    with tempfile.TemporaryDirectory(prefix="forensicloc-bench-") as tmp:
        folder = Path(tmp)
        videos = [make_video(folder / f"clip{i}.mp4", args.seconds, args.size, seed=i) for i in range(args.videos)]
        summary["throughput"] = throughput(videos, args.repeats)
        if not args.no_memory:
            short = make_video_in_subprocess(folder / "short.mp4", args.short, args.size, seed=100)
            long = make_video_in_subprocess(folder / "long.mp4", args.long, args.size, seed=101)
            memory = {
                "idle": measure_memory(None),
                f"short_{args.short:g}s": measure_memory(short),
                f"long_{args.long:g}s": measure_memory(long),
            }
            memory["long_over_short"] = memory[f"long_{args.long:g}s"]["peak_rss_mb"] / memory[f"short_{args.short:g}s"]["peak_rss_mb"]
            summary["memory"] = memory
    summary["machine"]["load_average_at_end"] = list(os.getloadavg())
    tp = summary["throughput"]
    summary["targets"] = {
        "throughput_ratio>=0.8": tp["ratio_extract_vs_decode"] >= 0.8,
        **(
            {
                "long_peak_rss<=1GB": summary["memory"][f"long_{args.long:g}s"]["peak_rss_mb"] <= 1024,
                "long_about_short(<=1.25x)": summary["memory"]["long_over_short"] <= 1.25,
            }
            if "memory" in summary
            else {}
        ),
    }
    text = json.dumps(summary, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
