"""``forensicloc bench``: compare scorers on one dataset with the official protocol."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from forensicloc.cli import console, device_option, err_console, progress_bar


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def _scorer_options(pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``--scorer-opt mil.epochs=5`` → ``{"mil": {"epochs": 5}}`` (checked per scorer)."""
    from forensicloc.cli import parse_component_options
    from forensicloc.errors import UnknownComponentError

    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        scorer, dot, rest = pair.partition(".")
        if not dot or "=" not in rest:
            raise UnknownComponentError(
                f"--scorer-opt {pair!r} is not of the form SCORER.KEY=VALUE", hint="e.g. --scorer-opt mil.epochs=5"
            )
        grouped.setdefault(scorer, []).append(rest)
    return {s: parse_component_options("scorer", s, p) for s, p in grouped.items()}


def render_table(results: dict[str, Any], subset: str = "full") -> Any:
    """The comparison table of ``results`` as a rich Table, narrow enough for a terminal:
    the headline metrics only (every metric is in report.md and results.json)."""
    from rich import box
    from rich.table import Table

    from forensicloc.report import table_rows

    header, rows = table_rows(results, subset)
    metrics = [h for h in header[2:] if h.startswith(("AP@", "AR@"))]
    aps = [m for m in metrics if m.startswith("AP@")][:2]
    ars = [m for m in metrics if m.startswith("AR@")]
    shown = [*aps, *([ars[0], ars[-1]] if len(ars) > 1 else ars), "AUC", "train s", "videos/s"]
    any_failed = any(row[-1] != "ok" for row in rows)
    if any_failed:
        shown.append("status")
    protocol = results.get("config", {}).get("protocol", "?")
    table = Table(title=f"test split, {subset} set, protocol {protocol} (%)", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("scorer", no_wrap=True)
    for col in shown:
        table.add_column(col, justify="left" if col == "status" else "right", no_wrap=col != "status")
    for row in rows:
        cells = dict(zip(header, row))
        status = cells["status"]
        values = [cells[c] if c != "status" else status.split(":")[0] for c in shown]
        table.add_row(cells["scorer"], *values, style="red" if status != "ok" else None)
    return table


@click.command("bench")
@click.option("--dataset", "dataset", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Dataset root (LAV-DF, AV-Deepfake1M or a synthetic one).")
@click.option("--format", "fmt", default=None, help="Dataset format (detected when omitted).")
@click.option("--scorers", default=None, metavar="A,B,...", help="Scorers to compare [default: every installed scorer].")
@click.option("--scorer-opt", "scorer_opts", multiple=True, metavar="SCORER.KEY=VALUE",
              help="Option of one scorer (repeatable), e.g. mil.hidden=32.")
@click.option("--extractor", default="handcrafted", show_default=True, help="Feature extractor shared by all scorers.")
@click.option("--extractor-opt", "extractor_opts", multiple=True, metavar="KEY=VALUE", help="Extractor option.")
@click.option("--proposer", default="threshold", show_default=True, help="Proposal generator shared by all scorers.")
@click.option("--proposer-opt", "proposer_opts", multiple=True, metavar="KEY=VALUE", help="Proposer option.")
@click.option("--protocol", default="lavdf", show_default=True, type=click.Choice(["lavdf", "avdf1m"]),
              help="Official metric set.")
@click.option("--train-families", default=None, metavar="A,B,...",
              help="Unseen-family protocol: train/dev fakes only from these forgery families.")
@click.option("--test-families", default=None, metavar="A,B,...",
              help="Unseen-family protocol: test fakes only from these forgery families.")
@device_option
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every scorer (runs repeat exactly).")
@click.option("--epochs", default=None, type=click.IntRange(min=1), help="Training epochs of every trainable scorer.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Extraction processes.")
@click.option("--cache", "cache_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Feature cache folder [default: FORENSICLOC_CACHE].")
@click.option("--out", "out", default=Path("bench-output"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where results, report and plots go.")
@click.option("--save-models/--no-save-models", default=True, show_default=True,
              help="Keep each trained scorer as a model directory under OUT/models.")
@click.option("-v", "--verbose", is_flag=True, help="Show each scorer's training log (losses, dev metrics).")
def command(
    dataset: Path,
    fmt: str | None,
    scorers: str | None,
    scorer_opts: tuple[str, ...],
    extractor: str,
    extractor_opts: tuple[str, ...],
    proposer: str,
    proposer_opts: tuple[str, ...],
    protocol: str,
    train_families: str | None,
    test_families: str | None,
    device: str,
    seed: int,
    epochs: int | None,
    workers: int,
    cache_dir: Path | None,
    out: Path,
    save_models: bool,
    verbose: bool,
) -> None:
    """Train, score and evaluate several scorers on the same data.

    Features are extracted once (shared cache); each scorer trains on the train split
    with only the supervision it declares, selects its model on the dev split, and is
    evaluated on the test split with the official protocol (full and visual subsets,
    per modify type, video-level AUC). A scorer that fails is reported and the others
    go on. Writes OUT/results.json, OUT/report.md, OUT/predictions/<scorer>.json and
    plots, and prints the comparison table.
    """
    from forensicloc.bench import BenchConfig, run_bench, write_bench
    from forensicloc.cli import parse_component_options

    names = _names(scorers)
    config = BenchConfig(
        dataset=dataset,
        scorers=names,
        scorer_options=_scorer_options(scorer_opts),
        format=fmt,
        extractor=extractor,
        extractor_options=parse_component_options("extractor", extractor, extractor_opts),
        proposer=proposer,
        proposer_options=parse_component_options("proposer", proposer, proposer_opts),
        protocol=protocol,
        train_families=_names(train_families),
        test_families=_names(test_families),
        device=device,
        seed=seed,
        epochs=epochs,
        workers=workers,
        cache_dir=cache_dir,
        save_models=save_models,
    )

    def announce(outcome: Any) -> None:
        entry = outcome.entry
        if outcome.ok:
            full = entry.get("metrics", {}).get("full", {})
            ap = full.get("AP@0.5")
            err_console.print(
                f"[green]✓[/green] {outcome.name}: AP@0.5 {100 * ap:.2f}" if ap is not None else f"✓ {outcome.name}",
                highlight=False,
            )
        else:
            err_console.print(
                f"[red]✗ {outcome.name} failed in {entry.get('stage')}:[/red] {entry.get('error')}", highlight=False
            )

    def train_log(message: str) -> None:
        if verbose:
            err_console.print(f"[dim]{message}[/dim]", highlight=False, markup=False)

    messages: list[str] = []
    with progress_bar("bench", transient=True) as update:
        result = run_bench(config, progress=update, log=messages.append, train_log=train_log, on_scorer=announce)
    result.results["command"] = _command_line(config, out, scorer_opts, extractor_opts, proposer_opts)
    written = write_bench(result, out)

    for message in messages:
        if " failed in " not in message:  # failures were announced as they happened
            err_console.print(f"[yellow]note:[/yellow] {message}", highlight=False)
    console.print(render_table(result.results, "full"))
    console.print("Every metric, per modify type and per family: see the report.", style="dim", highlight=False)
    failed = [n for n, o in result.outcomes.items() if not o.ok]
    console.print(
        f"Report: {written['report']}  ·  results: {written['results']}"
        + (f"  ·  plots: {', '.join(str(written[k]) for k in ('pr_curves', 'score_tracks') if k in written)}" if
           any(k in written for k in ('pr_curves', 'score_tracks')) else ""),
        highlight=False,
        soft_wrap=True,
    )
    if failed:  # everything is written; the exit code still says the comparison is incomplete
        err_console.print(f"[red]{len(failed)} scorer(s) failed:[/red] {', '.join(failed)}", highlight=False)
        click.get_current_context().exit(1)


def _command_line(config: Any, out: Path, scorer_opts: tuple[str, ...], extractor_opts: tuple[str, ...],
                  proposer_opts: tuple[str, ...]) -> str:
    """The command that reproduces this run (recorded in results.json and report.md)."""
    args = ["forensicloc", "bench", "--dataset", str(config.dataset)]
    if config.scorers:
        args += ["--scorers", ",".join(config.scorers)]
    for flag, values in (("--scorer-opt", scorer_opts), ("--extractor-opt", extractor_opts),
                         ("--proposer-opt", proposer_opts)):
        for v in values:
            args += [flag, v]
    args += ["--extractor", config.extractor, "--proposer", config.proposer, "--protocol", config.protocol]
    if config.train_families:
        args += ["--train-families", ",".join(config.train_families)]
    if config.test_families:
        args += ["--test-families", ",".join(config.test_families)]
    args += ["--device", config.device, "--seed", str(config.seed)]
    if config.epochs is not None:
        args += ["--epochs", str(config.epochs)]
    args += ["--out", str(out)]
    return shlex.join(args)
