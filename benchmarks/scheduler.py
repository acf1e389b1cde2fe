"""Scheduler: claiming the next due job and inserting a post, with 10^5 and 10^6 posts stored.

For each size N a fresh SQLite database (crosspost's schema, migrated by the storage layer) is
filled in bulk with N scheduled posts, one job each, due at random times over the next 30 days;
``SAMPLES`` of them are already due. Bulk loading goes through plain SQL with ``synchronous=OFF``
(setup speed only). The measurements then go through the storage layer exactly as the engine
calls it, with its shipped settings (WAL, ``synchronous=FULL`` durability: every durable
commit is flushed before the call returns):

``claim``   ``SqliteStorage.claim_job`` -- one ``UPDATE … WHERE id = (SELECT … ORDER BY run_at
            LIMIT 1) RETURNING *`` in ``BEGIN IMMEDIATE``, ``SAMPLES`` times in a row;
``insert``  ``SqliteStorage.insert_post`` -- a post with one scheduled job and its event row.

It prints p50/p99 of each, the growth from the smallest to the largest N (an indexed lookup
grows with log N: about 1.2x from 10^5 to 10^6; a scan would grow 10x), SQLite's query plan
for the claim, and, as a yardstick, the same due-job lookup with the index switched off
(``NOT INDEXED``), which is what linear growth looks like. ``--quick``: 10^3 and 10^4.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from figures import emit, median, percentile

from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage import sqlite as sqlite_storage
from crosspost.storage.base import NewEvent, NewJob, NewPost
from crosspost.storage.sqlite_rows import post_json, ts

NAME = "scheduler"
SIZES = (10**5, 10**6)
QUICK_SIZES = (10**3, 10**4)
SAMPLES = 1000
QUICK_SAMPLES = 100
SCAN_SAMPLES = 5
HORIZON = timedelta(days=30)
OWNER = "bench:1:worker"
TARGET = Target(platform="tiktok", account="main")
POST = Post(content="Scheduled by the scheduler benchmark #crosspost", targets=[TARGET])
_SCAN = """SELECT id FROM jobs NOT INDEXED
           WHERE status IN ('scheduled', 'queued', 'deferred') AND blocked_on IS NULL AND run_at <= ?
           ORDER BY run_at LIMIT 1"""


def bulk_load(path: Path, n: int, due: int, now: datetime, rng: random.Random) -> float:
    """Insert ``n`` posts with one scheduled job each (``due`` of them already due); seconds taken."""
    started = time.perf_counter()
    body = post_json(POST)
    now_us = ts(now)
    horizon_us = int(HORIZON.total_seconds() * 1e6)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")  # 256 MiB: random ids would thrash the default 2 MiB
        db.execute("BEGIN")
        batch = 50_000
        for start in range(0, n, batch):
            posts, jobs = [], []
            for i in range(start, min(n, start + batch)):
                post_id = uuid.UUID(int=rng.getrandbits(128)).hex[:16]
                run_at = now_us - rng.randrange(1, 3_600_000_000) if i < due else now_us + rng.randrange(horizon_us)
                posts.append((post_id, body, now_us, now_us))
                jobs.append((post_id + "j", post_id, str(TARGET), run_at, now_us, now_us))
            db.executemany("INSERT INTO posts (id, body, created_at, updated_at) VALUES (?, ?, ?, ?)", posts)
            db.executemany(
                """INSERT INTO jobs (id, post_id, position, target, status, run_at, created_at, updated_at)
                   VALUES (?, ?, 0, ?, 'scheduled', ?, ?, ?)""", jobs)
        db.execute("COMMIT")
        db.execute("ANALYZE")
    finally:
        db.close()
    return time.perf_counter() - started


def claim_plan(path: Path, now: datetime) -> str:
    """SQLite's plans for the storage layer's claim lookups (read from the storage module)."""
    statements = [getattr(sqlite_storage, name, None) for name in ("_CLAIM_WAITING", "_CLAIM_EXPIRED")]
    if not all(isinstance(statement, str) for statement in statements):
        return "unavailable: the storage module no longer exposes its claim lookups"
    params = {"owner": OWNER, "now": ts(now), "until": ts(now), "post_id": None}
    db = sqlite3.connect(path)
    try:
        plans = [db.execute("EXPLAIN QUERY PLAN " + str(statement).format(post=""), params).fetchall()
                 for statement in statements]
    finally:
        db.close()
    return "; ".join(str(row[-1]) for rows in plans for row in rows)


def scan_ms(path: Path, now: datetime) -> float:
    """Median time of the due-job lookup with the index switched off (a full table scan)."""
    db = sqlite3.connect(path)
    try:
        samples = []
        for _ in range(SCAN_SAMPLES):
            started = time.perf_counter()
            db.execute(_SCAN, (ts(now),)).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        db.close()
    return median(samples)


async def timed_claims(path: Path, samples: int, now: datetime, synchronous: str) -> list[float]:
    storage = await sqlite_storage.connect(str(path), synchronous=synchronous)
    try:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            job = await storage.claim_job(OWNER, now=now, lease_until=now + timedelta(minutes=1))
            times.append((time.perf_counter() - started) * 1000)
            if job is None:
                raise RuntimeError("no due job to claim: the setup is wrong")
        return times
    finally:
        await storage.close()


async def timed_inserts(path: Path, samples: int, now: datetime, rng: random.Random,
                        synchronous: str) -> list[float]:
    storage = await sqlite_storage.connect(str(path), synchronous=synchronous)
    try:
        times = []
        for _ in range(samples):
            post_id = uuid.UUID(int=rng.getrandbits(128)).hex[:16]
            run_at = now + timedelta(seconds=rng.randrange(int(HORIZON.total_seconds())))
            new = NewPost(id=post_id, post=POST, created_at=now,
                          jobs=(NewJob(id=post_id + "j", target=TARGET, status=JobStatus.SCHEDULED, run_at=run_at),))
            event = NewEvent(kind="submitted", post_id=post_id, data={"run_at": run_at.isoformat()})
            started = time.perf_counter()
            await storage.insert_post(new, event=event)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        await storage.close()


async def measure(n: int, samples: int, folder: Path) -> dict[str, float]:
    """Every figure for ``n`` stored posts; returns the p50s for the growth figures."""
    path = folder / f"scheduler-{n}.db"
    now = datetime.now(UTC)
    rng = random.Random(n)
    await (await sqlite_storage.connect(str(path))).close()  # creates and migrates the schema
    load_s = bulk_load(path, n, 2 * samples, now, rng)
    plan = claim_plan(path, now)
    scan = scan_ms(path, now)
    p50s = {"scan": scan}
    common = {"posts": n, "samples": samples}
    for synchronous, suffix in (("FULL", ""), ("OFF", "_nosync")):
        claims = await timed_claims(path, samples, now, synchronous)
        inserts = await timed_inserts(path, samples, now, rng, synchronous)
        for what, times in (("claim", claims), ("insert", inserts)):
            for label, fraction in (("p50", 0.5), ("p99", 0.99)):
                emit(NAME, f"{what}{suffix}_{label}_ms", percentile(times, fraction), "ms", **common,
                     synchronous=synchronous)
            p50s[what + suffix] = percentile(times, 0.5)
    size_mib = path.stat().st_size / 2**20
    remove_database(folder, n)
    emit(NAME, "unindexed_lookup_ms", scan, "ms", **common,
         note="the due-job lookup with NOT INDEXED: what a linear scan costs at this size")
    emit(NAME, "setup_s", load_s, "s", **common, db_mib=size_mib, claim_plan=plan)
    return p50s


def remove_database(folder: Path, n: int) -> None:
    for part in folder.glob(f"scheduler-{n}.db*"):
        part.unlink()


def growth(sizes: Sequence[int], results: dict[int, dict[str, float]]) -> None:
    small, large = min(sizes), max(sizes)
    for what in ("claim", "insert", "claim_nosync", "insert_nosync", "scan"):
        figure = "unindexed_lookup_growth" if what == "scan" else f"{what}_p50_growth"
        emit(NAME, figure, results[large][what] / results[small][what], "ratio", from_posts=small, to_posts=large,
             linear=large / small, logarithmic=math.log(large) / math.log(small))


def main() -> None:
    parser = argparse.ArgumentParser(description="Claim and insert latency with many scheduled posts in SQLite.")
    parser.add_argument("--quick", action="store_true", help="10^3 and 10^4 posts instead of 10^5 and 10^6")
    parser.add_argument("--sizes", help="comma-separated post counts (default 100000,1000000)")
    parser.add_argument("--workdir", help="where to put the databases (default: a temporary folder)")
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    samples = QUICK_SAMPLES if args.quick else SAMPLES
    with tempfile.TemporaryDirectory(prefix="crosspost-bench-", dir=args.workdir) as tmp:
        results = {n: asyncio.run(measure(n, samples, Path(tmp))) for n in sizes}
    growth(sizes, results)


if __name__ == "__main__":
    main()
