"""The CLI's TikTok-specific steps: creator info, login, revoke.

This is the one CLI module that imports the TikTok plugin by name, and only inside functions
(so ``crosspost --help`` never loads it). Everything else goes through the Hub. A plugin hook
for account tooling would let this move into the plugin; until then it lives here, in one place.
"""

from __future__ import annotations

import asyncio
import threading
import webbrowser
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.accounts import Account
from crosspost.core.errors import ConfigError
from crosspost.core.models import Target

if TYPE_CHECKING:
    from crosspost.core.hub import Hub
    from crosspost.core.platform import JobContext
    from crosspost.plugins.tiktok.creator import CreatorInfo

PLATFORM = "tiktok"


async def _context(hub: Hub, target: Target) -> tuple[Any, JobContext]:
    account = await hub.accounts.resolve(target)
    resolved = Target(platform=target.platform, account=account.name)
    platform = hub.hooks.platform(target.platform)
    return platform, hub._validation_context(platform, resolved)


async def creator_info(hub: Hub, target: Target) -> CreatorInfo:
    """The creator's live settings for ``target``'s account (one read-only TikTok call)."""
    from crosspost.plugins.tiktok.config import TikTokConfig
    from crosspost.plugins.tiktok.platform import TikTokPlatform

    if target.platform != PLATFORM:
        raise ConfigError(f"creator info is a TikTok feature; {target.platform!r} has none")
    platform, ctx = await _context(hub, target)
    assert isinstance(platform, TikTokPlatform)
    info: CreatorInfo = await platform.creator_info(ctx, platform.client(ctx, TikTokConfig.from_settings(hub.settings)))
    return info


def creator_dict(info: CreatorInfo) -> dict[str, Any]:
    return {
        "username": info.username,
        "nickname": info.nickname,
        "avatar_url": info.avatar_url,
        "privacy_level_options": list(info.privacy_level_options),
        "comment_disabled": info.comment_disabled,
        "duet_disabled": info.duet_disabled,
        "stitch_disabled": info.stitch_disabled,
        "max_video_post_duration_sec": info.max_video_post_duration_sec,
    }


async def profile_from_tiktok(hub: Hub, account: Account, *, within: float = 10.0) -> dict[str, Any]:
    """``username``/``nickname`` read from TikTok for ``account`` (empty when unreachable)."""
    try:
        async with asyncio.timeout(within):
            info = await creator_info(hub, Target(platform=account.platform, account=account.name))
    except Exception:
        return {}
    return {"username": info.username, "nickname": info.nickname}


async def revoke(hub: Hub, account: Account) -> None:
    """Revoke the account's access at TikTok (the app disappears from the user's settings)."""
    from crosspost.plugins.tiktok.oauth import OAuthApp, revoke_token

    app = OAuthApp.from_settings(hub.settings)
    _, ctx = await _context(hub, Target(platform=account.platform, account=account.name))
    await revoke_token(ctx.http, api_base=app.api_base, client_key=app.client_key,
                       client_secret=app.client_secret, access_token=account.secrets.get("access_token", ""))


async def login(hub: Hub, name: str, *, browser: bool, port: int, show: Callable[[str], None],
                within: float) -> tuple[Account, list[str]]:
    """Log in through TikTok in the browser (or a pasted redirect URL) and store the account.

    Returns the stored account and the required scopes TikTok did not grant.
    """
    import aiohttp

    from crosspost.plugins.tiktok.oauth import OAuthApp, login_via_loopback

    app = OAuthApp.from_settings(hub.settings)
    async with aiohttp.ClientSession() as http, asyncio.timeout(within):
        tokens = await login_via_loopback(
            http, app=app, clock=hub.clock, port=port, show_url=show,
            open_browser=_open_browser if browser else None,
            read_pasted_url=None if browser else _read_line)
    account = Account(platform=PLATFORM, name=name, secrets=tokens.as_secrets(),
                      profile={"open_id": tokens.open_id}, scopes=tokens.scopes,
                      access_expires_at=tokens.expires_at, refresh_expires_at=tokens.refresh_expires_at)
    stored = await hub.accounts.add(account, replace=True)
    profile = await profile_from_tiktok(hub, stored)
    if profile:
        import attrs

        stored = await hub.accounts.update(attrs.evolve(stored, profile={**stored.profile, **profile}))
    return stored, tokens.missing_scopes()


def _open_browser(url: str) -> None:
    webbrowser.open(url)


def _settle(answer: asyncio.Future[str], line: str) -> None:
    if not answer.done():
        answer.set_result(line)


async def _read_line() -> str:
    """One line from stdin without blocking the loop (a daemon thread: it never holds up exit)."""
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
