"""``crosspost dashboard``: the web dashboard on a local port (calendar, timelines, charts).

Serves ``/ui`` and ``GET /v1/analytics`` from this process until interrupted. The key comes
from ``--key`` or ``CROSSPOST_DASHBOARD_KEY``; otherwise a new one is made and printed. Binds
to 127.0.0.1 unless ``--host`` says otherwise (put it behind HTTPS before exposing it).
"""

from __future__ import annotations

import os

import click

from crosspost.core.cli.context import async_command, global_options, open_hub, state, stop_on_signals
from crosspost.core.errors import ConfigError


@click.command("dashboard")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8421, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--key", metavar="KEY", help="The key to sign in with (default: CROSSPOST_DASHBOARD_KEY, "
                                           "else a new one, printed).")
@global_options(show_json=False)
@async_command
async def dashboard(host: str, port: int, key: str | None) -> None:
    """Serve the dashboard: a week/month calendar of posts, each post's timeline and metrics."""
    from aiohttp import web

    from crosspost.core.dashboard.standalone import KEY_ENV, make_standalone_app, new_key, single_key

    key = key or os.environ.get(KEY_ENV) or ""
    made = not key
    key = key or new_key()
    out = state().output
    async with open_hub() as hub:
        runner = web.AppRunner(make_standalone_app(hub, check_key=single_key(key)), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another "
                                  "port with --port, or stop what uses this one") from None
            bound = runner.addresses[0][1] if runner.addresses else port
            out.result(f"Dashboard on http://{host}:{bound}/ui/")
            if made:
                out.result(f"Sign in with this key (set {KEY_ENV} to keep one): {key}")
            with stop_on_signals("Stopping the dashboard.") as stop:
                await stop.wait()
        finally:
            await runner.cleanup()


COMMANDS = [dashboard]
