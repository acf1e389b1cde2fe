"""Photo carousels through a media host, drafts to the inbox, and videos TikTok pulls by URL."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from crosspost.core.errors import InvalidPost, PermanentError, TransientError
from crosspost.core.media import MediaFormat, sniff
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.emulator import EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext
from crosspost.testing.media import make_image

from .conftest import FileServer, sha256_of

TARGET = [Target(platform="tiktok", account="main")]


def photos(tmp_path: Path) -> list[Path]:
    return [
        make_image(tmp_path / "one.jpg", width=1080, height=1350),
        make_image(tmp_path / "two.png", fmt="png", width=1080, height=1350, transparent=True),
        make_image(tmp_path / "three.webp", fmt="webp", width=1080, height=1350),
    ]


def carousel(paths: list[Path], **options: object) -> Post:
    return Post(content="Weekend #travel https://example.com/trip", targets=TARGET,
                media=[Media(type=MediaKind.IMAGE, path=str(p)) for p in paths],
                target_options={"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                           "photo_cover_index": 1, **options}})


async def test_local_photo_carousel_is_hosted_and_a_png_becomes_jpeg(
    make_ctx: Callable[..., FakeJobContext], state: EmulatorState, media_host: FileServer, tmp_path: Path,
) -> None:
    # The emulator pulls the photos in real time while the poll loop runs on the fake clock:
    # polls every 3 fake seconds for 6 fake hours, so the run waits for the pull however slow
    # the machine (the default policy gave up after ~35 quick polls on a loaded CI machine).
    platform = TikTokPlatform(poll=PollPolicy(first=3, factor=1, longest=3, per_run=6 * 3600))
    paths = photos(tmp_path)
    uploaded: list[Path] = []

    async def host(path: str) -> str:  # like an S3 host: the bytes are copied away at once
        copy = tmp_path / "bucket" / f"{len(uploaded)}-{Path(path).name}"
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, copy)
        uploaded.append(copy)
        return media_host.add(copy)

    ctx = make_ctx(media_host=host)

    outcome = await platform.publish(carousel(paths), ctx)

    record = state.published[0]
    assert outcome.status is JobStatus.PUBLISHED
    assert record.request_body["post_info"]["title"] == "Weekend"  # hashtags and links stripped
    assert record.request_body["source_info"]["photo_cover_index"] == 1
    hosted = [Path(p) for p in ctx.hosted]
    assert hosted[0] == paths[0]
    assert hosted[2] == paths[2]
    assert hosted[1].suffix == ".jpg"
    assert sniff(uploaded[1].read_bytes()[:4096]) is MediaFormat.JPEG
    assert [item.sha256 for item in record.items] == [sha256_of(p) for p in uploaded]
    assert all(item.recognised_format for item in record.items)
    assert any("PNG is converted to JPEG" in w for w in ctx.warnings)
    assert not (Path(ctx.settings.data_dir) / "tmp" / "tiktok").exists() or not any(
        (Path(ctx.settings.data_dir) / "tmp" / "tiktok").iterdir())  # the job's files are cleaned up


async def test_photo_draft_goes_as_media_upload_to_the_inbox(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    media_host: FileServer, tmp_path: Path,
) -> None:
    paths = photos(tmp_path)[:1]
    post = Post(content="Draft carousel", targets=TARGET, media=[Media(type=MediaKind.IMAGE, path=str(paths[0]))],
                target_options={"tiktok": {"draft": True, "description": "Long text #tag"}})

    outcome = await platform.publish(post, make_ctx(media_host=media_host.host))

    body = state.published[0].request_body
    assert outcome.status is JobStatus.INBOX
    assert body["post_mode"] == "MEDIA_UPLOAD"
    assert body["post_info"] == {"title": "Draft carousel", "description": "Long text #tag"}
    assert not [r for r in state.requests if r.route == "creator_info"]  # drafts need no creator info


async def test_video_draft_is_delivered_to_the_inbox(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    clip = video("mp4")
    post = Post(content="caption the creator writes in the app", targets=TARGET,
                media=[Media(type=MediaKind.VIDEO, path=str(clip))], target_options={"tiktok": {"draft": True}})
    ctx = make_ctx()

    outcome = await platform.publish(post, ctx)

    assert outcome.status is JobStatus.INBOX
    assert state.published[0].mode == "inbox"
    assert state.published[0].sha256 == sha256_of(clip)
    assert any("not sent with a video draft" in w for w in ctx.warnings)


async def test_local_photos_without_a_media_host_are_refused_before_anything_is_sent(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState, tmp_path: Path,
) -> None:
    ctx = make_ctx()  # no media host
    validation = await platform.validate(carousel(photos(tmp_path)), ctx)
    assert any("media host" in p.message for p in validation.problems)
    with pytest.raises(InvalidPost, match="media host"):
        await platform.publish(carousel(photos(tmp_path)), ctx)
    assert [r.route for r in state.requests] == ["creator_info"]


def pull_post(url: str) -> Post:
    return Post(content="pulled #video", targets=TARGET, media=[Media(type=MediaKind.VIDEO, url=url)],
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False,
                                           "allow_duet": False, "allow_stitch": False}})


PULL_URL = "https://127.0.0.1:9/videos/clip.mp4"  # a verified prefix; nothing listens there


@pytest.fixture
def pull_env(state: EmulatorState) -> dict[str, str]:
    state.verified_url_prefixes = ("https://127.0.0.1:9/videos/",)
    return {"CROSSPOST_TIKTOK_VERIFIED_URL_PREFIXES": "https://127.0.0.1:9/videos/"}


async def test_video_url_on_a_verified_prefix_is_pulled_by_tiktok_with_the_exact_body(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    pull_env: dict[str, str],
) -> None:
    with pytest.raises(TransientError) as raised:  # TikTok could not download it: retryable
        await platform.publish(pull_post(PULL_URL), make_ctx(env=pull_env))
    assert raised.value.code == "video_pull_failed"
    assert state.published[0].request_body == {
        "post_info": {"title": "pulled #video", "privacy_level": "SELF_ONLY", "disable_comment": True,
                      "disable_duet": True, "disable_stitch": True, "video_cover_timestamp_ms": 1000,
                      "brand_content_toggle": False, "brand_organic_toggle": False, "is_aigc": False},
        "source_info": {"source": "PULL_FROM_URL", "video_url": PULL_URL},
    }
    assert not [r for r in state.requests if r.route == "upload_put"]


async def test_pull_still_downloading_can_be_cancelled(
    make_ctx: Callable[..., FakeJobContext], state: EmulatorState, pull_env: dict[str, str],
) -> None:
    platform = TikTokPlatform(poll=PollPolicy(per_run=60))
    state.pause_pulls()
    ctx = make_ctx(env=pull_env)
    with pytest.raises(TransientError, match="still processing"):
        await platform.publish(pull_post(PULL_URL), ctx)
    assert ctx.checkpoint["route"] == "pull"
    assert ctx.checkpoint["publish_id"]

    await platform.cancel(ctx.next_attempt())

    with pytest.raises(PermanentError) as raised:
        await platform.publish(pull_post(PULL_URL), ctx.next_attempt())
    assert raised.value.code == "publish_cancelled"
    assert [r.status for r in state.requests if r.route == "cancel"] == [200]


async def test_a_video_by_url_on_no_verified_prefix_is_downloaded_uploaded_and_its_files_removed(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    media_host: FileServer, video: Callable[..., Path],
) -> None:
    clip = video("mp4")
    ctx = make_ctx()

    outcome = await platform.publish(pull_post(media_host.add(clip)), ctx)

    assert outcome.status is JobStatus.PUBLISHED
    assert state.published[0].request_body["source_info"]["source"] == "FILE_UPLOAD"
    assert state.published[0].sha256 == sha256_of(clip)
    work = Path(ctx.settings.data_dir) / "tmp" / "tiktok"
    assert work.is_dir(), "the download went to the job's work folder"
    assert not any(work.iterdir()), "and the job's folder is removed once published"


async def test_a_post_of_local_videos_never_touches_the_work_folder(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    removed: list[object] = []
    monkeypatch.setattr(shutil, "rmtree", lambda *args, **kwargs: removed.append(args))

    outcome = await platform.publish(Post(
        content="local", targets=TARGET, media=[Media(type=MediaKind.VIDEO, path=str(video("mp4")))],
        target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False, "allow_duet": False,
                                   "allow_stitch": False}}), make_ctx())

    assert outcome.status is JobStatus.PUBLISHED
    assert removed == [], "nothing could be in a work folder: no thread hop to delete one"
