"""``forensicloc plugins``: what is installed, what each plugin registered, what failed."""

from __future__ import annotations

import json

import click

from forensicloc.cli import console


def plugin_report() -> dict:
    """Every plugin with its components by kind, plus each component's options."""
    from forensicloc.api import component_options
    from forensicloc.plugins import get_plugins

    plugins = get_plugins()
    plugins.load_all()
    components = {}
    for kind in ("extractor", "scorer", "proposer", "dataset"):
        entries = []
        for name, cls in plugins.registry(kind).items():
            entry = {
                "name": name,
                "plugin": plugins.registry(kind).owner(name),
                "description": cls.description,
                "options": {
                    o.name: {"default": _jsonable(o.default), "help": o.help} for o in component_options(cls)
                },
            }
            if kind == "scorer":
                entry["supervision"] = cls.supervision
            entries.append(entry)
        components[kind] = entries
    infos = sorted(plugins.infos.values(), key=lambda i: (i.error is not None, i.name))
    return {
        "plugins": [i.as_dict() for i in infos if not i.error],
        "failed": [i.as_dict() for i in infos if i.error],
        "components": components,
    }


def _jsonable(value: object) -> object:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(as_json: bool) -> None:
    """List installed plugins, the components they register, and plugins that failed."""
    # building the CLI already ran register_commands, so commands are in the infos
    report = plugin_report()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from rich.table import Table

    table = Table(title="forensicloc plugins")
    for col in ("plugin", "distribution", "version", "components"):
        table.add_column(col)
    for p in report["plugins"]:
        comps = "\n".join(f"{kind}: {', '.join(names)}" for kind, names in p["components"].items())
        table.add_row(p["name"], p["distribution"] or "-", p["version"] or "-", comps or "-")
    console.print(table)
    if report["failed"]:
        failed = Table(title="plugins that failed to load", title_style="bold red")
        failed.add_column("plugin")
        failed.add_column("distribution")
        failed.add_column("error")
        for p in report["failed"]:
            failed.add_row(p["name"], p["distribution"] or "-", p["error"])
        console.print(failed)
