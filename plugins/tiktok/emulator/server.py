"""``EmulatorServer``: the emulator on a real loopback port, for tests, demos and benchmarks.

Real HTTP matters: uploads must stream through a real socket (mocks never stream request
bodies, RELIABILITY.md), and dropped connections must really drop. Port 0 picks a free port;
``base_url`` is what clients use in place of ``https://open.tiktokapis.com``. The access log is
off because request lines carry upload tokens and authorization codes.
"""

from __future__ import annotations

from aiohttp import web

from crosspost.testing.loopback import LoopbackServer

from .app import make_app
from .media_host import media_prefix
from .state import EmulatorState


class EmulatorServer(LoopbackServer):
    """Runs :func:`make_app` on ``host:port``; use ``async with`` or ``start()`` / ``close()``."""

    label = "the emulator server"

    def __init__(self, state: EmulatorState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = state if state is not None else EmulatorState()

    def make_app(self) -> web.Application:
        return make_app(self.state)

    @property
    def media_url(self) -> str:
        """Where the emulator's own media host serves files (a prefix it counts as verified)."""
        return media_prefix(self.base_url)

    def on_started(self) -> None:
        """The emulator's media prefix joins ``state.verified_url_prefixes`` (a media host TikTok
        would not trust is no use), unless a config call replaces that list."""
        if self.media_url not in self.state.verified_url_prefixes:
            self.state.verified_url_prefixes = (*self.state.verified_url_prefixes, self.media_url)
