"""The cached command index: what ``crosspost --help`` lists, without importing a command module.

Building the root group the full way imports ``importlib.metadata`` (to read the entry points),
every plugin's ``plugin.py`` and every module that defines a command. The index records, once,
what the root group's help needs from each command (its name, ``help``, ``short_help``,
``hidden``, ``deprecated``), which plugin added it and how to load it again on its own:

* crosspost's own commands: the module attribute the command object was found at
  (``crosspost.core.cli.post:post``), so running ``crosspost post`` imports that module only;
* a plugin's commands: the plugin's entry-point module, whose ``register_commands`` is called
  alone, so the command is the very object the plugin builds (whatever the plugin does there).

It also records what ``crosspost post`` needs from every platform before it knows its targets
(its platform flags' declarations, and which plugin registers which platform), so that a post
loads only the plugins of the platforms it targets (:mod:`crosspost.core.cli.platform_index`);
collecting the platforms is part of the full build a ``post`` makes (only then: it imports the
platforms' modules, aiohttp's among them, which ``--help`` must not), their modules are recorded
with the others, and an index written by another command gets the section from the next post.

The index holds data, never rendered text: click renders the help from it the way it renders
real commands, so the terminal width, ``NO_COLOR`` and the locale cannot make it wrong.

It is stored in ``$XDG_CACHE_HOME/crosspost/`` (``~/.cache/crosspost/``; one file per
interpreter), written atomically (temporary file, then ``os.replace``), and trusted only while
its key still matches:

* the interpreter: ``sys.version``, ``sys.executable``, ``sys.prefix``, the bytecode tag and
  ``sys.path`` itself (a ``.pth`` file or ``PYTHONPATH`` changes it);
* ``CROSSPOST_DISABLE_PLUGINS`` (which plugins load);
* the modification time (and size) of every ``sys.path`` entry: installing, upgrading or
  removing a distribution adds or removes a ``*.dist-info`` folder there, which changes it;
* the ``entry_points.txt`` (and folder) of every distribution declaring a ``crosspost`` entry
  point, crosspost's own included (its folder's name carries crosspost's version);
* the modification time and size of every source file loaded while the index was built: the
  plugins' modules, the command modules, and what they import.

Checking the key costs one ``stat`` per recorded path. Whenever anything is in doubt, the CLI
builds the root group the full way instead: no cache file, an unreadable or corrupt one, a key
mismatch, a command that cannot be loaded from its entry. Nothing is written when a plugin
failed to load (its error is then shown on every run), when a recorded file changed in the two
seconds before the build (a change within the file system's timestamp granularity could go
unseen), or when the folder is not writable. ``CROSSPOST_NO_COMMAND_CACHE=1`` turns the index
off.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from crosspost.core.plugins import PluginManager

FORMAT = 2
"""Bumped whenever the file's layout or the meaning of an entry changes."""
DISABLE_ENV = "CROSSPOST_NO_COMMAND_CACHE"
RACY_NS = 2_000_000_000
"""A recorded path modified less than this before the build makes the index not worth writing."""
CORE_OWNER = "crosspost.core.cli.commands"
"""The plugin name of crosspost's own commands (the module registered as a plugin object)."""
Stamp = list[int] | None
"""``[mtime_ns, size]`` of a path, or None when it does not exist."""


def _debug(message: str, *args: object) -> None:
    import logging  # only when something is reported: --help from the index never loads logging

    logging.getLogger("crosspost.cli").debug(message, *args)


def disabled_plugins(environ: Mapping[str, str]) -> frozenset[str]:
    """``CROSSPOST_DISABLE_PLUGINS`` as :meth:`Settings.from_env` reads it (settings.py's own
    function, repeated here so the index's key does not import attrs)."""
    return frozenset(n.strip() for n in environ.get("CROSSPOST_DISABLE_PLUGINS", "").split(",") if n.strip())


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the index may be used (``CROSSPOST_NO_COMMAND_CACHE`` unset, empty or ``0``)."""
    environ = os.environ if environ is None else environ
    return environ.get(DISABLE_ENV, "").strip().lower() in ("", "0", "false", "no")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's cache folder for crosspost (XDG on Linux, the usual places elsewhere)."""
    environ = os.environ if environ is None else environ
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        return Path(environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "crosspost" / "Cache"
    if sys.platform == "darwin":  # pragma: no cover - exercised on macOS only
        return Path.home() / "Library" / "Caches" / "crosspost"
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crosspost"


def cache_file(environ: Mapping[str, str] | None = None) -> Path:
    """This interpreter's index file (each virtual environment keeps its own)."""
    tag = zlib.crc32(f"{sys.executable}\0{sys.prefix}".encode())
    return cache_dir(environ) / f"commands-{tag:08x}.json"


def static_key(environ: Mapping[str, str]) -> dict[str, Any]:
    """The part of the key that needs no file system access."""
    return {
        "format": FORMAT,
        "python": sys.version,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "cache_tag": sys.implementation.cache_tag,
        "path": _search_path(),
        "disabled_plugins": sorted(disabled_plugins(environ)),
    }


def _search_path() -> list[str]:
    cwd = os.getcwd()
    return [entry or cwd for entry in sys.path]


def _stamp(path: str) -> Stamp:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_mtime_ns, found.st_size]


