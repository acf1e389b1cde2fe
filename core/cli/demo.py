"""``crosspost demo``: real publishes, end to end, on every bundled platform emulator, no setup.

For each loaded platform whose ``emulator()`` returns one, the demo starts it on a free loopback
port, connects its demo account through the platform's own ``connect_account`` (with the
values ``RunningEmulator.account`` gives), shows the account as the platform describes it, and
publishes the platform's ``demo_posts``. Everything is temporary (database, secret key,
emulators) and on loopback. The demo uses the same Hub, platforms and uploaders as real use;
only the settings differ (``RunningEmulator.env``), so platforms appear side by side here as soon
as they bundle an emulator, with no change to this module.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import global_options, run, state
from crosspost.core.cli.output import record_to_dict
from crosspost.core.emulators import DEMO_ACCOUNT, CrossPostPart, DemoPost, cross_post_part

if TYPE_CHECKING:
    from crosspost.core.cli.output import Output
    from crosspost.core.emulators import Emulator, RunningEmulator
    from crosspost.core.hub import Hub, PostRecord
    from crosspost.core.plugins import Hooks

    Started = tuple[str, Emulator, RunningEmulator]


class Demo:
    """The demo's steps, each printed as it happens."""

    def __init__(self, out: Output, hub: Hub, folder: Path) -> None:
        self.out = out
        self.hub = hub
        self.folder = folder
        self.records: list[tuple[str, PostRecord]] = []
        self.number = 1

    def heading(self, text: str) -> None:
        self.number += 1
        self.out.rich(f"\n[bold]{self.number}. {text}[/]")

    async def connect(self, platform: str, running: RunningEmulator) -> None:
        self.heading(f"Connect the {platform} emulator's demo account as {platform}:{DEMO_ACCOUNT}")
        stored = await self.hub.connect_account(platform, DEMO_ACCOUNT, running.account, replace=True)
        who = stored.profile.get("username")
        self.out.step(f"   credentials checked by {platform} and stored encrypted (AES-GCM) in the temporary "
                      "database" + (f"; it is @{who}" if who else ""))
        info = await self.hub.account_info(f"{platform}:{DEMO_ACCOUNT}")
        self.heading(f"Account info ({platform} asks apps to show this before posting)")
        for line in self.hub.hooks.platform(platform).announce(info):
            self.out.step(f"   {line}")
        for key, value in info.facts.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else value
            self.out.step(f"   {key.replace('_', ' ')}: {shown if shown not in (None, '') else '-'}")

    async def publish(self, demo_post: DemoPost) -> None:
        from crosspost.core.cli.progress import ProgressView
        from crosspost.core.convert import post_from_dict

        request = dict(demo_post.request)
        if demo_post.schedule_in is not None:
            when = (datetime.now(UTC) + timedelta(seconds=demo_post.schedule_in)).replace(microsecond=0)
            request["scheduled_at"] = when.isoformat().replace("+00:00", "Z")
        post = post_from_dict(request)
        self.heading(demo_post.title)
        for target in await self.hub.validate(post):
            self.out.step(f"   validated for {target} against its live settings")
        with ProgressView(self.out, chunk_size=demo_post.chunk_size) as view:
            if demo_post.schedule_in is None:
                record = await self.hub.publish(post, progress=view)
            else:
                stored = await self.hub.submit(post)
                self.out.record(stored, heading="Stored post", indent="   ")
                self.out.step("   running the worker (like `crosspost worker --until-idle`)...")
                await self.hub.run_worker(until_idle=True, progress=view)
                record = await self.hub.get(stored.id)
        if demo_post.report is not None:
            for line in demo_post.report([t.publish_id or "" for t in record.targets]):
                self.out.step(f"   {line}")
        self.out.record(record, heading="Post", indent="   ")
        self.records.append((demo_post.title, record))


SHARED_CONTENT = "One post, every platform: crosspost's demo #crosspost"


def cross_post(media: Path, started: list[Started]) -> DemoPost | None:
    """ONE post to every emulator that offers a share (each with its own ``content`` override
    and required options), with the first offered sample photo; None when fewer than two offer."""
    parts: dict[str, CrossPostPart] = {}
    for name, emulator, _ in started:
        part = cross_post_part(emulator, str(media / name))
        if part is not None:
            parts[name] = part
    if len(parts) < 2:
        return None
    targets = [f"{name}:{DEMO_ACCOUNT}" for name in parts]
    options = {name: dict(part.options) for name, part in parts.items()}
    request: dict[str, Any] = {"content": SHARED_CONTENT, "targets": targets, "target_options": options}
    photos = [part.photo for part in parts.values() if part.photo is not None]
    if photos:
        request["media"] = [{"type": "image", "path": photos[0], "alt": "The demo's sample photo"}]
    texts = {target: options[target.split(":")[0]].get("content", SHARED_CONTENT) for target in targets}
    return DemoPost(title=f"Cross-post: ONE post to {', '.join(targets)}, each with its own text",
                    request=request, report=lambda _ids: [f"{t} was sent: {text!r}" for t, text in texts.items()])


