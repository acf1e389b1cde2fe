"""The platforms' part of the cached command index: what ``crosspost post`` needs from every
platform before it knows which ones it targets, so that it loads only those.

``crosspost post`` offers every platform's declared ``OptionSpec.flag`` as a flag, and a flag no
targeted platform declares is a usage error naming who declares it; so its flags, its help and
its errors depend on *every* platform, while the post itself needs only the targeted ones.
When the full build writes the command index (:mod:`crosspost.core.cli.command_index`), it also
records, under ``platforms``:

* ``flags``: each flag's declaration (name, help, type, choices, whether it repeats, the
  ``(platform, option, aliases)`` it sets), in the order the full build makes them, from which
  the post command builds the very ``click.Option``s and error messages the platforms would give;
* ``plugins``: each loaded plugin's platforms, and whether it may be left out of a post that
  targets none of them: only a plugin loaded from an entry point whose hooks are all in
  :data:`SKIPPABLE_HOOKS` (plain implementations, no wrappers). A plugin with any other hook (an
  importer, a check, a media host, an event) may change any post, so it always loads;
* ``entry_points``: the ``(name, "module:attr")`` of every plugin the build loaded from an entry
  point, in its order, so a post registers them without reading every distribution's metadata
  (null when one cannot be told plainly: its value has extras, or loads something else).

The section shares the index's key: a changed platform module, entry point, ``sys.path`` or
``CROSSPOST_DISABLE_PLUGINS`` makes the whole index stale. It is recorded as null (and the post
command builds every platform, as without the index) when collecting the platforms failed or
logged an error, so a broken plugin keeps being reported on every run. With a trusted section,
``crosspost post`` registers every plugin except the skippable ones none of whose platforms it
targets (``--to`` or the request file's ``targets`` and ``target_options``); a target naming a
platform the section does not know, a request read from stdin or in another service's shape,
or anything unreadable loads every plugin, exactly as without the index.

The core names no platform here: every name comes from the plugins, through the index.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosspost.core.plugins import Hooks

PLAIN_VALUE = r"[\w.]+(:[\w.]+)?"
"""An entry point's value without extras or spaces (what :class:`RecordedEntryPoint` loads)."""
SKIPPABLE_HOOKS = frozenset({"register_platforms", "register_commands"})
"""Hooks that cannot affect a post to another plugin's platform: a plugin implementing only
these may be left unloaded when none of its platforms is targeted."""


def describe(hooks: Hooks) -> dict[str, Any] | None:
    """The ``platforms`` section for ``hooks`` (every plugin loaded), or None when in doubt.

    Collecting the platforms here must not change what the user sees: a failure (raised or
    logged by the plugin manager's guard) is kept quiet and forgotten, so the command that runs
    next collects again and reports it as it always did."""
    from crosspost.core.cli.post import declared_flags

    platforms = _quietly_collected(hooks)
    if platforms is None:
        return None
    owners: dict[str, list[str]] = {}
    for name in sorted(platforms):
        owner = hooks.owner_of(name)
        if owner is None:
            return None
        owners.setdefault(owner, []).append(name)
    plugins = {}
    for name, plugin in hooks.pm.list_name_plugin():
        if plugin is not None:
            plugins[name] = {"platforms": owners.pop(name, []), "skippable": _skippable(hooks, name, plugin)}
    if owners:
        return None  # a platform registered by something that is not a named plugin
    return {"plugins": plugins, "flags": [f.to_json() for f in declared_flags(platforms).values()],
            "entry_points": _entry_points(hooks)}