class Entry:
    """One command of the index: what the root group's help shows, and how to load it."""

    def __init__(self, name: str, data: Mapping[str, Any]) -> None:
        self.name = name
        self.help: str | None = _optional_str(data["help"])
        self.short_help: str | None = _optional_str(data["short_help"])
        self.hidden = bool(data["hidden"])
        deprecated = data["deprecated"]
        if not isinstance(deprecated, bool | str):
            raise TypeError(f"deprecated is {deprecated!r}")
        self.deprecated: bool | str = deprecated
        self.plugin = str(data["plugin"])
        load = data["load"]
        self.kind: str | None = None if load is None else str(load["kind"])
        self.module: str | None = None if load is None else str(load["module"])
        self.attr: str | None = None if load is None else _optional_str(load["attr"])

    def summary(self) -> click.Command:
        """A stand-in holding the fields click's group help reads (it is never run)."""
        command = click.Command(self.name)
        command.help = self.help
        command.short_help = self.short_help
        command.hidden = self.hidden
        command.deprecated = self.deprecated
        return command


def _optional_str(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


class CommandIndex:
    """The loaded index: command names, their summaries, and loading one command on demand."""

    def __init__(self, entries: Mapping[str, Entry], path: Path | None = None, platforms: object = None) -> None:
        self.entries = dict(entries)
        self.path = path
        self.platforms = platforms
        """The platforms' section as stored (:mod:`crosspost.core.cli.platform_index` reads it), or None."""
        self._registered: dict[str, dict[str, click.Command]] = {}

    def names(self) -> list[str]:
        return sorted(self.entries)

    def summaries(self) -> dict[str, click.Command]:
        return {name: entry.summary() for name, entry in self.entries.items()}

    def load(self, name: str) -> click.Command:
        """The real command ``name``; raises (LookupError, ImportError, ...) when it cannot be had
        from its entry, so the caller builds the root group the full way instead."""
        entry = self.entries[name]
        if entry.kind is None or entry.module is None:
            raise LookupError(f"command {name!r} has no entry to load it from")
        if entry.kind == "attr":
            if entry.attr is None:
                raise LookupError(f"command {name!r} names no attribute")
            found = _resolve(entry.module, entry.attr)
        elif entry.kind == "plugin":
            found = self._from_plugin(entry).get(name)
        else:
            raise LookupError(f"command {name!r}: unknown entry kind {entry.kind!r}")
        if not isinstance(found, click.Command):
            raise LookupError(f"command {name!r} is not where the index says ({entry.module}:{entry.attr})")
        return found

    def _from_plugin(self, entry: Entry) -> dict[str, click.Command]:
        """Every command the plugin's own ``register_commands`` adds (called once per index)."""
        assert entry.module is not None
        key = f"{entry.module}:{entry.attr or ''}"
        if key not in self._registered:
            plugin = _resolve(entry.module, entry.attr) if entry.attr else importlib.import_module(entry.module)
            collector = click.Group("crosspost")
            plugin.register_commands(cli=collector)
            self._registered[key] = dict(collector.commands)
        return self._registered[key]


def _resolve(module: str, attr: str | None) -> Any:
    found: Any = importlib.import_module(module)
    for part in (attr or "").split("."):
        if part:
            found = getattr(found, part)
    return found


# -- reading ---------------------------------------------------------------------------------


def load(environ: Mapping[str, str] | None = None) -> CommandIndex | None:
    """The cached index when it is enabled, readable and its key still matches, else None."""
    environ = os.environ if environ is None else environ
    if not enabled(environ):
        return None
    path = cache_file(environ)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or data.get("key") != static_key(environ):
            return None
        stamps = data["stamps"]
        if not isinstance(stamps, dict) or not stamps:
            return None
        for recorded, stamp in stamps.items():
            if _stamp(recorded) != stamp:
                _debug("command index %s is stale: %s changed", path, recorded)
                return None
        commands = data["commands"]
        if not isinstance(commands, dict) or not commands:
            return None
        return CommandIndex({name: Entry(name, entry) for name, entry in commands.items()}, path,
                            platforms=data.get("platforms"))
    except FileNotFoundError:
        return None
    except Exception as exc:  # unreadable or corrupt: the full path decides
        _debug("command index %s not used: %s: %s", path, type(exc).__name__, exc)
        return None


# -- writing ---------------------------------------------------------------------------------


def save(root: click.Group, pm: PluginManager, owners: Mapping[str, str], *, started_ns: int,
         new_modules: Iterable[str], failed: Mapping[str, str] | None = None,
         environ: Mapping[str, str] | None = None, platforms: Mapping[str, Any] | None = None) -> Path | None:
    """Write the index of ``root`` (just built from ``pm``; ``owners``: command -> plugin).

    ``started_ns`` is when the build began (``time.time_ns()``) and ``new_modules`` the modules it
    imported; ``platforms`` is the platforms' section (:func:`.platform_index.describe`, None
    when unknown). Returns the file written, or None when nothing was (see the module's docstring).
    Never raises for a file-system problem.
    """
    environ = os.environ if environ is None else environ
    if not enabled(environ):
        return None
    if failed or pm.failed:
        _debug("command index not written: plugins failed: %s", {**pm.failed, **(failed or {})})
        return None
    try:
        data = build(root, pm, owners, new_modules=new_modules, environ=environ, platforms=platforms)
    except Exception as exc:
        _debug("command index not built: %s: %s", type(exc).__name__, exc)
        return None
    if data is None:
        return None
    racy = [p for p, stamp in data["stamps"].items() if stamp is not None and stamp[0] >= started_ns - RACY_NS]
    if racy:
        _debug("command index not written: %s changed just now", racy[0])
        return None
    path = cache_file(environ)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(temporary, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(temporary, path)
        finally:
            if temporary.exists():
                temporary.unlink()
    except OSError as exc:
        _debug("command index not written to %s: %s", path, exc)
        return None
    return path


def build(root: click.Group, pm: PluginManager, owners: Mapping[str, str], *, new_modules: Iterable[str],
          environ: Mapping[str, str], platforms: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The index's content for ``root``, or None when some part of the key cannot be known."""
    from importlib import metadata

    from crosspost.core.plugins import ENTRY_POINT_GROUP

    plugin_entries: dict[str, tuple[str, str | None]] = {}
    paths: set[str] = set(_search_path())
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        where = getattr(ep.dist, "_path", None)
        if where is None:
            return None  # a distribution that is not a folder on disk: no cheap way to notice changes
        paths.add(str(where))
        paths.add(os.path.join(str(where), "entry_points.txt"))
        module, _, attr = ep.value.partition(":")
        plugin_entries.setdefault(ep.name, (module.strip(), attr.strip() or None))
    watched = set(new_modules) | {name for name in sys.modules if name.startswith("crosspost.")}
    for name in watched:
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str):
            paths.add(file)
    commands: dict[str, Any] = {}
    for name, command in root.commands.items():
        plugin = owners.get(name)
        if plugin is None:
            return None
        commands[name] = {
            "help": command.help,
            "short_help": command.short_help,
            "hidden": command.hidden,
            "deprecated": command.deprecated,
            "plugin": plugin,
            "load": _loader(command, plugin, pm, plugin_entries),
        }
    if not commands:
        return None
    return {
        "key": static_key(environ),
        "stamps": {path: _stamp(path) for path in sorted(paths)},
        "commands": commands,
        "platforms": None if platforms is None else dict(platforms),
    }


def _loader(command: click.Command, plugin: str, pm: PluginManager,
            plugin_entries: Mapping[str, tuple[str, str | None]]) -> dict[str, Any] | None:
    """How to load ``command`` again without the others (None: only the full way)."""
    if plugin == CORE_OWNER:
        found = _attribute_of(command, "crosspost.core.cli.")
        return None if found is None else {"kind": "attr", "module": found[0], "attr": found[1]}
    if plugin in plugin_entries and pm.get_plugin(plugin) is _resolve_loaded(*plugin_entries[plugin]):
        module, attr = plugin_entries[plugin]
        return {"kind": "plugin", "module": module, "attr": attr}
    return None


def _resolve_loaded(module: str, attr: str | None) -> Any:
    try:
        return _resolve(module, attr)
    except Exception:
        return None


def _attribute_of(command: click.Command, prefix: str) -> tuple[str, str] | None:
    """``(module, attribute)`` of a loaded module under ``prefix`` holding ``command``."""
    first = getattr(command.callback, "__module__", None)
    candidates = [first] if isinstance(first, str) else []
    candidates += sorted(name for name in sys.modules if name.startswith(prefix))
    for module_name in candidates:
        module = sys.modules.get(module_name)
        if module is None or not module_name.startswith(prefix):
            continue
        for attr, value in vars(module).items():
            if value is command:
                return module_name, attr
    return None
