"""Fixtures for the emulator's own tests: a fake clock, a live emulator, a client, a media host.

Everything runs over real loopback HTTP; time moves only when a test advances ``emu_clock``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator

import aiohttp
import pytest
import yarl
from aiohttp import web

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState


@pytest.fixture
def emu_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu_state(emu_clock: FakeClock) -> EmulatorState:
    return EmulatorState(clock=emu_clock.timestamp, webhook_retry_delay_s=0.0)


@pytest.fixture
async def emu(emu_state: EmulatorState) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(emu_state) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def media_files() -> dict[str, bytes]:
    """Files the media host serves under ``/files/<name>``; tests fill it before pulling."""
    return {}


@pytest.fixture
async def media_host(media_files: dict[str, bytes]) -> AsyncIterator[yarl.URL]:
    """A loopback media server: ``/files/<name>``, ``/redirect/<name>`` (302) and 404s."""

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in media_files:
            raise web.HTTPNotFound()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return web.Response(body=media_files[name], content_type=content_type)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/files/{request.match_info['name']}")

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    app.router.add_get("/redirect/{name}", redirect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield yarl.URL(f"http://127.0.0.1:{runner.addresses[0][1]}")
    await runner.cleanup()
