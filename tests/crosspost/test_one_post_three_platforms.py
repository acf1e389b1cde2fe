"""Issue 15: ONE post to tiktok:main, mastodon:main and bluesky:main, with a different
``target_options.<platform>.content`` each, is published to all three through the Hub.

The three emulators are started the way a user's code would find them (``Platform.emulator()``),
``main`` is connected on each through ``Hub.connect_account``, and the post goes through the
queue (``submit`` then ``run_worker(until_idle=True)``). Each emulator's own state is then read:
exactly one post each, carrying exactly that platform's override text.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings

PLATFORMS = ("tiktok", "mastodon", "bluesky")
SHARED = "The shared text, which no platform should receive #crosspost"
OVERRIDES = {
    "tiktok": "TikTok's own photo title",
    "mastodon": "Mastodon's own status text #fediverse",
    "bluesky": "Bluesky's own post text",
}
PHOTO = Path(__file__).resolve().parents[2] / "plugins" / "bluesky" / "assets" / "photo.jpg"


def shared_post() -> Post:
    options: dict[str, dict[str, Any]] = {name: {"content": text} for name, text in OVERRIDES.items()}
    options["tiktok"].update(privacy_level="SELF_ONLY", allow_comment=False)
    options["mastodon"]["visibility"] = "unlisted"
    options["bluesky"]["langs"] = ["en", "de"]
    return Post(content=SHARED, targets=tuple(Target.parse(f"{name}:main") for name in PLATFORMS),
                media=(Media(type=MediaKind.IMAGE, path=str(PHOTO), alt="Hills"),), target_options=options)


async def test_one_post_with_overrides_reaches_tiktok_mastodon_and_bluesky_once_each(tmp_path: Path) -> None:
    hooks = Hooks(make_plugin_manager())
    env = {"CROSSPOST_DB": str(tmp_path / "hub.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
           "CROSSPOST_SECRET_KEY": generate_key()}
    async with contextlib.AsyncExitStack() as stack:
        running = {}
        for name in PLATFORMS:
            emulator = hooks.platform(name).emulator()
            assert emulator is not None, name
            running[name] = await emulator.start()
            stack.push_async_callback(running[name].stop)
            env.update(running[name].env)
            for plugin in running[name].plugins:
                hooks.register(plugin)
                stack.callback(hooks.unregister, plugin)
        hub = await stack.enter_async_context(Hub.open(Settings.from_env(env), hooks=hooks))
        for name in PLATFORMS:
            await hub.connect_account(name, "main", running[name].account)
        stored = await hub.submit(shared_post())
        await hub.run_worker(until_idle=True)
        record = await hub.get(stored.id)
        statuses = {str(t.target): t.status for t in record.targets}
        assert statuses == {f"{name}:main": JobStatus.PUBLISHED for name in PLATFORMS}, record.targets

    tiktok, mastodon, bluesky = (running[name].handle.state for name in PLATFORMS)
    [published] = tiktok.published
    assert published.request_body["post_info"]["title"] == OVERRIDES["tiktok"]
    assert published.request_body["post_info"]["privacy_level"] == "SELF_ONLY"
    assert len(published.items) == 1, "the photo went with the TikTok post"
    [status] = mastodon.statuses.values()
    assert (status.text, status.visibility, len(status.media_ids)) == (OVERRIDES["mastodon"], "unlisted", 1)
    [sky] = bluesky.posts()
    assert (sky["value"]["text"], sky["value"]["langs"]) == (OVERRIDES["bluesky"], ["en", "de"])
    assert sky["value"]["embed"]["$type"] == "app.bsky.embed.images"
