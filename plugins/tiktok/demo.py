"""TikTok's :class:`~crosspost.core.emulators.Emulator`: the bundled emulator (its own media host
included) and the posts ``crosspost demo`` makes on it.

``crosspost demo`` and ``crosspost emulator`` start it through ``TikTokPlatform.emulator()``
without knowing TikTok. TikTok takes photos only by URL from a prefix verified for the app; the
emulator serves ``/_emulator/media/`` and verifies it, and crosspost reaches it through the
ordinary ``host_media`` hook of the built-in PUT host (``CROSSPOST_MEDIA_PUT_URL`` in the
printed environment), exactly as a user's own S3 or CDN host would, from any process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crosspost.core.emulators import DEMO_ACCOUNT, CrossPostPart, DemoPost, RunningEmulator
from crosspost.core.hookspecs import hookimpl
from crosspost.core.models import Target

if TYPE_CHECKING:
    from aiohttp import web

    from crosspost.core.platform import RegisterPlatform
    from crosspost.plugins.tiktok.emulator import EmulatorServer

VIDEO_SIZE = 70_000_000
CHUNK_SIZE = 10_000_000
SCHEDULE_AHEAD_S = 3.0
POLL_SECONDS = 0.5
"""The emulator finishes processing at once: TikTok's minutes-scale backoff would only wait."""
ROUTE = "/media/"
DEMO_CREATOR: Mapping[str, Any] = {"username": "crosspost.demo", "nickname": "Crosspost Demo"}
TIKTOK_OPTIONS: Mapping[str, Any] = {"allow_comment": True, "allow_duet": False, "allow_stitch": False}


def assets() -> Path:
    """The sample media shipped with the TikTok plugin."""
    return Path(__file__).parent / "assets"


class LoopbackMediaHost:
    """Serves copies of local files at ``http://127.0.0.1:PORT/media/<name>`` until closed: an
    in-process ``host_media`` plugin for tests that run their own emulator (the kill test).
    ``crosspost emulator`` and the demo use the emulator's own media host instead."""

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
        from aiohttp import web

        app = web.Application()
        app.router.add_static(ROUTE, self.folder)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
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
        if target.platform != "tiktok":
            return None
        source = Path(path)
        digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
        hosted = self.folder / f"{digest}-{source.name}"
        if not hosted.exists():
            try:
                os.link(source, hosted)
            except OSError:
                shutil.copyfile(source, hosted)
        return self.prefix + hosted.name


