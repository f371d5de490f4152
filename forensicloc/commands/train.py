"""``forensicloc train``: train one scorer on a dataset and save it as a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from forensicloc.cli import console, device_option, err_console, opt_option, progress_bar


def _pick_dev(splits: list[str]) -> str | None:
    return next((s for s in ("dev", "val") if s in splits), None)


@click.command("train")
@click.option("--scorer", "scorer_name", required=True, help="Scorer to train (see `forensicloc plugins`).")
@click.option("--dataset", "dataset", required=True, type=click.Path(path_type=Path),
              help="Dataset root (LAV-DF, AV-Deepfake1M, a folder, or `forensicloc synth` output).")
@click.option("--format", "fmt", default=None, help="Dataset format (detected when omitted).")
@click.option("--extractor", default="handcrafted", show_default=True, help="Feature extractor.")
@click.option("--extractor-opt", "extractor_opts", multiple=True, metavar="KEY=VALUE", help="Extractor option (repeatable).")
@opt_option
@device_option
@click.option("--epochs", default=None, type=click.IntRange(min=1), help="Training epochs [default: the scorer's].")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed (a CPU run repeats exactly).")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write [default: FORENSICLOC_HOME/models/<scorer>].")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Extraction processes.")
@click.option("--cache", "cache_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Feature cache folder [default: FORENSICLOC_CACHE].")
def command(
    scorer_name: str,
    dataset: Path,
    fmt: str | None,
    extractor: str,
    extractor_opts: tuple[str, ...],
    opts: tuple[str, ...],
    device: str,
    epochs: int | None,
    seed: int,
    out: Path | None,
    workers: int,
    cache_dir: Path | None,
) -> None:
    """Train a scorer on the train split and save it as a model directory.

    The scorer sees only what its supervision allows (video labels at most, never
    segments). Missing features are extracted first (cached). Each epoch is validated
    on the dev split: the dev video-level AUC selects the model; dev AP@0.5 is shown
    for information only. The model is recorded as the scorer's default, so
    `forensicloc run --scorer NAME VIDEO` uses it without --model.

    Example: forensicloc train --scorer rtdeeploc --dataset data/synth --epochs 10
    """
    from forensicloc.cli import parse_component_options
    from forensicloc.datasets import open_dataset
    from forensicloc.device import resolve_device
    from forensicloc.errors import BadInputError
    from forensicloc.features import FeatureCache, FeatureStore, extract_all
    from forensicloc.models import default_model_dir, save_model, set_default_model
    from forensicloc.plugins import create, get_component
    from forensicloc.training import fit_scorer, withhold

    cls: Any = get_component("scorer", scorer_name)
    scorer = create("scorer", scorer_name, parse_component_options("scorer", scorer_name, opts))
    feature_extractor = create("extractor", extractor, parse_component_options("extractor", extractor, extractor_opts))
    data = open_dataset(dataset, format=fmt)
    train = data.split("train")
    if not train:
        raise BadInputError(
            f"{dataset}: no train split (splits: {', '.join(data.splits) or 'none'})",
            path=dataset,
            hint="training needs records with split 'train'; `forensicloc synth` writes train/dev/test",
        )
    dev_name = _pick_dev(data.splits)
    dev = data.split(dev_name) if dev_name else []
    usable = {r.file for r in withhold(train, cls.supervision)}
    if cls.supervision != "none" and not usable:
        raise BadInputError(
            f"{dataset}: the train split has no video a {cls.supervision} scorer can learn from",
            path=dataset,
            hint="real-only scorers need authentic (label 0) videos; video-level ones need labelled videos",
        )
    needed = [r for r in train if r.file in usable] + [r for r in dev if r.label is not None]

    cache = FeatureCache(cache_dir)
    device = resolve_device(device)
    with progress_bar("extracting features") as update:
        report = extract_all(needed, feature_extractor, cache, workers=workers, progress=update)
    failed = {_failed_file(f) for f in report.failed}
    for item in report.failed:
        err_console.print(f"[yellow]skipped[/yellow] {_failed_file(item)}: {_failed_reason(item)}", highlight=False)
    train = [r for r in train if r.file not in failed]
    dev = [r for r in dev if r.file not in failed]
    store = FeatureStore(feature_extractor, cache)

    err_console.print(
        f"training [bold]{scorer_name}[/bold] ({cls.supervision}) on {len(usable - failed)} video(s), "
        f"validating on {len(dev)} {dev_name or 'dev'} video(s), device {device}",
        highlight=False,
    )
    with progress_bar(f"training {scorer_name}") as update:
        result = fit_scorer(
            scorer, train, dev, store, device=device, seed=seed, epochs=epochs, progress=update,
            log=lambda message: err_console.print(f"  {message}", highlight=False, markup=False),
        )

    target = out or default_model_dir(scorer_name)
    train_summary = {
        "dataset": str(data.root),
        "format": data.format,
        "split": "train",
        "videos": _counts([r for r in train if r.file in usable]),
        "dev": {"split": dev_name, **_counts(dev)},
        "seed": seed,
        "device": device,
        "seconds": result.seconds,
        "scorer": result.summary,
    }
    save_model(scorer, target, extractor=feature_extractor, train_summary=train_summary, validation=result.validation)
    set_default_model(scorer_name, target)
    console.print(_summary_table(scorer_name, cls.supervision, train_summary, result, target))


def _counts(records: list[Any]) -> dict[str, int]:
    return {
        "videos": len(records),
        "real": sum(1 for r in records if r.label == 0),
        "fake": sum(1 for r in records if r.label == 1),
    }


def _failed_file(item: Any) -> str:
    return str(item[0]) if isinstance(item, (tuple, list)) else str(getattr(item, "file", item))


def _failed_reason(item: Any) -> str:
    return str(item[1]) if isinstance(item, (tuple, list)) and len(item) > 1 else str(getattr(item, "reason", ""))


def _summary_table(name: str, supervision: str, summary: dict[str, Any], result: Any, target: Path) -> Any:
    from rich.table import Table

    table = Table(title=f"trained {name}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    videos = summary["videos"]
    table.add_row("supervision", supervision)
    table.add_row("train videos", f"{videos['videos']} ({videos['real']} real, {videos['fake']} fake)")
    dev = summary["dev"]
    table.add_row("dev videos", f"{dev['videos']} ({dev['real']} real, {dev['fake']} fake)")
    for key, value in result.validation.items():
        note = " (information only)" if key.startswith("AP") else ""
        table.add_row(f"dev {key.upper() if key == 'auc' else key}", f"{100 * value:.2f}{note}")
    table.add_row("training time", f"{result.seconds:.1f} s")
    table.add_row("model", str(target))
    return table
