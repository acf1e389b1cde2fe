"""A running ``crosspost serve`` application for the tests, over the real TikTok plugin and emulator.

The server is the real aiohttp application on a loopback port (``aiohttp.test_utils.TestServer``),
with the hub on SQLite in ``tmp_path`` and the fake clock. No background loops run: tests run the
worker (``hub.run_worker(until_idle=True)``) and the outbox (``pump``/``deliver_due``) themselves,
so everything is deterministic. Seeds name media at ``https://cdn.example.com/...``: a
``rewrite_post`` plugin points those at a loopback CDN serving real files of the same names, so
request bodies stay exactly as the seeds print them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.hookspecs import hookimpl
from crosspost.core.hub import Hub
from crosspost.core.models import Media, Post, Target
from crosspost.core.serve import keys
from crosspost.core.serve.api import Api, Dialect
from crosspost.core.serve.app import make_app
from crosspost.core.serve.config import ServeConfig
from crosspost.core.serve.server import open_api
from crosspost.plugins.tiktok.demo import LoopbackMediaHost
from crosspost.plugins.tiktok.emulator import EmulatorServer
from crosspost.testing.media import make_image, make_video

ORIGINS = ("https://cdn.example.com/", "https://example.com/")


class Cdn:
    """A loopback stand-in for the seeds' CDN: any name ending .mp4 is a real clip, .jpg a photo."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{name}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def file_for(self, name: str) -> Path:
        path = self.folder / name
        if not path.exists():
            if name.endswith((".jpg", ".jpeg", ".png", ".webp")):
                make_image(path, width=1080, height=1350)
            else:
                make_video(path, container="mp4")
        return path

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self.file_for(request.match_info["name"]))


class SeedMedia:
    """``rewrite_post``: the seeds' CDN URLs served from the loopback CDN (bodies stay as written)."""

    def __init__(self, cdn: Cdn) -> None:
        self.cdn = cdn

    @hookimpl
    def rewrite_post(self, post: Post, target: Target) -> Post | None:
        del target
        changed = []
        for item in post.media:
            url = item.url or ""
            for origin in ORIGINS:
                if url.startswith(origin):
                    url = self.cdn.base_url + url[len(origin):].rsplit("/", 1)[-1]
            changed.append(attrs.evolve(item, url=url) if item.url else item)
        media: tuple[Media, ...] = tuple(changed)
        return attrs.evolve(post, media=media) if media != post.media else None


@attrs.define
class Served:
    client: TestClient[Any, Any]
    api: Api
    dialects: dict[str, Dialect]
    key: str
    hub: Hub
    emulator: EmulatorServer
    clock: FakeClock

    def headers(self, dialect: str, **extra: str) -> dict[str, str]:
        auth = {"x-api-key": self.key} if dialect == "postpost" else {"Authorization": f"Bearer {self.key}"}
        return {**auth, **extra}

    async def work(self) -> None:
        """Run every due job to its end, as the in-process worker would."""
        await self.hub.run_worker(until_idle=True)

    async def deliver(self) -> int:
        await self.api.outbox.pump()
        return await self.api.outbox.deliver_due()


@pytest.fixture
def crosspost_env() -> dict[str, str]:
    return {"CROSSPOST_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture
async def cdn(tmp_path: Path) -> AsyncIterator[Cdn]:
    folder = tmp_path / "cdn"
    folder.mkdir()
    server = Cdn(folder)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def media_host(tmp_path: Path, tiktok_emulator: EmulatorServer) -> AsyncIterator[LoopbackMediaHost]:
    """Where TikTok pulls photos from (a verified domain in the emulator)."""
    host = LoopbackMediaHost(tmp_path / "hosted")
    await host.start()
    state = tiktok_emulator.state
    state.verified_url_prefixes = (*state.verified_url_prefixes, host.prefix)
    yield host
    await host.close()


@pytest.fixture
def crosspost_plugins(cdn: Cdn, media_host: LoopbackMediaHost) -> list[object]:
    return [SeedMedia(cdn), media_host]


@pytest.fixture
def serve_config() -> ServeConfig:
    return ServeConfig(workers=0, allow_private_webhooks=True)


@pytest.fixture
async def served(crosspost_hub: Hub, tiktok_emulator: EmulatorServer, fake_clock: FakeClock,
                 serve_config: ServeConfig, crosspost_http: Any) -> AsyncIterator[Served]:
    creator = tiktok_emulator.state.add_creator(username="sunset.creator", nickname="Sunset Creator")
    await crosspost_hub.accounts.add(Account(
        platform="tiktok", name="main",
        secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
        profile={"open_id": creator.open_id, "username": creator.username},
        access_expires_at=fake_clock.now() + timedelta(days=1)))
    async with open_api(crosspost_hub, serve_config, webhook_http=crosspost_http) as (api, dialects):
        app = make_app(api, dialects)
        key, row = keys.mint("tests", now=fake_clock.now())
        await api.store.add_api_key(row)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield Served(client=client, api=api, dialects=dialects, key=key, hub=crosspost_hub,
                         emulator=tiktok_emulator, clock=fake_clock)
