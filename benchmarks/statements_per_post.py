"""SQL statements and transactions per post, through ``Hub.publish`` as a library user runs it.

A counting wrapper sits on the SQLite connection (``execute``/``executemany``): every statement
is counted by its first word (``BEGIN``/``COMMIT`` are the transactions). The platform is an
in-process fake that does what a real one does with storage: two checkpoint saves (uploading,
then processing) before it returns published; it needs an account, so the account is read and
decrypted as for TikTok. One account, ``--posts`` posts, one target each, published one after
another. Counts are exact and machine-independent (no timing): they change only when the
engine's storage work changes.

``--quick``: 5 posts.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from figures import emit

from crosspost.core import hookimpl
from crosspost.core.accounts import Account
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.platform import JobContext, Outcome, Platform, Validation
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings

NAME = "statements_per_post"


class Steps(Platform):
    """Saves twice (as an upload does) and publishes."""

    name = "steps"

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        return Validation()

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        await ctx.save({"publish_id": f"p-{ctx.job_id}"}, status=JobStatus.UPLOADING)
        await ctx.save({**ctx.checkpoint, "phase": "processing"}, status=JobStatus.PROCESSING)
        return Outcome(status=JobStatus.PUBLISHED, publish_id=f"p-{ctx.job_id}")


class StepsPlugin:
    @hookimpl
    def register_platforms(self, register: Callable[[Platform], None]) -> None:
        register(Steps())


def count_statements(db: Any, counts: collections.Counter[str]) -> None:
    """Wrap ``db.execute``/``executemany`` so every statement adds to ``counts``."""
    execute, executemany = db.execute, db.executemany

    def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
        counts[sql.split(None, 1)[0].upper()] += 1
        return execute(sql, *args, **kwargs)

    def counted_many(sql: str, *args: Any, **kwargs: Any) -> Any:
        counts[sql.split(None, 1)[0].upper()] += 1
        return executemany(sql, *args, **kwargs)

    db.execute, db.executemany = counted, counted_many


async def measure(posts: int, folder: Path) -> collections.Counter[str]:
    settings = Settings(db=str(folder / "bench.db"), data_dir=folder, concurrency=1)
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[StepsPlugin()]))
    counts: collections.Counter[str] = collections.Counter()
    async with Hub.open(settings, hooks=hooks, secret_box=SecretBox(os.urandom(32))) as hub:
        await hub.accounts.add(Account(platform="steps", name="main", secrets={"access_token": "t"}))
        count_statements(hub.storage._db, counts)  # type: ignore[attr-defined]
        for n in range(posts):
            record = await hub.publish(Post(content=f"post {n}", targets=[Target(platform="steps", account="main")]))
            if record.status is not JobStatus.PUBLISHED:
                raise RuntimeError(f"post {n} ended {record.status.value}")
    return counts


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    posts = 5 if args.quick else args.posts
    with tempfile.TemporaryDirectory() as tmp:
        counts = asyncio.run(measure(posts, Path(tmp)))
    total = sum(counts.values())
    by_kind = {kind: round(n / posts, 2) for kind, n in sorted(counts.items())}
    emit(NAME, "statements_per_post", total / posts, "statements", posts=posts, by_kind=by_kind,
         backend="sqlite")
    emit(NAME, "transactions_per_post", counts["BEGIN"] / posts, "transactions", posts=posts, backend="sqlite")


if __name__ == "__main__":
    main(sys.argv[1:])
