"""``forensicloc eval``: score a predictions file the way the official evaluators do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from forensicloc.cli import console, err_console, progress_bar
from forensicloc.evaluation import PROTOCOLS, SUBSETS


@click.command("eval")
@click.argument("predictions", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--metadata", "metadata", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Ground truth: a LAV-DF metadata.json or an AV-Deepfake1M {split}_metadata.json "
              "(no videos needed).")
@click.option("--dataset", "dataset", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Ground truth: a dataset folder, read by its format (videos need not be present).")
@click.option("--format", "dataset_format", default=None, help="Format of --dataset [default: detected].")
@click.option("--split", default="test", show_default=True,
              help="Split whose videos are evaluated, or 'all' for every video of the metadata.")
@click.option("--protocol", type=click.Choice(list(PROTOCOLS)), default="lavdf", show_default=True,
              help="lavdf: AP@0.5/0.75/0.95, AR@100/50/20/10; avdf1m: AP@0.5/0.75/0.9/0.95, AR@50/30/20/10/5.")
@click.option("--subset", type=click.Choice(list(SUBSETS)), default="full", show_default=True,
              help="visual: without audio-only fakes; audio: without visual-only fakes (as LAV-DF's evaluate.py).")
@click.option("--video-scores", "video_scores", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Video-level scores for AUC: JSON {file: score} or 'file;score' lines "
              "[default: each video's highest proposal score].")
@click.option("--no-auc", is_flag=True, help="Do not compute the video-level AUC.")
@click.option("--allow-missing", is_flag=True,
              help="Count videos absent from PREDICTIONS as videos with no proposal instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(
    predictions: Path,
    metadata: Path | None,
    dataset: Path | None,
    dataset_format: str | None,
    split: str,
    protocol: str,
    subset: str,
    video_scores: Path | None,
    no_auc: bool,
    allow_missing: bool,
    as_json: bool,
) -> None:
    """Evaluate PREDICTIONS (official JSON: {file: [[score, start, end], ...]}) against
    the ground truth, exactly as the LAV-DF / AV-Deepfake1M evaluators do.

    Prints AP at each IoU threshold and AR at each number of proposals (x100), the
    video-level AUC, and the same metrics per kind of fake (modify_type). Proposals are
    matched in list order, as the official code does: lists should be sorted by score.

    Example: forensicloc eval preds.json --metadata LAV-DF/metadata.json --split test
    """
    from forensicloc.evaluation import evaluate
    from forensicloc.predictions import load_prediction_arrays, load_video_scores

    if (metadata is None) == (dataset is None):
        raise click.UsageError("give the ground truth with exactly one of --metadata FILE or --dataset DIR")
    with progress_bar("evaluating", transient=True) as update:
        update(0, None, "reading ground truth")
        records = _records(metadata, dataset, dataset_format, None if split == "all" else split)
        records = _split(records, split, metadata or dataset)
        update(0, None, f"reading {predictions.name}")
        arrays = load_prediction_arrays(predictions)
        scores = load_video_scores(video_scores) if video_scores is not None else None
        result = evaluate(
            arrays,
            records,
            protocol,
            subset,
            allow_missing,
            video_scores=scores,
            auc_from_proposals=not no_auc,
            source=predictions,
            progress=update,
        )
    if as_json:
        out = {"predictions": str(predictions), "split": split, **result.as_dict()}
        click.echo(json.dumps(out, indent=2))
    else:
        _render(result, predictions, split)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)


def _records(metadata: Path | None, dataset: Path | None, dataset_format: str | None, split: str | None) -> list[Any]:
    """Ground-truth records from a metadata file or a dataset folder, never opening a video."""
    if metadata is not None:
        from forensicloc.evaluation import load_ground_truth

        return load_ground_truth(metadata, split)
    assert dataset is not None
    from forensicloc.api import component_options
    from forensicloc.datasets import detect_format
    from forensicloc.plugins import create, get_component

    name = dataset_format or detect_format(dataset)
    options = {o.name for o in component_options(get_component("dataset", name))}
    reader = create("dataset", name, {"missing": "ignore"} if "missing" in options else {})
    return list(reader.load(dataset).records)


def _split(records: list[Any], split: str, source: Path | None) -> list[Any]:
    from forensicloc.errors import MetadataError

    if split == "all":
        return records
    chosen = [r for r in records if r.split == split]
    if not chosen:
        present = sorted({r.split for r in records if r.split is not None})
        raise MetadataError(
            f"{source} has no video of split {split!r}" + (f" (splits present: {', '.join(present)})" if present else ""),
            hint=f"choose the split of the predictions with --split ({', '.join(present + ['all'])})",
        )
    return chosen


def _render(result: Any, predictions: Path, split: str) -> None:
    """One table: a row per metric (x100), a column for all videos and one per kind of fake."""
    from rich.table import Table

    console.print(
        f"[bold]{predictions.name}[/bold]: {result.n_videos} videos (split {split}), "
        f"{result.n_segments} fake segments; protocol {result.protocol}, subset {result.subset}",
        highlight=False,
    )
    kinds = list(result.by_modify_type)
    table = Table()
    table.add_column("metric", no_wrap=True)
    table.add_column("all", justify="right", no_wrap=True)
    for kind in kinds:
        table.add_column(kind.replace("_modified", ""), justify="right", no_wrap=True)
    for name, value in result.metrics.items():
        table.add_row(name, f"{100 * value:.2f}", *(f"{100 * result.by_modify_type[k][name]:.2f}" for k in kinds))
    if result.auc is not None:
        table.add_row("AUC", f"{100 * result.auc:.2f}", *("" for _ in kinds))
    console.print(table)
    if kinds:
        console.print("[dim]per modify_type: the fakes of that kind plus every authentic video[/dim]", highlight=False)
