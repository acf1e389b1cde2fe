"""``crosspost demo``: a real publish, end to end, on the bundled TikTok emulator, with no setup.

Everything is temporary (database, secret key, emulator, media host) and on loopback. The demo
uses the same Hub, TikTok platform and uploader as real use; only the base URL differs. The
sample video is padded (a sparse ISO BMFF ``free`` box) to ~70 MB so it really goes up in
several chunks, like a phone video would.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import global_options, run, state
from crosspost.core.cli.output import record_to_dict

if TYPE_CHECKING:
    from crosspost.core.cli.output import Output
    from crosspost.core.hub import Hub, PostRecord
    from crosspost.core.models import Post
    from crosspost.plugins.tiktok.emulator import EmulatorServer

DEMO_ACCOUNT = "demo"
VIDEO_SIZE = 70_000_000
CHUNK_SIZE = 10_000_000
SCHEDULE_AHEAD_S = 3
TIKTOK_OPTIONS: Mapping[str, Any] = {"allow_comment": True, "allow_duet": False, "allow_stitch": False}


def fast_polling_tiktok() -> object:
    """A plugin registering the real TikTok platform, polling status every half second: the
    emulator finishes processing at once, so TikTok's minutes-scale backoff would only make the
    demo wait."""
    from crosspost.core.hookspecs import hookimpl
    from crosspost.core.platform import RegisterPlatform
    from crosspost.plugins.tiktok.config import PollPolicy
    from crosspost.plugins.tiktok.platform import TikTokPlatform

    class FastPollingTikTok:
        @hookimpl
        def register_platforms(self, register: RegisterPlatform) -> None:
            register(TikTokPlatform(poll=PollPolicy(first=0.5, factor=1.0, longest=0.5)))

    return FastPollingTikTok()


def assets() -> Path:
    """The sample media shipped with the TikTok plugin."""
    import crosspost.plugins.tiktok

    return Path(crosspost.plugins.tiktok.__file__).parent / "assets"


def padded_sample(folder: Path) -> Path:
    """A copy of the sample video grown to :data:`VIDEO_SIZE` bytes (sparse: no disk, no RAM)."""
    import shutil

    from crosspost.testing.media import _pad

    video = folder / "sample-70MB.mp4"
    shutil.copyfile(assets() / "sample.mp4", video)
    _pad(video, "mp4", VIDEO_SIZE)
    return video


class Demo:
    """The demo's steps, each printed as it happens."""

    def __init__(self, out: Output, hub: Hub, server: EmulatorServer, folder: Path) -> None:
        self.out = out
        self.hub = hub
        self.server = server
        self.folder = folder
        self.target = f"tiktok:{DEMO_ACCOUNT}"
        self.records: list[tuple[str, PostRecord]] = []

    def heading(self, number: int, text: str) -> None:
        self.out.rich(f"\n[bold]{number}. {text}[/]")

    async def add_account(self) -> None:
        from crosspost.core.accounts import Account

        creator = self.server.state.add_creator(username="crosspost.demo", nickname="Crosspost Demo")
        self.heading(2, f"Add the demo creator as account {self.target}")
        await self.hub.accounts.add(Account(
            platform="tiktok", name=DEMO_ACCOUNT, profile={"username": creator.username},
            secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
            scopes=creator.scopes))
        self.out.step("   tokens stored encrypted (AES-GCM) in the temporary database")

    async def creator_info(self) -> None:
        from crosspost.core.cli.creator import show_creator
        from crosspost.core.cli.tiktok import creator_info
        from crosspost.core.models import Target

        self.heading(3, "Creator info (TikTok asks apps to show this before every post)")
        info = await creator_info(self.hub, Target.parse(self.target))
        if self.out.chatty:
            show_creator(self.out, self.target, info)

    async def publish(self, number: int, title: str, post: Post, *, chunk_size: int | None = None) -> PostRecord:
        from crosspost.core.cli.progress import ProgressView

        self.heading(number, title)
        mark = len(self.server.state.requests)
        for target in await self.hub.validate(post):
            self.out.step(f"   validated for {target} against the creator's live settings")
        with ProgressView(self.out, chunk_size=chunk_size) as view:
            record = await self.hub.publish(post, progress=view)
        self.report(record, mark)
        self.records.append((title, record))
        return record

    def report(self, record: PostRecord, mark: int) -> None:
        from collections import Counter

        seen = Counter(r.route for r in self.server.state.requests[mark:])
        said = ", ".join(f"{n} {route}" for route, n in seen.items())
        self.out.step(f"   TikTok (emulated) received: {said}")
        self.out.record(record, heading="Post", indent="   ")

    async def video(self) -> None:
        video = padded_sample(self.folder)
        chunks = VIDEO_SIZE // CHUNK_SIZE
        record = await self.publish(
            4, f"Publish a video: the sample, padded to {VIDEO_SIZE / 1e6:.0f} MB -> FILE_UPLOAD in {chunks} "
               f"chunks of {CHUNK_SIZE / 1e6:.0f} MB",
            self.post(content="Sunset from crosspost's demo #crosspost #demo", media=[("video", video)],
                      privacy="PUBLIC_TO_EVERYONE"), chunk_size=CHUNK_SIZE)
        publish = self.server.state.publishes.get(record.targets[0].publish_id or "")
        if publish is not None and publish.sha256 is not None:
            same = publish.sha256 == _sha256(video)
            self.out.step(f"   bytes check: TikTok got {publish.transferred_bytes:,} bytes, SHA-256 "
                          f"{'matches' if same else 'DIFFERS FROM'} the file")

    async def photos(self, host_prefix: str) -> None:
        photos = [("image", assets() / name) for name in ("photo1.jpg", "photo2.jpg", "photo3.webp")]
        await self.publish(
            5, f"Publish a photo carousel: 3 photos TikTok pulls from {host_prefix} (the host_media hook)",
            self.post(content="Three skies #crosspost", media=photos, privacy="PUBLIC_TO_EVERYONE",
                      allow_duet=None, allow_stitch=None))

    async def draft(self) -> None:
        await self.publish(
            6, "Send a draft to the creator's TikTok inbox (they finish it in the app)",
            self.post(content="A draft for later", media=[("video", assets() / "sample.mp4")], privacy=None,
                      draft=True))

    async def scheduled(self) -> None:
        from crosspost.core.cli.progress import ProgressView

        when = (datetime.now(UTC) + timedelta(seconds=SCHEDULE_AHEAD_S)).replace(microsecond=0)
        self.heading(7, f"Schedule a post for {when:%H:%M:%S} UTC ({SCHEDULE_AHEAD_S} s from now); a worker "
                        "publishes it when due")
        post = self.post(content="Posted on schedule #crosspost", media=[("video", assets() / "sample.mp4")],
                         privacy="SELF_ONLY", scheduled_at=when.isoformat().replace("+00:00", "Z"))
        record = await self.hub.submit(post)
        self.out.record(record, heading="Stored post", indent="   ")
        mark = len(self.server.state.requests)
        self.out.step("   running the worker (like `crosspost worker --until-idle`)...")
        with ProgressView(self.out) as view:
            await self.hub.run_worker(until_idle=True, progress=view)
        record = await self.hub.get(record.id)
        self.report(record, mark)
        self.records.append(("scheduled", record))

    def post(self, *, content: str, media: Sequence[tuple[str, Path]], privacy: str | None,
             draft: bool = False, scheduled_at: str = "now", **toggles: Any) -> Post:
        from crosspost.core.convert import post_from_dict

        options: dict[str, Any] = {**TIKTOK_OPTIONS, **toggles}
        options = {k: v for k, v in options.items() if v is not None}
        if privacy:
            options["privacy_level"] = privacy
        if draft:
            options = {"draft": True}
        return post_from_dict({
            "content": content, "targets": [self.target], "scheduled_at": scheduled_at,
            "media": [{"type": kind, "path": str(path)} for kind, path in media],
            "target_options": {"tiktok": options},
        })


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


