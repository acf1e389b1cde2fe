"""A local stand-in for a Mastodon instance: ``crosspost mastodon emulator``, ``crosspost demo`` and tests.

:class:`EmulatorServer` runs :func:`make_app` on a real loopback port (uploads stream through a
real socket; dropped connections really drop); :class:`MastodonEmulator` is the neutral
:class:`~crosspost.core.emulators.Emulator` door core uses without naming Mastodon.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from crosspost.core.emulators import CrossPostPart, DemoPost, RunningEmulator
from crosspost.plugins.mastodon.emulator.app import make_app
from crosspost.plugins.mastodon.emulator.state import EmuAccount, EmulatorState, InstanceConfig, RouteFault
from crosspost.testing.faults import FaultPlan
from crosspost.testing.loopback import LoopbackServer

__all__ = ["EmuAccount", "EmulatorServer", "EmulatorState", "InstanceConfig", "MastodonEmulator", "RouteFault",
           "make_app"]

DEMO_ACCOUNT = "demo"


class EmulatorServer(LoopbackServer):
    """The emulator on ``host:port`` (0 picks a free port); ``async with`` or ``start``/``stop``."""

    def __init__(self, state: EmulatorState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = state if state is not None else EmulatorState()
        self.faults = FaultPlan()
        """Counts every request and scripts generic faults (the contract suite drives it)."""

    def make_app(self) -> web.Application:
        return make_app(self.state, self.faults)

    def posts_created(self) -> int:
        return len(self.state.statuses)


class MastodonEmulator:
    """The :class:`~crosspost.core.emulators.Emulator` for ``crosspost demo`` and ``crosspost emulator``."""

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
        state = EmulatorState(config=InstanceConfig(max_characters=1000))
        account = state.add_account(username="crosspost_demo", display_name="Crosspost Demo")
        server = EmulatorServer(state, host=host, port=port)
        await server.start()
        return RunningEmulator(url=server.base_url, env={}, admin_url=f"{server.base_url}/_emulator",
                               account={"instance": server.base_url, "access_token": account.token},
                               handle=server)

    def cross_post(self, media_dir: str) -> CrossPostPart:
        """Mastodon's share of the demo's cross-post: its own text, unlisted, and its sample photo
        (copied into ``media_dir``) offered as the shared image."""
        photo = Path(media_dir) / "mastodon-photo.jpg"
        shutil.copyfile(Path(__file__).parents[1] / "assets" / "photo.jpg", photo)
        return CrossPostPart(options={"content": "One post, three platforms: the Mastodon status #crosspost",
                                      "visibility": "unlisted"}, photo=str(photo))

    def demo_posts(self, media_dir: str) -> Sequence[DemoPost]:
        """A photo with alt text, and a text too long for one status posted as a thread; the
        sample photo is copied into ``media_dir``."""
        photo = Path(media_dir) / "mastodon-photo.jpg"
        shutil.copyfile(Path(__file__).parents[1] / "assets" / "photo.jpg", photo)
        media = [{"type": "image", "path": str(photo), "alt": "Hills under a pale sun, drawn for crosspost's demo"}]
        long_text = " ".join(["A thread: Mastodon instances set their own limits, and crosspost reads them."] * 16)
        target = f"mastodon:{DEMO_ACCOUNT}"
        return [
            DemoPost(title="A Mastodon status with a photo and alt text",
                     request={"targets": [target], "content": "Hello from crosspost! #crosspost https://example.org",
                              "media": media, "target_options": {"mastodon": {"visibility": "unlisted"}}}),
            DemoPost(title="A long text posted as a reply chain",
                     request={"targets": [target], "content": long_text,
                              "target_options": {"mastodon": {"thread": True, "language": "en"}}}),
        ]
