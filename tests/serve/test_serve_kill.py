"""A create retried after the client timed out, while the server (and its worker) is SIGKILLed
mid-upload, ends with exactly one TikTok post and the same post id.

The server runs as a real process (``benchmarks/serve_process.py``) on SQLite; the TikTok emulator and the
media CDN run here. The emulator delays the create's creator-info check (the client times out
while the server goes on) and each upload chunk (the kill lands after the first and before the
last).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from crosspost.core.accounts import Account
from crosspost.core.hub import Hub
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.testing.media import make_video

SERVER = Path(__file__).parents[2] / "benchmarks" / "serve_process.py"
KEY = "sk_killtest0001_" + "k" * 43
CHUNK = 10_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start(env: dict[str, str], log: Path) -> tuple[asyncio.subprocess.Process, str]:
    out = log.open("ab")
    proc = await asyncio.create_subprocess_exec(sys.executable, str(SERVER), env={**os.environ, **env},
                                                stdout=asyncio.subprocess.PIPE, stderr=out)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    assert line.startswith(b"READY "), await asyncio.to_thread(log.read_text)
    return proc, line.split()[1].decode()


@pytest.fixture
async def cdn(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    clip = make_video(tmp_path / "clip.mp4", container="mp4", pad_to=7 * CHUNK + 123_456)
    app = web.Application()
    async def serve_clip(_: web.Request) -> web.FileResponse:
        return web.FileResponse(clip)

    app.router.add_get("/clip.mp4", serve_clip)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/clip.mp4", clip
    await runner.cleanup()


async def until(check: Any, *, timeout: float = 60.0, log: Path | None = None) -> Any:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    text = await asyncio.to_thread(log.read_text) if log else ""
    raise AssertionError("timed out waiting; server log:\n" + text[-3000:])


@pytest.mark.slow
async def test_create_retried_after_timeout_while_server_dies_mid_upload_posts_once(
        tmp_path: Path, cdn: tuple[str, Path]) -> None:
    url, clip = cdn
    state = EmulatorState(rate_limits=False, processing_polls=1, rng_seed=11)
    async with EmulatorServer(state) as emulator:
        creator = state.add_creator(username="kill.serve", nickname="Kill Serve")
        env = {"CROSSPOST_DB": str(tmp_path / "crosspost.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
               "CROSSPOST_SECRET_KEY": generate_key(), "CROSSPOST_TIKTOK_API_BASE": emulator.base_url,
               "CROSSPOST_TIKTOK_CLIENT_KEY": state.client_key, "CROSSPOST_TIKTOK_CLIENT_SECRET": state.client_secret,
               "CROSSPOST_TIKTOK_CHUNK_SIZE": str(CHUNK), "CROSSPOST_ALLOW_HOSTS": "127.0.0.1",
               "SERVE_TEST_PORT": str(free_port()), "SERVE_TEST_KEY": KEY, "SERVE_TEST_WORKERS": "1"}
        async with Hub.open(Settings.from_env(env)) as hub:
            await hub.accounts.add(Account(
                platform="tiktok", name="main", scopes=creator.scopes,
                secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
                profile={"username": creator.username, "open_id": creator.open_id}))
        # The create's live checks wait on a slow creator_info, so the client times out while the
        # server goes on; then every upload chunk is slow, so the kill lands mid-upload.
        state.faults.add(route="creator_info", kind="delay", delay_s=2.0, times=1)
        state.faults.add(route="upload_put", kind="delay", delay_s=1.5, times=1000)
        log = tmp_path / "server.log"
        body = {"content": "Killed mid-upload #once", "targets": ["tiktok:main"],
                "media": [{"url": url, "type": "video"}], "scheduled_at": "now",
                "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                              "allow_duet": True, "allow_stitch": True}}}
        headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "kill-once-1"}
        server, base = await start(env, log)
        async with aiohttp.ClientSession() as http:
            with pytest.raises(asyncio.TimeoutError):  # the client gives up before the answer
                await http.post(f"{base}/relay/v1/posts", json=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=1.0))

            async def mid_upload() -> bool:
                return any(0 < r.transferred_bytes < (r.total_bytes or 0) for r in state.published)

            await until(mid_upload, log=log)
            server.kill()
            await server.wait()
            state.faults.clear()
            server, base = await start(env, log)

            async def retried() -> dict[str, Any] | None:
                async with http.post(f"{base}/relay/v1/posts", json=body, headers=headers) as resp:
                    if resp.status == 409:  # the dead request's claim has not expired yet
                        return None
                    assert resp.status == 201, await resp.text()
                    return dict(await resp.json())

            first = await until(retried, log=log)

            async def published() -> dict[str, Any] | None:
                async with http.get(f"{base}/relay/v1/posts/{first['id']}", headers=headers) as resp:
                    post = dict(await resp.json())
                    return post if post["status"] == "published" else None

            done = await until(published, log=log)
            again = await retried()
            server.terminate()
            assert await server.wait() == 0, log.read_text()[-2000:]
    assert again is not None
    assert again["id"] == first["id"] == done["id"]
    complete = [r for r in state.published if r.status == "PUBLISH_COMPLETE"]
    assert len(complete) == 1
    assert complete[0].sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert len(state.published) == 1  # the resumed upload used the same publish: no second init
