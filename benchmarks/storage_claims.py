"""Job claims: claim + complete per second with 1, 4 and 8 worker processes, SQLite vs PostgreSQL.

Each run starts from a fresh database holding ``--jobs`` due jobs (one per post). Every worker
process opens its own storage and loops ``claim_job`` then ``finish_job`` (published, with its
event-log entry: the two writes a real job makes at least) until nothing is left. Workers wait
for a common start instant, so the figure is jobs / (last worker's end - start), connection
setup excluded. ``claimed_twice`` counts jobs finished by more than one worker (always 0 when
claims are exclusive); ``claims`` is every successful claim.

SQLite runs as shipped (WAL, ``synchronous=FULL``) on a temporary file; PostgreSQL on a fresh
schema of ``--postgres`` (default ``CROSSPOST_TEST_POSTGRES``; the figure is null with a note
when neither is given). One claim loop per process, so N workers is N processes each holding
one connection. ``--quick``: 300 jobs, 1 and 4 workers.

Each backend's figure comes with its reference, measured in the same run the same way (fresh
table of ``--jobs`` due jobs, N processes, a common start): the minimal queue a hand-written
worker would use, doing the same two writes per job (a claim, then the completion with an
event row in one transaction). SQLite: plain ``sqlite3``, WAL, ``synchronous=FULL``, the claim
one ``UPDATE … RETURNING`` in ``BEGIN IMMEDIATE``. PostgreSQL: one plain asyncpg connection,
the claim one ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``. The
``…_ratio`` figures are crosspost over its reference. ``--hub`` (SQLite) also runs the same jobs
through ``Hub.run_worker`` (8 at a time, a platform that answers at once): the claims as users'
workers make them, engine included (``hub_claim_complete_…``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from figures import emit

from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage import open_storage
from crosspost.storage.base import NewEvent, NewJob, NewPost

NAME = "storage_claims"
LEASE = timedelta(seconds=60)
START_DELAY = 2.0
"""Wall seconds between spawning the workers and their common start."""


# -- one worker process -----------------------------------------------------------------------


async def work(url: str, start_at: float) -> dict[str, Any]:
    storage = await open_storage(url, migrate=False)
    owner = f"bench-{os.getpid()}"
    done: list[str] = []
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        while True:
            now = datetime.now(UTC)
            job = await storage.claim_job(owner, now=now, lease_until=now + LEASE)
            if job is None:
                break
            assert job.lease is not None
            await storage.finish_job(job.lease, status=JobStatus.PUBLISHED, now=datetime.now(UTC),
                                     publish_id=f"pub-{job.id}",
                                     event=NewEvent(kind="published", post_id=job.post_id, job_id=job.id))
            done.append(job.id)
        return {"end": time.time(), "done": done}
    finally:
        await storage.close()


async def hub_work(url: str, start_at: float) -> dict[str, Any]:
    """The same jobs as users run them: ``Hub.run_worker`` (8 at a time) on a platform whose
    ``publish`` answers at once, so what is timed is the engine around storage: the claim, the
    run's check of the post, its result, event and hooks."""
    from crosspost.core.hub import Hub
    from crosspost.core.plugins import Hooks, make_plugin_manager
    from crosspost.core.settings import Settings

    folder = tempfile.mkdtemp(prefix="claims-hub-")
    settings = Settings.from_env({"CROSSPOST_DB": url, "CROSSPOST_DATA_DIR": folder,
                                  "CROSSPOST_SECRET_KEY": os.environ["CLAIMS_SECRET_KEY"]})
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[_answering_plugin()]))
    async with Hub.open(settings, hooks=hooks, upgrade=False) as hub:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        await hub.run_worker(until_idle=True, concurrency=8)
        end = time.time()
        owner = hub._rt.owner
        started = [e.job_id for e in await hub.storage.list_events(limit=10**7)
                   if e.kind == "started" and e.data.get("owner") == owner]
        published = sum(r.status is JobStatus.PUBLISHED for r in await hub.list_posts(limit=10**7))
    return {"end": end, "done": started, "published": published}


