"""``crosspost webhooks serve``: receive TikTok's webhooks, verified, and act on them.

The receiver is the TikTok plugin's (signature, timestamp tolerance, dedupe, 200 at once). What
an event does here: ``authorization.removed`` marks the account as needing a login (its jobs
wait instead of failing one by one); publish events go to :meth:`Hub.apply_platform_event`,
which logs them on the matching job and makes a waiting job due now, so a worker re-polls its
status at once (workers keep polling anyway, since webhooks are best effort).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from crosspost.core.cli.context import global_options, open_hub, run, state, stop_on_signals

if TYPE_CHECKING:

    from crosspost.core.cli.output import Output
    from crosspost.core.hub import Hub
    from crosspost.plugins.tiktok.webhooks import WebhookEvent


async def _owner(hub: Hub, open_id: str) -> str | None:
    """The account key logged in as TikTok user ``open_id``, when one is stored."""
    for account in await hub.accounts.list("tiktok"):
        if account.profile.get("open_id") == open_id:
            return account.key
    return None


def event_handler(hub: Hub, out: Output) -> Callable[[WebhookEvent], Awaitable[None]]:
    """``on_event`` for the TikTok webhook app, bound to ``hub``."""
    from crosspost.plugins.tiktok.webhooks import WebhookOutcome

    async def on_event(event: WebhookEvent) -> None:
        account = await _owner(hub, event.user_openid)
        who = account or f"TikTok user {event.user_openid}"
        if event.outcome is WebhookOutcome.AUTHORIZATION_REMOVED:
            if account is not None:
                platform, _, name = account.partition(":")
                await hub.accounts.mark_needs_login(platform, name, f"authorization removed: {event.reason}")
            out.result(f"{who}: authorization removed ({event.reason}); "
                       f"run `crosspost accounts login tiktok {account.partition(':')[2] if account else 'NAME'}`")
            return
        matched = False
        if event.publish_id:
            matched = await hub.apply_platform_event("tiktok", event.publish_id, outcome=event.outcome.value,
                                                     reason=event.reason, post_id=event.post_id)
        detail = f" ({event.reason})" if event.reason else ""
        post = f", post id {event.post_id}" if event.post_id else ""
        known = "" if matched else " (no matching job)"
        out.result(f"{who}: {event.event} for {event.publish_id}{detail}{post}{known}")

    return on_event


async def _serve(host: str, port: int, path: str) -> None:
    from aiohttp import web

    from crosspost.plugins.tiktok.oauth import OAuthApp
    from crosspost.plugins.tiktok.webhooks import make_webhook_app

    out = state().output
    async with open_hub() as hub:
        app = make_webhook_app(client_secret=OAuthApp.from_settings(hub.settings).client_secret,
                               on_event=event_handler(hub, out),
                               clock=hub.clock, path=path)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            with stop_on_signals() as stop:
                await web.TCPSite(runner, host, port).start()
                bound = runner.addresses[0][1]
                out.result(f"Receiving TikTok webhooks at http://{host}:{bound}{path} (Ctrl-C stops). "
                           "Register the public HTTPS URL that forwards here in the TikTok developer portal.")
                await stop.wait()
        finally:
            await runner.cleanup()
    out.step("Webhook receiver stopped.")


@click.group()
def webhooks() -> None:
    """Receive TikTok webhooks (post status changes, removed authorizations)."""


@webhooks.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (put a TLS-terminating proxy in front for TikTok).")
@click.option("--path", default="/", show_default=True, help="URL path TikTok posts to.")
@global_options(show_json=False)
def serve(port: int, host: str, path: str) -> None:
    """Serve the TikTok webhook receiver: every request's TikTok-Signature is checked
    (HMAC-SHA256 with CROSSPOST_TIKTOK_CLIENT_SECRET, 5-minute tolerance); forged, stale and
    malformed requests are refused and redeliveries are acknowledged once.
    """
    run(lambda: _serve(host, port, path))


COMMANDS = [webhooks]
