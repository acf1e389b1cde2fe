"""Shared helpers for the Bluesky tests: an emulator on loopback and connected accounts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import attrs

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.models import Post, Target
from crosspost.core.settings import Settings
from crosspost.plugins.bluesky.emulator import BlueskyEmulatorServer, EmulatorState
from crosspost.plugins.bluesky.platform import BlueskyPlatform
from crosspost.testing.context import FakeJobContext, MemoryAccountAccess, MemoryRateGate, isolated_settings

HANDLE = "alice.test"
APP_PASSWORD = "alic-epas-swor-d123"
FRIEND = "friend.test"


@attrs.define(kw_only=True)
class Service:
    """What ``connect_account`` and ``account_info`` get (a :class:`ServiceContext`)."""

    settings: Settings
    http: aiohttp.ClientSession
    clock: FakeClock
    rate: MemoryRateGate
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("tests.bluesky"))


@attrs.define(kw_only=True)
class Rig:
    server: BlueskyEmulatorServer
    http: aiohttp.ClientSession
    clock: FakeClock
    settings: Settings
    platform: BlueskyPlatform = attrs.field(factory=BlueskyPlatform)
    rate: MemoryRateGate = attrs.field(default=None)
    access: MemoryAccountAccess | None = None

    def __attrs_post_init__(self) -> None:
        self.rate = MemoryRateGate(self.clock)

    @property
    def state(self) -> EmulatorState:
        return self.server.state

    def service(self) -> Service:
        return Service(settings=self.settings, http=self.http, clock=self.clock, rate=self.rate)

    async def connect(self, handle: str = HANDLE, password: str = APP_PASSWORD) -> MemoryAccountAccess:
        account = await self.platform.connect_account(
            "main", {"service": self.server.url, "handle": handle, "app_password": password}, self.service())
        self.access = MemoryAccountAccess(account)
        return self.access

    def context(self, job_id: str = "job-1", **kwargs: Any) -> FakeJobContext:
        arguments: dict[str, Any] = {"target": Target(platform="bluesky", account="main"), "http": self.http,
                                     "settings": self.settings, "clock": self.clock, "account": self.access,
                                     "rate": self.rate, "job_id": job_id}
        arguments.update(kwargs)
        return FakeJobContext(**arguments)

    def records(self) -> list[dict[str, Any]]:
        return [p["value"] for p in self.state.posts()]


@asynccontextmanager
async def rig(tmp_path: Path, clock: FakeClock | None = None) -> AsyncIterator[Rig]:
    clock = clock or FakeClock()
    state = EmulatorState(clock=clock)
    state.add_account(HANDLE, APP_PASSWORD)
    state.add_account(FRIEND, "frie-ndpa-sswo-rd12")
    async with BlueskyEmulatorServer(state) as server, aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30)) as http:
        env = {"CROSSPOST_BLUESKY_SERVICE": server.url, "CROSSPOST_BLUESKY_VIDEO_SERVICE": server.url,
               "CROSSPOST_BLUESKY_POLL_INTERVAL": "1"}
        yield Rig(server=server, http=http, clock=clock, settings=isolated_settings(tmp_path, env))


def text_post(content: str, **options: Any) -> Post:
    return Post(content=content, targets=("bluesky:main",), target_options={"bluesky": options} if options else {})


def sliced(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode("utf-8")[index["byteStart"]:index["byteEnd"]].decode("utf-8")


def account_of(access: MemoryAccountAccess) -> Account:
    return access.account
