"""The platform's dry run and validation against the live creator, and its registration."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from crosspost.core.errors import InvalidPost
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.plugins.tiktok.chunks import plan_chunks
from crosspost.plugins.tiktok.emulator import Creator, EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext
from crosspost.testing.media import make_image

from .conftest import FileServer

TARGET = [Target(platform="tiktok", account="main")]
CHOICES = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": True, "allow_stitch": True}


def video_post(path: Path, **options: object) -> Post:
    return Post(content="dry run #plan", targets=TARGET, media=[Media(type=MediaKind.VIDEO, path=str(path))],
                target_options={"tiktok": {**CHOICES, **options}})


async def test_dry_run_lists_every_request_and_sends_only_creator_info(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState, creator: Creator,
    video: Callable[..., Path],
) -> None:
    clip = video("mp4", 70_000_000)
    ctx = make_ctx()

    planned = await platform.plan(video_post(clip), ctx)

    plan = plan_chunks(70_000_000)
    assert [p.method for p in planned] == ["POST", "POST", *["PUT"] * plan.total_chunk_count, "POST"]
    assert planned[0].url.endswith("/v2/post/publish/creator_info/query/")
    assert planned[1].body["source_info"] == {"source": "FILE_UPLOAD", **plan.source_fields()}
    assert planned[1].body["post_info"]["disable_duet"] is False
    assert [p.note.split("Content-Range: ")[1].split(";")[0] for p in planned[2:-1]] == [
        plan.content_range(i) for i in range(plan.total_chunk_count)]
    assert planned[-1].body == {"publish_id": "<publish_id from init>"}
    assert [r.route for r in state.requests] == ["creator_info"]
    shown = json.dumps([(p.method, p.url, p.body, p.note) for p in planned])
    assert creator.access_token not in shown
    assert "upload_token" not in shown
    assert "Bearer" not in shown
    assert ctx.saves == []


async def test_dry_run_of_a_photo_post_hosts_nothing(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    media_host: FileServer, tmp_path: Path,
) -> None:
    photo = make_image(tmp_path / "beach.png", fmt="png", width=1080, height=1350)
    post = Post(content="Beach", targets=TARGET, media=[Media(type=MediaKind.IMAGE, path=str(photo))],
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False}})
    ctx = make_ctx(media_host=media_host.host)

    planned = await platform.plan(post, ctx)

    body = planned[1].body
    assert body["source_info"]["photo_images"] == [
        "<public URL of beach.png, converted to JPEG, then hosted by the media host>"]
    assert body["post_mode"] == "DIRECT_POST"
    assert ctx.hosted == []
    assert media_host.files == {}


async def test_dry_run_of_an_invalid_post_reports_every_problem(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], video: Callable[..., Path],
) -> None:
    post = Post(content="x", targets=TARGET, media=[Media(type=MediaKind.VIDEO, path=str(video("mp4")))])
    with pytest.raises(InvalidPost) as raised:
        await platform.plan(post, make_ctx())
    fields = {p.field for p in raised.value.problems}
    assert {"target_options.tiktok.privacy_level", "target_options.tiktok.allow_comment"} <= fields


async def test_privacy_level_not_offered_lists_the_creators_options(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.creators[next(iter(state.creators))].private = True
    validation = await platform.validate(video_post(video("mp4"), allow_duet=False, allow_stitch=False),
                                         make_ctx())
    [problem] = [p for p in validation.problems if p.field == "target_options.tiktok.privacy_level"]
    assert "FOLLOWER_OF_CREATOR, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY" in problem.message


async def test_unreadable_video_is_a_validation_problem_not_an_upload(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState, tmp_path: Path,
) -> None:
    fake = tmp_path / "share-page.mp4"
    fake.write_text("<!doctype html><html><body>Google Drive</body></html>")
    with pytest.raises(InvalidPost, match="direct download link"):
        await platform.publish(video_post(fake), make_ctx())
    assert [r.route for r in state.requests] == ["creator_info"]


async def test_unknown_option_is_refused_by_publish(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    with pytest.raises(InvalidPost, match="viewerSetting"):
        await platform.publish(video_post(video("mp4"), viewerSetting="PUBLIC_TO_EVERYONE"), make_ctx())
    assert not [r for r in state.requests if r.route == "video_init"]


def test_the_plugin_registers_the_tiktok_platform() -> None:
    hooks = Hooks(make_plugin_manager(entry_points=False))
    platform = hooks.platform("tiktok")
    assert isinstance(platform, TikTokPlatform)
    assert platform.caption_length("fire \U0001f525") == 7  # UTF-16: the emoji counts 2
    assert {"privacy_level", "allow_comment", "draft", "video_made_with_ai"} <= (platform.option_names or set())


def test_importing_the_tiktok_package_stays_light() -> None:
    code = ("import sys, crosspost.plugins.tiktok as t, crosspost.plugins.tiktok.plugin; "
            "assert 'av' not in sys.modules and 'PIL' not in sys.modules, sorted(sys.modules); "
            "print(t.TikTokPlatform.name)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tiktok"
