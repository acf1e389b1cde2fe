"""A post's metrics as one value (every target's readings in time order) and its JSON form.

The same :func:`post_metrics` answer feeds ``crosspost stats ID`` (table, chart, ``--json``),
the dashboard's charts and ``GET /v1/analytics?post_id=``, so all three show the same figures.
Platform ids are strings in the JSON form, never numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from crosspost.core.metrics import SNAPSHOT_AFTER, MetricSpec
from crosspost.core.models import ErrorInfo, JobStatus, Target
from crosspost.storage.base import PostRow
from crosspost.storage.metrics import MetricStore, MetricTaskRow, SnapshotRow


@attrs.frozen(kw_only=True)
class TargetMetrics:
    """One target of a post: where its metrics stand and every reading so far."""

    target: Target
    job_id: str
    status: JobStatus
    platform_post_id: str | None = None
    post_url: str | None = None
    state: str = "none"
    """``resolving``, ``collecting``, ``done``, or ``none`` (not published, or no metrics)."""
    next_reading_at: datetime | None = None
    error: ErrorInfo | None = None
    snapshots: tuple[SnapshotRow, ...] = ()
    specs: tuple[MetricSpec, ...] = ()

    @property
    def latest(self) -> SnapshotRow | None:
        return self.snapshots[-1] if self.snapshots else None

    def series(self, metric: str) -> list[tuple[datetime, int]]:
        return [(s.taken_at, s.metrics[metric]) for s in self.snapshots if metric in s.metrics]

    def metric_names(self) -> list[str]:
        named = [s.name for s in self.specs]
        seen = {m for s in self.snapshots for m in s.metrics}
        return [n for n in named if n in seen] + sorted(seen - set(named))


def step_label(step: int) -> str:
    """``1h``, ``6h``, ``24h``, ``3d``… for a step of :data:`SNAPSHOT_AFTER`."""
    if not 0 <= step < len(SNAPSHOT_AFTER):
        return f"#{step}"
    seconds = int(SNAPSHOT_AFTER[step].total_seconds())
    return f"{seconds // 3600}h" if seconds <= 86_400 else f"{seconds // 86_400}d"


async def post_metrics(row: PostRow, store: MetricStore,
                       specs: Mapping[str, tuple[MetricSpec, ...]]) -> list[TargetMetrics]:
    """Every target of ``row`` with its task and readings (``specs``: by platform name)."""
    tasks = {t.job_id: t for t in await store.list_metric_tasks(post_id=row.id)}
    snaps = await store.list_snapshots(job_ids=[j.id for j in row.jobs])
    by_job: dict[str, list[SnapshotRow]] = {}
    for snap in snaps:
        by_job.setdefault(snap.job_id, []).append(snap)
    return [_target(job.id, job.target, job.status, job.post_url, tasks.get(job.id),
                    tuple(by_job.get(job.id, ())), specs.get(job.target.platform, ())) for job in row.jobs]


def _target(job_id: str, target: Target, status: JobStatus, post_url: str | None, task: MetricTaskRow | None,
            snapshots: tuple[SnapshotRow, ...], specs: tuple[MetricSpec, ...]) -> TargetMetrics:
    if task is None:
        return TargetMetrics(target=target, job_id=job_id, status=status, post_url=post_url, snapshots=snapshots,
                             specs=specs)
    return TargetMetrics(target=target, job_id=job_id, status=status, platform_post_id=task.platform_post_id,
                         post_url=task.post_url or post_url, state=task.state,
                         next_reading_at=None if task.state == "done" else task.due_at, error=task.error,
                         snapshots=snapshots, specs=specs)


def _snapshot_json(s: SnapshotRow) -> dict[str, Any]:
    return {"step": s.step, "after": step_label(s.step), "taken_at": s.taken_at.isoformat(),
            "platform_post_id": s.platform_post_id, "metrics": dict(s.metrics), "extras": dict(s.extras)}


def target_json(t: TargetMetrics) -> dict[str, Any]:
    latest = t.latest
    return {
        "target": str(t.target), "job_id": t.job_id, "status": t.status.value,
        "platform_post_id": t.platform_post_id, "post_url": t.post_url, "state": t.state,
        "next_reading_at": t.next_reading_at.isoformat() if t.next_reading_at else None,
        "error": attrs.asdict(t.error) if t.error else None,
        "latest": None if latest is None else {"taken_at": latest.taken_at.isoformat(),
                                               "metrics": dict(latest.metrics)},
        "snapshots": [_snapshot_json(s) for s in t.snapshots],
        "metrics": [{"name": s.name, "help": s.help} for s in t.specs],
    }


def post_metrics_json(post_id: str, targets: Sequence[TargetMetrics]) -> dict[str, Any]:
    """The JSON document of ``crosspost stats ID --json`` and ``GET /v1/analytics?post_id=``."""
    return {"post_id": post_id, "targets": [target_json(t) for t in targets]}
