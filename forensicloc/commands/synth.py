"""``forensicloc synth``: write a synthetic audio-visual deepfake dataset."""

from __future__ import annotations

import json
from pathlib import Path

import click

from forensicloc.cli import console, progress_bar


def _shares(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not three comma-separated numbers, e.g. 0.6,0.2,0.2") from None
    if len(values) != 3:
        raise click.BadParameter(f"{text!r} must give three shares: train,dev,test")
    return values  # type: ignore[return-value]


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--videos", "-n", type=int, default=300, show_default=True, help="Number of videos.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same dataset (bit for bit).")
@click.option("--format", "fmt", type=click.Choice(["lavdf", "avdf1m"]), default="lavdf", show_default=True,
              help="Layout and metadata: LAV-DF (metadata.json) or AV-Deepfake1M ({split}_metadata.json).")  # fmt: skip
@click.option("--fake-ratio", type=float, default=0.5, show_default=True, help="Share of fake videos in each split.")
@click.option("--real-only", is_flag=True, help="Authentic videos only (same as --fake-ratio 0).")
@click.option("--families", default=None, metavar="A,B,...",
              help="Forgery families to use (default: all). See `forensicloc datasets families`.")  # fmt: skip
@click.option("--min-seconds", type=float, default=3.0, show_default=True, help="Shortest video.")
@click.option("--max-seconds", type=float, default=6.0, show_default=True, help="Longest video.")
@click.option("--min-segment", type=float, default=0.2, show_default=True, help="Shortest forged segment, seconds.")
@click.option("--max-segment", type=float, default=2.0, show_default=True, help="Longest forged segment, seconds.")
@click.option("--max-segments", type=int, default=2, show_default=True, help="Forged segments per fake video: 1..N.")
@click.option("--splits", default="0.6,0.2,0.2", show_default=True, metavar="TRAIN,DEV,TEST", help="Split shares.")
@click.option("--size", type=int, default=96, show_default=True, help="Frame width and height (even).")
@click.option("--crf", type=int, default=23, show_default=True, help="H.264 quality (higher = more compression).")
@click.option("--workers", "-j", type=int, default=1, show_default=True, help="Processes rendering in parallel.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty OUT folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(
    out: Path,
    videos: int,
    seed: int,
    fmt: str,
    fake_ratio: float,
    real_only: bool,
    families: str | None,
    min_seconds: float,
    max_seconds: float,
    min_segment: float,
    max_segment: float,
    max_segments: int,
    splits: str,
    size: int,
    crf: int,
    workers: int,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Write a synthetic audio-visual deepfake dataset to OUT.

    Talking heads with their own face and voice; fakes replace a few words in the
    audio, the video or both (LAV-DF style), each forged segment made by a named
    family. The result reads with `--format lavdf` / `avdf1m` like the real datasets.
    """
    from forensicloc.synth import check_options, synthesize

    options = dict(
        format=fmt,
        fake_ratio=0.0 if real_only else fake_ratio,
        families=families,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        size=size,
        workers=workers,
        splits=_shares(splits),
        min_segment=min_segment,
        max_segment=max_segment,
        max_segments=max_segments,
        overwrite=overwrite,
    )
    check_options(out, videos, **options)  # fail before drawing a progress bar
    with progress_bar("synthesizing videos", transient=as_json) as update:
        summary = synthesize(out, videos, seed=seed, progress=update, crf=crf, **options)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"synthetic dataset {summary.root} ({summary.format})", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("videos", f"{summary.videos} ({summary.real} real, {summary.fake} fake), {summary.media_seconds:.0f} s of media")
    table.add_row("splits", ", ".join(f"{k}: {v}" for k, v in summary.splits.items()))
    table.add_row("modify types", ", ".join(f"{k}: {v}" for k, v in sorted(summary.modify_types.items())))
    table.add_row("forged segments", f"{summary.segments}; " + ", ".join(f"{k}: {v}" for k, v in summary.families.items()))
    table.add_row("speakers", str(summary.speakers))
    table.add_row("metadata", ", ".join(str(p.name) for p in summary.metadata))
    table.add_row("time", f"{summary.seconds:.1f} s ({summary.videos_per_second:.1f} videos/s)")
    console.print(table)
