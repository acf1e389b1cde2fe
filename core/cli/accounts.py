"""``crosspost accounts``: connect (import credentials, browser login), inspect, list, remove.

Every platform that declares ``account_fields`` gets ``accounts add PLATFORM NAME --field …``
and every platform that ``supports_login`` gets ``accounts login PLATFORM NAME``: the commands
are built from the declarations (``crosspost accounts add PLATFORM --help`` lists its fields)
and go through the Hub's neutral account API. Secret fields omitted on a terminal are prompted
hidden; without a terminal they are an error naming the flag. Never prints a secret.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.account_flows import AccountField
from crosspost.core.accounts import Account
from crosspost.core.cli.context import async_command, global_options, hooks_of, open_hub, parse_target, state
from crosspost.core.errors import AuthError, ConfigError, CrosspostError
from crosspost.core.models import Target
from crosspost.core.options import did_you_mean

if TYPE_CHECKING:
    import asyncio

    from crosspost.core.account_flows import AccountInfo
    from crosspost.core.hub import Hub
    from crosspost.core.platform import Platform

LIVE_WITHIN_S = 5.0
"""How long ``accounts list`` waits for each account's live profile before showing the stored one."""


class RevokeFailed(CrosspostError):
    """The platform could not be told to revoke the access, so the account was kept."""

    code = "revoke_failed"


class CredentialsRefused(CrosspostError):
    """The platform refused the credentials given to ``accounts add``: nothing was stored."""

    code = "credentials_refused"


