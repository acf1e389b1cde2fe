"""Building the plugin manager and calling hooks through a typed facade.

Every plugin, crosspost's own included, comes from the ``crosspost`` entry-point group: the
built-ins are declared in crosspost's ``pyproject.toml`` (``[project.entry-points.crosspost]``)
like anyone's, so core holds no import path of a plugin. A plugin is *built-in* when the
distribution declaring it is crosspost itself.

Hooks are called the way pluggy users expect: through ``pm.hook.<name>(...)``, so the call
order (last registered first), ``tryfirst``, ``trylast`` and ``wrapper=True`` implementations
all work. Two hooks cannot be a plain pluggy call and iterate the implementations in pluggy's
call order instead: ``rewrite_post`` (chained: each implementation sees the previous result)
and ``host_media`` (the first URL wins, and a host must not upload a file the first host already
serves). Wrappers of those two are refused when the plugin registers, with a message that says
why. Results of ``async def`` implementations are awaited (datasette's ``await_me_maybe``).

Isolation is decided per hook, as the hook specifications document it: in ``register_platforms``
and the lifecycle events one plugin's exception is logged with its name and the others still
run; in ``check_post`` it becomes a problem with the post. The manager arranges this per
implementation when a plugin registers (:class:`PluginManager`), so it holds whatever order
pluggy chooses.

``make_plugin_manager`` has no import-time side effects and ends with ``check_pending()`` so a
misspelled hook implementation is an error, not silence.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from crosspost.core import hookspecs
from crosspost.core.errors import PluginError, Problem
from crosspost.core.models import Post, Target, TargetResult
from crosspost.core.platform import Platform
from crosspost.core.settings import Settings

if TYPE_CHECKING:
    from importlib import metadata

log = logging.getLogger("crosspost.plugins")

ENTRY_POINT_GROUP = "crosspost"
OWN_DISTRIBUTION = "crosspost"
"""Entry points declared by this distribution are the built-in plugins."""

ITERATED_HOOKS = frozenset({"rewrite_post", "host_media"})
"""Hooks whose implementations are called one by one in pluggy's order (no wrappers)."""
LOGGED_HOOKS = frozenset({"register_platforms", "post_scheduled", "target_published", "target_failed",
                          "post_cancelled"})
"""Hooks where an implementation's exception is logged and the other implementations still run."""
PROBLEM_HOOKS = frozenset({"check_post"})
"""Hooks where an implementation's exception is a problem with the post."""

_calling_plugin: contextvars.ContextVar[str] = contextvars.ContextVar("crosspost_calling_plugin", default="")
"""The plugin whose implementation runs now (so ``register`` callables know who calls them)."""


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


