"""``EmulatorServer``: the emulator on a real loopback port, for tests, demos and benchmarks.

Real HTTP matters: uploads must stream through a real socket (mocks never stream request
bodies, RELIABILITY.md), and dropped connections must really drop. Port 0 picks a free port;
``base_url`` is what clients use in place of ``https://open.tiktokapis.com``. The access log is
off because request lines carry upload tokens and authorization codes.
"""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from .app import make_app
from .media_host import media_prefix
from .state import EmulatorState


class EmulatorServer:
    """Runs :func:`make_app` on ``host:port``; use ``async with`` or ``start()`` / ``close()``."""

    def __init__(self, state: EmulatorState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state if state is not None else EmulatorState()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:{port}`` (or ``http://[::1]:{port}``) once started."""
        if self._runner is None:
            raise RuntimeError("the emulator server is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literals need brackets
        return f"http://{host}:{self.port}"

    @property
    def media_url(self) -> str:
        """Where the emulator's own media host serves files (a prefix it counts as verified)."""
        return media_prefix(self.base_url)

    async def start(self) -> None:
        """Serve; the emulator's media prefix joins ``state.verified_url_prefixes`` (a media
        host TikTok would not trust is no use), unless a config call replaces that list."""
        if self._runner is not None:
            return
        runner = web.AppRunner(make_app(self.state), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        if self.media_url not in self.state.verified_url_prefixes:
            self.state.verified_url_prefixes = (*self.state.verified_url_prefixes, self.media_url)

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._runner is not None else "stopped"
        return f"<EmulatorServer {where}>"
