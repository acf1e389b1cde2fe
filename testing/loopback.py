"""An aiohttp application on a real loopback port: what every bundled emulator runs on.

Real HTTP matters for emulators: uploads must stream through a real socket (mocks never stream
request bodies, RELIABILITY.md) and dropped connections must really drop. Port 0 picks a free
port; ``base_url`` is what clients use in place of the platform's address. The access log is off
because request lines and headers carry tokens and authorization codes.

Subclass, implement :meth:`make_app`, and optionally :meth:`on_started`; then ``async with`` it or
call ``start()`` / ``stop()`` (``close()`` is the same).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackServer:
    """Serves :meth:`make_app` on ``host:port`` until stopped."""

    label = "the emulator"
    """How errors name the server (``the Bluesky emulator is not running``)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        """The application to serve (built at each start)."""
        raise NotImplementedError

    def on_started(self) -> None:
        """Called once the port is known (e.g. to trust the server's own URLs)."""

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:{port}`` (or ``http://[::1]:{port}``) once started."""
        if self._runner is None:
            raise RuntimeError(f"{self.label} is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literals need brackets
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Serve; a port that cannot be had raises OSError (and nothing is left running)."""
        if self._runner is not None:
            return
        runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self.on_started()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def close(self) -> None:
        await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._runner is not None else "stopped"
        return f"<{type(self).__name__} {where}>"
