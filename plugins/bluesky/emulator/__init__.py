"""A stand-in for a Bluesky PDS and the video service, on loopback: ``crosspost bluesky
emulator``, ``crosspost demo`` and the tests start it through :class:`BlueskyEmulator`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crosspost.core.emulators import CrossPostPart, DemoPost, RunningEmulator
from crosspost.plugins.bluesky.emulator.server import BlueskyEmulatorServer
from crosspost.plugins.bluesky.emulator.state import EmulatorState

DEMO_HANDLE = "demo.test"
DEMO_APP_PASSWORD = "demo-demo-demo-demo"
FRIEND_HANDLE = "friend.test"
ASSETS = Path(__file__).resolve().parent.parent / "assets"

__all__ = ["DEMO_APP_PASSWORD", "DEMO_HANDLE", "BlueskyEmulator", "BlueskyEmulatorServer", "EmulatorState"]


class BlueskyEmulator:
    """:class:`crosspost.core.emulators.Emulator` for Bluesky: a demo account and a friend to mention."""

    def __init__(self, state: EmulatorState | None = None) -> None:
        self.state = state

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
        state = self.state or EmulatorState()
        state.add_account(DEMO_HANDLE, DEMO_APP_PASSWORD)
        state.add_account(FRIEND_HANDLE, "friend-friend-friend-friend")
        server = BlueskyEmulatorServer(state, host=host, port=port)
        await server.start()
        env = {"CROSSPOST_BLUESKY_SERVICE": server.url, "CROSSPOST_BLUESKY_VIDEO_SERVICE": server.url,
               "CROSSPOST_BLUESKY_POLL_INTERVAL": "0.05"}
        account = {"service": server.url, "handle": DEMO_HANDLE, "app_password": DEMO_APP_PASSWORD}
        return RunningEmulator(url=server.url, env=env, account=account, admin_url=f"{server.url}/admin",
                               handle=server)

    def cross_post(self, media_dir: str) -> CrossPostPart:
        """Bluesky's share of the demo's cross-post: a short text of its own, tagged English."""
        return CrossPostPart(options={"content": "One post, three platforms: the Bluesky post #crosspost",
                                      "langs": ["en"]}, photo=str(ASSETS / "photo.jpg"))

    def demo_posts(self, media_dir: str) -> Sequence[DemoPost]:
        """Rich text (a link, a tag, a mention), a photo with alt text, a thread, a video."""
        target = "bluesky:demo"
        long_text = " ".join(f"Part of a long story, sentence {i}: crosspost cuts it at word boundaries."
                             for i in range(1, 9))
        return (
            DemoPost(title="Rich text: a link, a #tag and an @mention become facets",
                     request={"content": f"Hello from crosspost https://example.com #crosspost @{FRIEND_HANDLE}",
                              "targets": [target], "target_options": {"bluesky": {"langs": ["en"]}}}),
            DemoPost(title="A photo with alt text and its aspect ratio",
                     request={"content": "A photo from the demo",
                              "media": [{"type": "image", "path": str(ASSETS / "photo.jpg"),
                                         "alt": "The demo's sample photo"}],
                              "targets": [target]}),
            DemoPost(title="Text over 300 graphemes, posted as a thread of replies",
                     request={"content": long_text, "targets": [target],
                              "target_options": {"bluesky": {"thread": True}}}),
            DemoPost(title="A video through the video service (upload, job polling)",
                     request={"content": "A short video", "targets": [target],
                              "media": [{"type": "video", "path": str(ASSETS / "sample.mp4"), "alt": "Sample clip"}]}),
        )