def _answering_plugin() -> object:
    from collections.abc import Callable

    from crosspost.core import hookimpl
    from crosspost.core.platform import JobContext, Outcome, Platform, Validation

    class Answering(Platform):
        name = "bench"
        needs_account = False

        async def validate(self, post: Post, ctx: JobContext) -> Validation:
            return Validation()

        async def publish(self, post: Post, ctx: JobContext) -> Outcome:
            return Outcome(status=JobStatus.PUBLISHED, publish_id=f"pub-{ctx.job_id}")

    class Plugin:
        @hookimpl
        def register_platforms(self, register: Callable[[Platform], None]) -> None:
            register(Answering())

    return Plugin()


# -- the minimal reference queues (one worker process each) ---------------------------------

_MIN_TABLES = ("CREATE TABLE mq (id TEXT PRIMARY KEY, status TEXT NOT NULL, owner TEXT, run_at BIGINT NOT NULL)",
               "CREATE INDEX mq_due ON mq (status, run_at)",
               "CREATE TABLE mq_events (id BIGSERIAL PRIMARY KEY, job_id TEXT NOT NULL, kind TEXT NOT NULL)")


def minimal_sqlite_work(path: str, start_at: float) -> dict[str, Any]:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA synchronous = FULL")
    owner, done = f"min-{os.getpid()}", []
    time.sleep(max(0.0, start_at - time.time()))
    while True:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("UPDATE mq SET status = 'running', owner = ? WHERE id = (SELECT id FROM mq "
                         "WHERE status = 'queued' ORDER BY run_at LIMIT 1) RETURNING id", (owner,)).fetchone()
        db.execute("COMMIT")
        if row is None:
            break
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE mq SET status = 'done' WHERE id = ? AND owner = ?", (row[0], owner))
        db.execute("INSERT INTO mq_events (job_id, kind) VALUES (?, 'published')", (row[0],))
        db.execute("COMMIT")
        done.append(row[0])
    db.close()
    return {"end": time.time(), "done": done}


async def minimal_postgres_work(url: str, start_at: float) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    owner, done = f"min-{os.getpid()}", []
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        while True:
            job = await conn.fetchval(
                "UPDATE mq SET status = 'running', owner = $1 WHERE id = (SELECT id FROM mq WHERE status = 'queued' "
                "ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id", owner)
            if job is None:
                break
            async with conn.transaction():
                await conn.execute("UPDATE mq SET status = 'done' WHERE id = $1 AND owner = $2", job, owner)
                await conn.execute("INSERT INTO mq_events (job_id, kind) VALUES ($1, 'published')", job)
            done.append(job)
    finally:
        await conn.close()
    return {"end": time.time(), "done": done}


def minimal_seed_sqlite(path: str, jobs: int) -> None:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for sql in _MIN_TABLES:
        db.execute(sql.replace("BIGSERIAL", "INTEGER"))
    db.execute("BEGIN")
    db.executemany("INSERT INTO mq (id, status, run_at) VALUES (?, 'queued', ?)",
                   [(f"j{n:06}", n) for n in range(jobs)])
    db.execute("COMMIT")
    db.close()


