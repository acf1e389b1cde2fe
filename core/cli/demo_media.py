"""A loopback media host for ``crosspost demo``: serves local files so TikTok can pull them.

TikTok takes photos only by URL (PULL_FROM_URL) from a prefix verified for the app. In the demo
that prefix is this server's, registered with the emulator; the server plugs into crosspost
through the ordinary ``host_media`` hook, exactly as a user's own S3 or CDN plugin would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from aiohttp import web

from crosspost.core.hookspecs import hookimpl
from crosspost.core.models import Target

ROUTE = "/media/"


class LoopbackMediaHost:
    """Serves copies of local files at ``http://127.0.0.1:PORT/media/<name>`` until closed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @property
    def prefix(self) -> str:
        """The URL prefix every hosted file starts with (what the emulator verifies)."""
        return self.base_url + ROUTE

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_static(ROUTE, self.folder)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @hookimpl
    def host_media(self, path: str, target: Target) -> str | None:
        """Publish ``path`` under the media route (a hard link when possible, else a copy)."""
        del target
        source = Path(path)
        digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
        name = f"{digest}-{source.name}"
        hosted = self.folder / name
        if not hosted.exists():
            try:
                os.link(source, hosted)
            except OSError:
                shutil.copyfile(source, hosted)
        return self.prefix + name
