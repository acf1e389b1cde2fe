"""Two worker processes on one SQLite file: every job runs exactly once, no lock errors."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage.base import NewJob, NewPost
from crosspost.storage.sqlite import connect

JOBS = 2000
WORKER = Path(__file__).with_name("claim_worker.py")


async def fill(db: Path) -> set[str]:
    storage = await connect(str(db), synchronous="NORMAL")  # setup speed only; workers use FULL
    now = datetime.now(UTC)
    target = Target(platform="count")
    try:
        for i in range(JOBS):
            post = Post(content=f"post {i}", targets=[target])
            job = NewJob(id=f"job-{i:04d}", target=target, status=JobStatus.QUEUED, run_at=now)
            await storage.insert_post(NewPost(id=f"post-{i:04d}", post=post, created_at=now, jobs=(job,)))
    finally:
        await storage.close()
    return {f"job-{i:04d}" for i in range(JOBS)}


@pytest.mark.slow
async def test_two_worker_processes_run_each_of_2000_jobs_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    expected = await fill(db)
    go = tmp_path / "go"
    workers = []
    for n in (1, 2):
        workers.append(await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), str(db), str(tmp_path / f"out{n}"), str(tmp_path / f"ready{n}"), str(go),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE))
    for _ in range(3000):
        if all((tmp_path / f"ready{n}").exists() for n in (1, 2)):
            break
        await asyncio.sleep(0.01)
    go.touch()
    results = [await w.communicate() for w in workers]

    reports = []
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err.decode()
        assert "locked" not in err.decode()
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    published = [line for n in (1, 2) for line in (tmp_path / f"out{n}").read_text().split()]
    assert len(published) == JOBS, "a job ran twice or not at all"
    assert set(published) == expected
    assert all(r["published"] > 0 for r in reports), "both processes took part"

    storage = await connect(str(db))
    try:
        statuses = {j.status for p in await storage.list_posts(limit=JOBS) for j in p.jobs}
    finally:
        await storage.close()
    assert statuses == {JobStatus.PUBLISHED}
    seconds = max(r["seconds"] for r in reports)
    print(f"\n2 processes x 4 slots: {JOBS} jobs claimed+published in {seconds:.2f}s "
          f"({JOBS / seconds:.0f} jobs/s); split {[r['published'] for r in reports]}")
