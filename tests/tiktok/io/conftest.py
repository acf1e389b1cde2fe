"""Fixtures for the TikTok I/O tests: the emulator on loopback, a fake job context, media.

Every test that moves bytes talks to :mod:`crosspost.plugins.tiktok.emulator` over real
loopback HTTP. Time is a :class:`FakeClock` shared by the emulator, the rate gate and the
platform, so upload-URL expiry, rate windows and backoff never wait on the wall clock.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import shutil
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.models import Target
from crosspost.plugins.tiktok.client import RetryPolicy
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer, EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext, MemoryAccountAccess, MemoryRateGate, isolated_settings
from crosspost.testing.media import make_video

CLIENT_KEY = "emu-client-key"
CLIENT_SECRET = "emu-client-secret"


class CountingRateGate(MemoryRateGate):
    """The in-memory gate (kept as a name the tests import)."""


class FileServer:
    """Serves registered local files from a loopback aiohttp server (a CDN, or a media host:
    its :meth:`host` is a ``host_media`` implementation)."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        self.base_url = ""
        self.served: list[str] = []
        self._ids = itertools.count()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/media/{name}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/media/"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def add(self, path: str | Path, *, name: str | None = None) -> str:
        """Serve ``path`` (under ``name``, default a fresh unique name) and return its URL."""
        name = name or f"{next(self._ids)}-{Path(path).name}"
        self.files[name] = Path(path)
        return self.base_url + name

    async def host(self, path: str) -> str:
        return self.add(path)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.files:
            raise web.HTTPNotFound()
        self.served.append(name)
        return web.FileResponse(self.files[name])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    return EmulatorState(clock=clock.timestamp, processing_polls=1, rng_seed=7)


@pytest.fixture
async def server(state: EmulatorState) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(state) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trust_env=False) as session:
        yield session


@pytest.fixture
async def media_host(state: EmulatorState) -> AsyncIterator[FileServer]:
    """A media host whose URLs the emulator treats as verified (as an S3 bucket on a verified domain)."""
    host = FileServer()
    await host.start()
    state.verified_url_prefixes = (*state.verified_url_prefixes, host.base_url)
    yield host
    await host.close()


@pytest.fixture
async def cdn() -> AsyncIterator[FileServer]:
    """A loopback stand-in for a third-party CDN (not verified with TikTok)."""
    server = FileServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def creator(state: EmulatorState) -> Creator:
    return state.add_creator(username="sunset.creator", nickname="Sunset Creator")


def account_for(creator: Creator, clock: FakeClock, *, expires_in: float = 86_400) -> Account:
    return Account(
        platform="tiktok", name="main",
        secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
        profile={"open_id": creator.open_id, "username": creator.username},
        access_expires_at=clock.now() + timedelta(seconds=expires_in),
    )


@pytest.fixture
def account(creator: Creator, clock: FakeClock) -> MemoryAccountAccess:
    return MemoryAccountAccess(account_for(creator, clock))


@pytest.fixture
def settings_env(server: EmulatorServer) -> dict[str, str]:
    return {
        "CROSSPOST_TIKTOK_API_BASE": server.base_url,
        "CROSSPOST_TIKTOK_CLIENT_KEY": CLIENT_KEY,
        "CROSSPOST_TIKTOK_CLIENT_SECRET": CLIENT_SECRET,
        "CROSSPOST_ALLOW_HOSTS": "127.0.0.1",
    }


@pytest.fixture
def rate(clock: FakeClock) -> CountingRateGate:
    return CountingRateGate(clock)


@pytest.fixture
def make_ctx(
    tmp_path: Path, http: aiohttp.ClientSession, clock: FakeClock, account: MemoryAccountAccess,
    rate: CountingRateGate, settings_env: dict[str, str],
) -> Callable[..., FakeJobContext]:
    """``make_ctx(job_id=..., media_host=..., env={...}, checkpoint=...)``: a fresh job context."""
    counter = itertools.count(1)

    def build(*, env: Mapping[str, str] | None = None, **kwargs: Any) -> FakeJobContext:
        settings = isolated_settings(tmp_path / "data", {**settings_env, **(env or {})})
        kwargs.setdefault("job_id", f"job-{next(counter)}")
        kwargs.setdefault("account", account)
        kwargs.setdefault("rate", rate)
        return FakeJobContext(target=Target(platform="tiktok", account="main"), http=http, settings=settings,
                              clock=clock, **kwargs)

    return build


@pytest.fixture
def platform() -> TikTokPlatform:
    return TikTokPlatform(retry=RetryPolicy(attempts=10, total_time=3600), poll=PollPolicy(),
                          rng=random.Random(1234))


_VIDEO_CACHE: dict[tuple[str, int | None], Path] = {}


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("videos")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def video(video_dir: Path) -> Callable[..., Path]:
    """``video(container="mp4", size=None)``: a real playable video, padded (sparsely) to ``size``."""

    def build(container: str = "mp4", size: int | None = None) -> Path:
        key = (container, size)
        if key not in _VIDEO_CACHE:
            path = video_dir / f"clip-{container}-{size or 'natural'}.{container}"
            make_video(path, container=container, pad_to=size)  # type: ignore[arg-type]
            _VIDEO_CACHE[key] = path
        return _VIDEO_CACHE[key]

    return build
