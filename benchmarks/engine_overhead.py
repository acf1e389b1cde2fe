"""Engine overhead: 1,000 video posts over 50 TikTok accounts through the whole of crosspost,
against a minimal aiohttp client sending the same requests to the same emulator.

Three processes per client, so CPU time can be told apart: this script (orchestration), the
TikTok emulator (``emulator_process.py``: rate limits, daily caps and processing delays off) and
the client, a child of this script (``--client crosspost|minimal``). The client's figures are its
own process CPU time (every thread: aiosqlite's, file reads) and wall time.

``crosspost``  ``Hub.open`` with the built-in plugins on a fresh SQLite database (WAL,
               ``synchronous=FULL`` as shipped), 50 accounts stored encrypted, then
               ``hub.submit`` for each post (validation against the creator's live settings,
               media probing, storage, hooks) and ``hub.run_worker(until_idle=True)`` with the
               default 8 concurrent jobs (claims, leases, checkpoints, the TikTok platform's
               init, chunked upload and status polling, results and events);
``minimal``    one ``aiohttp.ClientSession``, the video read once into memory, 8 posts at a time:
               creator_info once per account (crosspost caches it for a minute), then per post
               init, PUT and status until PUBLISH_COMPLETE. No storage, no validation, no
               retries: the floor any client pays for TikTok's protocol.

crosspost also enforces TikTok's own per-token limits client-side (6 inits a minute, 15 direct
posts per creator per day). 1,000 posts over 50 accounts is 20 per account, so, as shipped, 250
of them would rightly wait a day. This benchmark measures overhead, not TikTok's limits: the
client process raises those limits (module constants, patched in the child only) so no post
waits; every rate-limit check still runs against the database as usual.
``--quick``: 20 posts over 2 accounts. ``--db postgresql://…``: crosspost on PostgreSQL (a fresh
schema, dropped afterwards) instead of SQLite. ``--count-sql`` also prints crosspost's SQL statements and
commits per post (durable ones wait for a WAL flush, shared by the commits before it; see
storage/sqlite_sync.py). ``--profile FILE``
runs the crosspost client under cProfile and writes its statistics to FILE (the profile method
of BENCHMARKS.md: ``python -m pstats FILE`` or ``benchmarks/profile_report.py FILE`` reads it);
its CPU figures then include the profiler's cost, so only the shares are meaningful.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from databases import fresh_schema
from emulator_process import EmulatorProcess
from figures import emit
from minimal_tiktok import CREATOR_INFO, STATUS, VIDEO_INIT, call, put_video, video_init

NAME = "engine_overhead"
POSTS, ACCOUNTS = 1000, 50
QUICK_POSTS, QUICK_ACCOUNTS = 20, 2
CONCURRENCY = 8
LIFTED = 10**9
OPTIONS = {"privacy_level": "SELF_ONLY", "allow_comment": True, "allow_duet": False, "allow_stitch": False}


def account_name(index: int) -> str:
    return f"bench{index:03d}"


# -- crosspost ------------------------------------------------------------------------------


def lift_client_limits() -> None:
    """Raise crosspost's client-side TikTok limits in this process only (see the module docstring)."""
    from crosspost.plugins.tiktok import client, publish

    for name in ("CREATOR_INFO_LIMIT", "INIT_LIMIT", "STATUS_LIMIT"):
        limit = getattr(client, name)
        setattr(client, name, client.EndpointLimit(name=limit.name, limit=LIFTED, window=limit.window))
    if not hasattr(publish, "DAILY_POST_CAP"):
        raise RuntimeError("crosspost.plugins.tiktok.publish.DAILY_POST_CAP is gone: update this benchmark")
    publish.DAILY_POST_CAP = LIFTED  # a constant, patched on purpose (see the module docstring)


async def run_crosspost(info: dict[str, Any], video: Path, posts: int, workdir: Path,
                        concurrency: int, *, count_sql: bool = False, db: str | None = None) -> dict[str, Any]:
    from crosspost.core.accounts import Account
    from crosspost.core.convert import post_from_dict
    from crosspost.core.hub import Hub
    from crosspost.core.secrets import generate_key
    from crosspost.core.settings import Settings

    lift_client_limits()
    creators = info["creators"]
    settings = Settings.from_env({
        "CROSSPOST_DB": db or str(workdir / "crosspost.db"), "CROSSPOST_DATA_DIR": str(workdir),
        "CROSSPOST_SECRET_KEY": generate_key(), "CROSSPOST_TIKTOK_API_BASE": info["base_url"],
        "CROSSPOST_TIKTOK_CLIENT_KEY": info["client_key"],
        "CROSSPOST_TIKTOK_CLIENT_SECRET": info["client_secret"],
        "CROSSPOST_CONCURRENCY": str(concurrency),
    })
    async with Hub.open(settings) as hub:
        for index, creator in enumerate(creators):
            await hub.accounts.add(Account(
                platform="tiktok", name=account_name(index), scopes=tuple(creator["scopes"]),
                secrets={"access_token": creator["access_token"], "refresh_token": creator["refresh_token"]},
                profile={"username": creator["username"], "open_id": creator["open_id"]}))
        batch = [post_from_dict({
            "content": f"Benchmark post {i} #crosspost", "targets": [f"tiktok:{account_name(i % len(creators))}"],
            "media": [{"type": "video", "path": str(video)}], "target_options": {"tiktok": OPTIONS},
        }) for i in range(posts)]
        counts = await count_statements(hub.storage) if count_sql else None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for post in batch:
            await hub.submit(post)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        await hub.run_worker(until_idle=True, concurrency=concurrency)
        cpu2, wall2 = time.process_time(), time.perf_counter()
        sql = dict(counts) if counts is not None else None
        flushes = getattr(hub.storage, "flushes", None)  # SQLite: WAL fdatasyncs for durable writes
        records = await hub.list_posts(limit=posts + 10)
    return {"wall_s": wall2 - wall0, "cpu_s": cpu2 - cpu0, "submit_wall_s": wall1 - wall0,
            "submit_cpu_s": cpu1 - cpu0, "run_wall_s": wall2 - wall1, "run_cpu_s": cpu2 - cpu1,
            "statuses": dict(collections.Counter(r.status.value for r in records)), "sql": sql,
            "flushes": flushes}


