"""Stored posts and the worker: ``list``, ``status``, ``reschedule``, ``cancel``, ``retry``, ``worker``.

Like a hosted service's GET/PUT/DELETE on a post, all through the library's Hub.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from crosspost.core.cli.context import async_command, global_options, open_hub, state, stop_on_signals
from crosspost.core.cli.output import exit_code, record_details, record_to_dict, styled
from crosspost.core.models import JobStatus

if TYPE_CHECKING:

    from crosspost.core.hub import PostRecord

STATUSES = [s.value for s in JobStatus if s is not JobStatus.PARTIAL]  # partial: a post's state, no job's


def _when(record: PostRecord) -> str:
    at = record.run_at or record.created_at
    return at.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if at else ""


def _excerpt(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _rows(records: Sequence[PostRecord]) -> list[list[str]]:
    from rich.markup import escape

    return [
        [escape(r.id), styled(r.status.value),
         ", ".join(f"{escape(str(t.target))} {styled(t.status.value)}" for t in r.targets),
         _when(r), escape(_excerpt(r.post.content))]
        for r in records
    ]


@click.command("list")
@click.option("--status", "status", type=click.Choice(STATUSES), help="Only posts in this state.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True, help="At most this many.")
@global_options()
@async_command
async def list_posts(status: str | None, limit: int) -> None:
    """List stored posts, newest first."""
    out = state().output
    async with open_hub() as hub:
        records = await hub.list_posts(status=JobStatus(status) if status else None, limit=limit)
    if out.json:
        out.data({"posts": [record_details(r) for r in records]})
        return
    empty = (f"No post has a target {status}; `crosspost list` shows every post." if status
             else "No posts yet. Try `crosspost demo`, or `crosspost post --help`.")
    out.table(["ID", "Status", "Targets", "Runs / ran at", "Caption"], _rows(records), empty=empty)


@click.command()
@click.argument("post_id", metavar="ID")
@global_options()
@async_command
async def status(post_id: str) -> None:
    """Show one post and each target's state, link and error.

    Exits 1 when a target failed, like `crosspost post`.
    """
    out = state().output
    async with open_hub() as hub:
        record = await hub.get(post_id)
    if out.json:
        out.data(record_details(record))
    else:
        out.record(record)
        if record.run_at and record.status is JobStatus.SCHEDULED:
            out.step(f"`crosspost worker` publishes it when due; `crosspost cancel {record.id}` "
                     "cancels it.")
    raise click.exceptions.Exit(exit_code(record))


@click.command()
@click.argument("post_id", metavar="ID")
@click.option("--at", "when", required=True, metavar="WHEN",
              help="New time: now, an ISO-8601 local time (read in --timezone), or an instant with Z.")
@click.option("--timezone", metavar="TZ", help="IANA time zone for --at, e.g. Europe/Paris.")
@global_options()
@async_command
async def reschedule(post_id: str, when: str, timezone: str | None) -> None:
    """Move a scheduled post to another time."""
    out = state().output
    async with open_hub() as hub:
        record = await hub.reschedule(post_id, when, timezone)
    if out.json:
        out.data(record_details(record))
    else:
        out.record(record, heading="Rescheduled post")


@click.command()
@click.argument("post_id", metavar="ID")
@global_options()
@async_command
async def cancel(post_id: str) -> None:
    """Cancel a post: none of its unfinished targets will run."""
    out = state().output
    async with open_hub() as hub:
        record = await hub.cancel(post_id)
    if out.json:
        out.data(record_to_dict(record))
    else:
        out.record(record, heading="Cancelled post")


@click.command()
@click.argument("post_id", metavar="ID")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Run the retried targets in this process until they finish (else a worker runs them).")
@global_options()
@async_command
async def retry(post_id: str, wait: bool) -> None:
    """Run a post's failed targets again; delivered targets are not posted twice.

    Exits 1 when a target still failed, like `crosspost post`.
    """
    out = state().output
    async with open_hub() as hub:
        record = await hub.retry(post_id, wait=wait)
    if out.json:
        out.data(record_details(record))
    else:
        out.record(record, heading="Retried post")
    raise click.exceptions.Exit(exit_code(record))


@click.command()
@click.option("--until-idle", is_flag=True,
              help="Return once nothing is queued or running and nothing is due within 60 s.")
@click.option("--concurrency", type=click.IntRange(1), metavar="N",
              help="Jobs run at once (default: $CROSSPOST_CONCURRENCY, else 8).")
@global_options(show_json=False)
@async_command
async def worker(until_idle: bool, concurrency: int | None) -> None:
    """Run due jobs: scheduled posts, retries, and interrupted uploads.

    Ctrl-C or SIGTERM stops it cleanly: running jobs stop at a safe point and resume on the
    next start, from their last acknowledged chunk. A database with an older schema is refused
    (exit 2): run `crosspost migrate` first. A new, empty database gets the schema.
    """
    from crosspost.core.cli.progress import ProgressView

    out = state().output
    with stop_on_signals("Stopping at the next safe point...") as stop:
        async with open_hub(upgrade=False) as hub:
            out.step("Worker running" + (" until idle" if until_idle else "; Ctrl-C stops it") + ".")
            with ProgressView(out, show_post=True) as view:
                await hub.run_worker(until_idle=until_idle, concurrency=concurrency, stop=stop,
                                     progress=view)
    out.step("Worker stopped; unfinished jobs resume on the next start." if stop.is_set()
             else "Nothing left to do.")


COMMANDS = [list_posts, status, reschedule, cancel, retry, worker]
