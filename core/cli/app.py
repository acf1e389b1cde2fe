"""The ``crosspost`` root group: global flags, error rendering, exit codes, shell completion.

Exit codes (the CLI contract): 0 every target published, sent to the inbox, scheduled or queued;
1 a target failed (or something unexpected broke); 2 invalid input, nothing was uploaded.
Errors are one paragraph saying what failed, which field, what is allowed and what to do;
tracebacks only with ``--verbose``. ``crosspost --help`` lists the commands from a cached index
(:mod:`crosspost.core.cli.command_index`) and imports no command module; this module itself
imports only click at the top (errors, logging and tracebacks load when they are needed).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import CliState, Interrupted, global_options, hooks_of, state

if TYPE_CHECKING:
    from crosspost.core.cli.command_index import CommandIndex
    from crosspost.core.plugins import Hooks


EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130

INPUT_CODES = frozenset({"not_found", "conflict", "credentials_refused", "port_busy", "login_timeout",
                         "no_such_platform", "file_not_found"})
"""Error codes that mean the command named something that is not there or cannot change (an
unknown post id, a post that already started): invalid input, exit 2."""


POST_COMMAND = "post"
"""The command that reads the platforms' section of the command index (its platform flags)."""


class CrosspostGroup(click.Group):
    """The root group: its commands come from the plugins' ``register_commands`` (crosspost's own
    included), installed for each invocation; turns crosspost's errors into a paragraph (or JSON)
    and an exit code.

    With a valid cached command index (:mod:`crosspost.core.cli.command_index`) the group is lazy:
    its help lists the commands from the index, and only the command that runs (or whose help is
    asked for) is imported. Without one, or on any doubt, the command set is built the full way
    (every plugin loaded) and the index written for the next run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._installed_from: Hooks | None = None
        self._index: CommandIndex | None = None
        self._owners: dict[str, str] = {}
        self._failed: dict[str, str] = {}

    @property
    def lazy(self) -> bool:
        """Whether this invocation's commands come from the cached index (loaded one by one)."""
        return self._index is not None

    def install_plugins(self, hooks: Hooks) -> None:
        """Rebuild the command set from ``hooks`` (a no-op when already built from them)."""
        from crosspost.core.cli.plugin_commands import install_commands

        self._index = None
        if self._installed_from is hooks:
            return
        self.commands = {}
        self._failed = {}
        self._owners = install_commands(self, hooks.pm, failed=self._failed)
        self._installed_from = hooks

    def _install_from_env(self, cli_state: CliState, *, save: bool, describe: bool) -> None:
        """The full way: every plugin loaded, every command imported; the index written when
        ``save`` and the plugins came from the environment (not given by the caller), with the
        platforms' section when ``describe`` (collecting the platforms imports their modules,
        aiohttp's among them: only ``post`` needs it, so ``--help`` and the rest stay light)."""
        from crosspost.core.cli import command_index
        from crosspost.core.errors import PluginError

        save = save and not cli_state.has_hooks()
        started_ns = time.time_ns()
        before = set(sys.modules)
        try:
            hooks = cli_state.hooks()
            self.install_plugins(hooks)
        except PluginError as exc:
            click.echo(f"Error: {exc}. Disable one of them (CROSSPOST_DISABLE_PLUGINS=NAME) or uninstall it.",
                       err=True)
            raise click.exceptions.Exit(EXIT_INVALID) from None
        cli_state.index = None
        if save and command_index.enabled():
            from crosspost.core.cli import platform_index

            platforms = None if not describe or self._failed or hooks.pm.failed else platform_index.describe(hooks)
            command_index.save(self, hooks.pm, self._owners, started_ns=started_ns,
                               new_modules=set(sys.modules) - before, failed=self._failed, platforms=platforms)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        cli_state = extra.setdefault("obj", CliState())
        self._index = None
        posting = POST_COMMAND in args  # may be a false positive (an argument named so): harmless
        if not cli_state.has_hooks():
            from crosspost.core.cli import command_index

            self._index = command_index.load()
            if self._index is not None and self._index.platforms is None and posting:
                self._index = None  # written by a command that did not need the platforms: add them now
        if self._index is None:
            self._install_from_env(cli_state, save=True, describe=posting)
        else:
            self.commands = {}
            self._installed_from = None
            cli_state.index = self._index
        return super().make_context(info_name, args, parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        if self._index is not None:
            return self._index.names()
        if self._installed_from is None:
            self.install_plugins(hooks_of(ctx))
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self._index is not None:
            found = self.commands.get(cmd_name)
            if found is not None:
                return found
            if cmd_name in self._index.entries:
                try:
                    found = self._index.load(cmd_name)
                except Exception as exc:
                    _debug("command %r not loaded from the index, building every command: %s", cmd_name, exc)
                    self._install_from_env(ctx.ensure_object(CliState), save=True,
                                           describe=cmd_name == POST_COMMAND)
                    return super().get_command(ctx, cmd_name)
                self.commands[cmd_name] = found
                return found
            # Not in the index: the full way answers (the same "No such command", or the truth).
            self._install_from_env(ctx.ensure_object(CliState), save=False, describe=False)
            return super().get_command(ctx, cmd_name)
        if self._installed_from is None:
            self.install_plugins(hooks_of(ctx))
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self._index is None:
            super().format_commands(ctx, formatter)
            return
        # click's own rendering, over stand-ins holding the index's fields: byte-identical help.
        click.Group(self.name, commands=self._index.summaries()).format_commands(ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.UsageError as exc:
            if not ctx.ensure_object(CliState).json:
                raise
            _json_error({"code": "usage", "message": exc.format_message()})
            raise click.exceptions.Exit(EXIT_INVALID) from None
        except click.ClickException:
            raise
        except Interrupted as exc:
            click.echo(str(exc), err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            raise click.exceptions.Exit(render_error(exc, ctx.ensure_object(CliState))) from None


FILE_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def render_error(exc: BaseException, cli_state: CliState) -> int:
    """Print ``exc`` for a person (or as the JSON error object) and return the exit code."""
    code, payload, text = describe(exc)
    if cli_state.json:
        _json_error(payload)
    else:
        cli_state.output.error(text)
        if cli_state.verbose:
            import traceback

            cli_state.output.err_console.print(
                "".join(traceback.format_exception(exc)), markup=False, style="dim")
    return code


def describe(exc: BaseException) -> tuple[int, dict[str, Any], str]:
    """(exit code, JSON error object, paragraph) for any exception a command let out."""
    from crosspost.core.errors import ConfigError, CrosspostError, InvalidPost, PlatformError, PluginError

    if isinstance(exc, InvalidPost):
        problems = [{"field": p.field, "message": p.message} for p in exc.problems]
        lines = "\n".join(f"  - {p}" for p in exc.problems)
        text = ("Error: the post is not valid, so nothing was uploaded:\n"
                f"{lines}\nFix these and run the command again "
                "(`crosspost accounts info TARGET` shows what an account allows).")
        return EXIT_INVALID, {"code": "invalid", "problems": problems}, text
    if isinstance(exc, ConfigError | PluginError) or (isinstance(exc, CrosspostError) and exc.code in INPUT_CODES):
        return EXIT_INVALID, exc.to_dict(), f"Error: {exc}"
    if isinstance(exc, PlatformError):
        where = f" ({exc.platform})" if exc.platform else ""
        field = f" Field: {exc.field}." if exc.field else ""
        text = f"Error{where}: {exc} [{exc.code}]{field}"
        if exc.retryable:
            text += " This is usually temporary: try again in a minute."
        return EXIT_FAILED, exc.to_dict(), text
    if isinstance(exc, CrosspostError):
        return EXIT_FAILED, exc.to_dict(), f"Error: {exc}"
    if isinstance(exc, FILE_ERRORS) and exc.filename:
        # A path the user gave cannot be used (a missing folder, no permission): input, not a bug.
        where = str(exc.filename).removesuffix(".part")
        text = f"Error: cannot use {where}: {exc.strerror}. Check the path (and its folder) and run the command again."
        return EXIT_INVALID, {"code": "file_error", "message": f"{where}: {exc.strerror}"}, text
    text = (f"Unexpected error: {type(exc).__name__}: {exc}. Run the command again with --verbose "
            "to see the traceback, and please report it.")
    return EXIT_FAILED, {"code": "internal", "message": f"{type(exc).__name__}: {exc}"}, text


def _debug(message: str, *args: object) -> None:
    import logging

    logging.getLogger("crosspost.cli").debug(message, *args)


def _json_error(payload: dict[str, Any]) -> None:
    import json

    click.echo(json.dumps({"error": payload}, indent=2, ensure_ascii=False, default=str))


@click.group("crosspost", cls=CrosspostGroup, context_settings={"help_option_names": ["-h", "--help"]})
@global_options(root=True)
@click.version_option(package_name="crosspost", prog_name="crosspost")
def cli() -> None:
    """Publish one post to many platforms, now or on a schedule.

    \b
    Try it with no setup:      crosspost demo
    Post a video:              crosspost post --to PLATFORM:main --video clip.mp4 \\
                                   --caption "Hello"
    Post from a request file:  crosspost post request.json
    Configuration comes from flags or CROSSPOST_* environment variables;
    `crosspost config` lists every one the loaded plugins read, and its value.
    Exit codes: 0 ok, 1 a target failed, 2 invalid input (nothing uploaded).
    """
    if state().verbose:
        import logging

        # crosspost's own debug lines; libraries only when they warn (aiosqlite logs every query).
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("crosspost").setLevel(logging.DEBUG)