@contextlib.asynccontextmanager
async def demo_world(folder: Path, hooks: Hooks) -> AsyncIterator[tuple[Hub, list[Started]]]:
    """Every platform emulator, started, and a Hub on a temporary database and secret key."""
    from crosspost.core.cli.emulator_cmd import emulator_platforms
    from crosspost.core.hub import Hub
    from crosspost.core.plugins import Hooks
    from crosspost.core.secrets import generate_key
    from crosspost.core.settings import Settings

    async with contextlib.AsyncExitStack() as stack:
        started: list[Started] = []
        env = {"CROSSPOST_DB": str(folder / "demo.db"), "CROSSPOST_DATA_DIR": str(folder),
               "CROSSPOST_SECRET_KEY": generate_key()}
        plugins: list[object] = []
        for name, emulator in emulator_platforms(hooks).items():
            running = await emulator.start()
            stack.push_async_callback(running.stop)
            started.append((name, emulator, running))
            env.update(running.env)
            plugins.extend(running.plugins)
        demo_hooks = Hooks(hooks.pm)
        for plugin in plugins:
            demo_hooks.register(plugin)
        for plugin in plugins:
            stack.callback(demo_hooks.unregister, plugin)
        hub = await stack.enter_async_context(Hub.open(Settings.from_env(env), hooks=demo_hooks))
        yield hub, started


async def run_demo(out: Output, folder: Path, hooks: Hooks, *, temporary: bool = True) -> int:
    started_at = time.monotonic()
    out.rich("[bold]crosspost demo[/]: real posts, real bytes, on the bundled platform emulators. "
             "Nothing leaves this machine.")
    async with demo_world(folder, hooks) as (hub, started):
        if not started:
            out.error("No loaded platform bundles an emulator, so there is nothing to demonstrate.")
            return 1
        out.rich("\n[bold]1. Start the emulators and a temporary crosspost[/]")
        for name, _, running in started:
            out.step(f"   {name} emulator: {running.url} (its API, as strict as the real one)")
        out.step(f"   database: {folder / 'demo.db'} (temporary), secret key: temporary")
        demo = Demo(out, hub, folder)
        for name, emulator, running in started:
            await demo.connect(name, running)
            media = folder / "media" / name
            media.mkdir(parents=True, exist_ok=True)
            for demo_post in emulator.demo_posts(str(media)):
                await demo.publish(demo_post)
        shared = cross_post(folder / "media", started)
        if shared is not None:
            await demo.publish(shared)
    failed = [title for title, record in demo.records if record.status.value not in ("published", "inbox")]
    if out.json:
        out.data({"ok": not failed, "seconds": round(time.monotonic() - started_at, 1),
                  "posts": [{"step": title, **record_to_dict(r)} for title, r in demo.records]})
    else:
        _next_steps(out, time.monotonic() - started_at, failed, [n for n, _, _ in started],
                    kept=None if temporary else folder)
    return 1 if failed else 0


def _next_steps(out: Output, seconds: float, failed: list[str], platforms: list[str], *, kept: Path | None) -> None:
    if failed:
        out.error(f"\nThe demo finished in {seconds:.1f} s, but these steps did not publish: {', '.join(failed)}")
        return
    where = f"The database is kept in {kept}." if kept else "Everything above was temporary and is gone now."
    out.rich(f"\n[bold green]Done in {seconds:.1f} s.[/] {where}")
    out.rich("\n[bold]What next[/]")
    first = platforms[0]
    for command, what in (
        (f"crosspost emulator {first}", "keep an emulator running; it prints the settings and a ready account"),
        (f"crosspost accounts login {first} main", "log in to the real platform (`crosspost config` lists what "
                                                   "it needs)"),
        (f"crosspost accounts info {first}:main", "see what the account may post"),
        (f"crosspost post --to {first}:main --video clip.mp4 --caption 'Hi' --dry-run",
         "check a post, send nothing (`crosspost post --help` lists each platform's flags)"),
        ("crosspost --help", "everything else (list, status, reschedule, cancel, worker, ...)"),
    ):
        out.step(f"  {command}\n      {what}")


@click.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the demo's database and media in this folder instead of a temporary one.")
@global_options()
def demo(keep: Path | None) -> None:
    """Publish posts on every bundled platform emulator (a chunked video, a photo carousel, a
    draft and a scheduled post, where the platform offers them). No setup, no network, no
    platform app needed; about 10 seconds.
    """
    out = state().output
    hooks = state().hooks()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        code = run(lambda: run_demo(out, keep, hooks, temporary=False))
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="crosspost-demo-") as tmp:
            code = run(lambda: run_demo(out, Path(tmp), hooks))
    raise click.exceptions.Exit(code)


COMMANDS = [demo]
