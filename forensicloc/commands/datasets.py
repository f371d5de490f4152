"""``forensicloc datasets``: look at datasets, their formats, and the forgery families."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from forensicloc.cli import console


@click.group("datasets")
def command() -> None:
    """Inspect datasets and the formats that read them."""


@command.command("info")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--format", "fmt", default=None, help="Dataset format (default: detected). See `forensicloc datasets formats`.")
@click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE", help="Option of the format (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def info(dataset: Path, fmt: str | None, opts: tuple[str, ...], as_json: bool) -> None:
    """Summarise DATASET: videos per split, real/fake, modify types, forged segments."""
    from forensicloc.cli import parse_component_options
    from forensicloc.datasets import detect_format, open_dataset
    from forensicloc.datasets.summary import summarize

    name = fmt or detect_format(dataset)
    options = parse_component_options("dataset", name, opts)
    summary = summarize(open_dataset(dataset, name, **options))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from forensicloc.api import MODIFY_TYPES

    groups = {**summary["splits"], "total": summary["total"]}
    table = Table(title=f"{summary['root']} ({summary['format']})")
    table.add_column("")
    for name in groups:
        table.add_column(name, justify="right", style="bold" if name == "total" else None)

    def row(label: str, get: Any) -> None:
        table.add_row(label, *(str(get(g)) for g in groups.values()))

    row("videos", lambda g: g["videos"])
    row("real", lambda g: g["real"])
    row("fake", lambda g: g["fake"])
    if summary["total"]["unlabelled"]:
        row("unlabelled", lambda g: g["unlabelled"])
    if summary["total"]["hours"] is not None:
        row("hours", lambda g: g["hours"])
    present = summary["total"]["modify_types"]
    for kind in [k for k in MODIFY_TYPES if k in present] + sorted(set(present) - set(MODIFY_TYPES)):
        row(f"type {kind}", lambda g, k=kind: g["modify_types"].get(k, 0))
    row("forged segments", lambda g: g["segments"])
    console.print(table)

    total = summary["total"]
    if total["segments"]:
        hist = Table(title="forged segment lengths")
        hist.add_column("length")
        hist.add_column("segments", justify="right")
        hist.add_column("")
        peak = max(total["segment_length_histogram"].values()) or 1
        for label, count in total["segment_length_histogram"].items():
            hist.add_row(label, str(count), "█" * round(20 * count / peak))
        console.print(hist)
        s = total["segment_seconds"]
        per = ", ".join(f"{k}: {v}" for k, v in total["segments_per_video"].items())
        console.print(f"segment length min/mean/max: {s['min']} / {s['mean']} / {s['max']} s; segments per video: {per}")
    if total["families"]:
        console.print("forgery families: " + ", ".join(f"{k}: {v}" for k, v in total["families"].items()))


@command.command("formats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def formats(as_json: bool) -> None:
    """List the dataset formats installed (built-in and from plugins)."""
    from forensicloc.api import component_options
    from forensicloc.plugins import registry

    reg = registry("dataset")
    rows = [
        {
            "name": name,
            "plugin": reg.owner(name),
            "description": cls.description,
            "options": {o.name: o.help for o in component_options(cls)},
        }
        for name, cls in reg.items()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(title="dataset formats")
    for col in ("name", "plugin", "description", "options"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["plugin"], r["description"], "\n".join(f"{k}: {v}" for k, v in r["options"].items()))
    console.print(table)


@command.command("families")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def families(as_json: bool) -> None:
    """List the forgery families of `forensicloc synth` and the track each forges."""
    from forensicloc.synth.forgery import DESCRIPTIONS, FAMILIES

    if as_json:
        click.echo(json.dumps({f: {"modality": m, "description": DESCRIPTIONS[f]} for f, m in FAMILIES.items()}, indent=2))
        return
    from rich.table import Table

    table = Table(title="forgery families (forensicloc synth --families)")
    for col in ("family", "track", "what it does"):
        table.add_column(col)
    for family, modality in FAMILIES.items():
        table.add_row(family, modality, DESCRIPTIONS[family])
    console.print(table)
