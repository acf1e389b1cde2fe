"""Every hook crosspost calls, in one place. Each docstring is the hook's contract.

Plugins implement hooks with ``@crosspost.core.hookimpl`` on functions of the same name. pluggy
awaits nothing, so:

* registration hooks are synchronous and put the async work on the registered objects;
* hooks documented as *may be async* are awaited by crosspost when an implementation returns an
  awaitable (datasette's ``await_me_maybe``);
* no hook here uses ``firstresult=True``: a coroutine is a non-None result and would always win.

Hooks are called through pluggy (``pm.hook.<name>``): implementations run last registered
first, ``tryfirst``/``trylast`` move one to the front or the back, and ``wrapper=True``
implementations wrap the call (of an async implementation a wrapper sees the awaitable, not its
result). ``rewrite_post`` and ``host_media`` take no wrappers (refused when the plugin registers).

A plugin that raises in ``register_platforms`` or a lifecycle event is logged with its name and
does not stop the other plugins; in ``check_post`` and ``rewrite_post`` an exception is a
problem with the post; elsewhere it propagates to the caller.
``docs/plugins.md`` documents each hook; a test fails when one is missing there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import click

    from crosspost.core.errors import Problem
    from crosspost.core.importers import RequestImporter
    from crosspost.core.models import Post, Target, TargetResult
    from crosspost.core.platform import RegisterPlatform
    from crosspost.core.settings import Settings

PROJECT = "crosspost"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- registration -------------------------------------------------------------------------------


@hookspec
def register_platforms(register: RegisterPlatform) -> None:
    """Contribute platforms by calling ``register(platform)`` with a ``Platform`` instance.

    Called once when the plugin manager is built. Synchronous only. Registering a name that
    another plugin already registered is an error naming both plugins.

    The CLI's cached command index (:mod:`crosspost.core.cli.platform_index`) records each
    platform's name, plugin and ``OptionSpec.flag`` declarations, so ``crosspost post`` can
    leave out a plugin that implements only this hook and ``register_commands`` when none of
    its platforms is targeted. So register the same platforms every time: do not decide them
    from environment variables, the time or the network.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``crosspost`` command line (``cli.add_command(...)``).

    Called when the CLI builds its command set, for crosspost's own commands too. Synchronous
    only. Import heavy modules inside the commands, not here: building the set calls every
    implementation. A command name another plugin already added is an error naming both plugins.

    The CLI caches what ``crosspost --help`` lists (:mod:`crosspost.core.cli.command_index`),
    keyed on the installed distributions and the source files loaded while building it, and
    later calls this plugin's implementation alone (with a fresh group) to run one of its
    commands. So add the same commands every time: do not decide them from environment
    variables, the time or the network.
    """


@hookspec
def register_importers(register: Callable[[RequestImporter], None]) -> None:
    """Contribute readers of other services' request shapes by calling ``register(importer)``
    (see :mod:`crosspost.core.importers`). Tried in registration order by ``crosspost post`` and
    ``crosspost serve``; the first that knows a shape wins. Synchronous only.
    """


# -- before a post is checked -------------------------------------------------------------------


@hookspec
def rewrite_post(post: Post, target: Target) -> Post | None:
    """Return a changed copy of ``post`` for ``target`` (e.g. add a signature), or None.

    Called for every target before validation, once per implementation in pluggy's call order
    (``tryfirst`` first, then the most recently registered); each implementation sees the
    previous one's result. May be async. Wrapper implementations are refused.
    """


@hookspec
def check_post(post: Post, target: Target) -> Iterable[Problem] | None:
    """Veto a post for ``target`` by returning problems (``Problem(field=…, message=…)``).

    Called for every target after ``rewrite_post`` and before the platform validates; the
    problems of *every* implementation are collected and reported together with the platform's
    own. Return None or an empty list to accept. May be async.
    """


# -- media --------------------------------------------------------------------------------------


@hookspec
def host_media(path: str, target: Target, settings: Settings) -> str | None:
    """Return a public URL serving the local file ``path`` for ``target``, or None to decline.

    Called when a platform accepts only URLs for a media item (TikTok photos). Implementations
    are tried in pluggy's call order until one returns a URL (the others are not called);
    ``settings`` carries the configuration (an implementation reads its own keys with
    ``settings.platform(name)``). The URL must stay reachable until the platform has fetched
    it, and for TikTok it must be on a domain or URL prefix the app has verified. May be async.
    Wrapper implementations are refused.
    """


@hookspec
def media_host_ready(settings: Settings) -> bool:
    """Whether this plugin's ``host_media`` can host files with ``settings`` (e.g. a bucket is
    configured). Platforms ask before relying on a host: TikTok refuses a local photo at
    validation when no host is ready, instead of failing at upload.

    Implement it beside ``host_media`` when hosting depends on configuration; a plugin with
    ``host_media`` and without this hook counts as always ready. Synchronous only, and a function
    of ``settings`` alone: the answer is kept for as long as the same (immutable) ``Settings``
    object is in use and no plugin is registered or removed.
    """
    raise NotImplementedError  # a specification: pluggy calls the implementations, never this


# -- lifecycle events ---------------------------------------------------------------------------


@hookspec
def post_scheduled(post_id: str, post: Post, run_at: str | None) -> None:
    """A post was stored; ``run_at`` is its ISO-8601 UTC time, or None for *now*.

    For bots and audit logs. May be async. Exceptions are logged with the plugin's name and
    otherwise ignored.
    """


@hookspec
def target_published(post_id: str, result: TargetResult) -> None:
    """One target reached a final success state (``published`` or ``inbox``).

    ``result.post_url`` links to the post when the platform gave one. May be async. Exceptions
    are logged with the plugin's name and otherwise ignored.
    """


@hookspec
def target_failed(post_id: str, result: TargetResult) -> None:
    """One target failed for good, or needs reconciliation (``result.status`` says which);
    ``result.error`` holds the reason and what to do. May be async. Exceptions are logged with
    the plugin's name and otherwise ignored.
    """


@hookspec
def post_cancelled(post_id: str) -> None:
    """The user cancelled a post; none of its unfinished targets will run.

    May be async. Exceptions are logged with the plugin's name and otherwise ignored.
    """


def hook_names() -> list[str]:
    """Names of every hook defined here (used by the docs check)."""
    return [name for name, obj in globals().items()
            if callable(obj) and hasattr(obj, f"{PROJECT}_spec")]

