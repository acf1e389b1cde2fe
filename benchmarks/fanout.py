"""Fan-out: many posts over many TikTok accounts with TikTok's real limits on, drain time against
the bound those limits allow.

TikTok lets one token start 6 posts a minute (and 15 direct posts a creator a day). With P posts
per account, no client can finish before ``(ceil(P / 6) - 1)`` full windows have passed: that is
the bound. The question is whether crosspost's engine (claims, validation, storage, uploads,
polling) keeps up with it, or is itself the limit.

Both the emulator (its own process, ``emulator_process.py --rate-limits --speed S``) and
crosspost (``Hub.open(clock=ScaledClock(S))``) run on a clock S times faster than the wall, so
a minute's window passes in 60/S s of wall time while every byte and SQL statement still costs
what it costs. ``--workers N`` runs N worker processes on the same database (SQLite file, or
``--db postgresql://…``); posts are submitted first, then the workers drain them.
Printed: drain wall time, the bound, their ratio (target ≤ 1.1), posts per second, statuses,
and the emulator's count of ``rate_limit_exceeded`` answers (should be 0).
``--quick``: 20 accounts x 8 posts at 120x. ``--mastodon-accounts M`` adds M Mastodon accounts on
one emulated instance (same clock, its 300-requests-per-5-minutes window per token), each with
as many video posts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from databases import fresh_schema
from emulator_process import EmulatorProcess, ScaledClock
from figures import emit
from minimal_tiktok import CREATOR_INFO, STATUS, VIDEO_INIT, call, put_video, video_init

NAME = "fanout"
INITS_PER_WINDOW, WINDOW_S = 6, 60.0
OPTIONS = {"privacy_level": "SELF_ONLY", "allow_comment": True, "allow_duet": False, "allow_stitch": False}


def settings_for(info: dict[str, Any], db: str, workdir: Path, key: str, concurrency: int) -> Any:
    from crosspost.core.settings import Settings

    return Settings.from_env({
        "CROSSPOST_DB": db, "CROSSPOST_DATA_DIR": str(workdir), "CROSSPOST_SECRET_KEY": key,
        "CROSSPOST_TIKTOK_API_BASE": info["base_url"], "CROSSPOST_TIKTOK_CLIENT_KEY": info["client_key"],
        "CROSSPOST_TIKTOK_CLIENT_SECRET": info["client_secret"], "CROSSPOST_CONCURRENCY": str(concurrency),
    })


async def submit_all(info: dict[str, Any], args: argparse.Namespace, video: Path, workdir: Path) -> None:
    from crosspost.core.accounts import Account
    from crosspost.core.convert import post_from_dict
    from crosspost.core.hub import Hub

    settings = settings_for(info, args.db, workdir, args.key, args.concurrency)
    async with Hub.open(settings, clock=ScaledClock(args.speed)) as hub:
        for index, creator in enumerate(info["creators"]):
            await hub.accounts.add(Account(
                platform="tiktok", name=f"fan{index:04d}", scopes=tuple(creator["scopes"]),
                secrets={"access_token": creator["access_token"], "refresh_token": creator["refresh_token"]},
                profile={"username": creator["username"], "open_id": creator["open_id"]}))
        instance = info["mastodon"]
        for index, user in enumerate(instance["accounts"]):
            await hub.connect_account("mastodon", f"mfan{index:04d}",
                                      {"instance": instance["base_url"], "access_token": user["token"]})
        for i in range(args.posts_per_account * len(info["creators"])):
            await hub.submit(post_from_dict({
                "content": f"Fan-out {i}", "targets": [f"tiktok:fan{i % len(info['creators']):04d}"],
                "media": [{"type": "video", "path": str(video)}], "target_options": {"tiktok": OPTIONS}}))
        for i in range(args.posts_per_account * len(instance["accounts"])):
            await hub.submit(post_from_dict({
                "content": f"Fan-out {i}", "targets": [f"mastodon:mfan{i % len(instance['accounts']):04d}"],
                "media": [{"type": "video", "path": str(video), "alt": "a short clip"}],
                "target_options": {"mastodon": {"visibility": "unlisted"}}}))


async def drain(info: dict[str, Any], args: argparse.Namespace, workdir: Path) -> None:
    from crosspost.core.hub import Hub

    settings = settings_for(info, args.db, workdir, args.key, args.concurrency)
    async with Hub.open(settings, clock=ScaledClock(args.speed), upgrade=False) as hub:
        await hub.run_worker(until_idle=True)


async def statuses(info: dict[str, Any], args: argparse.Namespace, workdir: Path) -> dict[str, int]:
    from crosspost.core.hub import Hub

    settings = settings_for(info, args.db, workdir, args.key, args.concurrency)
    async with Hub.open(settings) as hub:
        records = await hub.list_posts(limit=10**6)
    found: dict[str, int] = {}
    for record in records:
        found[record.status.value] = found.get(record.status.value, 0) + 1
    return found


async def drain_minimal(info: dict[str, Any], args: argparse.Namespace, video: Path) -> None:
    """The reference: a minimal aiohttp client publishing the same TikTok posts against a fresh
    emulator, pacing inits as crosspost does (6 per token per 60 s + crosspost's 3 s margin, on
    the same scaled clock) and as many posts in flight (``--concurrency``). No storage, no
    validation, no retries: what any client needs, so the drain it reaches is the bound a
    machine can give, beside the one TikTok's limits give. Prints its drain wall time."""
    import bisect
    import collections

    import aiohttp

    from crosspost.plugins.tiktok.client import INIT_LIMIT

    clock, window = ScaledClock(args.speed), INIT_LIMIT.paced_window
    base, creators = info["base_url"], info["creators"]
    data = await asyncio.to_thread(video.read_bytes)
    size = len(data)
    sent: dict[str, list[float]] = collections.defaultdict(list)
    gate = asyncio.Semaphore(args.concurrency)

    async def init_slot(token: str) -> float:
        """Wait until one more init fits the token's sliding window, record it, return its time."""
        times = sent[token]
        while True:
            now = clock.monotonic()
            while times and times[0] <= now - window:
                times.pop(0)
            if len(times) < INIT_LIMIT.limit:
                times.append(now)
                return now
            await clock.sleep(times[0] + window - now)

    def answered(token: str, at: float) -> None:
        """The init recorded at ``at`` counts from its answer on (as crosspost's settle does)."""
        times = sent[token]
        times.remove(at)
        bisect.insort(times, clock.monotonic())

    async def publish(http: aiohttp.ClientSession, i: int) -> None:
        token = creators[i % len(creators)]["access_token"]
        async with gate:
            admitted = await init_slot(token)
            try:
                init = await call(http, base, token, VIDEO_INIT, video_init(f"Fan-out {i}", size))
            finally:
                answered(token, admitted)
            await put_video(http, init["upload_url"], data)
            while (await call(http, base, token, STATUS,
                              {"publish_id": init["publish_id"]})).get("status") != "PUBLISH_COMPLETE":
                await clock.sleep(1.0)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        for creator in creators:
            await call(http, base, creator["access_token"], CREATOR_INFO, None)
        await asyncio.gather(*(publish(http, i) for i in range(args.posts_per_account * len(creators))))
    print(json.dumps({"drain_wall_s": time.perf_counter() - started}))


