"""``crosspost webhooks serve``: every platform's webhook receiver at ``POST /webhooks/<platform>``.

A platform's receiver is pure (``parse(headers, body, settings=, now=)``: signature, freshness,
events); this module is the aiohttp edge around it. A verified request's events go to
:meth:`Hub.apply_webhook_events` *before* the answer, so a 200 means they are recorded (a failure
answers 500 and the platform delivers again): post events make a waiting job due now, so a worker
re-polls its status at once (workers keep polling anyway, since webhooks are best effort); an
account's removed access marks it as needing a login. Forged, stale and malformed requests get
the receiver's 4xx; a redelivered event is acknowledged and applied once.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from crosspost.core.cli.context import global_options, open_hub, run, state, stop_on_signals
from crosspost.core.webhooks import EventKind, WebhookRejected

if TYPE_CHECKING:
    from aiohttp import web

    from crosspost.core.cli.output import Output
    from crosspost.core.hub import Hub
    from crosspost.core.webhooks import AppliedEvent, WebhookReceiver

log = logging.getLogger("crosspost.webhooks")
SEEN_EVENTS = 10_000
"""Event ids remembered per process, to acknowledge a redelivery without applying it again."""


def describe(platform: str, applied: AppliedEvent) -> str:
    """One line for the terminal about what an event did."""
    event = applied.event
    if event.kind is EventKind.ACCOUNT:
        who = applied.account or f"{platform} account {event.account_ref}"
        name = applied.account.partition(":")[2] if applied.account else "NAME"
        fix = f"; run `crosspost accounts login {platform} {name}`" if event.outcome == "removed" else ""
        return f"{who}: access {event.outcome} ({event.reason or 'no reason given'}){fix}"
    if event.kind is EventKind.IGNORED:
        return f"{platform}: an event crosspost does not act on ({event.event_id})"
    detail = f" ({event.reason})" if event.reason else ""
    post = f", post id {event.platform_post_id}" if event.platform_post_id else ""
    known = "" if applied.matched else " (no matching job)"
    return f"{platform}: {event.outcome} for {event.publish_id}{detail}{post}{known}"


def receive_handler(hub: Hub, platform: str, receiver: WebhookReceiver, out: Output,
                    seen: OrderedDict[str, None]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for one platform's receiver."""
    from aiohttp import web

    async def receive(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > receiver.max_body:
            return web.json_response({"error": "too_large"}, status=413)
        body = await request.content.read(receiver.max_body + 1)
        if len(body) > receiver.max_body:
            return web.json_response({"error": "too_large"}, status=413)
        try:
            events = receiver.parse(dict(request.headers), body, settings=hub.settings, now=hub.clock.now())
        except WebhookRejected as exc:
            log.warning("refused a %s webhook from %s: %s", platform, request.remote, exc)
            return web.json_response({"error": exc.code, "message": str(exc)}, status=exc.status)
        fresh = [e for e in events if e.event_id not in seen]
        if not fresh:
            return web.json_response({"ok": True, "duplicate": True})
        try:
            applied = await hub.apply_webhook_events(platform, fresh)
        except Exception:
            log.exception("applying %s webhook events failed; the platform will deliver them again", platform)
            return web.json_response({"error": "internal"}, status=500)
        for event in fresh:
            seen[event.event_id] = None
        while len(seen) > SEEN_EVENTS:
            seen.popitem(last=False)
        for item in applied:
            out.result(describe(platform, item))
        return web.json_response({"ok": True})

    return receive


def receivers(hub: Hub) -> dict[str, WebhookReceiver]:
    found: dict[str, WebhookReceiver] = {}
    for name, platform in hub.hooks.platforms().items():
        receiver = platform.webhook_receiver()
        if receiver is not None:
            found[name] = receiver
    return found


async def _serve(host: str, port: int, prefix: str) -> None:
    from aiohttp import web

    from crosspost.core.cli.emulator_cmd import port_busy

    out = state().output
    async with open_hub() as hub:
        mounted = receivers(hub)
        if not mounted:
            out.warn("no loaded platform receives webhooks; nothing to serve")
            return
        app = web.Application(client_max_size=max(r.max_body for r in mounted.values()))
        seen: OrderedDict[str, None] = OrderedDict()
        for name, receiver in mounted.items():
            app.router.add_post(f"{prefix}/{name}", receive_handler(hub, name, receiver, out, seen))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            with stop_on_signals() as stop:
                try:
                    await web.TCPSite(runner, host, port).start()
                except OSError as exc:
                    raise port_busy("the webhook receiver", host, port, exc) from None
                bound = runner.addresses[0][1]
                urls = ", ".join(f"http://{host}:{bound}{prefix}/{name}" for name in mounted)
                out.result(f"Receiving webhooks at {urls} (Ctrl-C stops). Register the public HTTPS URL that "
                           "forwards here with each platform.")
                await stop.wait()
        finally:
            await runner.cleanup()
    out.step("Webhook receiver stopped.")


def _prefix(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.startswith("/"):
        raise click.BadParameter("must start with '/', e.g. /webhooks")
    return value.rstrip("/")


@click.group()
def webhooks() -> None:
    """Receive platform webhooks (post status changes, removed authorizations)."""


@webhooks.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True,
              help="Port to listen on (0 picks a free one, printed on start).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (put a TLS-terminating proxy in front).")
@click.option("--prefix", default="/webhooks", show_default=True, callback=_prefix,
              help="URL path prefix; each platform's receiver is at PREFIX/PLATFORM.")
@global_options(show_json=False)
def serve(port: int, host: str, prefix: str) -> None:
    """Serve every loaded platform's webhook receiver at POST PREFIX/PLATFORM. Each platform
    verifies its own requests (signature, freshness); forged, stale and malformed requests are
    refused, and redeliveries are applied once. `crosspost config` shows the settings they need.
    """
    run(lambda: _serve(host, port, prefix))


COMMANDS = [webhooks]