async def minimal_seed_postgres(url: str, jobs: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for sql in _MIN_TABLES:
            await conn.execute(sql)
        await conn.executemany("INSERT INTO mq (id, status, run_at) VALUES ($1, 'queued', $2)",
                               [(f"j{n:06}", n) for n in range(jobs)])
    finally:
        await conn.close()


# -- the orchestrator -------------------------------------------------------------------------


def figure(backend: str, workers: int) -> str:
    """One figure name per backend and worker count (``repeat.py`` groups runs by name)."""
    return f"claim_complete_per_s_{backend}_{workers}w"


async def seed(url: str, jobs: int) -> None:
    storage = await open_storage(url)
    try:
        now = datetime.now(UTC)
        for n in range(jobs):
            target = Target(platform="bench", account=f"a{n % 20}")
            post = Post(content=f"post {n}", targets=[target])
            await storage.insert_post(NewPost(id=f"p{n:06}", post=post, created_at=now, jobs=(
                NewJob(id=f"j{n:06}", target=target, status=JobStatus.QUEUED, run_at=now),)))
    finally:
        await storage.close()


def run_workers(url: str, workers: int, role: str = "--child") -> tuple[float, list[dict[str, Any]]]:
    start_at = time.time() + START_DELAY
    procs = [subprocess.Popen([sys.executable, __file__, role, url, repr(start_at)],
                              stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a worker failed with exit code {proc.returncode}")
        results.append(json.loads(out))
    return start_at, results


def measure(backend: str, url: str, workers: int, jobs: int, *, minimal: bool = False, hub: bool = False) -> float:
    """Run one figure; ``minimal``: the reference queue on ``url`` instead of crosspost; ``hub``:
    crosspost's own worker loop instead of the storage calls alone."""
    role = f"--child-minimal-{backend}" if minimal else "--child-hub" if hub else "--child"
    if minimal:
        if backend == "sqlite":
            minimal_seed_sqlite(url, jobs)
        else:
            asyncio.run(minimal_seed_postgres(url, jobs))
    else:
        asyncio.run(seed(url, jobs))
    start_at, results = run_workers(url, workers, role)
    finished = [job for r in results for job in r["done"]]
    unpublished = [jobs - r["published"] for r in results if "published" in r and r["published"] != jobs]
    if unpublished:
        raise RuntimeError(f"the Hub workers left {unpublished[0]} of {jobs} jobs unpublished")
    seconds = max(r["end"] for r in results) - start_at
    rate = len(set(finished)) / seconds
    name = figure(backend, workers)
    if minimal or hub:
        name = name.replace("claim_complete", "minimal_claim_complete" if minimal else "hub_claim_complete")
    emit(NAME, name, rate, "jobs/s", backend=backend,
         workers=workers, jobs=jobs, claims=len(finished), claimed_twice=len(finished) - len(set(finished)),
         seconds=seconds)
    return rate


def ratio(backend: str, workers: int, ours: float, reference: float, *, hub: bool = False) -> None:
    name = figure(backend, workers).replace("claim_complete", "hub_claim_complete") if hub else figure(backend, workers)
    emit(NAME, f"{name}_ratio", ours / reference, "ratio", backend=backend, workers=workers,
         note=("crosspost's worker loop (Hub.run_worker)" if hub else "crosspost's storage calls")
         + " claim+complete/s over the minimal queue's, same run")


async def _schema(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_runs(server: str | None, counts: list[int], jobs: int) -> None:
    if not server:
        for workers in counts:
            emit(NAME, figure("postgresql", workers), None, "jobs/s", backend="postgresql", workers=workers, jobs=jobs,
                 note="no PostgreSQL: pass --postgres URL or set CROSSPOST_TEST_POSTGRES")
        return
    for workers in counts:
        rates = []
        for minimal in (False, True):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_schema(server, f"CREATE SCHEMA {schema}"))
            try:
                sep = "&" if "?" in server else "?"
                url = f"{server}{sep}search_path={schema}"  # asyncpg takes it as a server setting too
                rates.append(measure("postgresql", url, workers, jobs, minimal=minimal))
            finally:
                asyncio.run(_schema(server, f"DROP SCHEMA {schema} CASCADE"))
        ratio("postgresql", workers, *rates)


def sqlite_runs(counts: list[int], jobs: int, *, hub: bool) -> None:
    for workers in counts:
        with tempfile.TemporaryDirectory() as folder:
            ours = measure("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", workers, jobs)
            reference = measure("sqlite", str(Path(folder) / "minimal.db"), workers, jobs, minimal=True)
            through_hub = measure("sqlite", f"sqlite:///{Path(folder) / 'hub.db'}", workers, jobs,
                                  hub=True) if hub else None
        ratio("sqlite", workers, ours, reference)
        if through_hub is not None:
            ratio("sqlite", workers, through_hub, reference, hub=True)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(work(sys.argv[2], float(sys.argv[3])))))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--child-hub":
        print(json.dumps(asyncio.run(hub_work(sys.argv[2], float(sys.argv[3])))))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--child-minimal-sqlite":
        print(json.dumps(minimal_sqlite_work(sys.argv[2], float(sys.argv[3]))))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--child-minimal-postgresql":
        print(json.dumps(asyncio.run(minimal_postgres_work(sys.argv[2], float(sys.argv[3])))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--postgres", default=os.environ.get("CROSSPOST_TEST_POSTGRES"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hub", action="store_true",
                        help="also run the jobs through Hub.run_worker (SQLite), the way users run workers")
    args = parser.parse_args()
    jobs, counts = (300, [1, 4]) if args.quick else (args.jobs, args.workers)
    from crosspost.core.secrets import generate_key

    os.environ["CLAIMS_SECRET_KEY"] = generate_key()  # the Hub workers inherit it
    sqlite_runs(counts, jobs, hub=args.hub)
    postgres_runs(args.postgres, counts, jobs)


if __name__ == "__main__":
    main()