def _expiry(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "unknown"
    left = at - now
    if left <= timedelta(0):
        return "expired"
    hours = left.total_seconds() / 3600
    return f"in {hours:.0f} h" if hours < 48 else f"in {hours / 24:.0f} days"


def account_dict(account: Account, live: AccountInfo | None = None) -> dict[str, Any]:
    """The JSON form of an account: public facts only, never a token."""
    return {
        "target": account.key,
        "platform": account.platform,
        "name": account.name,
        "username": live.username if live else account.profile.get("username"),
        "nickname": (live.display_name if live else None) or account.profile.get("nickname")
        or account.profile.get("display_name"),
        "profile_source": "live" if live else "stored",
        "scopes": list(account.scopes),
        "access_expires_at": account.access_expires_at.isoformat() if account.access_expires_at else None,
        "refresh_expires_at": account.refresh_expires_at.isoformat() if account.refresh_expires_at else None,
        "needs_login": account.needs_login,
    }


async def find_account(hub: Hub, name: str) -> Account:
    """``name`` is ``platform:name`` or a name that only one platform uses."""
    if ":" in name:
        target = Target.parse(name)
        return await hub.accounts.get(target.platform, target.account or "")
    matches = [a for a in await hub.accounts.list() if a.name == name]
    if len(matches) == 1:
        return await hub.accounts.get(matches[0].platform, name)
    if not matches:
        raise ConfigError(f"no account named {name!r}; `crosspost accounts list` shows them")
    options = ", ".join(a.key for a in matches)
    raise ConfigError(f"several accounts are named {name!r} ({options}); give platform:name")


# -- commands built from the platforms' declarations -----------------------------------------------


def field_option(field: AccountField) -> click.Option:
    """``--access-token``-style option for one declared field (prompting is done by hand)."""
    shown = " (prompted, hidden, when omitted on a terminal)" if field.secret else ""
    required = "" if field.required or field.default is not None else " Optional."
    return click.Option([field.flag, field.name], default=field.default, show_default=field.default is not None,
                        metavar="SECRET" if field.secret else "VALUE", help=f"{field.help}{shown}{required}")


def field_values(fields: Sequence[AccountField], given: dict[str, Any]) -> dict[str, str]:
    """The values for ``fields``: given ones, secrets prompted hidden on a terminal."""
    values: dict[str, str] = {}
    for field in fields:
        value = given.get(field.name)
        if value is None and field.secret and field.required:
            if not sys.stdin.isatty():
                raise ConfigError(f"{field.flag} is required ({field.help.rstrip('.')}); there is no terminal to "
                                  f"prompt on, so give it as {field.flag} VALUE")
            value = click.prompt(field.flag.lstrip("-").replace("-", " ").capitalize(), hide_input=True)
        if value is not None and value != "":
            values[field.name] = str(value)
    return values


class PlatformGroup(click.Group):
    """``accounts add|login``: one subcommand per platform offering it, built on demand."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    def offers(self, platform: Platform) -> bool:
        return bool(platform.account_fields) if self.kind == "add" else platform.supports_login

    def platforms(self, ctx: click.Context) -> dict[str, Platform]:
        return {name: p for name, p in sorted(hooks_of(ctx).platforms().items()) if self.offers(p)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.platforms(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        platforms = self.platforms(ctx)
        platform = platforms.get(cmd_name)
        if platform is None:
            every = hooks_of(ctx).platforms()
            why = (f"{cmd_name} does not support `accounts {self.kind}`" if cmd_name in every
                   else f"no platform {cmd_name!r} is installed")
            hint = did_you_mean(cmd_name, platforms)
            raise click.UsageError(f"{why};{hint} platforms offering it: {', '.join(platforms) or 'none'}", ctx)
        return add_command(platform) if self.kind == "add" else login_command(platform)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "PLATFORM NAME [FIELDS]...")


def add_command(platform: Platform) -> click.Command:
    fields = platform.account_fields

    @async_command
    async def add(name: str, replace: bool, **given: Any) -> None:
        values = field_values(fields, given)
        await _add(platform.name, name, values, replace=replace)

    params: list[click.Parameter] = [click.Argument(["name"], metavar="NAME"), *map(field_option, fields),
                                     click.Option(["--replace"], is_flag=True,
                                                  help="Overwrite an existing account of that name.")]
    command = click.Command(
        platform.name, callback=add, params=params,
        short_help=f"Connect a {platform.display_name or platform.name} account from credentials.",
        help=f"Connect account NAME of {platform.display_name or platform.name} from credentials obtained "
             "elsewhere. They are checked with the platform first; nothing is stored when they are refused. "
             "Stored encrypted.")
    return global_options()(command)


async def _add(platform: str, name: str, values: dict[str, str], *, replace: bool) -> None:
    out = state().output
    async with open_hub() as hub:
        try:
            stored = await hub.connect_account(platform, name, values, replace=replace)
        except AuthError as exc:
            text = str(exc)
            raise CredentialsRefused(text if "nothing was stored" in text.lower()
                                     else f"{text} Nothing was stored.") from None
    if out.json:
        out.data(account_dict(stored))
        return
    who = stored.profile.get("username")
    nick = stored.profile.get("nickname") or stored.profile.get("display_name")
    shown = f" (@{who}{', ' + nick if nick else ''})" if who else ""
    out.result(f"Added {stored.key}{shown}.")


def login_command(platform: Platform) -> click.Command:
    fields = platform.login_fields
    title = platform.display_name or platform.name

    @async_command
    async def login(name: str, no_browser: bool, port: int, wait_s: float, **given: Any) -> None:
        await _login(platform.name, title, name, field_values(fields, given), browser=not no_browser, port=port,
                     wait_s=wait_s)

    params: list[click.Parameter] = [
        click.Argument(["name"], metavar="NAME"), *map(field_option, fields),
        click.Option(["--no-browser"], is_flag=True,
                     help="Print the URL instead of opening a browser, and accept the pasted redirect URL "
                          "(for servers and bots)."),
        click.Option(["--port"], type=click.IntRange(0, 65535), default=0, show_default=True,
                     help="Loopback port for the redirect (0 picks a free one; register "
                          "http://127.0.0.1:*/callback/ for the app)."),
        click.Option(["--timeout", "wait_s"], type=click.FloatRange(1), default=600.0, show_default=True,
                     help="Seconds to wait for the login."),
    ]
    command = click.Command(
        platform.name, callback=login, params=params, short_help=f"Log in to {title} in the browser.",
        help=f"Log in to {title} as account NAME through the browser (the redirect comes back to "
             "127.0.0.1). Logging in again replaces the stored credentials and resumes jobs waiting for the "
             "login; `crosspost config` shows the settings the login needs.")
    return global_options()(command)


async def _login(platform: str, title: str, name: str, values: dict[str, str], *, browser: bool, port: int,
                 wait_s: float) -> None:
    from crosspost.core.cli.loopback import login_in_browser

    Target.parse(f"{platform}:{name}")
    out = state().output

    def show(url: str) -> None:
        click.echo(f"Open this URL to log in to {title}:\n  {url}", err=True)

    def refused(message: str) -> None:
        click.echo(message, err=True)

    async with open_hub() as hub:
        account = await login_in_browser(hub, platform, name, values, port=port, timeout=wait_s, show=show,
                                         open_browser=_open_browser if browser else None,
                                         read_paste=None if browser else _read_line, refused=refused)
    if out.json:
        out.data(account_dict(account))
        return
    who = f" as @{account.profile['username']}" if account.profile.get("username") else ""
    out.result(f"Logged in {account.key}{who}; scopes: {', '.join(account.scopes) or 'none'}.")


def _open_browser(url: str) -> None:
    import webbrowser

    webbrowser.open(url)


def _settle(answer: asyncio.Future[str], line: str) -> None:
    if not answer.done():
        answer.set_result(line)


async def _read_line() -> str:
    """One line from stdin without blocking the loop (a daemon thread: it never holds up exit);
    end of input reads as an empty line."""
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        try:
            line = input()
        except EOFError:
            line = ""
        loop.call_soon_threadsafe(_settle, answer, line)

    click.echo("Paste the URL your browser was sent to after approving, then press Enter:", err=True)
    threading.Thread(target=read, daemon=True).start()
    return await answer


# -- the accounts group ----------------------------------------------------------------------------


@click.group()
def accounts() -> None:
    """Accounts crosspost posts as: connect, log in, inspect, list, remove."""


accounts.add_command(PlatformGroup(
    "add", kind="add", short_help="Connect an account from credentials (tokens, app password...).",
    help="Connect an account from credentials obtained elsewhere: `crosspost accounts add PLATFORM NAME "
         "--field VALUE ...`. Each platform takes its own fields: `crosspost accounts add PLATFORM --help` "
         "lists them."))
accounts.add_command(PlatformGroup(
    "login", kind="login", short_help="Log in to a platform through the browser.",
    help="Log in through the browser: `crosspost accounts login PLATFORM NAME`. The redirect comes back to a "
         "loopback server crosspost runs for the login."))


@accounts.command("list")
@click.option("--offline", is_flag=True, help="Do not ask the platforms for live profiles; show stored ones.")
@global_options()
@async_command
async def list_accounts(offline: bool) -> None:
    """List accounts: name, username and nickname, scopes, token expiry. Never a secret."""
    out = state().output
    async with open_hub() as hub:
        stored = await hub.accounts.list()
        lives: list[AccountInfo | None] = [None] * len(stored)
        if not offline and stored:
            import asyncio

            lives = list(await asyncio.gather(*(_live(hub, a) for a in stored)))
    rows = [account_dict(a, live) for a, live in zip(stored, lives, strict=True)]
    if out.json:
        out.data({"accounts": rows})
        return
    now = datetime.now(UTC)
    table = [[r["target"], r["username"] or "-", r["nickname"] or "-", ", ".join(r["scopes"]) or "-",
              _expiry(a.access_expires_at, now), "needs login" if a.needs_login else "ok"]
             for a, r in zip(stored, rows, strict=True)]
    out.table(["Account", "Username", "Nickname", "Scopes", "Token expires", "State"], table,
              empty="No accounts yet: `crosspost accounts login PLATFORM NAME` (or `accounts add`).")


async def _live(hub: Hub, account: Account) -> AccountInfo | None:
    """The live profile, or None when the platform does not answer within :data:`LIVE_WITHIN_S`."""
    import asyncio

    try:
        async with asyncio.timeout(LIVE_WITHIN_S):
            return await hub.account_info(account.key)
    except Exception:  # an unreachable platform only means the stored profile is shown
        return None


@accounts.command("info")
@click.argument("target", metavar="TARGET", callback=parse_target)
@global_options()
@async_command
async def info(target: Target) -> None:
    """Show what the platform says about an account now (TARGET is platform:name, or just the
    platform when it has one account): username, display name, and the platform's own facts,
    such as the options it offers this account."""
    out = state().output
    async with open_hub() as hub:
        found = await hub.account_info(target)
    if out.json:
        out.data({"target": found.target, "username": found.username, "display_name": found.display_name,
                  "facts": dict(found.facts)})
        return
    out.result(f"{found.target}: {found.display_name or '?'} (@{found.username or '?'})")
    for key, value in found.facts.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else value
        out.result(f"  {key.replace('_', ' ')}: {shown if shown not in (None, '') else '-'}")


@accounts.command("remove")
@click.argument("name")
@click.option("--no-revoke", is_flag=True, help="Only delete locally; leave the app authorised at the platform.")
@global_options()
@async_command
async def remove(name: str, no_revoke: bool) -> None:
    """Revoke the account's access at its platform, then delete it here. NAME is name or platform:name."""
    out = state().output
    async with open_hub() as hub:
        account = await find_account(hub, name)
        try:
            await hub.remove_account(account.platform, account.name, revoke=not no_revoke)
        except CrosspostError as exc:
            raise RevokeFailed(f"could not revoke {account.key} at {account.platform}: {exc} The account was "
                               "NOT deleted: fix this, or delete it here only with --no-revoke.") from exc
    if out.json:
        out.data({"removed": account.key, "revoked": not no_revoke})
        return
    out.result(f"Removed {account.key}" + (" (not revoked)." if no_revoke else
                                           f" (access revoked at {account.platform})."))


COMMANDS = [accounts]
