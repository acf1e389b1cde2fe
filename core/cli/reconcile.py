"""``crosspost reconcile ID --published URL | --failed``: settle a target whose outcome is unknown.

A target is ``unknown`` when crosspost cannot tell whether the platform published it (its answer
was lost, or it stopped saying): ``crosspost status ID`` shows the reason and what to check. After
looking at the account, the user records the answer here; nothing is sent to the platform.
"""

from __future__ import annotations

import click

from crosspost.core.cli.context import async_command, global_options, open_hub, state
from crosspost.core.cli.output import record_details


def _check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    del ctx, param
    if value is not None and not value.startswith(("https://", "http://")):
        raise click.BadParameter("give the post's link as shown by the platform, e.g. "
                                 "https://www.tiktok.com/@name/video/7300000000000000001")
    return value


@click.command()
@click.argument("post_id", metavar="ID")
@click.option("--published", "published_url", metavar="URL", callback=_check_url,
              help="The post is live: its link (from the platform's app or site).")
@click.option("--failed", is_flag=True, help="The post is not there: mark it failed (posting again is safe).")
@click.option("--target", metavar="PLATFORM:ACCOUNT", help="Which target, when several are unknown.")
@global_options()
@async_command
async def reconcile(post_id: str, published_url: str | None, failed: bool, target: str | None) -> None:
    """Record what you found for a target whose outcome is unknown.

    `crosspost status ID` says what to check. Exactly one of --published URL or --failed.
    Only an unknown target changes; nothing is sent to the platform.
    """
    from crosspost.core.engine.reconcile import reconcile as settle

    if (published_url is None) == (not failed):
        raise click.UsageError("give exactly one of --published URL or --failed")
    out = state().output
    async with open_hub() as hub:
        await settle(hub.storage, hub.clock, post_id, published_url=published_url, failed=failed, target=target)
        record = await hub.get(post_id)
    if out.json:
        out.data(record_details(record))
    else:
        out.record(record, heading="Reconciled post")


COMMANDS = [reconcile]
