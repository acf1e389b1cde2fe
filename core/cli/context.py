"""What every command shares: the global flags, settings, the hub, and running a coroutine.

Kept free of heavy imports: the hub (and with it aiohttp) is imported only inside
:func:`open_hub`, so ``crosspost --help`` never pays for it; the models and settings (and attrs
under them) load with the first command that reads them, not with the root group's help.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import asyncio

    from crosspost.core.cli.command_index import CommandIndex
    from crosspost.core.cli.output import Output
    from crosspost.core.hub import Hub
    from crosspost.core.models import Target
    from crosspost.core.plugins import Hooks
    from crosspost.core.settings import Settings

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """The global flags, given before or after the command name (``--json`` works in both).

    A plain class rather than attrs: ``crosspost --help`` builds one, and attrs costs more to
    import than the rest of the root group.
    """

    def __init__(self, json: bool = False, quiet: bool = False, verbose: bool = False, db: str | None = None,
                 post_id: str | None = None, output: Output | None = None, hooks: Hooks | None = None) -> None:
        self.json = json
        self.quiet = quiet
        self.verbose = verbose
        self.db = db
        self.post_id: str | None = post_id
        """The post being worked on, once known: the Ctrl-C message names it."""
        self._output = output
        self._hooks = hooks
        self.index: CommandIndex | None = None
        """The cached command index this invocation trusts (set by the root group), else None:
        ``crosspost post`` reads its platforms' section to load only the plugins it targets."""

    def __repr__(self) -> str:
        return (f"CliState(json={self.json!r}, quiet={self.quiet!r}, verbose={self.verbose!r}, db={self.db!r}, "
                f"post_id={self.post_id!r})")

    def hooks(self, *, skip: frozenset[str] = frozenset(),
              recorded: Sequence[tuple[str, str]] | None = None) -> Hooks:
        """This invocation's plugins (minus ``CROSSPOST_DISABLE_PLUGINS``), shared by the command
        tree and the hub, built once per invocation (cheap: plugin modules stay light).

        ``skip`` names entry points left unloaded when this call builds them (``crosspost post``,
        from the cached platforms' section, which also gives the entry points as ``recorded``:
        see :func:`~crosspost.core.plugins.make_plugin_manager`); once built, the same plugins
        serve every call."""
        if self._hooks is None:
            from crosspost.core.settings import Settings

            self._hooks = make_cli_hooks(Settings.from_env().disabled_plugins, skip=skip, recorded=recorded)
        return self._hooks

    def has_hooks(self) -> bool:
        """Whether this invocation's plugins are already built (or were given by the caller)."""
        return self._hooks is not None

    def settings(self) -> Settings:
        """Settings from the environment, with ``--db`` overriding ``CROSSPOST_DB``."""
        from crosspost.core.settings import Settings

        return Settings.from_env(db=self.db) if self.db else Settings.from_env()

    @property
    def output(self) -> Output:
        if self._output is None:
            from crosspost.core.cli.output import Output

            self._output = Output(json=self.json, quiet=self.quiet, verbose=self.verbose)
        return self._output


def make_cli_hooks(disabled: frozenset[str] = frozenset(), *, skip: frozenset[str] = frozenset(),
                   recorded: Sequence[tuple[str, str]] | None = None) -> Hooks:
    """Every plugin (but the entry points in ``skip``), plus crosspost's own commands (they
    register through ``register_commands`` like any plugin's)."""
    from crosspost.core.cli import commands
    from crosspost.core.plugins import Hooks, make_plugin_manager

    return Hooks(make_plugin_manager(disabled=disabled, skip=skip, recorded=recorded, extra=[commands]))


def hooks_of(ctx: click.Context | None) -> Hooks:
    """The invocation's plugins when a CLI invocation is running, else a fresh set (docs)."""
    found = ctx.find_object(CliState) if ctx is not None else None
    return found.hooks() if found is not None else make_cli_hooks()


def state() -> CliState:
    """The current invocation's :class:`CliState` (created on first use)."""
    return click.get_current_context().ensure_object(CliState)


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value:  # a flag given at either level wins; a default never resets it
            setattr(ctx.ensure_object(CliState), name, value)

    return callback


def global_options(*, root: bool = False, show_json: bool = True) -> Callable[[F], F]:
    """``--json``, ``--quiet``, ``--verbose`` and ``--db`` on a command or group.

    They are documented on the root group and accepted again on each command (where only
    ``--json`` is listed, when the command has JSON output), so both ``crosspost --json list``
    and ``crosspost list --json`` work.
    """

    def decorate(f: F) -> F:
        options = [
            click.option("--json", "json_", is_flag=True, expose_value=False, callback=_setter("json"),
                         hidden=not (root or show_json),
                         help="Print one JSON object to stdout and nothing else (for scripts)."),
            click.option("--quiet", "-q", is_flag=True, expose_value=False, callback=_setter("quiet"),
                         hidden=not root,
                         help="Print only results and errors; no steps, no progress bars."),
            click.option("--verbose", "-v", is_flag=True, expose_value=False,
                         callback=_setter("verbose"), hidden=not root,
                         help="Show debug logs, and a traceback when something unexpected fails."),
            click.option("--db", metavar="PATH", expose_value=False, callback=_setter("db"),
                         hidden=not root,
                         help="Database: a SQLite path or URL (default: $CROSSPOST_DB, "
                              "else crosspost.db in your data folder)."),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def parse_target(ctx: click.Context, param: click.Parameter, value: str) -> Target:
    """Click callback: a ``platform`` or ``platform:account`` argument, checked while parsing."""
    from crosspost.core.models import Target

    try:
        return Target.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) stopped a command; the message says how to resume."""


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``coro_fn()`` in a fresh event loop, turning Ctrl-C into :class:`Interrupted`.

    Cancelling the running coroutine leaves every stored job resumable (the engine commits each
    step before acting on it), so the message only has to say how to pick the work up again.
    """
    import asyncio

    try:
        return asyncio.run(coro_fn())
    except KeyboardInterrupt:
        post_id = state().post_id
        where = f"`crosspost status {post_id}` shows where post {post_id} stands; " if post_id else ""
        raise Interrupted(
            "Interrupted. Nothing is lost: uploads resume from their last acknowledged chunk. "
            f"{where}run `crosspost worker --until-idle` to finish the remaining work."
        ) from None


@contextlib.asynccontextmanager
async def open_hub(*, settings: Settings | None = None, hooks: Hooks | None = None,
                   **kwargs: Any) -> AsyncIterator[Hub]:
    """The library's :class:`~crosspost.core.hub.Hub`, opened on the CLI's settings. Log records
    (``--verbose`` shows them) are redacted first: tokens and upload URLs never reach a terminal."""
    from crosspost.core.hub import Hub
    from crosspost.core.secrets import install_log_redaction

    install_log_redaction()

    async with Hub.open(settings or state().settings(), hooks=hooks or state().hooks(), **kwargs) as hub:
        yield hub


@contextlib.contextmanager
def stop_on_signals(notice: str = "") -> Iterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (in the running loop), so a
    long-running command stops at a safe point instead of being torn down; ``notice`` is
    printed to stderr on the first signal."""
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def handler() -> None:
        if notice and not stop.is_set():
            click.echo(notice, err=True)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handler)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def async_command(f: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
    """Let a click command be ``async def``: it runs in its own event loop via :func:`run`."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run(lambda: f(*args, **kwargs))

    return wrapper