class PluginManager(pluggy.PluginManager):
    """pluggy's manager with crosspost's hooks, each plugin's distribution, and per-implementation
    isolation where the hook's contract promises it (pytest subclasses pluggy's manager the same
    way)."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.distributions: dict[str, metadata.Distribution] = {}
        """Plugin name -> the installed distribution that declared its entry point."""
        self.failed: dict[str, str] = {}
        """Plugin name -> why its entry point could not be loaded (it was skipped)."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` as pluggy does, then refuse wrappers of iterated hooks and guard
        the implementations of isolated hooks."""
        registered = super().register(plugin, name)
        if registered is None:
            return None
        try:
            for caller in self.get_hookcallers(plugin) or ():
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin:
                        _adapt(caller.name, impl)
        except PluginError:
            self.unregister(plugin)
            raise
        return registered


def _adapt(hook: str, impl: pluggy.HookImpl) -> None:
    if impl.wrapper or impl.hookwrapper:
        if hook in ITERATED_HOOKS:
            raise PluginError(impl.plugin_name, (
                f"{hook} does not take wrapper implementations: its implementations are called one by one "
                f"({'each sees the previous result' if hook == 'rewrite_post' else 'the first URL wins'}); "
                "implement it as a plain hook instead"))
        return
    if hook in ITERATED_HOOKS:
        return
    on_error = _log_failure if hook in LOGGED_HOOKS else _as_problems if hook in PROBLEM_HOOKS else None
    # pluggy stops a call at the first exception; the contracts above need it per implementation,
    # so the implementation's function is wrapped in place (a plain slot at run time; typed Final
    # only to keep callers from swapping it by accident).
    setattr(impl, "function", _guarded(impl.function, impl.plugin_name, hook, on_error=on_error))  # noqa: B010


def _log_failure(plugin: str, hook: str, exc: Exception) -> None:
    if isinstance(exc, PluginError):
        raise exc  # a broken registration (duplicate platform name) stops start-up, by design
    log.error("plugin %r failed in %s; continuing without it", plugin, hook, exc_info=exc)
    return None


def _as_problems(plugin: str, hook: str, exc: Exception) -> list[Problem]:
    return [Problem(field="", message=f"plugin {plugin!r}: {exc}")]


def _guarded(function: Callable[..., Any], plugin: str, hook: str,
             on_error: Callable[[str, str, Exception], Any] | None) -> Callable[..., Any]:
    """``function`` run with :data:`_calling_plugin` set; with ``on_error``, its exception (raised
    at once or by the awaitable it returned) is handled there instead of ending the hook call."""

    async def finish(pending: Any) -> Any:
        token = _calling_plugin.set(plugin)
        try:
            return await pending
        except Exception as exc:
            if on_error is None:
                raise
            return on_error(plugin, hook, exc)
        finally:
            _calling_plugin.reset(token)

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        token = _calling_plugin.set(plugin)
        try:
            result = function(*args)
        except Exception as exc:
            if on_error is None:
                raise
            return on_error(plugin, hook, exc)
        finally:
            _calling_plugin.reset(token)
        return finish(result) if inspect.isawaitable(result) else result

    return call


def make_plugin_manager(
    *,
    disabled: Iterable[str] = (),
    builtins: Collection[str] | None = None,
    entry_points: bool = True,
    extra: Iterable[object] = (),
    skip: Collection[str] = (),
    recorded: Sequence[tuple[str, str]] | None = None,
) -> PluginManager:
    """A plugin manager with crosspost's hooks, the built-in plugins and installed ones.

    ``disabled`` names plugins to skip (entry-point names such as ``tiktok``, or their module
    paths). ``builtins`` picks crosspost's own entry points by name (None: all of them, ``()``:
    none); ``entry_points=False`` skips every other distribution's. ``extra`` registers plugin
    objects directly (tests, apps embedding crosspost). ``skip`` names entry points not to load
    this time, without blocking them (``crosspost post`` leaves out the plugins its cached
    platform index says cannot touch its targets; see :mod:`crosspost.core.cli.platform_index`).
    ``recorded`` gives the entry points to load, as ``(name, "module:attr")`` pairs a trusted
    cache recorded from a full build with the default ``builtins`` and ``entry_points``, instead
    of reading them through ``importlib.metadata`` (~10 ms); their distributions are then unknown.
    """
    pm = PluginManager()
    blocked = set(disabled)
    for name in blocked:
        pm.set_blocked(name)
    for ep in _entry_points(recorded):
        own = _is_own(ep)
        wanted = (builtins is None or ep.name in builtins) if own else entry_points
        if wanted and ep.name not in skip and ep.name not in blocked and ep.value not in blocked \
                and pm.get_plugin(ep.name) is None:
            _load(pm, ep)
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_plugin_name(pm, exc.plugin), str(exc)) from None
    return pm


class RecordedEntryPoint:
    """An entry point as a cache recorded it: loads like ``importlib.metadata``'s, no distribution."""

    dist: metadata.Distribution | None = None

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def load(self) -> Any:
        module, _, attr = self.value.partition(":")
        found: Any = importlib.import_module(module.strip())
        for part in attr.strip().split("."):
            if part:
                found = getattr(found, part)
        return found


def _entry_points(recorded: Sequence[tuple[str, str]] | None) -> Iterable[metadata.EntryPoint | RecordedEntryPoint]:
    """The recorded entry points, else the installed ones (importing ``importlib.metadata`` only
    then: it and the scan of every distribution cost ~10 ms of a post's start-up)."""
    if recorded is not None:
        return [RecordedEntryPoint(name, value) for name, value in recorded]
    from importlib import metadata

    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def _is_own(ep: metadata.EntryPoint | RecordedEntryPoint) -> bool:
    dist = ep.dist
    return dist is not None and _normalized(dist.name) == OWN_DISTRIBUTION


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _load(pm: PluginManager, ep: metadata.EntryPoint | RecordedEntryPoint) -> None:
    try:
        plugin = ep.load()
    except Exception as exc:
        # A broken plugin is reported by name and does not take the others down.
        log.error("plugin %r failed to load and is skipped: %s", ep.name, exc)
        pm.failed[ep.name] = f"{type(exc).__name__}: {exc}"
        return
    pm.register(plugin, name=ep.name)
    if ep.dist is not None:
        pm.distributions[ep.name] = ep.dist


def _plugin_name(pm: pluggy.PluginManager, plugin: object) -> str:
    return pm.get_name(plugin) or str(getattr(plugin, "__name__", repr(plugin)))


