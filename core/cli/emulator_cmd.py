"""``crosspost emulator``: the bundled TikTok emulator on a loopback port, for your own experiments."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import global_options, run, state, stop_on_signals

if TYPE_CHECKING:

    from crosspost.core.cli.output import Output
    from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer

DEMO_CREATOR: Mapping[str, Any] = {"username": "crosspost.demo", "nickname": "Crosspost Demo"}


def emulator_env(server: EmulatorServer, *, verified: Sequence[str] = ()) -> dict[str, str]:
    """The environment that points crosspost (or any client) at ``server``: its API, its app
    credentials, and its media host (local photos are PUT there; TikTok pulls photos by URL
    only, from a verified prefix, and the emulator verifies its own)."""
    return {
        "CROSSPOST_TIKTOK_API_BASE": server.base_url,
        "CROSSPOST_TIKTOK_AUTH_BASE": server.base_url,
        "CROSSPOST_TIKTOK_CLIENT_KEY": server.state.client_key,
        "CROSSPOST_TIKTOK_CLIENT_SECRET": server.state.client_secret,
        "CROSSPOST_TIKTOK_VERIFIED_URL_PREFIXES": ",".join([server.media_url, *verified]),
        "CROSSPOST_MEDIA_PUT_URL": server.media_url,
    }


def _show(out: Output, server: EmulatorServer, creator: Creator, env: Mapping[str, str]) -> None:
    if out.json:
        out.data({"api_base": server.base_url, "env": dict(env),
                  "creator": {"open_id": creator.open_id, "username": creator.username,
                              "nickname": creator.nickname, "access_token": creator.access_token,
                              "refresh_token": creator.refresh_token,
                              "privacy_level_options": list(creator.privacy_level_options)}})
        return
    out.result(f"TikTok emulator listening on {server.base_url} (Ctrl-C stops it)\n")
    out.result("Point crosspost (or any TikTok client) at it:")
    for name, value in env.items():
        out.result(f"  export {name}={value}")
    out.result(f"\nA creator is ready (@{creator.username}, {creator.nickname}); add it with:")
    out.result(f"  crosspost accounts add tiktok demo --access-token {creator.access_token} "
               f"--refresh-token {creator.refresh_token}")
    out.result("Then: crosspost creator tiktok:demo, and crosspost post --to tiktok:demo ...")
    out.result(f"\nLocal photos are hosted by the emulator itself ({server.media_url}), a prefix it "
               "verifies: photo carousels work from local files.")
    out.result(f"These are emulator tokens, not TikTok's. Admin API: {server.base_url}/_emulator/ lists its "
               "routes (creators, published, requests, faults, config, media); see docs/tiktok.md.")


async def _serve(host: str, port: int, *, unaudited: bool, private: bool, verified: Sequence[str]) -> None:
    from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

    out = state().output
    emulator_state = EmulatorState(audited=not unaudited, verified_url_prefixes=verified)
    creator = emulator_state.add_creator(**DEMO_CREATOR, private=private)
    with stop_on_signals() as stop:
        async with EmulatorServer(emulator_state, host=host, port=port) as server:
            _show(out, server, creator, emulator_env(server, verified=verified))
            await stop.wait()
    out.step("Emulator stopped.")


def _loopback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        loopback = ipaddress.ip_address(value).is_loopback
    except ValueError:
        loopback = value == "localhost"
    if not loopback:
        raise click.BadParameter("the emulator hands out tokens to anyone who asks: keep it on loopback "
                                 "(127.0.0.1, ::1 or localhost)")
    return value


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, callback=_loopback,
              help="Loopback address to listen on.")
@click.option("--unaudited", is_flag=True,
              help="Behave like an app TikTok has not audited (SELF_ONLY to private accounts only).")
@click.option("--private", is_flag=True, help="Make the ready creator a private account.")
@click.option("--verified-url-prefix", "verified", multiple=True, metavar="URL",
              help="URL prefix TikTok may pull media from (PULL_FROM_URL), repeatable.")
@global_options()
def emulator(port: int, host: str, unaudited: bool, private: bool, verified: tuple[str, ...]) -> None:
    """Run the bundled TikTok emulator: TikTok's API, strict, on your machine.

    Prints the environment variables that point crosspost (or any client) at it, and a ready
    access token for a demo creator. Nothing leaves loopback.
    """
    run(lambda: _serve(host, port, unaudited=unaudited, private=private, verified=verified))


COMMANDS = [emulator]
