"""Installing the commands plugins contribute through ``register_commands`` (llm's idea).

Each plugin's implementation is called through pluggy on its own (``subset_hook_caller``), with
a group that remembers who added which name, so two plugins adding the same command name is an
error naming both instead of one silently replacing the other. A plugin whose implementation
raises is reported by name and skipped; the other plugins' commands stay.
"""

from __future__ import annotations

import logging

import click
import pluggy

from crosspost.core.errors import PluginError

log = logging.getLogger("crosspost.cli")


class _Registrar(click.Group):
    """What a plugin's ``register_commands(cli)`` receives: adds to the real root group."""

    def __init__(self, root: click.Group, owner: str, owners: dict[str, str]) -> None:
        super().__init__(name=root.name)
        self.commands = root.commands  # what a plugin reads back is the real command set
        self._root = root
        self._owner = owner
        self._owners = owners

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name is None:
            raise PluginError(self._owner, f"added a command without a name: {cmd!r}")
        other = self._owners.get(name)
        if other is not None:
            raise PluginError(self._owner, f"command {name!r} is already added by plugin {other!r}")
        self._owners[name] = self._owner
        self._root.add_command(cmd, name)


def install_commands(root: click.Group, pm: pluggy.PluginManager,
                     failed: dict[str, str] | None = None) -> dict[str, str]:
    """Call every plugin's ``register_commands`` with ``root``; returns command name -> plugin.
    A plugin whose implementation raised is put in ``failed`` (name -> why), when given."""
    owners: dict[str, str] = {}
    implementers = {id(impl.plugin) for impl in pm.hook.register_commands.get_hookimpls()}
    plugins = pm.get_plugins()
    for name, plugin in pm.list_name_plugin():
        if plugin is None or id(plugin) not in implementers:
            continue
        caller = pm.subset_hook_caller("register_commands", remove_plugins=[p for p in plugins if p is not plugin])
        try:
            caller(cli=_Registrar(root, name, owners))
        except PluginError:
            raise
        except Exception as exc:
            log.error("plugin %r failed in register_commands and its commands are skipped: %s", name, exc)
            if failed is not None:
                failed[name] = f"{type(exc).__name__}: {exc}"
    return owners
