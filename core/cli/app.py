"""The ``crosspost`` root group: global flags, error rendering, exit codes, shell completion.

Exit codes (the CLI contract): 0 every target published, sent to the inbox, scheduled or queued;
1 a target failed (or something unexpected broke); 2 invalid input, nothing was uploaded.
Errors are one paragraph saying what failed, which field, what is allowed and what to do;
tracebacks only with ``--verbose``. Command modules import nothing heavy at module level, so
``crosspost --help`` stays fast.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import CliState, Interrupted, global_options, hooks_of, state
from crosspost.core.errors import ConfigError, CrosspostError, InvalidPost, PlatformError, PluginError

if TYPE_CHECKING:
    from crosspost.core.plugins import Hooks

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130

INPUT_CODES = frozenset({"not_found", "conflict", "credentials_refused", "port_busy", "login_timeout",
                         "no_such_platform", "file_not_found"})
"""Error codes that mean the command named something that is not there or cannot change (an
unknown post id, a post that already started): invalid input, exit 2."""


class CrosspostGroup(click.Group):
    """The root group: its commands come from the plugins' ``register_commands`` (crosspost's own
    included), installed for each invocation; turns crosspost's errors into a paragraph (or JSON)
    and an exit code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._installed_from: Hooks | None = None

    def install_plugins(self, hooks: Hooks) -> None:
        """Rebuild the command set from ``hooks`` (a no-op when already built from them)."""
        from crosspost.core.cli.plugin_commands import install_commands

        if self._installed_from is hooks:
            return
        self.commands = {}
        install_commands(self, hooks.pm)
        self._installed_from = hooks

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        cli_state = extra.setdefault("obj", CliState())
        try:
            self.install_plugins(cli_state.hooks())
        except PluginError as exc:
            click.echo(f"Error: {exc}. Disable one of them (CROSSPOST_DISABLE_PLUGINS=NAME) or uninstall it.",
                       err=True)
            raise click.exceptions.Exit(EXIT_INVALID) from None
        return super().make_context(info_name, args, parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        if self._installed_from is None:
            self.install_plugins(hooks_of(ctx))
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self._installed_from is None:
            self.install_plugins(hooks_of(ctx))
        return super().get_command(ctx, cmd_name)

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
            cli_state.output.err_console.print(
                "".join(traceback.format_exception(exc)), markup=False, style="dim")
    return code


def describe(exc: BaseException) -> tuple[int, dict[str, Any], str]:
    """(exit code, JSON error object, paragraph) for any exception a command let out."""
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
        # crosspost's own debug lines; libraries only when they warn (aiosqlite logs every query).
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("crosspost").setLevel(logging.DEBUG)
