"""``forensicloc extract``: fill the feature cache for a dataset (or one video)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from forensicloc.cli import console, err_console, opt_option, parse_component_options, progress_bar


def _records(dataset: Path, fmt: str | None, splits: tuple[str, ...]) -> tuple[list, str]:
    """The records to extract and a one-line description of where they come from."""
    from forensicloc.api import VideoRecord
    from forensicloc.errors import MetadataError

    if dataset.is_file():
        if splits:
            raise MetadataError(f"--split needs a dataset folder, but {dataset} is a single file")
        return [VideoRecord(file=dataset.name, path=dataset)], f"video {dataset}"
    from forensicloc.datasets import open_dataset

    data = open_dataset(dataset, format=fmt)
    records = list(data.records)
    if splits:
        unknown = [s for s in splits if s not in data.splits]
        if unknown:
            raise MetadataError(
                f"{dataset} has no split {', '.join(map(repr, unknown))}",
                hint=f"splits in this dataset: {', '.join(data.splits) or '(none)'}",
            )
        records = [r for r in records if r.split in splits]
    where = f"{data.format} dataset {data.root}" + (f" ({', '.join(splits)})" if splits else "")
    return records, where


@click.command("extract")
@click.argument("dataset", type=click.Path(exists=True, path_type=Path))
@click.option("--extractor", "-e", "extractor_name", default="handcrafted", show_default=True, help="Feature extractor (see `forensicloc plugins`).")
@opt_option
@click.option("--workers", "-j", default=1, show_default=True, type=click.IntRange(min=1), help="Parallel worker processes.")
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Feature cache folder [default: $FORENSICLOC_CACHE/features].",
)
@click.option("--format", "fmt", default=None, help="Dataset format (detected when omitted).")
@click.option("--split", "splits", multiple=True, help="Only this split (repeatable).")
def command(
    dataset: Path,
    extractor_name: str,
    opts: tuple[str, ...],
    workers: int,
    cache_dir: Path | None,
    fmt: str | None,
    splits: tuple[str, ...],
) -> None:
    """Extract features of every video of DATASET into the on-disk cache.

    DATASET is a dataset folder (LAV-DF, AV-Deepfake1M, or a plain folder of videos)
    or a single video file. Videos already cached for this extractor configuration
    are skipped, so an interrupted run resumes where it stopped. A video that cannot
    be decoded is skipped and listed at the end; the exit code is then 1.
    """
    from forensicloc.features import FeatureCache, extract_all
    from forensicloc.plugins import create

    options = parse_component_options("extractor", extractor_name, opts)
    extractor = create("extractor", extractor_name, options)
    cache = FeatureCache(cache_dir)
    records, where = _records(dataset, fmt, splits)
    if not records:
        console.print(f"Nothing to extract: {where} has no videos.")
        return
    console.print(
        f"Extracting [bold]{extractor_name}[/bold] features of {len(records)} video{'' if len(records) == 1 else 's'} from {where}\n"
        f"  cache: {cache.directory}   workers: {workers}"
    )
    started = time.perf_counter()
    with progress_bar(f"extract {extractor_name}") as update:
        report = extract_all(records, extractor, cache, workers=workers, progress=update)
    elapsed = time.perf_counter() - started

    summary = (
        f"[green]{report.extracted} extracted[/green], {report.cached} already cached, "
        f"{'[red]' if report.failed else ''}{len(report.failed)} failed{'[/red]' if report.failed else ''} "
        f"in {elapsed:.1f} s"
    )
    console.print(summary)
    if report.failed:
        from rich.table import Table

        n_failed = len(report.failed)
        table = Table(title=f"{n_failed} video{'' if n_failed == 1 else 's'} failed", title_style="bold red")
        table.add_column("file", overflow="fold")
        table.add_column("reason", overflow="fold")
        for file, reason in report.failed:
            table.add_row(file, reason)
        err_console.print(table)
        raise click.exceptions.Exit(1)