@attrs.define(kw_only=True)
class TikTokEmulator:
    """The emulator with a ready creator; options mirror ``crosspost tiktok emulator``'s flags."""

    audited: bool = True
    private: bool = False
    verified: tuple[str, ...] = ()
    _server: EmulatorServer | None = None
    _seen: int = 0

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
        """The emulator, with its own media host: local photos reach it through the built-in PUT
        host (``CROSSPOST_MEDIA_PUT_URL``), from this process or any other, and the emulator
        verifies that prefix, so carousels work with ``crosspost emulator`` in one terminal and
        ``crosspost post`` in another."""
        from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

        state = EmulatorState(audited=self.audited, verified_url_prefixes=self.verified)
        creator = state.add_creator(**DEMO_CREATOR, private=self.private)
        server = EmulatorServer(state, host=host, port=port)
        await server.start()
        self._server = server
        env = {
            "CROSSPOST_TIKTOK_API_BASE": server.base_url,
            "CROSSPOST_TIKTOK_AUTH_BASE": server.base_url,
            "CROSSPOST_TIKTOK_CLIENT_KEY": state.client_key,
            "CROSSPOST_TIKTOK_CLIENT_SECRET": state.client_secret,
            "CROSSPOST_TIKTOK_VERIFIED_URL_PREFIXES": ",".join([server.media_url, *self.verified]),
            "CROSSPOST_MEDIA_PUT_URL": server.media_url,
            "CROSSPOST_TIKTOK_POLL_SECONDS": str(POLL_SECONDS),
            "CROSSPOST_TIKTOK_CHUNK_SIZE": str(CHUNK_SIZE),
        }
        return RunningEmulator(url=server.base_url, env=env, admin_url=f"{server.base_url}/_emulator/",
                               account={"access_token": creator.access_token,
                                        "refresh_token": creator.refresh_token},
                               handle=server, stopper=server.close)

    def demo_posts(self, media_dir: str) -> Sequence[DemoPost]:
        """A chunked video (the sample padded to 70 MB), a photo carousel, a draft, a scheduled post."""
        folder = Path(media_dir)
        video = padded_sample(folder)
        target = f"tiktok:{DEMO_ACCOUNT}"
        photos = [assets() / name for name in ("photo1.jpg", "photo2.jpg", "photo3.webp")]
        sample = assets() / "sample.mp4"
        return [
            DemoPost(title=f"Publish a video: the sample, padded to {VIDEO_SIZE / 1e6:.0f} MB -> FILE_UPLOAD in "
                           f"{VIDEO_SIZE // CHUNK_SIZE} chunks of {CHUNK_SIZE / 1e6:.0f} MB",
                     request=_request(target, "Sunset from crosspost's demo #crosspost #demo", [("video", video)],
                                      {**TIKTOK_OPTIONS, "privacy_level": "PUBLIC_TO_EVERYONE"}),
                     chunk_size=CHUNK_SIZE, report=lambda ids: self._report(ids, video)),
            DemoPost(title="Publish a photo carousel: 3 photos TikTok pulls from the demo's media host "
                           "(the host_media hook)",
                     request=_request(target, "Three skies #crosspost", [("image", p) for p in photos],
                                      {"allow_comment": True, "privacy_level": "PUBLIC_TO_EVERYONE"}),
                     report=lambda ids: self._report(ids, None)),
            DemoPost(title="Send a draft to the creator's TikTok inbox (they finish it in the app)",
                     request=_request(target, "A draft for later", [("video", sample)], {"draft": True}),
                     report=lambda ids: self._report(ids, None)),
            DemoPost(title=f"Schedule a post {SCHEDULE_AHEAD_S:.0f} s from now; a worker publishes it when due",
                     request=_request(target, "Posted on schedule #crosspost", [("video", sample)],
                                      {**TIKTOK_OPTIONS, "privacy_level": "SELF_ONLY"}),
                     schedule_in=SCHEDULE_AHEAD_S, report=lambda ids: self._report(ids, None)),
        ]

    def cross_post(self, media_dir: str) -> CrossPostPart:
        """TikTok's share of the demo's cross-post: a public photo post (the photo goes through
        the emulator's media host, like the carousel) whose title is its own text (short and
        without hashtags, so TikTok takes it as the photo title unchanged)."""
        return CrossPostPart(options={"content": "One post, three platforms: TikTok's own title",
                                      "privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True},
                             photo=str(assets() / "photo1.jpg"))

    def _report(self, publish_ids: Sequence[str], video: Path | None) -> list[str]:
        """What the emulator received since the last report, and a byte check of an upload."""
        if self._server is None:
            return []
        requests = self._server.state.requests
        seen = Counter(r.route for r in requests[self._seen:])
        self._seen = len(requests)
        lines = ["TikTok (emulated) received: " + ", ".join(f"{n} {route}" for route, n in seen.items())]
        publish = self._server.state.publishes.get(publish_ids[0]) if publish_ids else None
        if video is not None and publish is not None and publish.sha256 is not None:
            same = publish.sha256 == _sha256(video)
            lines.append(f"bytes check: TikTok got {publish.transferred_bytes:,} bytes, SHA-256 "
                         f"{'matches' if same else 'DIFFERS FROM'} the file")
        return lines


def _request(target: str, content: str, media: Sequence[tuple[str, Path]],
             options: Mapping[str, Any]) -> dict[str, Any]:
    return {"content": content, "targets": [target],
            "media": [{"type": kind, "path": str(path)} for kind, path in media],
            "target_options": {"tiktok": dict(options)}}


def padded_sample(folder: Path) -> Path:
    """A copy of the sample video grown to :data:`VIDEO_SIZE` bytes (sparse: no disk, no RAM)."""
    from crosspost.testing.media import _pad

    video = folder / "sample-70MB.mp4"
    shutil.copyfile(assets() / "sample.mp4", video)
    _pad(video, "mp4", VIDEO_SIZE)
    return video


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def fast_polling_tiktok() -> object:
    """A plugin registering the real TikTok platform, polling status every half second (tests
    that run the emulator in-process with their own plugin list)."""
    from crosspost.plugins.tiktok.config import PollPolicy
    from crosspost.plugins.tiktok.platform import TikTokPlatform

    class FastPollingTikTok:
        @hookimpl
        def register_platforms(self, register: RegisterPlatform) -> None:
            register(TikTokPlatform(poll=PollPolicy(first=POLL_SECONDS, factor=1.0, longest=POLL_SECONDS)))

    return FastPollingTikTok()
