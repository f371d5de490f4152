"""``forensicloc demo``: the whole toolkit in a few minutes on built-in synthetic data.

Synthesizes a small dataset, benchmarks every installed scorer on it (``bench``),
prints the comparison, then runs the ``run`` pipeline (decode → features → scores →
proposals) on one forged test video and shows the segments found next to the truth.
Everything lands under ``--out``; a second run reuses the dataset and the feature cache.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from forensicloc.cli import console, device_option, err_console, progress_bar

#: the synthetic dataset the demo writes: short, low-resolution videos, so that 400 of them
#: (enough test videos for the comparison to mean something) run in a few minutes on 2 cores
DEMO_DATASET = {"min_seconds": 3.0, "max_seconds": 4.0, "size": 64, "max_segment": 1.2}


@click.command("demo")
@click.option("--out", "out", default=Path("demo-output"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where the dataset, models and report go.")
@click.option("--videos", default=400, show_default=True, type=click.IntRange(min=10),
              help="Videos to synthesize (train / dev / test = 60 / 20 / 20 %).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the data and of every scorer.")
@click.option("--epochs", default=None, type=click.IntRange(min=1),
              help="Training epochs of every trainable scorer [default: each scorer's own].")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Processes for synthesis and feature extraction.")
@device_option
def command(out: Path, videos: int, seed: int, epochs: int | None, workers: int, device: str) -> None:
    """Synthesize a small dataset, benchmark every installed scorer, localize one video.

    Shows what forensicloc does end to end: a synthetic audio-visual deepfake dataset
    (LAV-DF layout), the comparison table of every installed method under the official
    protocol, and the segments one method finds in a forged test video next to the
    ground truth. The report (tables, PR curves, score tracks) is written under OUT.
    """
    from forensicloc.bench import BenchConfig, run_bench, write_bench
    from forensicloc.commands.bench import render_table

    started = time.perf_counter()
    data = out / "data"
    console.rule("[bold]1. synthetic dataset")
    _synthesize(data, videos, seed, workers)

    console.rule("[bold]2. benchmark of every installed scorer")
    config = BenchConfig(
        dataset=data, cache_dir=out / "cache", seed=seed, epochs=epochs, workers=workers, device=device
    )

    def announce(outcome: Any) -> None:
        e = outcome.entry
        if outcome.ok:
            err_console.print(f"[green]✓[/green] {outcome.name} trained in {e.get('train_seconds', 0):.1f} s",
                              highlight=False)
        else:
            err_console.print(f"[red]✗ {outcome.name} failed in {e.get('stage')}:[/red] {e.get('error')}",
                              highlight=False)

    with progress_bar("bench", transient=True) as update:
        result = run_bench(config, progress=update, on_scorer=announce)
    result.results["command"] = (
        f"forensicloc bench --dataset {data} --cache {out / 'cache'} --seed {seed} --device {device} "
        + (f"--epochs {epochs} " if epochs else "")
        + f"--out {out / 'bench'}"
    )
    written = write_bench(result, out / "bench")
    console.print(render_table(result.results))

    console.rule("[bold]3. localizing one test video")
    _localize_one(result, out)

    console.rule()
    console.print(
        f"Report: [bold]{written['report']}[/bold] (tables, per modify type and family, cost), "
        f"plots: {written.get('pr_curves', '-')}, {written.get('score_tracks', '-')}; "
        f"every metric in {written['results']}.",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"Demo finished in {time.perf_counter() - started:.0f} s.", highlight=False)


def _synthesize(data: Path, videos: int, seed: int, workers: int) -> None:
    """Write the dataset, or reuse it when a previous demo wrote the same one."""
    from forensicloc.synth import synthesize

    stamp = data / "demo.json"
    wanted = {"videos": videos, "seed": seed, **DEMO_DATASET}
    if stamp.is_file() and (data / "metadata.json").is_file():
        try:
            if json.loads(stamp.read_text()) == wanted:
                console.print(f"reusing the dataset in {data} ({videos} videos, seed {seed})", highlight=False)
                return
        except (OSError, json.JSONDecodeError):
            pass
    with progress_bar("synthesizing videos", transient=True) as update:
        summary = synthesize(data, videos, seed=seed, workers=workers, progress=update, overwrite=True,
                             **DEMO_DATASET)
    stamp.write_text(json.dumps(wanted) + "\n")
    console.print(
        f"{summary.videos} videos ({summary.real} real, {summary.fake} fake; "
        + ", ".join(f"{k} {v}" for k, v in summary.splits.items())
        + f") with {summary.segments} forged segments, written to {data} in {summary.seconds:.0f} s",
        highlight=False,
    )


def _pick_scorer(result: Any) -> str | None:
    """The reference method if it ran, else the best scorer by test AP@0.5."""
    ok = {n: o for n, o in result.outcomes.items() if o.ok and n != "random"}
    if "rtdeeploc" in ok:
        return "rtdeeploc"
    if not ok:
        return None
    return max(ok, key=lambda n: ok[n].entry.get("metrics", {}).get("full", {}).get("AP@0.5", 0.0))


def _localize_one(result: Any, out: Path) -> None:
    """Run the ``run`` pipeline on a forged test video; found segments next to the truth."""
    from rich.table import Table

    from forensicloc.commands.run import plot_tracks
    from forensicloc.evaluation import iou_matrix
    from forensicloc.features import FeatureCache, FeatureStore
    from forensicloc.inference import score_video
    from forensicloc.plugins import create

    name = _pick_scorer(result)
    video = next((r for r in result.plot_records if r.label == 1), None)
    if name is None or video is None:
        err_console.print("[yellow]no trained scorer or no forged test video to show[/yellow]")
        return
    outcome = result.outcomes[name]
    proposer = create("proposer", result.results["proposer"]["name"], result.results["proposer"]["options"])
    store = FeatureStore(result.extractor, FeatureCache(out / "cache"))
    track, segments = score_video(video.path, outcome.scorer, result.extractor, proposer, store=store)
    truth = list(video.fake_segments or ())
    families = list(video.families or ())

    found = Table(title=f"{video.file} — segments found by {name} (top 5)", title_justify="left")
    for col in ("#", "start (s)", "end (s)", "score", "modality", "best IoU"):
        found.add_column(col, justify="left" if col == "modality" else "right")
    shown = segments[:5]
    ious = iou_matrix([[s.start, s.end] for s in shown], truth) if shown and truth else None
    for i, seg in enumerate(shown):
        best = float(ious[i].max()) if ious is not None else 0.0
        mark = " ✓" if best > 0.5 else ""
        found.add_row(str(i + 1), f"{seg.start:.2f}", f"{seg.end:.2f}", f"{seg.score:.3f}", seg.modality or "-",
                      f"{best:.2f}{mark}")
    if not shown:
        found.add_row("-", "-", "-", "-", "no segment proposed", "-")

    actual = Table(title=f"ground truth ({video.modify_type})", title_justify="left")
    for col in ("start (s)", "end (s)", "family"):
        actual.add_column(col, justify="left" if col == "family" else "right")
    for i, (start, end) in enumerate(truth):
        actual.add_row(f"{start:.2f}", f"{end:.2f}", families[i] if i < len(families) else "-")

    from rich.columns import Columns

    console.print(Columns([found, actual], padding=(0, 4)))
    plot = plot_tracks(out / "run.png", {video.file: (track, segments[:5])}, title=name)
    model = outcome.entry.get("model")
    console.print(
        f"✓ marks a segment overlapping the truth at IoU > 0.5. Plot: {plot}. The same from the command line:\n"
        f"  forensicloc run --scorer {name}"
        + (f" --model {out / 'bench' / model}" if model else "")
        + f" {video.path} --plot {plot}",
        highlight=False,
        soft_wrap=True,
    )
