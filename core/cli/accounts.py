"""``crosspost accounts``: log in, import tokens, list and remove accounts. Never prints a secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.accounts import Account
from crosspost.core.cli.context import async_command, global_options, open_hub, state
from crosspost.core.errors import ConfigError, CrosspostError
from crosspost.core.models import Target

if TYPE_CHECKING:
    from crosspost.core.hub import Hub


class RevokeFailed(CrosspostError):
    """TikTok could not be told to revoke the tokens, so the account was kept."""

    code = "revoke_failed"


def _expiry(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "unknown"
    left = at - now
    if left <= timedelta(0):
        return "expired"
    hours = left.total_seconds() / 3600
    return f"in {hours:.0f} h" if hours < 48 else f"in {hours / 24:.0f} days"


def account_dict(account: Account, live: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of an account: public facts only, never a token."""
    profile = {**account.profile, **live}
    return {
        "target": account.key,
        "platform": account.platform,
        "name": account.name,
        "username": profile.get("username"),
        "nickname": profile.get("nickname"),
        "profile_source": "creator_info" if live else "stored",
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


@click.group()
def accounts() -> None:
    """Accounts crosspost posts as: log in, import tokens, list, remove."""


@accounts.command("add")
@click.argument("platform", type=click.Choice(["tiktok"]))
@click.argument("name")
@click.option("--access-token", prompt=True, hide_input=True,
              help="The user access token (prompted, hidden, when omitted).")
@click.option("--refresh-token", prompt=True, hide_input=True,
              help="The refresh token (prompted, hidden, when omitted).")
@click.option("--expires-in", type=click.IntRange(1), metavar="SECONDS",
              help="Seconds until the access token expires (TikTok's expires_in).")
@click.option("--refresh-expires-in", type=click.IntRange(1), metavar="SECONDS",
              help="Seconds until the refresh token expires (TikTok's refresh_expires_in).")
@click.option("--scopes", metavar="LIST", default="user.info.basic,video.publish,video.upload",
              show_default=True, help="Comma-separated scopes the tokens were granted.")
@click.option("--replace", is_flag=True, help="Overwrite an existing account of that name.")
@global_options()
@async_command
async def add(platform: str, name: str, access_token: str, refresh_token: str, expires_in: int | None,
              refresh_expires_in: int | None, scopes: str, replace: bool) -> None:
    """Import tokens obtained elsewhere as account NAME (stored encrypted)."""
    from crosspost.core.cli.tiktok import profile_from_tiktok

    Target.parse(f"{platform}:{name}")  # the name must work in targets
    out = state().output
    now = datetime.now(UTC)
    account = Account(
        platform=platform, name=name,
        secrets={"access_token": access_token, "refresh_token": refresh_token},
        scopes=tuple(s.strip() for s in scopes.split(",") if s.strip()),
        access_expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
        refresh_expires_at=now + timedelta(seconds=refresh_expires_in) if refresh_expires_in else None,
    )
    async with open_hub() as hub:
        stored = await hub.accounts.add(account, replace=replace)
        live = await profile_from_tiktok(hub, stored)
        if live:
            import attrs

            stored = await hub.accounts.update(attrs.evolve(stored, profile={**stored.profile, **live}))
    if out.json:
        out.data(account_dict(stored, live))
        return
    who = f" (@{live['username']}, {live['nickname']})" if live else ""
    out.result(f"Added {stored.key}{who}.")
    if not live:
        out.warn("could not read the creator's profile from TikTok now; the tokens are stored anyway. "
                 f"`crosspost creator {stored.key}` checks them.")


@accounts.command("list")
@click.option("--offline", is_flag=True, help="Do not ask TikTok for live profiles; show stored ones.")
@global_options()
@async_command
async def list_accounts(offline: bool) -> None:
    """List accounts: name, username and nickname, scopes, token expiry. Never a secret."""
    from crosspost.core.cli.tiktok import profile_from_tiktok

    out = state().output
    async with open_hub() as hub:
        stored = await hub.accounts.list()
        lives: list[dict[str, Any]] = [{} for _ in stored]
        if not offline and stored:
            import asyncio

            full = [await hub.accounts.get(a.platform, a.name) for a in stored]
            lives = list(await asyncio.gather(*(profile_from_tiktok(hub, a, within=5.0) for a in full)))
    rows = [account_dict(a, live) for a, live in zip(stored, lives, strict=True)]
    if out.json:
        out.data({"accounts": rows})
        return
    now = datetime.now(UTC)
    table = [[r["target"], r["username"] or "-", r["nickname"] or "-", ", ".join(r["scopes"]) or "-",
              _expiry(a.access_expires_at, now), "needs login" if a.needs_login else "ok"]
             for a, r in zip(stored, rows, strict=True)]
    out.table(["Account", "Username", "Nickname", "Scopes", "Token expires", "State"], table,
              empty="No accounts yet: `crosspost accounts login tiktok NAME` (or `accounts add`).")


@accounts.command("remove")
@click.argument("name")
@click.option("--no-revoke", is_flag=True, help="Only delete locally; leave the app authorised at TikTok.")
@global_options()
@async_command
async def remove(name: str, no_revoke: bool) -> None:
    """Revoke the account's access at TikTok, then delete it here. NAME is name or platform:name."""
    from crosspost.core.cli.tiktok import revoke

    out = state().output
    async with open_hub() as hub:
        account = await find_account(hub, name)
        revoked = False
        if not no_revoke:
            try:
                await revoke(hub, account)
            except CrosspostError as exc:
                raise RevokeFailed(f"could not revoke {account.key} at TikTok: {exc} The account was "
                                   "NOT deleted: fix this, or delete it here only with --no-revoke.") from exc
            revoked = True
        await hub.accounts.remove(account.platform, account.name)
    if out.json:
        out.data({"removed": account.key, "revoked": revoked})
        return
    out.result(f"Removed {account.key}" + (" (access revoked at TikTok)." if revoked else " (not revoked)."))


@accounts.command("login")
@click.argument("platform", type=click.Choice(["tiktok"]))
@click.argument("name")
@click.option("--no-browser", is_flag=True,
              help="Print the URL instead of opening a browser, and accept the pasted redirect URL "
                   "(for servers and bots).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Loopback port for the redirect (0 picks a free one; register "
                   "http://127.0.0.1:*/callback/ for the app).")
@click.option("--timeout", "wait_s", type=click.FloatRange(1), default=600.0, show_default=True,
              help="Seconds to wait for the login.")
@global_options()
@async_command
async def login(platform: str, name: str, no_browser: bool, port: int, wait_s: float) -> None:
    """Log in to PLATFORM as account NAME through the browser (OAuth with PKCE).

    Needs CROSSPOST_TIKTOK_CLIENT_KEY and CROSSPOST_TIKTOK_CLIENT_SECRET. Logging in again
    replaces the stored tokens and resumes jobs waiting for the login.
    """
    from crosspost.core.cli.tiktok import login as tiktok_login

    Target.parse(f"{platform}:{name}")
    out = state().output

    def show(url: str) -> None:
        click.echo(f"Open this URL to log in to TikTok:\n  {url}", err=True)

    async with open_hub() as hub:
        account, missing = await tiktok_login(hub, name, browser=not no_browser, port=port, show=show,
                                              within=wait_s)
    if out.json:
        out.data({**account_dict(account, {}), "missing_scopes": missing})
        raise click.exceptions.Exit(1 if missing else 0)
    who = f" as @{account.profile['username']}" if account.profile.get("username") else ""
    out.result(f"Logged in {account.key}{who}; scopes: {', '.join(account.scopes) or 'none'}.")
    if missing:
        from crosspost.plugins.tiktok.oauth import missing_scope_error

        raise missing_scope_error(missing, account=name)


COMMANDS = [accounts]
