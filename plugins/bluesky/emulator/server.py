"""The emulator on a real loopback port (uploads stream through a real socket; drops really drop).

The access log is off: request lines and headers would carry tokens.
"""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from crosspost.plugins.bluesky.emulator.app import make_app
from crosspost.plugins.bluesky.emulator.state import EmulatorState
from crosspost.testing.faults import FaultPlan


class BlueskyEmulatorServer:
    """Runs :func:`make_app` on ``host:port``; ``async with`` or ``start()`` / ``stop()``."""

    def __init__(self, state: EmulatorState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state if state is not None else EmulatorState()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the Bluesky emulator is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def faults(self) -> FaultPlan:
        """Generic scripted faults (the contract suite drives them)."""
        return self.state.plan

    def posts_created(self) -> int:
        return len(self.state.posts())

    async def start(self) -> None:
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

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> BlueskyEmulatorServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._runner is not None else "stopped"
        return f"<BlueskyEmulatorServer {where}>"