async def count_statements(storage: Any) -> collections.Counter[str]:
    """Count every SQL statement SQLite runs for crosspost (``--count-sql``; adds a little CPU).

    SQLite's own trace callback sees each statement as it runs, however it was sent (one
    aiosqlite call per statement, or a whole transaction in one call to aiosqlite's thread)."""
    counts: collections.Counter[str] = collections.Counter()

    def counted(sql: str) -> None:
        counts["statements"] += 1
        verb = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if verb == "COMMIT":
            counts["commits"] += 1
        if verb == "SELECT" and " FROM accounts " in f"{' '.join(sql.split())} ":
            counts["account_reads"] += 1
        counts["sql: " + re.sub(r"'[^']*'|\b\d+\b", "?", " ".join(sql.split()))[:100]] += 1

    await storage._db.set_trace_callback(counted)
    count_decryptions(counts)
    return counts


def count_decryptions(counts: collections.Counter[str]) -> None:
    """Count every account decryption (``SecretBox.decrypt`` with an account key, not a job's)."""
    from crosspost.core.secrets import SecretBox

    decrypt = SecretBox.decrypt

    def counted(self: SecretBox, token: bytes, *, associated: bytes) -> bytes:
        if not associated.startswith(b"checkpoint:"):
            counts["account_decryptions"] += 1
        return decrypt(self, token, associated=associated)

    SecretBox.decrypt = counted  # type: ignore[method-assign]


# -- the minimal client ---------------------------------------------------------------------


