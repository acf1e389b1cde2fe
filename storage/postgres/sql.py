"""SQL text of the job queue, and a small builder for asyncpg's positional parameters.

The claim is one statement: ``UPDATE jobs … WHERE id = (SELECT id … FOR UPDATE SKIP LOCKED
LIMIT 1) RETURNING *``. ``SKIP LOCKED`` lets concurrent claimers pass over a row another
transaction is taking instead of queueing behind it, and the row lock plus PostgreSQL's re-check
of the ``WHERE`` on the newest row version make a job go to exactly one claimer. The generated
column ``jobs.due_at`` (see the migrations) merges "waiting and due" and "running with an
expired lease" into one ordered index scan.
"""

from __future__ import annotations

from typing import Any

from crosspost.storage.base import RUNNING, WAITING

WAITING_SQL = "('scheduled', 'queued', 'deferred')"
RUNNING_SQL = "('validating', 'uploading', 'processing')"
assert {s.value for s in WAITING} == {"scheduled", "queued", "deferred"}
assert {s.value for s in RUNNING} == {"validating", "uploading", "processing"}


class Params:
    """Collects values and hands out ``$n`` placeholders, so SQL assembled from parts keeps its
    numbering right."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def claim_sql(p: Params, *, owner: str, now: Any, until: Any, post_id: str | None) -> str:
    """The claim statement (see the module docstring); returns the claimed row or nothing."""
    o, n = p(owner), p(now)
    post = f"AND post_id = {p(post_id)}" if post_id is not None else ""
    return f"""
UPDATE jobs SET
    status = CASE WHEN status IN {WAITING_SQL} THEN 'validating' ELSE status END,
    lease_owner = {o}, lease_token = lease_token + 1, lease_until = {p(until)},
    started_at = COALESCE(started_at, {n}), updated_at = {n}
WHERE id = (
    SELECT id FROM jobs
    WHERE due_at <= {n} {post}
      AND (status IN {WAITING_SQL} OR (lease_until < {n} AND lease_owner <> {o}))
    ORDER BY due_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING *"""


def fence_sql(p: Params, *, job_id: str, owner: str, token: int) -> str:
    """The ``WHERE`` of every update of a running job: its lease owner and fencing token."""
    return (f"id = {p(job_id)} AND lease_owner = {p(owner)} AND lease_token = {p(token)} "
            f"AND status IN {RUNNING_SQL}")


def with_event_sql(p: Params, update: str, *, event: tuple[Any, ...] | None, notify: str | None) -> str:
    """``update`` (an ``UPDATE … RETURNING id, post_id``) plus, when it changed a row, the event
    and the notification, in one statement that returns how many rows changed."""
    parts = [f"WITH changed AS ({update})"]
    if event is not None:
        at, kind, post_id, job_id, data = (p(v) for v in event)
        parts.append(f""", logged AS (INSERT INTO events (at, kind, post_id, job_id, data)
                                    SELECT {at}::timestamptz, {kind}::text, {post_id}::text, {job_id}::text,
                                           {data}::jsonb FROM changed)""")
    if notify is not None:
        return "\n".join([*parts, f"SELECT count(*) FROM (SELECT pg_notify({p(notify)}, '') FROM changed) AS n"])
    return "\n".join([*parts, "SELECT count(*) FROM changed"])
