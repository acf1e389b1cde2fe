"""``crosspost plugins`` (what is loaded) and ``crosspost plugin new`` (start a new one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crosspost.core.cli.context import global_options, state


def plugin_report() -> list[dict[str, Any]]:
    """Every loaded plugin: name, version, hooks, and the platforms it registered."""
    from crosspost.core.plugins import Hooks, make_plugin_manager

    hooks = Hooks(make_plugin_manager(disabled=state().settings().disabled_plugins))
    platforms: dict[str, list[str]] = {}
    for name in sorted(hooks.platforms()):
        platforms.setdefault(hooks.owner_of(name) or "", []).append(name)
    return [
        {"name": info.name, "version": info.version, "builtin": info.builtin,
         "hooks": list(info.hooks), "platforms": platforms.get(info.name, [])}
        for info in hooks.plugin_infos()
    ]


@click.command()
@global_options()
def plugins() -> None:
    """List loaded plugins, their versions, hooks and platforms.

    Set CROSSPOST_DISABLE_PLUGINS=name,other to skip plugins by name.
    """
    out = state().output
    report = plugin_report()
    if out.json:
        out.data({"plugins": report})
        return
    rows = [[p["name"] + (" (built-in)" if p["builtin"] else ""), p["version"] or "-",
             ", ".join(p["platforms"]) or "-", ", ".join(p["hooks"]) or "-"] for p in report]
    out.table(["Plugin", "Version", "Platforms", "Hooks"], rows, empty="No plugins loaded.")


@click.group()
def plugin() -> None:
    """Write your own platform plugin."""


@plugin.command("new")
@click.argument("name")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder in which to create crosspost-NAME/.")
@click.option("--template", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Plugin template folder (default: crosspost's plugins/_template).")
@global_options()
def new_plugin(name: str, dest: Path, template: Path | None) -> None:
    """Create crosspost-NAME/, a ready-to-test plugin distribution for platform NAME (e.g.
    mastodon), from the working template plugin."""
    from crosspost.core.scaffold import new_plugin as render

    out = state().output
    created = render(name, dest, template_dir=template)
    if out.json:
        out.data({"plugin": name, "path": str(created)})
        return
    out.result(f"Created {created}")
    out.step(f"Next: cd {created} && pip install -e '.[test]' && pytest")


COMMANDS = [plugins, plugin]
