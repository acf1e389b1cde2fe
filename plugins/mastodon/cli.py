"""``crosspost mastodon …``: the commands the Mastodon plugin adds (through ``register_commands``)."""

from __future__ import annotations

import ipaddress
import json
import signal

import click


def _loopback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        loopback = ipaddress.ip_address(value).is_loopback
    except ValueError:
        loopback = value == "localhost"
    if not loopback:
        raise click.BadParameter("the emulator hands tokens to anyone who asks: keep it on loopback "
                                 "(127.0.0.1, ::1 or localhost)")
    return value


@click.group()
def mastodon() -> None:
    """Mastodon tools (the platform itself needs none: use crosspost accounts / post)."""


@mastodon.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, callback=_loopback, help="Loopback address.")
@click.option("--max-characters", type=click.IntRange(1), default=500, show_default=True,
              help="The instance's character limit (configuration.statuses.max_characters).")
@click.option("--processing-seconds", type=click.FloatRange(0), default=2.0, show_default=True,
              help="How long video and GIF uploads take to process (202, then 206 until done).")
@click.option("--json", "as_json", is_flag=True, help="Print the URL and token as JSON.")
def emulator(port: int, host: str, max_characters: int, processing_seconds: float, as_json: bool) -> None:
    """Run a local Mastodon stand-in: instance limits, OAuth with PKCE, async media, Idempotency-Key.

    Prints its URL and a ready access token; the admin API is under /_emulator (docs/mastodon.md).
    """
    import asyncio  # here, not at the top: `crosspost --help` loads this module

    asyncio.run(_serve(host, port, max_characters=max_characters, processing_seconds=processing_seconds,
                       as_json=as_json))


async def _serve(host: str, port: int, *, max_characters: int, processing_seconds: float, as_json: bool) -> None:
    import asyncio

    from crosspost.plugins.mastodon.emulator import EmulatorServer, EmulatorState, InstanceConfig

    state = EmulatorState(config=InstanceConfig(max_characters=max_characters, processing_seconds=processing_seconds))
    account = state.add_account(username="crosspost_demo", display_name="Crosspost Demo")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with EmulatorServer(state, host=host, port=port) as server:
        url = server.base_url
        if as_json:
            click.echo(json.dumps({"url": url, "access_token": account.token, "admin_url": f"{url}/_emulator"}))
        else:
            click.echo(f"Mastodon emulator listening on {url} (Ctrl-C stops it)")
            click.echo(f"A ready account (@{account.username}); add it with:")
            click.echo(f"  crosspost accounts add mastodon demo --instance {url} --access-token {account.token}")
            click.echo("Or log in through OAuth (PKCE): crosspost accounts login mastodon demo "
                       f"--instance {url}")
            click.echo(f"Admin API: {url}/_emulator/state (config, accounts, faults, rate). Emulator tokens only.")
        await stop.wait()
    click.echo("Emulator stopped.", err=True)
