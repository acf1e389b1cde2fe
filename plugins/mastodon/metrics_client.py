"""The I/O side of Mastodon metrics: one ``GET /api/v1/statuses/:id`` per status, and the account's totals.

Calls go through :class:`~crosspost.plugins.mastodon.client.MastodonClient`, so they share the
account's rate keys (300 per 5 minutes per token, in the shared gate) and the server's
``X-RateLimit-*`` pacing with publishing. A deleted status (404) is asked about once: the
platform remembers it (:class:`DeletedStatuses`) and later rounds skip it without a request,
while the engine records it as not found and closes its task after a few slow tries.
"""

from __future__ import annotations

from collections.abc import Sequence

from crosspost.core.metrics import AccountMetrics, MetricRef, MetricsContext, MetricSnapshot
from crosspost.core.models import Target
from crosspost.plugins.mastodon import metrics
from crosspost.plugins.mastodon.client import MastodonClient
from crosspost.plugins.mastodon.errors import unreadable_response


class DeletedStatuses:
    """Statuses an instance answered 404 for (per origin), kept for the process's life."""

    def __init__(self) -> None:
        self._gone: dict[tuple[str, str], metrics.StatusDeleted] = {}

    def add(self, origin: str, gone: metrics.StatusDeleted) -> None:
        self._gone[(origin, gone.status_id)] = gone

    def known(self, origin: str, status_id: str) -> bool:
        return (origin, status_id) in self._gone


async def fetch_status_metrics(client: MastodonClient, refs: Sequence[MetricRef], ctx: MetricsContext, *,
                               target: Target, deleted: DeletedStatuses) -> list[MetricSnapshot]:
    """One reading per status of ``refs`` that still exists; deleted ones are left out (logged, typed)."""
    snapshots: list[MetricSnapshot] = []
    for wanted in dict.fromkeys(r.platform_post_id for r in refs if r.platform_post_id):
        if deleted.known(client.origin, wanted):
            continue
        what = f"reading the counters of status {wanted}"
        answer = await client.send(metrics.status_request(wanted), what=what, ok=(200, 404))
        try:
            read = metrics.parse_status_counts(answer.status, answer.body, wanted=wanted, target=target,
                                               taken_at=ctx.clock.now(), instance=client.origin)
        except ValueError as exc:
            raise unreadable_response(what, str(exc)) from None
        if isinstance(read, metrics.StatusDeleted):
            deleted.add(client.origin, read)
            ctx.log.warning("%s [%s]", read, read.code)
        else:
            snapshots.append(read.snapshot)
    return snapshots


async def fetch_account_totals(client: MastodonClient, ctx: MetricsContext, *, target: Target) -> AccountMetrics:
    """Followers, following and statuses from ``verify_credentials``."""
    answer = await client.send(metrics.account_request(), what="reading the account's totals")
    try:
        return metrics.parse_account_totals(answer.body, target=target, taken_at=ctx.clock.now())
    except ValueError as exc:
        raise unreadable_response("reading the account's totals", str(exc)) from None
