"""``forensicloc run``: find the forged segments of one or more videos."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from forensicloc.cli import console, device_option, err_console, opt_option, render_error


@click.command("run")
@click.option("--scorer", "scorer_name", required=True, help="Scorer (see `forensicloc plugins`).")
@click.option("--model", "model_dir", default=None, type=click.Path(path_type=Path),
              help="Model directory [default: the one `forensicloc train` recorded for the scorer].")
@click.option("--extractor", default=None,
              help="Feature extractor [default: the model's; `handcrafted` for scorers that need no model].")
@click.option("--extractor-opt", "extractor_opts", multiple=True, metavar="KEY=VALUE",
              help="Extractor option (repeatable) [default: the model's].")
@click.option("--proposer", default="threshold", show_default=True, help="Proposal generator.")
@click.option("--proposer-opt", "proposer_opts", multiple=True, metavar="KEY=VALUE", help="Proposer option (repeatable).")
@opt_option
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=1),
              help="Segments shown per video in the table and the plot (--json gets every proposal).")
@click.option("--json", "json_out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the official predictions format {video: [[score, start, end], ...]}.")
@click.option("--plot", "plot_out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Draw the score tracks with the proposed segments (PNG).")
@device_option
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
def command(
    ctx: click.Context,
    scorer_name: str,
    model_dir: Path | None,
    extractor: str | None,
    extractor_opts: tuple[str, ...],
    proposer: str,
    proposer_opts: tuple[str, ...],
    opts: tuple[str, ...],
    top: int,
    json_out: Path | None,
    plot_out: Path | None,
    device: str,
    videos: tuple[Path, ...],
) -> None:
    """Score VIDEO... and print the segments that look forged.

    Decodes each video, extracts features, scores every snippet and turns the score
    track into segments (start, end, score, and which modality looks forged). Any video
    PyAV can read works. A scorer that learns needs a trained model: the default one
    recorded by `forensicloc train`, or --model DIR. A video that cannot be read is
    reported, the others are processed, and the exit code is 1.

    Example: forensicloc run --scorer rtdeeploc --json preds.json --plot tracks.png clip.mp4
    """
    from forensicloc.cli import parse_component_options
    from forensicloc.device import resolve_device
    from forensicloc.errors import ForensiclocError
    from forensicloc.inference import score_video
    from forensicloc.plugins import create

    device = resolve_device(device)
    scorer, feature_extractor = _load_scorer(scorer_name, model_dir, extractor, extractor_opts, opts, device)
    chosen = create("proposer", proposer, parse_component_options("proposer", proposer, proposer_opts))

    results: dict[str, tuple[Any, list[Any]]] = {}
    failed: list[str] = []
    for video in videos:
        try:
            with _status(f"scoring {video}"):
                results[str(video)] = score_video(video, scorer, feature_extractor, chosen)
        except ForensiclocError as exc:
            render_error(exc)
            failed.append(str(video))
    for name, (track, segments) in results.items():
        console.print(_video_table(name, track, segments, top))
    if json_out is not None:
        from forensicloc.predictions import to_official, write_predictions

        write_predictions(json_out, {name: to_official(segs) for name, (_, segs) in results.items()})
        err_console.print(f"predictions written to {json_out}", highlight=False)
    if plot_out is not None and results:
        plot_tracks(plot_out, {name: (track, segs[:top]) for name, (track, segs) in results.items()}, title=scorer_name)
        err_console.print(f"plot written to {plot_out}", highlight=False)
    if failed:
        err_console.print(f"[red]{len(failed)} of {len(videos)} video(s) failed[/red]", highlight=False)
        ctx.exit(1)


def _status(text: str) -> Any:
    """A spinner while a video is decoded and scored (terminals only)."""
    return err_console.status(text) if err_console.is_terminal else contextlib.nullcontext()


def _load_scorer(
    scorer_name: str,
    model_dir: Path | None,
    extractor: str | None,
    extractor_opts: Sequence[str],
    opts: Sequence[str],
    device: str,
) -> tuple[Any, Any]:
    """The scorer ready to score, and the extractor its features must come from."""
    from forensicloc.api import FitContext
    from forensicloc.cli import parse_component_options
    from forensicloc.errors import ModelError
    from forensicloc.models import check_features, find_default_model, load_model, read_card
    from forensicloc.plugins import create, get_component

    cls: Any = get_component("scorer", scorer_name)
    if cls.supervision == "none" and model_dir is None:
        scorer = create("scorer", scorer_name, parse_component_options("scorer", scorer_name, opts)).to(device)
        scorer.fit([], FitContext(device=device))  # learns nothing; called for uniformity
        name = extractor or "handcrafted"
        return scorer, create("extractor", name, parse_component_options("extractor", name, extractor_opts))
    if opts:
        raise ModelError(
            f"--opt cannot change a trained {scorer_name} model: its options come from the model",
            hint=f"train with those options: `forensicloc train --scorer {scorer_name} --opt ... --dataset DIR`",
        )
    directory = model_dir or find_default_model(scorer_name)
    if model_dir is None and not (directory / "config.json").is_file():
        raise ModelError(
            f"no trained model for scorer {scorer_name!r} (looked in {directory})",
            path=directory,
            hint=f"train one with `forensicloc train --scorer {scorer_name} --dataset DIR`, or pass --model DIR",
        )
    card = read_card(directory, scorer_name)
    name = extractor or card.extractor.get("name", "handcrafted")
    check_features(card, extractor_name=name)
    options = {**card.extractor.get("config", {}), **parse_component_options("extractor", name, extractor_opts)}
    feature_extractor = create("extractor", name, options)
    scorer, _ = load_model(
        directory, features_dims=feature_extractor.dims(), extractor_name=name, scorer=scorer_name, device=device
    )
    return scorer, feature_extractor


def _video_table(name: str, track: Any, segments: Sequence[Any], top: int) -> Any:
    from rich.table import Table

    title = f"{name} — {track.duration:.2f} s, video score {track.video_level:.3f}"
    table = Table(title=title, title_justify="left")
    for col in ("#", "start (s)", "end (s)", "score", "modality"):
        table.add_column(col, justify="right" if col != "modality" else "left")
    for i, seg in enumerate(segments[:top], 1):
        table.add_row(str(i), f"{seg.start:.2f}", f"{seg.end:.2f}", f"{seg.score:.3f}", seg.modality or "-")
    if not segments:
        table.add_row("-", "-", "-", "-", "no segment proposed")
    elif len(segments) > top:
        table.caption = f"{len(segments) - top} more segment(s) with lower scores (--top, --json)"
    return table


def plot_tracks(path: str | os.PathLike[str], results: Mapping[str, tuple[Any, Sequence[Any]]], title: str = "") -> Path:
    """One panel per video: the score track, the per-modality tracks, and the given
    segments shaded (darker = higher score). Agg canvas, no display needed."""
    import numpy as np
    from matplotlib.figure import Figure

    n = max(1, len(results))
    fig = Figure(figsize=(9.0, 2.3 * n + 0.4), dpi=100)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    colours = {"visual": "tab:red", "audio": "tab:blue"}
    for ax, (name, (track, segments)) in zip(axes, results.items()):
        t = (np.arange(track.length) + 0.5) / track.rate
        top_score = max((s.score for s in segments), default=1.0) or 1.0
        for i, seg in enumerate(segments):
            alpha = 0.08 + 0.27 * max(0.0, min(1.0, seg.score / top_score))
            ax.axvspan(seg.start, seg.end, color="tab:orange", alpha=alpha, label="proposed" if i == 0 else None)
        for modality, values in track.modalities.items():
            ax.plot(t, values, linewidth=0.9, alpha=0.8, color=colours.get(modality), label=modality)
        ax.plot(t, track.scores, linewidth=1.5, color="black", label="score")
        ax.set_title(f"{name} (video score {track.video_level:.3f})", fontsize=9, loc="left")
        ax.set_xlim(0, max(float(track.duration or 0.0), 1e-3))
        if track.length and track.scores.min() >= 0:
            ax.set_ylim(bottom=0)
        ax.set_ylabel("score", fontsize=8)
        ax.grid(alpha=0.25)
        ax.legend(loc="upper right", fontsize=7, ncol=4)
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
