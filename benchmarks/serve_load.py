"""Load on ``crosspost serve``: N concurrent creates against one server with W in-process workers.

    python benchmarks/serve_load.py [--posts 200] [--workers 2] [--backend sqlite|postgresql|both]

The server is a real process (``benchmarks/serve_process.py``); the TikTok emulator and a media
CDN run in this process on loopback. Every create carries its own ``Idempotency-Key`` and goes
to the RelayAPI dialect at once (one ``asyncio.gather``); the figures are the create latencies
(p50/p99/max, wall clock, as a client sees them), the number of errors, the posts stored (each
must be stored exactly once), and how many reached TikTok exactly once within ``--drain`` seconds.
PostgreSQL uses ``$CROSSPOST_TEST_POSTGRES`` (or ``--postgres``) with a fresh schema per run.
Posts are spread over 20 creators (10 each, under TikTok's daily cap of 15); crosspost's own
per-token pacing is lifted in the server process (see serve_process.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import emit

from crosspost.core.accounts import Account
from crosspost.core.hub import Hub
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.testing.media import make_video

SERVER = Path(__file__).with_name("serve_process.py")
KEY = "sk_loadtest0001_" + "l" * 43
CREATORS = 20
NAME = "serve_load"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def cdn(folder: Path) -> tuple[web.AppRunner, str]:
    clip = make_video(folder / "clip.mp4", container="mp4")

    async def serve(_: web.Request) -> web.FileResponse:
        return web.FileResponse(clip)

    app = web.Application()
    app.router.add_get("/clip.mp4", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/clip.mp4"


async def postgres_schema(server: str) -> str:
    import asyncpg

    schema = f"serve_load_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    sep = "&" if "?" in server else "?"
    return f"{server}{sep}search_path={schema}"


async def run(backend: str, db: str, posts: int, workers: int, drain: float, folder: Path) -> None:
    runner, clip_url = await cdn(folder)
    state = EmulatorState(rate_limits=False, processing_polls=1, rng_seed=3)
    async with EmulatorServer(state) as emulator:
        env = {"CROSSPOST_DB": db, "CROSSPOST_DATA_DIR": str(folder), "CROSSPOST_SECRET_KEY": generate_key(),
               "CROSSPOST_TIKTOK_API_BASE": emulator.base_url, "CROSSPOST_TIKTOK_CLIENT_KEY": state.client_key,
               "CROSSPOST_TIKTOK_CLIENT_SECRET": state.client_secret, "CROSSPOST_ALLOW_HOSTS": "127.0.0.1",
               "SERVE_TEST_PORT": str(free_port()), "SERVE_TEST_KEY": KEY, "SERVE_TEST_WORKERS": str(workers),
               "SERVE_TEST_LIFT_LIMITS": "1"}
        async with Hub.open(Settings.from_env(env)) as hub:
            for n in range(CREATORS):
                creator = state.add_creator(username=f"load{n}", nickname=f"Load {n}")
                await hub.accounts.add(Account(
                    platform="tiktok", name=f"acct{n}", scopes=creator.scopes,
                    secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
                    profile={"username": creator.username, "open_id": creator.open_id}))
        log = (folder / f"server-{backend}.log").open("wb")
        proc = await asyncio.create_subprocess_exec(sys.executable, str(SERVER), env={**os.environ, **env},
                                                    stdout=asyncio.subprocess.PIPE, stderr=log)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if not line.startswith(b"READY "):
            raise SystemExit(f"the server did not start; see {log.name}")
        base = line.split()[1].decode()
        headers = {"Authorization": f"Bearer {KEY}"}
        latencies: list[float] = []
        errors: list[str] = []
        ids: list[str] = []

        async def create(n: int, http: aiohttp.ClientSession) -> None:
            body = {"content": f"load post {n} #serve", "targets": [f"tiktok:acct{n % CREATORS}"],
                    "media": [{"url": clip_url, "type": "video"}], "scheduled_at": "now",
                    "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                                  "allow_duet": True, "allow_stitch": True}}}
            started = time.perf_counter()
            async with http.post(f"{base}/relay/v1/posts", json=body,
                                 headers={**headers, "Idempotency-Key": f"load-{n}"}) as resp:
                reply = await resp.json()
                latencies.append(time.perf_counter() - started)
                if resp.status != 201:
                    errors.append(f"{resp.status} {reply}")
                else:
                    ids.append(reply["id"])

        try:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as http:
                wall = time.perf_counter()
                await asyncio.gather(*(create(n, http) for n in range(posts)))
                wall = time.perf_counter() - wall
                stored = await count_stored(http, base, headers)
                published = await wait_published(http, base, headers, posts, drain)
        finally:
            proc.terminate()
            await proc.wait()
            await runner.cleanup()
    context = {"backend": backend, "posts": posts, "workers": workers}
    emit(NAME, "create_p50", percentile(latencies, 0.5) * 1000, "ms", **context)
    emit(NAME, "create_p99", percentile(latencies, 0.99) * 1000, "ms", **context)
    emit(NAME, "create_max", max(latencies) * 1000, "ms", **context)
    emit(NAME, "create_mean", statistics.fmean(latencies) * 1000, "ms", **context)
    emit(NAME, "creates_wall", wall, "s", **context)
    emit(NAME, "errors", len(errors), "requests", **context, first=errors[0] if errors else None)
    emit(NAME, "posts_stored", stored, "posts", **context, distinct_ids=len(set(ids)))
    tiktok = [r for r in state.published if r.status == "PUBLISH_COMPLETE"]
    emit(NAME, "posts_published", published, "posts", **context, drain_s=drain,
         tiktok_publishes=len(state.published), tiktok_complete=len(tiktok))


async def count_stored(http: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> int:
    seen: list[str] = []
    cursor: str | None = "0"
    while cursor is not None:
        async with http.get(f"{base}/relay/v1/posts?limit=100&cursor={cursor}", headers=headers) as resp:
            page = await resp.json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)), "a post was listed twice"
    return len(seen)


async def wait_published(http: aiohttp.ClientSession, base: str, headers: dict[str, str], posts: int,
                         drain: float) -> int:
    deadline = time.monotonic() + drain
    published = 0
    while time.monotonic() < deadline:
        published = 0
        cursor: str | None = "0"
        while cursor is not None:
            async with http.get(f"{base}/relay/v1/posts?limit=100&cursor={cursor}", headers=headers) as resp:
                page = await resp.json()
            published += sum(p["status"] == "published" for p in page["data"])
            cursor = page["next_cursor"]
        if published >= posts:
            break
        await asyncio.sleep(1.0)
    return published


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get("CROSSPOST_TEST_POSTGRES"))
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to wait for every post to publish")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if backend == "sqlite":
                db = str(folder / "crosspost.db")
            elif not args.postgres:
                emit(NAME, "create_p50", None, "ms", backend=backend, note="no PostgreSQL: set --postgres")
                continue
            else:
                db = asyncio.run(postgres_schema(args.postgres))
            asyncio.run(run(backend, db, args.posts, args.workers, args.drain, folder))


if __name__ == "__main__":
    main()
