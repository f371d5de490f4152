"""The ``forensicloc`` command line: the group, error rendering, and shared helpers.

Commands live one per module in :mod:`forensicloc.commands` and are added through the
``register_commands`` hook (core's built-ins and third-party plugins alike), when the
group is built in :func:`build_cli` rather than at import time. Library code never
prints: commands render with rich, and pass :func:`progress_bar` callbacks down.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click
from rich.console import Console

from forensicloc import __version__
from forensicloc.errors import ForensiclocError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def build_cli() -> click.Group:
    """A fresh ``forensicloc`` group with every plugin's commands added."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="forensicloc")
    def cli() -> None:
        """Weakly supervised temporal deepfake localization in audio-visual video.

        Trained with video-level labels only, forensicloc finds the forged time segments
        of a video. Methods (feature extractors, scorers, proposers, dataset formats)
        are plugins: `forensicloc plugins` lists what is installed.
        """

    from forensicloc.plugins import get_plugins

    get_plugins().add_commands(cli)
    return cli


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: user errors become one message and an exit code."""
    try:
        cli = build_cli()
        rc = cli.main(args=list(argv) if argv is not None else None, prog_name="forensicloc", standalone_mode=False)
        # click returns (rather than raises) the code of `ctx.exit(n)` when not standalone
        if isinstance(rc, int) and rc != 0:
            sys.exit(rc)
    except ForensiclocError as exc:
        render_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("[red]Aborted.[/red]")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]Interrupted.[/red]")
        sys.exit(130)


def render_error(exc: ForensiclocError) -> None:
    err_console.print(f"[bold red]Error:[/bold red] {exc.render()}", markup=True, highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- helpers for commands


def device_option(f: Any) -> Any:
    return click.option(
        "--device",
        default="auto",
        show_default=True,
        help="auto, cpu, cuda or cuda:N (auto picks CUDA when available).",
    )(f)


def opt_option(f: Any) -> Any:
    return click.option(
        "--opt",
        "opts",
        multiple=True,
        metavar="KEY=VALUE",
        help="Option of the chosen component (repeatable); see `forensicloc plugins`.",
    )(f)


def parse_component_options(kind: str, name: str, pairs: Sequence[str]) -> dict[str, Any]:
    """``--opt`` pairs checked against component ``name``'s documented options."""
    from forensicloc.api import parse_options
    from forensicloc.errors import UnknownComponentError
    from forensicloc.plugins import get_component

    cls = get_component(kind, name)
    try:
        return parse_options(cls, pairs)
    except ValueError as exc:
        raise UnknownComponentError(str(exc), hint=f"`forensicloc plugins` lists the options of each {kind}") from None


@contextlib.contextmanager
def progress_bar(description: str, *, transient: bool = False) -> Iterator[Any]:
    """A rich progress bar whose ``update(completed, total, description)`` is a
    :data:`forensicloc.api.ProgressCallback`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=transient) as progress:
        task = progress.add_task(description, total=None)

        def update(completed: float, total: float | None, text: str = "") -> None:
            progress.update(task, completed=completed, total=total, description=text or description)

        yield update
