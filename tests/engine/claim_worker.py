"""One worker process of the claim-exclusivity test (run as a script, not collected by pytest).

Usage: ``python claim_worker.py DB OUT READY GO``. Writes READY once its hub is open, waits for
GO to exist (so both processes start claiming together), runs every due job until idle, appends
each published job id to OUT and prints ``{"published": n, "seconds": t}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from crosspost.core import hookimpl
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post
from crosspost.core.platform import JobContext, Outcome, Platform, RegisterPlatform, Validation
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings


class Counting(Platform):
    """Publishes instantly and logs the job id with one O_APPEND write (atomic per line)."""

    name = "count"
    needs_account = False

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.published = 0

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        return Validation()

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        await ctx.save({"seen": True}, status=JobStatus.UPLOADING)
        os.write(self.fd, f"{ctx.job_id}\n".encode())
        self.published += 1
        return Outcome(status=JobStatus.PUBLISHED, publish_id=ctx.job_id)


class Plugin:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @hookimpl
    def register_platforms(self, register: RegisterPlatform) -> None:
        register(self.platform)


def signal_ready_and_wait(ready: Path, go: Path) -> None:
    """Blocks the (still idle) event loop on purpose: nothing else runs before the start line."""
    ready.touch()
    while not go.exists():
        time.sleep(0.005)


async def main(db: str, out: str, ready: str, go: str) -> None:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    platform = Counting(fd)
    settings = Settings(db=db, data_dir=Path(db).parent, concurrency=4)
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[Plugin(platform)]))
    async with Hub.open(settings, hooks=hooks, secret_box=SecretBox(bytes(32))) as hub:
        signal_ready_and_wait(Path(ready), Path(go))
        started = time.perf_counter()
        await hub.run_worker(until_idle=True)
        seconds = time.perf_counter() - started
    os.close(fd)
    print(json.dumps({"published": platform.published, "seconds": seconds}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