async def run_minimal(info: dict[str, Any], video: Path, posts: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    base = info["base_url"]
    creators = info["creators"]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    data = await asyncio.to_thread(video.read_bytes)
    size = len(data)
    statuses: collections.Counter[str] = collections.Counter()
    gate = asyncio.Semaphore(concurrency)

    async def publish(http: aiohttp.ClientSession, i: int) -> None:
        token = creators[i % len(creators)]["access_token"]
        async with gate:
            init = await call(http, base, token, VIDEO_INIT, video_init(f"Benchmark post {i} #crosspost", size))
            await put_video(http, init["upload_url"], data)
            while True:
                status = await call(http, base, token, STATUS, {"publish_id": init["publish_id"]})
                if status.get("status") in ("PUBLISH_COMPLETE", "FAILED"):
                    statuses[str(status["status"])] += 1
                    return

    async with aiohttp.ClientSession() as http:
        for creator in creators:
            await call(http, base, creator["access_token"], CREATOR_INFO, None)
        await asyncio.gather(*(publish(http, i) for i in range(posts)))
    return {"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0, "statuses": dict(statuses)}


# -- orchestration --------------------------------------------------------------------------


def run_client(client: str, video: Path, posts: int, accounts: int, concurrency: int, folder: Path, *,
               count_sql: bool, profile: str | None = None, db: str | None = None,
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """One client run against a fresh emulator: (client figures, emulator figures)."""
    workdir = folder / client
    workdir.mkdir()
    with EmulatorProcess(accounts) as emulator:
        info_file = workdir / "emulator.json"
        info_file.write_text(json.dumps(emulator.info))
        done = subprocess.run(
            [sys.executable, __file__, "--client", client, "--emulator-info", str(info_file), "--video", str(video),
             "--posts", str(posts), "--concurrency", str(concurrency), "--workdir", str(workdir),
             *(["--count-sql"] if count_sql else []), *(["--profile", profile] if profile else []),
             *(["--db", db] if db else [])],
            capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {client} client failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), emulator.final


def client_main(args: argparse.Namespace) -> None:
    info = json.loads(Path(args.emulator_info).read_text())
    video = Path(args.video)
    if args.client == "crosspost" and args.profile:
        import cProfile

        # The main thread's CPU clock: waiting in epoll costs nothing, and what aiosqlite's thread
        # spends shows as the gap between this profile's total and the process CPU figure.
        with cProfile.Profile(time.thread_time) as profiler:
            result = asyncio.run(run_crosspost(info, video, args.posts, Path(args.workdir), args.concurrency,
                                               count_sql=args.count_sql, db=args.db))
        profiler.dump_stats(args.profile)
    elif args.client == "crosspost":
        result = asyncio.run(run_crosspost(info, video, args.posts, Path(args.workdir), args.concurrency,
                                           count_sql=args.count_sql, db=args.db))
    else:
        result = asyncio.run(run_minimal(info, video, args.posts, args.concurrency))
    print(json.dumps(result))


def report(client: str, result: dict[str, Any], server: dict[str, Any], posts: int, accounts: int) -> None:
    common = {"posts": posts, "accounts": accounts, "statuses": result["statuses"]}
    emit(NAME, f"{client}_posts_per_s", posts / result["wall_s"], "posts/s", wall_s=result["wall_s"], **common)
    phases = {f"{phase}_cpu_ms_per_post": result[f"{phase}_cpu_s"] * 1000 / posts
              for phase in ("submit", "run") if f"{phase}_cpu_s" in result}
    emit(NAME, f"{client}_cpu_ms_per_post", result["cpu_s"] * 1000 / posts, "ms", cpu_s=result["cpu_s"],
         **phases, **common)
    if result.get("flushes") is not None:
        emit(NAME, f"{client}_flushes_per_post", result["flushes"] / posts, "fdatasync", **common,
             note="WAL flushes for durable writes, shared by the commits made before each")
    if result.get("sql"):
        emit(NAME, f"{client}_sql_statements_per_post", result["sql"].get("statements", 0) / posts, "statements",
             commits_per_post=result["sql"].get("commits", 0) / posts,
             account_reads_per_post=result["sql"].get("account_reads", 0) / posts,
             account_decryptions_per_post=result["sql"].get("account_decryptions", 0) / posts, **common,
             note="--count-sql: CPU figures of this run include the counting")
        kinds = {k[5:]: round(v / posts, 2) for k, v in result["sql"].items() if k.startswith("sql: ")}
        emit(NAME, f"{client}_sql_by_statement", len(kinds), "kinds", posts=posts,
             per_post=dict(sorted(kinds.items(), key=lambda kv: -kv[1])))
    serving = server.get("cpu_s", 0.0) - server.get("ready_cpu_s", 0.0)
    emit(NAME, f"{client}_emulator_cpu_ms_per_post", serving * 1000 / posts, "ms",
         requests=server.get("requests"), routes=server.get("routes"), **common,
         note="the emulator process's CPU while serving, for scale")


def main() -> None:
    parser = argparse.ArgumentParser(description="crosspost's per-post cost vs a minimal client, same emulator.")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_POSTS} posts over {QUICK_ACCOUNTS} accounts")
    parser.add_argument("--posts", type=int)
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--count-sql", action="store_true",
                        help="also count crosspost's SQL statements and commits per post (adds a little CPU)")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the crosspost client under cProfile and write its statistics to FILE")
    parser.add_argument("--db", help="a postgresql:// URL: crosspost's storage in a fresh schema of it "
                                     "(default: a fresh SQLite file, as shipped)")
    parser.add_argument("--client", choices=("crosspost", "minimal"), help=argparse.SUPPRESS)
    parser.add_argument("--emulator-info", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    posts = args.posts or (QUICK_POSTS if args.quick else POSTS)
    accounts = args.accounts or (QUICK_ACCOUNTS if args.quick else ACCOUNTS)
    from crosspost.testing.media import make_video

    if args.count_sql and args.db:
        parser.error("--count-sql counts SQLite's statements; leave out --db")
    with tempfile.TemporaryDirectory(prefix="crosspost-bench-") as tmp, fresh_schema(args.db) as db:
        folder = Path(tmp)
        video = make_video(folder / "clip.mp4")
        results = {}
        profile = str(Path(args.profile).resolve()) if args.profile else None
        for client in ("crosspost", "minimal"):
            ours = client == "crosspost"
            result, server = run_client(client, video, posts, accounts, args.concurrency, folder,
                                        count_sql=args.count_sql and ours, profile=profile if ours else None,
                                        db=db if ours else None)
            report(client, result, server, posts, accounts)
            results[client] = result
    ours, floor = results["crosspost"], results["minimal"]
    emit(NAME, "cpu_ratio", ours["cpu_s"] / floor["cpu_s"], "ratio", posts=posts,
         note="client CPU per post, crosspost / minimal client")
    emit(NAME, "extra_cpu_ms_per_post", (ours["cpu_s"] - floor["cpu_s"]) * 1000 / posts, "ms", posts=posts,
         note="what crosspost's validation, storage, hooks, retries and bookkeeping add per post")
    emit(NAME, "throughput_ratio", floor["wall_s"] / ours["wall_s"], "ratio", posts=posts,
         note="crosspost posts/s over the minimal client's")


if __name__ == "__main__":
    main()