@contextlib.asynccontextmanager
async def demo_world(folder: Path) -> AsyncIterator[tuple[Hub, EmulatorServer, str]]:
    """Emulator + loopback media host + a Hub on a temporary database and secret key."""
    from crosspost.core.cli.demo_media import LoopbackMediaHost
    from crosspost.core.hub import Hub
    from crosspost.core.plugins import Hooks, make_plugin_manager
    from crosspost.core.secrets import generate_key
    from crosspost.core.settings import Settings
    from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

    host = LoopbackMediaHost(folder / "hosted")
    await host.start()
    try:
        emulator_state = EmulatorState(verified_url_prefixes=[host.prefix])
        async with EmulatorServer(emulator_state) as server:
            settings = Settings.from_env({
                "CROSSPOST_DB": str(folder / "demo.db"),
                "CROSSPOST_DATA_DIR": str(folder),
                "CROSSPOST_SECRET_KEY": generate_key(),
                "CROSSPOST_TIKTOK_API_BASE": server.base_url,
                "CROSSPOST_TIKTOK_CLIENT_KEY": emulator_state.client_key,
                "CROSSPOST_TIKTOK_CLIENT_SECRET": emulator_state.client_secret,
                "CROSSPOST_TIKTOK_CHUNK_SIZE": str(CHUNK_SIZE),
                "CROSSPOST_TIKTOK_VERIFIED_URL_PREFIXES": host.prefix,
            })
            hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False,
                                              extra=[fast_polling_tiktok(), host]))
            async with Hub.open(settings, hooks=hooks) as hub:
                yield hub, server, host.prefix
    finally:
        await host.close()


