"""``crosspost creator TARGET``: what TikTok requires apps to show before posting."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crosspost.core.cli.context import async_command, global_options, open_hub, parse_target, state
from crosspost.core.models import Target

if TYPE_CHECKING:
    from crosspost.core.cli.output import Output
    from crosspost.plugins.tiktok.creator import CreatorInfo

MUSIC_CONSENT = "By posting, you agree to TikTok's Music Usage Confirmation."


def show_creator(out: Output, target: str, info: CreatorInfo) -> None:
    """The creator's live settings, worded as TikTok's posting guidelines ask apps to show them."""

    def toggle(disabled: bool) -> str:
        if disabled:
            return "off: the creator turned it off (cannot be enabled)"
        return "you choose (off unless you allow it)"

    longest = info.max_video_post_duration_sec
    out.result(f"{target}: {info.nickname or '?'} (@{info.username or '?'})")
    out.result(f"  Privacy (pick one with --privacy; there is no default): "
               f"{', '.join(info.privacy_level_options) or 'none offered'}")
    out.result(f"  Comments: {toggle(info.comment_disabled)}")
    out.result(f"  Duet:     {toggle(info.duet_disabled)}")
    out.result(f"  Stitch:   {toggle(info.stitch_disabled)}")
    out.result(f"  Longest video: {f'{longest} s' if longest else 'not stated'}")
    out.step(f"  {MUSIC_CONSENT}")


@click.command()
@click.argument("target", default="tiktok", metavar="TARGET", callback=parse_target)
@global_options()
@async_command
async def creator(target: Target) -> None:
    """Show a TikTok creator's live posting settings: nickname, privacy options, which
    interactions they allow, and the longest video they may post.

    TARGET is tiktok:ACCOUNT (or just tiktok when there is one account). TikTok requires apps
    to show these before posting; `crosspost post` checks every post against them.
    """
    from crosspost.core.cli.tiktok import creator_dict, creator_info

    out = state().output
    async with open_hub() as hub:
        info = await creator_info(hub, target)
    if out.json:
        out.data({"target": str(target), "creator": creator_dict(info)})
    else:
        show_creator(out, str(target), info)


COMMANDS = [creator]
