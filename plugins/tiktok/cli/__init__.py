"""TikTok's own commands, contributed through ``register_commands``:

* ``crosspost tiktok creator TARGET``: the creator info TikTok requires apps to show, worded as
  its guidelines ask (also ``crosspost creator TARGET``, the spelling the docs have always used);
* ``crosspost tiktok emulator``: the bundled emulator with TikTok's own options (an unaudited
  app, a private creator, verified URL prefixes); ``crosspost emulator`` starts it with defaults.

Only click and light core modules load here: ``crosspost --help`` imports this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import async_command, global_options, open_hub, parse_target, run, state
from crosspost.core.models import Target

if TYPE_CHECKING:
    from crosspost.core.account_flows import AccountInfo
    from crosspost.core.cli.output import Output


def show_creator(out: Output, info: AccountInfo) -> None:
    """The creator's live settings, worded as TikTok's posting guidelines ask apps to show them."""
    from crosspost.plugins.tiktok.accounts import MUSIC_CONSENT

    facts: dict[str, Any] = dict(info.facts)

    def toggle(key: str) -> str:
        if facts.get(key):
            return "off: the creator turned it off (cannot be enabled)"
        return "you choose (off unless you allow it)"

    longest = facts.get("max_video_post_duration_sec")
    out.result(f"{info.target}: {info.display_name or '?'} (@{info.username or '?'})")
    out.result(f"  Privacy (pick one with --privacy; there is no default): "
               f"{', '.join(facts.get('privacy_level_options') or []) or 'none offered'}")
    out.result(f"  Comments: {toggle('comment_disabled')}")
    out.result(f"  Duet:     {toggle('duet_disabled')}")
    out.result(f"  Stitch:   {toggle('stitch_disabled')}")
    out.result(f"  Longest video: {f'{longest} s' if longest else 'not stated'}")
    out.step(f"  {MUSIC_CONSENT}")


def _tiktok_target(ctx: click.Context, param: click.Parameter, value: str) -> Target:
    target = parse_target(ctx, param, value)
    if target.platform != "tiktok":
        raise click.BadParameter(f"creator info is TikTok's; for {target.platform} use "
                                 f"`crosspost accounts info {target}`")
    return target


async def _creator(target: Target) -> None:
    out = state().output
    async with open_hub() as hub:
        info = await hub.account_info(target)
    if out.json:
        out.data({"target": info.target, "creator": dict(info.facts)})
    else:
        show_creator(out, info)


CREATOR_HELP = """Show a TikTok creator's live posting settings: nickname, privacy options, which
    interactions they allow, and the longest video they may post.

    TARGET is tiktok:ACCOUNT (or just tiktok when there is one account). TikTok requires apps
    to show these before posting; `crosspost post` checks every post against them.
    """


def _creator_command(name: str) -> click.Command:
    @click.command(name, help=CREATOR_HELP)
    @click.argument("target", default="tiktok", metavar="TARGET", callback=_tiktok_target)
    @global_options()
    @async_command
    async def creator(target: Target) -> None:
        await _creator(target)

    return creator


@click.group()
def tiktok() -> None:
    """TikTok's own commands: creator info and the emulator with TikTok's options."""


tiktok.add_command(_creator_command("creator"))


@tiktok.command("emulator")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (0 picks a free one, printed on start).")
@click.option("--host", default="127.0.0.1", show_default=True,
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
    account for a demo creator. Nothing leaves loopback.
    """
    from crosspost.core.cli.emulator_cmd import loopback_host, serve_emulator
    from crosspost.plugins.tiktok.demo import TikTokEmulator

    checked = loopback_host(click.get_current_context(), click.Option(["--host"]), host)
    chosen = TikTokEmulator(audited=not unaudited, private=private, verified=verified)
    run(lambda: serve_emulator("tiktok", chosen, host=checked, port=port))


COMMANDS: list[click.Command] = [tiktok, _creator_command("creator")]
"""``crosspost tiktok …`` and the top-level ``crosspost creator`` alias."""