def _entry_points(hooks: Hooks) -> list[list[str]] | None:
    """``[name, value]`` of each entry point the plugin manager loaded, in the order it loaded
    them (the first of a name wins, as there), or None when one is not plainly ``module:attr``."""
    import re
    from importlib import metadata

    from crosspost.core.plugins import ENTRY_POINT_GROUP, RecordedEntryPoint

    found: list[list[str]] = []
    seen: set[str] = set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen or ep.name not in hooks.pm.distributions:
            continue
        seen.add(ep.name)
        if not re.fullmatch(PLAIN_VALUE, ep.value):
            return None
        try:
            same = RecordedEntryPoint(ep.name, ep.value).load() is hooks.pm.get_plugin(ep.name)
        except Exception:
            return None
        if not same:
            return None
        found.append([ep.name, ep.value])
    return found if seen == set(hooks.pm.distributions) else None


def _quietly_collected(hooks: Hooks) -> Mapping[str, Any] | None:
    """``hooks.platforms()``, or None (and nothing printed, nothing kept) when it failed."""
    import logging  # here: `crosspost post --help` from the index reads this module, never logs

    class Failures(logging.Handler):
        """Counts the errors the plugin manager logs while the platforms are collected."""

        seen = 0

        def emit(self, record: logging.LogRecord) -> None:
            self.seen += 1

    watcher = Failures(logging.WARNING)
    plugin_log = logging.getLogger("crosspost.plugins")
    propagate = plugin_log.propagate
    plugin_log.addHandler(watcher)
    plugin_log.propagate = False
    try:
        platforms = hooks.platforms()
    except Exception:
        platforms = None
    finally:
        plugin_log.removeHandler(watcher)
        plugin_log.propagate = propagate
    if platforms is None or watcher.seen:
        hooks.forget_platforms()
        return None
    return platforms


def _skippable(hooks: Hooks, name: str, plugin: object) -> bool:
    """Whether ``plugin`` came from an entry point and implements only :data:`SKIPPABLE_HOOKS`,
    plainly (a wrapper could change what other plugins register)."""
    if name not in hooks.pm.distributions:
        return False
    for caller in hooks.pm.get_hookcallers(plugin) or ():
        if caller.name not in SKIPPABLE_HOOKS:
            return False
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper):
                return False
    return True


class PlatformIndex:
    """A trusted ``platforms`` section: the flags' declarations and which plugins a post to
    some platforms may leave unloaded. Raises (TypeError, KeyError...) on a malformed section."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        flags = data["flags"]
        plugins = data["plugins"]
        if not isinstance(flags, list) or not isinstance(plugins, dict):
            raise TypeError("malformed platforms section")
        self.flags: list[Mapping[str, Any]] = [_mapping(f) for f in flags]
        self.plugins: dict[str, tuple[frozenset[str], bool]] = {}
        for name, entry in plugins.items():
            entry = _mapping(entry)
            names = entry["platforms"]
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise TypeError(f"plugin {name!r}: malformed platforms")
            self.plugins[str(name)] = (frozenset(names), entry["skippable"] is True)
        self.entry_points = _pairs(data.get("entry_points"))
        """The entry points to load (name, value), or None: read them from the metadata."""

    def platforms(self) -> frozenset[str]:
        """Every platform the full build registers."""
        return frozenset(n for names, _ in self.plugins.values() for n in names)

    def skipped(self, wanted: Collection[str]) -> frozenset[str] | None:
        """The plugins a post to the ``wanted`` platforms may leave unloaded, or None when one of
        them is unknown here (the full build then names what is installed)."""
        if not set(wanted) <= self.platforms():
            return None
        return frozenset(name for name, (names, skippable) in self.plugins.items()
                         if skippable and not names & set(wanted))


def _pairs(value: object) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError(f"malformed entry points {value!r}")
    pairs = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)):
            raise TypeError(f"malformed entry point {item!r}")
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {value!r}")
    return value


def load(section: object) -> PlatformIndex | None:
    """The section as a :class:`PlatformIndex`, or None when absent or malformed."""
    if not isinstance(section, dict):
        return None
    try:
        return PlatformIndex(section)
    except Exception as exc:
        import logging

        logging.getLogger("crosspost.cli").debug("platforms section not used: %s: %s", type(exc).__name__, exc)
        return None