async def run_demo(out: Output, folder: Path, *, temporary: bool = True) -> int:
    started = time.monotonic()
    out.rich("[bold]crosspost demo[/]: real posts, real bytes, on the bundled TikTok emulator. "
             "Nothing leaves this machine.")
    async with demo_world(folder) as (hub, server, prefix):
        out.rich("\n[bold]1. Start the TikTok emulator and a temporary crosspost[/]")
        out.step(f"   emulator: {server.base_url} (TikTok's API, as strict as TikTok)")
        out.step(f"   database: {folder / 'demo.db'} (temporary), secret key: temporary")
        demo = Demo(out, hub, server, folder)
        await demo.add_account()
        await demo.creator_info()
        await demo.video()
        await demo.photos(prefix)
        await demo.draft()
        await demo.scheduled()
    failed = [title for title, record in demo.records if record.status.value not in ("published", "inbox")]
    if out.json:
        out.data({"ok": not failed, "seconds": round(time.monotonic() - started, 1),
                  "posts": [{"step": title, **record_to_dict(r)} for title, r in demo.records]})
    else:
        _next_steps(out, time.monotonic() - started, failed, kept=None if temporary else folder)
    return 1 if failed else 0


def _next_steps(out: Output, seconds: float, failed: list[str], *, kept: Path | None) -> None:
    if failed:
        out.error(f"\nThe demo finished in {seconds:.1f} s, but these steps did not publish: {', '.join(failed)}")
        return
    where = f"The database is kept in {kept}." if kept else "Everything above was temporary and is gone now."
    out.rich(f"\n[bold green]Done in {seconds:.1f} s.[/] {where}")
    out.rich("\n[bold]What next[/]")
    for command, what in (
        ("crosspost emulator", "keep an emulator running; it prints the env vars and a ready token"),
        ("crosspost accounts login tiktok main", "log in to TikTok (set CROSSPOST_TIKTOK_CLIENT_KEY/_SECRET)"),
        ("crosspost creator tiktok:main", "see what the account may post"),
        ("crosspost post --to tiktok:main --video clip.mp4 --caption 'Hi' --privacy SELF_ONLY \\\n"
         "      --no-allow-comment --no-allow-duet --no-allow-stitch --dry-run", "check a post, send nothing"),
        ("crosspost --help", "everything else (list, status, reschedule, cancel, worker, ...)"),
    ):
        out.step(f"  {command}\n      {what}")


@click.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the demo's database and media in this folder instead of a temporary one.")
@global_options()
def demo(keep: Path | None) -> None:
    """Publish a video (in chunks), a photo carousel, a draft and a scheduled post on the
    bundled TikTok emulator. No setup, no network, no TikTok app needed; about 10 seconds.
    """
    out = state().output
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        code = run(lambda: run_demo(out, keep, temporary=False))
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="crosspost-demo-") as tmp:
            code = run(lambda: run_demo(out, Path(tmp)))
    raise click.exceptions.Exit(code)


COMMANDS = [demo]
