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
from typing import Any

import click

from crosspost.core.cli.context import CliState, Interrupted, global_options, state
from crosspost.core.errors import ConfigError, CrosspostError, InvalidPost, PlatformError, PluginError

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130

SHELLS = ("bash", "zsh", "fish")
INPUT_CODES = frozenset({"not_found", "conflict"})
"""Error codes that mean the command named something that is not there or cannot change (an
unknown post id, a post that already started): invalid input, exit 2."""


class CrosspostGroup(click.Group):
    """The root group: turns crosspost's errors into a paragraph (or JSON) and an exit code."""

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
                "(`crosspost creator TARGET` shows what an account allows).")
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
    """Publish one post to many platforms (TikTok first), now or on a schedule.

    \b
    Try it with no setup:      crosspost demo
    Post a video:              crosspost post --to tiktok:main --video clip.mp4 \\
                                   --caption "Hello" --privacy SELF_ONLY
    Post from a request file:  crosspost post request.json
    Configuration comes from flags or CROSSPOST_* environment variables
    (CROSSPOST_DB, CROSSPOST_TIKTOK_API_BASE, CROSSPOST_TIKTOK_CLIENT_KEY, ...).
    Exit codes: 0 ok, 1 a target failed, 2 invalid input (nothing uploaded).
    """
    if state().verbose:
        # crosspost's own debug lines; libraries only when they warn (aiosqlite logs every query).
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("crosspost").setLevel(logging.DEBUG)


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash:  eval "$(crosspost completion bash)"   (or add it to ~/.bashrc)
    zsh:   eval "$(crosspost completion zsh)"
    fish:  crosspost completion fish > ~/.config/fish/completions/crosspost.fish
    Same as click's own: eval "$(_CROSSPOST_COMPLETE=bash_source crosspost)".
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # every name in SHELLS is one click ships
    click.echo(cls(cli, {}, "crosspost", "_CROSSPOST_COMPLETE").source())


def _register() -> None:
    from crosspost.core.cli import (
        accounts,
        creator,
        demo,
        emulator_cmd,
        jobs,
        plugins_cmd,
        post,
        reconcile,
        storage_cmd,
        webhooks_cmd,
    )

    for module in (post, jobs, accounts, creator, plugins_cmd, demo, emulator_cmd, webhooks_cmd,
                   storage_cmd, reconcile):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()
