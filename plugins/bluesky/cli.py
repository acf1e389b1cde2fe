"""``crosspost bluesky …``: the commands the Bluesky plugin adds to the command line."""

from __future__ import annotations

import json

import click


@click.group(name="bluesky")
def bluesky() -> None:
    """Bluesky tools (the platform itself needs no command: see `crosspost accounts add bluesky`)."""


@bluesky.command(name="emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=2583, show_default=True, type=int, help="Port (0 picks a free one).")
def emulator(host: str, port: int) -> None:
    """Run the Bluesky emulator (a PDS and video service stand-in) until Ctrl-C."""
    from crosspost.plugins.bluesky.emulator import BlueskyEmulator
    from crosspost.plugins.bluesky.session import is_loopback_host

    if not is_loopback_host(host):
        raise click.BadParameter("the emulator serves loopback only (127.0.0.1, localhost, ::1)", param_hint="--host")

    async def serve() -> None:
        try:
            running = await BlueskyEmulator().start(host=host, port=port)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror}); "
                                       "pick another with --port, or --port 0 for a free one") from None
        click.echo(f"Bluesky emulator on {running.url} (admin API: {running.admin_url})")
        for key, value in running.env.items():
            click.echo(f"export {key}={value}")
        flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in running.account.items())
        click.echo(f"crosspost accounts add bluesky demo {flags}")
        click.echo(json.dumps({"url": running.url}))
        try:
            await asyncio.Event().wait()
        finally:
            await running.stop()

    import asyncio  # here, not at the top: `crosspost --help` loads this module

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        click.echo("stopped")