def child_args(args: argparse.Namespace, info_file: Path, video: Path, workdir: Path, role: str) -> list[str]:
    return [sys.executable, __file__, "--role", role, "--emulator-info", str(info_file), "--video", str(video),
            "--workdir", str(workdir), "--db", args.db, "--speed", str(args.speed),
            "--posts-per-account", str(args.posts_per_account), "--concurrency", str(args.concurrency)]


def minimal_drain(args: argparse.Namespace, video: Path, folder: Path) -> tuple[float, float]:
    """The minimal client's drain wall time and the emulator's CPU seconds, on a fresh emulator."""
    with EmulatorProcess(args.accounts, rate_limits=True, speed=args.speed) as emulator:
        info_file = folder / "emulator-minimal.json"
        info_file.write_text(json.dumps(emulator.info))
        done = subprocess.run(child_args(args, info_file, video, folder, "minimal"),
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the minimal client failed: {done.stderr.strip()[-800:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["drain_wall_s"]), _serving_cpu(emulator.final)


def _serving_cpu(final: dict[str, Any]) -> float:
    """The emulator process's CPU seconds while serving (after it was ready)."""
    return float(final.get("cpu_s", 0.0)) - float(final.get("ready_cpu_s", 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description="Drain time of a fan-out vs the bound TikTok's limits allow.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--posts-per-account", type=int, default=12)
    parser.add_argument("--speed", type=float, default=30.0)
    parser.add_argument("--mastodon-accounts", type=int, default=0,
                        help="also this many Mastodon accounts on one emulated instance, as many posts each")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent jobs per worker")
    parser.add_argument("--db", help="SQLite path or postgresql:// URL (default: a fresh SQLite file)")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the minimal client's run on the same posts (the machine's bound)")
    parser.add_argument("--role", choices=("submit", "drain", "minimal"), help=argparse.SUPPRESS)
    parser.add_argument("--emulator-info", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        args.key = os.environ["FANOUT_SECRET_KEY"]  # from the parent: never on a command line
        info = json.loads(Path(args.emulator_info).read_text())
        jobs = {"submit": lambda: submit_all(info, args, Path(args.video), Path(args.workdir)),
                "drain": lambda: drain(info, args, Path(args.workdir)),
                "minimal": lambda: drain_minimal(info, args, Path(args.video))}
        asyncio.run(jobs[args.role]())
        return
    if args.quick:
        args.accounts, args.posts_per_account, args.speed = 20, 8, 120.0
    from crosspost.core.secrets import generate_key
    from crosspost.testing.media import make_video

    args.key = generate_key()
    os.environ["FANOUT_SECRET_KEY"] = args.key  # the children inherit it
    os.environ["FANOUT_EPOCH"] = str(time.time())  # and the instant their scaled clocks start from
    with tempfile.TemporaryDirectory(prefix="crosspost-fanout-") as tmp, fresh_schema(args.db) as db:
        folder = Path(tmp)
        args.db = db or str(folder / "crosspost.db")
        video = make_video(folder / "clip.mp4")
        with EmulatorProcess(args.accounts, rate_limits=True, speed=args.speed,
                             mastodon=args.mastodon_accounts) as emulator:
            info_file = folder / "emulator.json"
            info_file.write_text(json.dumps(emulator.info))
            subprocess.run(child_args(args, info_file, video, folder, "submit"), check=True)
            started = time.perf_counter()
            workers = [subprocess.Popen(child_args(args, info_file, video, folder, "drain"))
                       for _ in range(args.workers)]
            codes = [w.wait() for w in workers]
            wall = time.perf_counter() - started
            final = asyncio.run(statuses(emulator.info, args, folder))
        if any(codes):
            raise RuntimeError(f"a worker failed: exit codes {codes}")
        reference = None if args.no_reference or args.mastodon_accounts else minimal_drain(args, video, folder)
    routes = emulator.final.get("routes", {})
    refused = sum(n for route, n in routes.items() if route.endswith(" 429"))
    posts = (args.accounts + args.mastodon_accounts) * args.posts_per_account
    # Mastodon adds no wait of its own at these volumes (a few requests per post against 300 per
    # 5 minutes per account): TikTok's windows are the bound.
    bound = (math.ceil(args.posts_per_account / INITS_PER_WINDOW) - 1) * WINDOW_S / args.speed
    common = {"accounts": args.accounts, "mastodon_accounts": args.mastodon_accounts, "posts": posts,
              "workers": args.workers, "speed": args.speed,
              "backend": "postgresql" if args.db.startswith("postgres") else "sqlite", "statuses": final}
    emit(NAME, "drain_wall_s", wall, "s", bound_s=bound, emulator_cpu_s=_serving_cpu(emulator.final), **common)
    emit(NAME, "drain_vs_bound", wall / bound if bound else None, "ratio", target=1.1,
         within_target=bool(bound) and wall / bound <= 1.1, **common,
         **({} if bound else {"note": "one window holds every account's posts: no bound to compare with"}))
    emit(NAME, "posts_per_s", posts / wall, "posts/s", **common)
    if reference is not None:
        emit(NAME, "minimal_drain_wall_s", reference[0], "s", bound_s=bound, emulator_cpu_s=reference[1], **common,
             note="a minimal aiohttp client, same posts, pacing and concurrency, fresh emulator")
        emit(NAME, "drain_vs_minimal", wall / reference[0], "ratio", **common,
             minimal_vs_bound=reference[0] / bound if bound else None,
             note="crosspost's drain over the minimal client's: what the engine adds beyond what the machine allows")
    emit(NAME, "rate_limited_answers", refused, "answers", routes=routes, **common,
         note="HTTP 429 answers from the emulator (TikTok's rate_limit_exceeded): 0 expected")
    if args.mastodon_accounts:
        emit(NAME, "mastodon_rate_limited_answers", emulator.final.get("mastodon_refused"), "answers",
             statuses_created=emulator.final.get("mastodon_statuses"), routes=emulator.final.get("mastodon_routes"),
             **common, note="HTTP 429 answers from the Mastodon emulator: 0 expected")


if __name__ == "__main__":
    main()