class Hooks:
    """Typed calls into the plugin manager, so the rest of core is type-checked (tox's idea)."""

    def __init__(self, pm: PluginManager) -> None:
        self.pm = pm
        self._platforms: dict[str, Platform] | None = None
        self._owners: dict[str, str] = {}
        self._media_host: tuple[Settings, bool] | None = None

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
        self._forget()

    def unregister(self, plugin: object) -> None:
        """Remove a plugin added with :meth:`register`, if it is still registered."""
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)
        self._forget()

    def forget_platforms(self) -> None:
        """Collect the platforms again on next use (after a collection whose outcome was set aside)."""
        self._platforms = None

    def _forget(self) -> None:
        """Drop what was collected from the plugins: the set of plugins changed."""
        self._platforms = None
        self._media_host = None

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

        def register(platform: Platform) -> None:
            owner = _calling_plugin.get() or "?"
            if not isinstance(platform, Platform):
                raise PluginError(owner, f"registered {platform!r}, not a Platform instance")
            if platform.name in found:
                other = found[platform.name][1]
                raise PluginError(owner, f"platform {platform.name!r} is already registered by plugin {other!r}")
            found[platform.name] = (platform, owner)

        self.pm.hook.register_platforms(register=register)
        self._owners = {name: owner for name, (_, owner) in found.items()}
        return {name: platform for name, (platform, _) in found.items()}

    def owner_of(self, platform_name: str) -> str | None:
        """The plugin that registered ``platform_name``."""
        self.platforms()
        return self._owners.get(platform_name)

    # -- before a post is checked ------------------------------------------------------------

    async def rewrite_post(self, post: Post, target: Target) -> tuple[Post, list[Problem]]:
        """``post`` after every ``rewrite_post`` implementation, chained in pluggy's call order
        (``tryfirst`` first, then the last registered, ``trylast`` last)."""
        problems: list[Problem] = []
        for impl in _call_order(self.pm.hook.rewrite_post):
            try:
                result = await await_me_maybe(_call(impl, post=post, target=target))
            except Exception as exc:
                problems.append(Problem(field="", message=f"plugin {impl.plugin_name!r}: {exc}"))
                continue
            if result is not None:
                post = result
        return post, problems

    async def check_post(self, post: Post, target: Target) -> list[Problem]:
        """Every problem every ``check_post`` implementation found (wrappers included)."""
        problems: list[Problem] = []
        for found in self.pm.hook.check_post(post=post, target=target) or ():
            for item in await await_me_maybe(found) or ():
                if isinstance(item, Problem):
                    problems.append(item)
                elif item is not None:
                    problems.append(Problem(field="", message=f"a check_post hook returned {item!r}, not a Problem"))
        return problems

    # -- media -------------------------------------------------------------------------------

    def has_media_host(self, settings: Settings) -> bool:
        """Whether some ``host_media`` implementation is ready to host files with ``settings``:
        one whose plugin does not implement ``media_host_ready``, or one that says it is ready.

        Asked at every validation and route choice, so the answer is kept for the last
        ``Settings`` object (immutable; the engine passes the same one to every job) until the
        plugins change: ``media_host_ready`` depends on the settings alone."""
        known = self._media_host
        if known is not None and known[0] is settings:
            return known[1]
        ready = self._media_host_ready(settings)
        self._media_host = (settings, ready)
        return ready

    def _media_host_ready(self, settings: Settings) -> bool:
        hosts = {impl.plugin_name for impl in _call_order(self.pm.hook.host_media)}
        if not hosts:
            return False
        answering = {impl.plugin_name for impl in self.pm.hook.media_host_ready.get_hookimpls()}
        if hosts - answering:
            return True
        return any(self.pm.hook.media_host_ready(settings=settings) or ())

    async def host_media(self, path: str, target: Target, settings: Settings) -> str | None:
        """The first URL a ``host_media`` implementation gives for ``path`` (pluggy's call order),
        or None; later hosts are not asked."""
        for impl in _call_order(self.pm.hook.host_media):
            url = await await_me_maybe(_call(impl, path=path, target=target, settings=settings))
            if url:
                return str(url)
        return None

    # -- lifecycle events --------------------------------------------------------------------

    async def post_scheduled(self, post_id: str, post: Post, run_at: str | None) -> None:
        await _settle(self.pm.hook.post_scheduled(post_id=post_id, post=post, run_at=run_at))

    async def target_published(self, post_id: str, result: TargetResult) -> None:
        await _settle(self.pm.hook.target_published(post_id=post_id, result=result))

    async def target_failed(self, post_id: str, result: TargetResult) -> None:
        await _settle(self.pm.hook.target_failed(post_id=post_id, result=result))

    async def post_cancelled(self, post_id: str) -> None:
        await _settle(self.pm.hook.post_cancelled(post_id=post_id))

    # -- introspection -----------------------------------------------------------------------

    def plugin_infos(self) -> list[PluginInfo]:
        """Loaded plugins with their versions and the hooks they implement."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            dist = self.pm.distributions.get(name)
            builtin = dist is not None and _normalized(dist.name) == OWN_DISTRIBUTION
            infos.append(PluginInfo(name=name, version=dist.version if dist is not None else None,
                                    hooks=hooks, builtin=builtin))
        return infos


def _call_order(caller: pluggy.HookCaller) -> list[pluggy.HookImpl]:
    """The implementations in the order ``caller(...)`` would run them (pluggy keeps them
    reversed: trylast first, tryfirst last)."""
    return list(reversed(caller.get_hookimpls()))


def _call(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one implementation with the arguments it asks for (pluggy lets it take a subset)."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


async def _settle(results: Iterable[Any] | None) -> None:
    """Await every result of an event hook (failures were logged by the guard, per plugin)."""
    for result in results or ():
        await await_me_maybe(result)
