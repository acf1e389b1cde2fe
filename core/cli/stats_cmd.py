"""``crosspost stats``: a post's metrics over time, or an account's totals.

``crosspost stats ID`` reads the stored readings (workers take them on the decaying schedule
of :mod:`crosspost.core.metrics`): the latest figures per target, then a chart per metric.
``--collect`` takes every due reading first. ``crosspost stats --account tiktok:main`` asks the
platform for the account's totals now (and keeps them, so the next call charts the history).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import async_command, global_options, open_hub, state
from crosspost.core.cli.output import Output
from crosspost.core.cli.stats_chart import Point, chart_lines

if TYPE_CHECKING:
    from crosspost.core.metrics_report import TargetMetrics
    from crosspost.storage.metrics import AccountSnapshotRow


@click.command("stats")
@click.argument("post_id", metavar="ID", required=False)
@click.option("--account", "account", metavar="TARGET", help="An account's totals instead, e.g. tiktok:main.")
@click.option("--collect", is_flag=True, help="Take every reading that is due before showing them.")
@click.option("--width", type=click.IntRange(10, 200), default=30, show_default=True, help="Chart width in cells.")
@global_options()
@async_command
async def stats(post_id: str | None, account: str | None, collect: bool, width: int) -> None:
    """Show a post's metrics (views, likes, comments, shares...) over time, or an account's totals."""
    if (post_id is None) == (account is None):
        raise click.UsageError("give a post ID, or --account TARGET (e.g. --account tiktok:main), not both")
    out = state().output
    async with open_hub() as hub:
        if collect:
            await hub.collect_metrics()
        if account is not None:
            totals = await hub.account_metrics(account)
            history = await hub.metrics.store.list_account_snapshots(totals.target)
            _show_account(out, history, width=width)
            return
        assert post_id is not None
        targets = await hub.post_metrics(post_id)
    if out.json:
        from crosspost.core.metrics_report import post_metrics_json

        out.data(post_metrics_json(post_id, targets))
        return
    for target in targets:
        _show_target(out, target, width=width)


def _show_target(out: Output, t: TargetMetrics, *, width: int) -> None:
    from rich.markup import escape

    from crosspost.core.metrics_report import step_label

    link = f" {escape(t.post_url)}" if t.post_url else ""
    out.rich(f"[bold]{escape(str(t.target))}[/bold] ({t.status.value}){link}")
    if t.state == "none":
        out.step("  no metrics for this target (not published, or the platform reports none)")
        return
    if t.error is not None:
        out.rich(f"  [yellow]metrics: {escape(t.error.message)}[/yellow]")
    if t.state == "resolving":
        out.step("  waiting for the platform to make the post public (its id is not known yet)")
    if t.next_reading_at is not None:
        out.step(f"  next reading: {t.next_reading_at.strftime('%Y-%m-%d %H:%M %Z')}")
    latest = t.latest
    if latest is None:
        out.step("  no readings yet")
        return
    names = t.metric_names()
    out.table(["Metric", f"Latest ({latest.taken_at.strftime('%Y-%m-%d %H:%M')})"],
              [[n, f"{latest.metrics[n]:,}"] for n in names if n in latest.metrics])
    for name in names:
        points = [Point(label=step_label(s.step), at=s.taken_at, value=s.metrics[name])
                  for s in t.snapshots if name in s.metrics]
        out.console.print("\n".join(chart_lines(name, points, width=width)), markup=False, highlight=False)


def _show_account(out: Output, history: list[AccountSnapshotRow], *, width: int) -> None:
    latest = history[-1]
    if out.json:
        out.data({"target": str(latest.target), "taken_at": latest.taken_at.isoformat(),
                  "metrics": dict(latest.metrics), "extras": dict(latest.extras),
                  "history": [_account_json(h) for h in history]})
        return
    out.table(["Metric", f"Now ({latest.taken_at.strftime('%Y-%m-%d %H:%M')})"],
              [[n, f"{v:,}"] for n, v in latest.metrics.items()])
    if len(history) > 1:
        for name in latest.metrics:
            points = [Point(label=f"#{i + 1}", at=h.taken_at, value=h.metrics[name])
                      for i, h in enumerate(history) if name in h.metrics]
            out.console.print("\n".join(chart_lines(name, points, width=width)), markup=False, highlight=False)


def _account_json(row: AccountSnapshotRow) -> dict[str, Any]:
    return {"taken_at": row.taken_at.isoformat(), "metrics": dict(row.metrics)}


COMMANDS = [stats]
