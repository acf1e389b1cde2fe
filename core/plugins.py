"""Building the plugin manager and calling hooks through a typed facade.

Built-in plugins are listed by import path in :data:`DEFAULT_PLUGINS` (core never imports a
plugin module by name anywhere else); third-party plugins come from the ``crosspost``
entry-point group. ``make_plugin_manager`` has no import-time side effects and ends with
``check_pending()`` so a misspelled hook implementation is an error, not silence.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable
from importlib import metadata
from typing import Any

import attrs
import pluggy

from crosspost.core import hookspecs
from crosspost.core.errors import PluginError, Problem
from crosspost.core.models import Post, Target, TargetResult
from crosspost.core.platform import Platform
from crosspost.core.settings import Settings

log = logging.getLogger("crosspost.plugins")

ENTRY_POINT_GROUP = "crosspost"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "crosspost.plugins.tiktok.plugin",
    "crosspost.plugins.s3host.plugin",
)
"""Built-in plugins, by import path."""


async def await_me_maybe(value: Any) -> Any:
    """``value``, awaited first when a hook implementation returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


@attrs.frozen(kw_only=True)
class PluginInfo:
    """One loaded plugin, as ``crosspost plugins`` shows it."""

    name: str
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool


def make_plugin_manager(
    *,
    disabled: Iterable[str] = (),
    builtins: Iterable[str] = DEFAULT_PLUGINS,
    entry_points: bool = True,
    extra: Iterable[object] = (),
) -> pluggy.PluginManager:
    """A plugin manager with crosspost's hooks, the built-in plugins and installed ones.

    ``disabled`` names plugins (built-in import paths, entry-point names, or plugin names) to
    skip. ``extra`` registers plugin objects directly (tests, apps embedding crosspost).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = set(disabled)
    for name in blocked:
        pm.set_blocked(name)
    for path in builtins:
        if path in blocked or path.rsplit(".", 2)[-2] in blocked:
            continue
        pm.register(importlib.import_module(path), name=path)
    if entry_points:
        _load_entry_points(pm, blocked)
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_plugin_name(pm, exc.plugin), str(exc)) from None
    return pm


def _load_entry_points(pm: pluggy.PluginManager, blocked: set[str]) -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            # A broken plugin is reported by name and does not take the others down.
            log.error("plugin %r failed to load and is skipped: %s", ep.name, exc)
            continue
        pm.register(plugin, name=ep.name)
        if ep.dist is not None:
            pm._plugin_distinfo.append((plugin, ep.dist))


def _call(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one implementation with the arguments it asks for (pluggy lets it take a subset)."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


def _plugin_name(pm: pluggy.PluginManager, plugin: object) -> str:
    return pm.get_name(plugin) or str(getattr(plugin, "__name__", repr(plugin)))


class Hooks:
    """Typed calls into the plugin manager, so the rest of core is type-checked (tox's idea)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._platforms: dict[str, Platform] | None = None
        self._owners: dict[str, str] = {}

    # -- registering plugins at run time --------------------------------------------------

    def register(self, plugin: object, name: str | None = None) -> None:
        """Add a plugin object (apps and tests); its platforms are collected again.

        A misspelled hook implementation is refused (and the plugin not kept), as at start-up.
        """
        self.pm.register(plugin, name=name)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(plugin)
            raise PluginError(name or _plugin_name(self.pm, plugin), str(exc)) from None
        self._platforms = None

    def unregister(self, plugin: object) -> None:
        """Remove a plugin added with :meth:`register`, if it is still registered."""
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)
        self._platforms = None

    # -- platforms ---------------------------------------------------------------------------

    def platforms(self) -> dict[str, Platform]:
        """Every registered platform by name. Duplicate names are refused, naming both plugins."""
        if self._platforms is None:
            self._platforms = self._collect_platforms()
        return self._platforms

    def platform(self, name: str) -> Platform:
        try:
            return self.platforms()[name]
        except KeyError:
            known = ", ".join(sorted(self.platforms())) or "none"
            raise PluginError(name, f"no such platform; installed: {known}") from None

    def _collect_platforms(self) -> dict[str, Platform]:
        found: dict[str, tuple[Platform, str]] = {}
        for impl in self.pm.hook.register_platforms.get_hookimpls():
            owner = impl.plugin_name

            def register(platform: Platform, owner: str = owner) -> None:
                if not isinstance(platform, Platform):
                    raise PluginError(owner, f"registered {platform!r}, not a Platform instance")
                if platform.name in found:
                    other = found[platform.name][1]
                    raise PluginError(owner, f"platform {platform.name!r} is already registered "
                                             f"by plugin {other!r}")
                found[platform.name] = (platform, owner)

            try:
                impl.function(register=register)
            except PluginError:
                raise
            except Exception as exc:
                log.error("plugin %r failed in register_platforms and is skipped: %s", owner, exc)
        self._owners = {name: owner for name, (_, owner) in found.items()}
        return {name: platform for name, (platform, _) in found.items()}

    def owner_of(self, platform_name: str) -> str | None:
        """The plugin that registered ``platform_name``."""
        self.platforms()
        return self._owners.get(platform_name)

    # -- before a post is checked ------------------------------------------------------------

    async def rewrite_post(self, post: Post, target: Target) -> tuple[Post, list[Problem]]:
        """``post`` after every ``rewrite_post`` implementation, chained in order."""
        problems: list[Problem] = []
        for impl in self.pm.hook.rewrite_post.get_hookimpls():
            try:
                result = await await_me_maybe(_call(impl, post=post, target=target))
            except Exception as exc:
                problems.append(Problem(field="", message=f"plugin {impl.plugin_name!r}: {exc}"))
                continue
            if result is not None:
                post = result
        return post, problems

    async def check_post(self, post: Post, target: Target) -> list[Problem]:
        """Every problem every ``check_post`` implementation found."""
        problems: list[Problem] = []
        for impl in self.pm.hook.check_post.get_hookimpls():
            try:
                found = await await_me_maybe(_call(impl, post=post, target=target))
            except Exception as exc:
                problems.append(Problem(field="", message=f"plugin {impl.plugin_name!r}: {exc}"))
                continue
            problems.extend(found or ())
        return problems

    def has_media_host(self, settings: Settings) -> bool:
        """Whether some ``host_media`` implementation is ready to host files with ``settings``.

        A plugin whose host depends on configuration says so with a module/object function
        ``media_host_configured(settings) -> bool``; any other implementation counts as ready.
        """
        for impl in self.pm.hook.host_media.get_hookimpls():
            configured = getattr(impl.plugin, "media_host_configured", None)
            if configured is None or configured(settings):
                return True
        return False

    async def host_media(self, path: str, target: Target, settings: Settings) -> str | None:
        """The first URL a ``host_media`` implementation gives for ``path``, or None."""
        for impl in self.pm.hook.host_media.get_hookimpls():
            url = await await_me_maybe(_call(impl, path=path, target=target, settings=settings))
            if url:
                return str(url)
        return None

    # -- lifecycle events --------------------------------------------------------------------

    async def post_scheduled(self, post_id: str, post: Post, run_at: str | None) -> None:
        await self._notify("post_scheduled", post_id=post_id, post=post, run_at=run_at)

    async def target_published(self, post_id: str, result: TargetResult) -> None:
        await self._notify("target_published", post_id=post_id, result=result)

    async def target_failed(self, post_id: str, result: TargetResult) -> None:
        await self._notify("target_failed", post_id=post_id, result=result)

    async def post_cancelled(self, post_id: str) -> None:
        await self._notify("post_cancelled", post_id=post_id)

    async def _notify(self, hook: str, **kwargs: Any) -> None:
        """Call every implementation; one listener's failure never stops the others."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            try:
                await await_me_maybe(_call(impl, **kwargs))
            except Exception:
                log.exception("plugin %r failed in %s; continuing", impl.plugin_name, hook)

    # -- introspection -----------------------------------------------------------------------

    def plugin_infos(self) -> list[PluginInfo]:
        """Loaded plugins with their versions and the hooks they implement."""
        dists = {id(p): d for p, d in self.pm.list_plugin_distinfo()}
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            dist = dists.get(id(plugin))
            builtin = name in DEFAULT_PLUGINS
            version = dist.version if dist is not None else (_own_version() if builtin else None)
            infos.append(PluginInfo(name=name, version=version, hooks=hooks, builtin=builtin))
        return infos


def _own_version() -> str | None:
    try:
        return metadata.version("crosspost")
    except metadata.PackageNotFoundError:
        return None
