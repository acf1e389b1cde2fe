"""The emulator on a real loopback port (uploads stream through a real socket; drops really drop).

The access log is off: request lines and headers would carry tokens.
"""

from __future__ import annotations

from aiohttp import web

from crosspost.plugins.bluesky.emulator.app import make_app
from crosspost.plugins.bluesky.emulator.state import EmulatorState
from crosspost.testing.faults import FaultPlan
from crosspost.testing.loopback import LoopbackServer


class BlueskyEmulatorServer(LoopbackServer):
    """Runs :func:`make_app` on ``host:port``; ``async with`` or ``start()`` / ``stop()``."""

    label = "the Bluesky emulator"

    def __init__(self, state: EmulatorState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = state if state is not None else EmulatorState()

    def make_app(self) -> web.Application:
        return make_app(self.state)

    @property
    def url(self) -> str:
        """The service URL (``base_url``), as Bluesky's settings name it."""
        return self.base_url

    @property
    def faults(self) -> FaultPlan:
        """Generic scripted faults (the contract suite drives them)."""
        return self.state.plan

    def posts_created(self) -> int:
        return len(self.state.posts())
