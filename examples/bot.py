"""A chat bot that posts to TikTok on command, with crosspost embedded in its own event loop.

Real chat SDKs (discord.py, python-telegram-bot, aiogram) all hand you messages inside an asyncio
loop and let you reply from it. This example keeps that shape without the SDK: a :class:`Chat`
delivers :class:`Message` objects from a queue (stdin in the terminal, a test's script in
``tests/examples``) and sends replies. What it shows:

- ``Hub.open`` once for the bot's lifetime, and ``hub.run_worker`` as a background task, so
  posts, retries and scheduled posts run inside the bot's own process;
- ``!post <caption>`` stores a post with ``hub.submit`` (the chat message id is the post's
  ``idempotency_key``, so a redelivered message never posts twice) and returns at once;
- the result arrives through the ``target_published`` / ``target_failed`` lifecycle hooks of a
  plugin registered on the hub, and the bot answers in the channel that asked, with the post's
  link or the error's message; ``hub.subscribe`` tells the channel when a post has to wait
  (TikTok's daily cap, an account that needs a new login).

Try it against the bundled TikTok emulator (no TikTok app, nothing leaves this machine)::

    python examples/bot.py --emulator
    !post Hello from my bot #crosspost
    !status <id>

or with scripted input: ``printf '!post Hello\\n' | python examples/bot.py --emulator``.
Against TikTok, log in first (``crosspost accounts login tiktok main``) and run
``python examples/bot.py --target tiktok:main --video clip.mp4``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import attrs

import crosspost.plugins.tiktok
from crosspost.core import InvalidPost, Media, MediaKind, Post, Target, TargetResult, hookimpl
from crosspost.core.clock import Clock
from crosspost.core.errors import CrosspostError
from crosspost.core.hub import Hub, ProgressEvent
from crosspost.core.models import JobStatus
from crosspost.core.plugins import Hooks
from crosspost.core.secrets import generate_key, install_log_redaction
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer, EmulatorState

SAMPLE_VIDEO = Path(crosspost.plugins.tiktok.__file__).parent / "assets" / "sample.mp4"
"""The small valid 9:16 MP4 that ships with crosspost (what ``crosspost demo`` posts)."""
HELP = "Commands: !post <caption> (posts the bot's video), !status <post id>, !help"


@attrs.frozen(kw_only=True)
class Message:
    """One chat message, as a chat SDK would deliver it."""

    id: str
    channel: str
    author: str
    text: str


class Chat:
    """The smallest chat transport: messages come from a queue, replies go to ``send``.

    ``None`` in the queue means the chat closed (end of stdin, end of a test's script).
    """

    def __init__(self, send: Callable[[str, str], object] | None = None) -> None:
        self.inbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self._send = send or _print_reply

    async def messages(self) -> AsyncIterator[Message]:
        while (message := await self.inbox.get()) is not None:
            yield message

    async def reply(self, channel: str, text: str) -> None:
        self._send(channel, text)


def _print_reply(channel: str, text: str) -> None:
    print(f"[{channel}] bot: {text}", flush=True)


@attrs.frozen(kw_only=True)
class PostSettings:
    """What every ``!post`` publishes besides its caption (chosen by the bot's operator)."""

    target: Target
    video: Path
    privacy_level: str
    """TikTok requires the user to choose it (no default in crosspost); ``SELF_ONLY`` is the only
    level an unaudited TikTok app may use."""
    allow_comment: bool = False
    allow_duet: bool = False
    allow_stitch: bool = False

    def post(self, caption: str, *, key: str) -> Post:
        options = {"privacy_level": self.privacy_level, "allow_comment": self.allow_comment,
                   "allow_duet": self.allow_duet, "allow_stitch": self.allow_stitch}
        return Post(content=caption, targets=[self.target], idempotency_key=key,
                    media=[Media(type=MediaKind.VIDEO, path=str(self.video))],
                    target_options={self.target.platform: options})


class PostingBot:
    """Chat commands in, crosspost posts out, results back to the channel that asked.

    The instance is also a crosspost plugin: its ``target_published`` / ``target_failed`` methods
    are lifecycle hooks, called in this process by the worker that finished the job.
    """

    def __init__(self, hub: Hub, chat: Chat, settings: PostSettings) -> None:
        self.hub = hub
        self.chat = chat
        self.settings = settings
        self.channels: dict[str, str] = {}
        """Post id -> the channel that asked for it (posts of other processes are not ours)."""

    # -- commands ----------------------------------------------------------------------------

    async def handle(self, message: Message) -> None:
        command, _, rest = message.text.strip().partition(" ")
        try:
            if command == "!post":
                await self.post(message, rest.strip())
            elif command == "!status":
                await self.status(message, rest.strip())
            elif command == "!help":
                await self.chat.reply(message.channel, HELP)
        except CrosspostError as exc:  # an unknown post id, a missing account, TikTok unreachable
            await self.chat.reply(message.channel, f"Sorry: {exc}")

    async def post(self, message: Message, caption: str) -> None:
        if not caption:
            await self.chat.reply(message.channel, "Usage: !post <caption>")
            return
        post = self.settings.post(caption, key=f"chat:{message.channel}:{message.id}")
        try:
            record = await self.hub.submit(post)
        except InvalidPost as exc:
            problems = "; ".join(str(p) for p in exc.problems)
            await self.chat.reply(message.channel, f"I can't post that: {problems}")
            return
        self.channels[record.id] = message.channel
        lines = [f"Posting to {self.settings.target} (post {record.id})..."]
        lines += [_waiting(t) for t in record.targets if t.status is JobStatus.DEFERRED]  # e.g. the daily cap
        await self.chat.reply(message.channel, "\n".join(lines))

    async def status(self, message: Message, post_id: str) -> None:
        record = await self.hub.get(post_id)
        lines = [f"post {record.id}: {record.status.value}"]
        lines += [f"  {_describe(t)}" for t in record.targets]
        await self.chat.reply(message.channel, "\n".join(lines))

    # -- lifecycle hooks (called by the worker, in this process) -----------------------------

    @hookimpl
    async def target_published(self, post_id: str, result: TargetResult) -> None:
        if (channel := self.channels.pop(post_id, None)) is not None:
            await self.chat.reply(channel, _describe(result))

    @hookimpl
    async def target_failed(self, post_id: str, result: TargetResult) -> None:
        if (channel := self.channels.pop(post_id, None)) is not None:
            await self.chat.reply(channel, _describe(result))

    async def on_progress(self, event: ProgressEvent) -> None:
        """Progress listener: say so when a running post has to wait (cap, login); quiet otherwise."""
        if event.phase is JobStatus.DEFERRED and event.message and (channel := self.channels.get(event.post_id)):
            await self.chat.reply(channel, f"{event.target} has to wait: {event.message}")

    async def finish_pending(self) -> None:
        """Wait for this bot's posts that are under way (the worker keeps running meanwhile).
        Scheduled or deferred ones stay stored: a worker publishes them on a later run."""
        for post_id in list(self.channels):
            while True:
                record = await self.hub.get(post_id)
                if record.done or record.status in (JobStatus.SCHEDULED, JobStatus.DEFERRED):
                    break
                with contextlib.suppress(TimeoutError):
                    await self.hub.wait(post_id, timeout=5.0)


def _waiting(result: TargetResult) -> str:
    return f"{result.target} has to wait: {result.error.message if result.error else 'until later'}"


def _describe(result: TargetResult) -> str:
    if result.status is JobStatus.PUBLISHED and result.post_url:
        return f"Published to {result.target}: {result.post_url}"
    if result.status is JobStatus.PUBLISHED:  # TikTok links only public posts, after moderation
        return f"Published to {result.target} (no public link; publish_id {result.publish_id})"
    if result.status is JobStatus.INBOX:
        return f"Sent to the {result.target} inbox: open TikTok to finish it"
    reason = f": {result.error.message}" if result.error else ""
    return f"{result.target} {result.status.value}{reason}"


async def run_bot(hub: Hub, chat: Chat, settings: PostSettings) -> PostingBot:
    """Serve ``chat`` until it closes, with a worker in the background; returns once the posts
    the bot started are final (or waiting for their time) and the worker has stopped."""
    bot = PostingBot(hub, chat, settings)
    hub.hooks.register(bot, name="chat-bot")
    unsubscribe = hub.subscribe(bot.on_progress)
    stop = asyncio.Event()
    worker = asyncio.create_task(hub.run_worker(stop=stop), name="crosspost-worker")
    try:
        async for message in chat.messages():
            await bot.handle(message)
        await bot.finish_pending()
    finally:
        stop.set()
        await worker
        unsubscribe()
        hub.hooks.unregister(bot)
    return bot


# -- the bundled emulator, for trying the bot without a TikTok app ---------------------------

DEMO_ACCOUNT = "demo"


def emulator_settings(server: EmulatorServer, folder: Path) -> Settings:
    """Settings that point crosspost at ``server``, with a database and key in ``folder``."""
    return Settings.from_env({
        "CROSSPOST_DB": str(folder / "bot.db"),
        "CROSSPOST_DATA_DIR": str(folder),
        "CROSSPOST_SECRET_KEY": generate_key(),
        "CROSSPOST_TIKTOK_API_BASE": server.base_url,
        "CROSSPOST_TIKTOK_AUTH_BASE": server.base_url,
        "CROSSPOST_TIKTOK_CLIENT_KEY": server.state.client_key,
        "CROSSPOST_TIKTOK_CLIENT_SECRET": server.state.client_secret,
    })


async def add_emulator_account(hub: Hub, creator: Creator, name: str = DEMO_ACCOUNT) -> Target:
    """Connect the emulator creator's tokens as account ``tiktok:NAME`` through the Hub's neutral
    account API: TikTok checks them first, and they are stored encrypted with the profile."""
    await hub.connect_account("tiktok", name, {"access_token": creator.access_token,
                                               "refresh_token": creator.refresh_token,
                                               "scopes": ",".join(creator.scopes)}, replace=True)
    return Target(platform="tiktok", account=name)


@contextlib.asynccontextmanager
async def emulator_hub(folder: Path, *, clock: Clock | None = None,
                       hooks: Hooks | None = None) -> AsyncIterator[tuple[Hub, EmulatorServer, Target]]:
    """The TikTok emulator on a free loopback port, a hub pointed at it and a demo account.

    The emulator finishes processing as soon as the bytes are in (``processing_polls=0``), so a
    post completes on TikTok's first status answer. ``clock`` (a FakeClock in tests) drives both.
    """
    state = EmulatorState(processing_polls=0) if clock is None else \
        EmulatorState(processing_polls=0, clock=lambda: clock.now().timestamp())
    creator = state.add_creator(username="crosspost.bot", nickname="Crosspost Bot")
    async with EmulatorServer(state) as server, \
            Hub.open(emulator_settings(server, folder), clock=clock, hooks=hooks) as hub:
        yield hub, server, await add_emulator_account(hub, creator)


# -- the terminal --------------------------------------------------------------------------

def read_stdin(chat: Chat, loop: asyncio.AbstractEventLoop) -> None:
    """Feed stdin lines to ``chat`` as messages in channel ``#terminal`` (run in a thread)."""
    for line in sys.stdin:
        if line.strip():
            message = Message(id=uuid.uuid4().hex, channel="#terminal", author="you", text=line.rstrip("\n"))
            loop.call_soon_threadsafe(chat.inbox.put_nowait, message)
    loop.call_soon_threadsafe(chat.inbox.put_nowait, None)


async def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    install_log_redaction()  # tokens and upload URLs never reach a log line, whatever logging you set up
    chat = Chat()
    threading.Thread(target=read_stdin, args=(chat, asyncio.get_running_loop()), daemon=True).start()
    async with contextlib.AsyncExitStack() as stack:
        if args.emulator:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crosspost-bot-")))
            hub, server, target = await stack.enter_async_context(emulator_hub(folder))
            print(f"TikTok emulator on {server.base_url}; posting as {target}. {HELP}", flush=True)
        else:
            hub = await stack.enter_async_context(Hub.open())
            target = Target.parse(args.target)
            print(f"Posting as {target}. {HELP}", flush=True)
        privacy = args.privacy or ("PUBLIC_TO_EVERYONE" if args.emulator else "SELF_ONLY")
        settings = PostSettings(target=target, video=args.video.resolve(), privacy_level=privacy)
        await run_bot(hub, chat, settings)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="A chat bot that posts to TikTok through crosspost. "
                                                 "Type '!post <caption>' lines on stdin.")
    parser.add_argument("--emulator", action="store_true",
                        help="start the bundled TikTok emulator with a demo account (temporary database)")
    parser.add_argument("--target", default="tiktok",
                        help="account to post as, e.g. tiktok:main (default: your only TikTok account)")
    parser.add_argument("--video", type=Path, default=SAMPLE_VIDEO,
                        help="video every !post publishes (default: crosspost's sample)")
    parser.add_argument("--privacy",
                        help="privacy_level of every post: SELF_ONLY by default, PUBLIC_TO_EVERYONE with "
                             "--emulator (so TikTok gives a link); `crosspost creator` lists the options")
    return parser


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:  # the worker stopped at a safe point; unfinished posts resume next time
        sys.exit(130)
