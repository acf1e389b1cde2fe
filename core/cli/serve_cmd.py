"""``crosspost serve``: the REST API (native and the hosted services' dialects), workers, webhooks."""

from __future__ import annotations

import click

from crosspost.core.cli.context import global_options, open_hub, run, state, stop_on_signals


async def _serve(host: str, port: int, workers: int, allow_private_webhooks: bool, public_url: str | None) -> None:
    from crosspost.core.serve.config import ServeConfig
    from crosspost.core.serve.server import run as run_server

    out = state().output
    config = ServeConfig(host=host, port=port, workers=workers, allow_private_webhooks=allow_private_webhooks,
                         public_url=public_url)
    async with open_hub() as hub:
        with stop_on_signals("Stopping: finishing requests, handing running jobs back (resumable)…") as stop:
            def ready(url: str) -> None:
                who = f"{workers} in-process worker(s)" if workers else "no worker here (run `crosspost worker`)"
                out.result(f"Serving the API at {url} with {who}. Base URLs: {url}/v1 (native), "
                           f"{url}/zernio/api, {url}/late/api, {url}/socialsyncer, {url}/relay, "
                           f"{url}/postpost/api/v1. Ctrl-C stops.")

            await run_server(hub, config, stop, on_ready=ready)
    out.step("Server stopped; unfinished jobs resume on the next start or in any worker.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(0), default=1, show_default=True,
              help="In-process worker loops; 0 to publish from separate `crosspost worker` processes.")
@click.option("--allow-private-webhooks", is_flag=True,
              help="Deliver webhooks to loopback and private addresses (local bots).")
@click.option("--public-url", metavar="URL", help="The server's URL as clients reach it (behind a proxy).")
@global_options(show_json=False)
def serve(host: str, port: int, workers: int, allow_private_webhooks: bool, public_url: str | None) -> None:
    """Serve crosspost's REST API and the Zernio, Late, SocialSyncerAPI, RelayAPI and PostPost
    dialects (each under its own base path; see docs/serve.md). Requests need an API key from
    `crosspost api-keys create NAME`.
    """
    run(lambda: _serve(host, port, workers, allow_private_webhooks, public_url))


COMMANDS = [serve]
