"""The Example platform against the fake Example API: publishing, validation, errors, resuming."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import AuthError, ConfigError, PermanentError, TransientError
from crosspost.core.models import JobStatus, Media, MediaKind, Post
from crosspost.testing.context import FakeJobContext, MemoryRateGate, isolated_settings

from crosspost_example.fake_server import FakeExampleAPI
from crosspost_example.platform import ExamplePlatform

ContextFactory = Callable[..., FakeJobContext]
PostFactory = Callable[..., Post]


async def test_publish_streams_the_upload_creates_the_post_and_polls_until_published(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, video: Path, video_bytes: bytes,
        make_post: PostFactory, fake_clock: FakeClock) -> None:
    outcome = await platform.publish(make_post("Sunset", media=(video,), visibility="unlisted"), ctx)

    assert outcome.status is JobStatus.PUBLISHED
    assert outcome.post_url == f"{ctx.settings.platform('example')['url']}/p/{outcome.publish_id}"
    [stored] = api.media.values()
    assert stored.sha256 == hashlib.sha256(video_bytes).hexdigest()
    [headers] = api.upload_headers
    assert headers["Content-Length"] == str(len(video_bytes))
    assert "Transfer-Encoding" not in headers
    [post] = api.posts.values()
    assert (post.text, post.media, post.visibility) == ("Sunset", [stored.id], "unlisted")
    assert ctx.statuses == [JobStatus.UPLOADING, JobStatus.UPLOADING, JobStatus.PROCESSING, JobStatus.PROCESSING]
    assert ctx.progress_reports[-1] == (len(video_bytes), len(video_bytes))
    assert fake_clock.slept == [2.0]


async def test_images_are_uploaded_in_post_order_and_progress_counts_every_byte(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, tmp_path: Path,
        make_post: PostFactory) -> None:
    images = {tmp_path / "a.jpg": b"\xff\xd8first", tmp_path / "b.jpg": b"\xff\xd8second image"}
    for path, data in images.items():
        path.write_bytes(data)

    await platform.publish(make_post(media=tuple(images), kind=MediaKind.IMAGE), ctx)

    [post] = api.posts.values()
    assert [api.media[m].size for m in post.media] == [len(data) for data in images.values()]
    total = sum(len(data) for data in images.values())
    assert ctx.progress_reports[-1] == (total, total)


async def test_a_text_only_post_publishes_without_uploading(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, make_post: PostFactory) -> None:
    outcome = await platform.publish(make_post("Just words", tags=["#news", "today"]), ctx)

    assert outcome.status is JobStatus.PUBLISHED
    assert api.media == {}
    [post] = api.posts.values()
    assert post.tags == ["news", "today"]


async def test_validate_reports_every_problem_at_once(
        platform: ExamplePlatform, ctx: FakeJobContext, video: Path, tmp_path: Path,
        make_post: PostFactory) -> None:
    post = make_post("x", media=(video, tmp_path / "gone.mp4"), visibility="friends",
                     tags=["ok", "two words", *"abcd"])
    post = attrs.evolve(post, media=(*post.media, Media(type=MediaKind.IMAGE, url="https://cdn.invalid/a.jpg")))

    validation = await platform.validate(post, ctx)

    assert sorted(p.field for p in validation.problems) == [
        "media", "media[1].path", "media[2].url", "target_options.example.tags",
        "target_options.example.tags[1]", "target_options.example.visibility"]


async def test_empty_and_oversized_files_are_refused_before_upload(
        platform: ExamplePlatform, crosspost_job_context: ContextFactory, account: Account, tmp_path: Path,
        api: FakeExampleAPI, make_post: PostFactory, crosspost_env: dict[str, str]) -> None:
    empty, big = tmp_path / "empty.jpg", tmp_path / "big.jpg"
    empty.write_bytes(b"")
    big.write_bytes(b"x" * 2048)
    settings = isolated_settings(tmp_path, {**crosspost_env, "CROSSPOST_EXAMPLE_MAX_UPLOAD_BYTES": "1024"})
    ctx = crosspost_job_context("example:main", account=account, settings=settings)

    validation = await platform.validate(make_post(media=(empty, big), kind=MediaKind.IMAGE), ctx)

    assert [(p.field, p.message) for p in validation.problems] == [
        ("media[0].path", "the file is empty"),
        ("media[1].path", "2048 bytes is more than the 1024 bytes example accepts")]
    assert api.requests == []


async def test_tags_with_a_hash_validate_with_a_warning(
        platform: ExamplePlatform, ctx: FakeJobContext, make_post: PostFactory) -> None:
    validation = await platform.validate(make_post(tags=["#news"]), ctx)

    assert validation.ok
    assert validation.warnings == ("tag '#news' is sent without its '#'",)


async def test_a_missing_url_setting_is_a_config_error_naming_the_variable(
        platform: ExamplePlatform, crosspost_job_context: ContextFactory, account: Account, tmp_path: Path,
        make_post: PostFactory) -> None:
    ctx = crosspost_job_context("example:main", account=account, settings=isolated_settings(tmp_path))

    with pytest.raises(ConfigError, match="CROSSPOST_EXAMPLE_URL"):
        await platform.publish(make_post(), ctx)


async def test_an_account_without_a_token_needs_login(
        platform: ExamplePlatform, crosspost_job_context: ContextFactory, make_post: PostFactory) -> None:
    ctx = crosspost_job_context("example:main", account=Account(platform="example", name="main"))

    with pytest.raises(AuthError) as raised:
        await platform.publish(make_post(), ctx)

    assert raised.value.needs_login
    assert "crosspost accounts add example" in str(raised.value)


async def test_a_processing_failure_is_permanent_and_keeps_the_servers_code(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, make_post: PostFactory) -> None:
    api.fail_processing = ("copyright", "the audio matches a copyrighted track")

    with pytest.raises(PermanentError, match="copyrighted track") as raised:
        await platform.publish(make_post(), ctx)

    assert raised.value.code == "copyright"


async def test_still_processing_after_the_poll_timeout_is_transient_and_the_next_attempt_only_polls(
        platform: ExamplePlatform, crosspost_job_context: ContextFactory, account: Account, tmp_path: Path,
        api: FakeExampleAPI, video: Path, make_post: PostFactory, crosspost_env: dict[str, str]) -> None:
    settings = isolated_settings(tmp_path, {**crosspost_env, "CROSSPOST_EXAMPLE_POLL_TIMEOUT": "10"})
    ctx = crosspost_job_context("example:main", account=account, settings=settings)
    api.polls_until_done = 100
    post = make_post(media=(video,))

    with pytest.raises(TransientError) as raised:
        await platform.publish(post, ctx)
    assert raised.value.code == "still_processing"

    api.polls_until_done = 0
    before = len(api.requests)
    outcome = await platform.publish(post, ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert [method for method, _ in api.requests[before:]] == ["GET"]
    assert len(api.posts) == 1


async def test_a_lost_create_response_is_retried_with_the_same_idempotency_key(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, make_post: PostFactory) -> None:
    api.faults.fail_next(502, after_handling=True)

    with pytest.raises(TransientError):
        await platform.publish(make_post(), ctx)
    outcome = await platform.publish(make_post(), ctx.next_attempt())

    assert list(api.posts) == [outcome.publish_id]
    assert list(api.idempotency) == ["crosspost-job-1"]


async def test_rate_limiting_is_keyed_by_a_token_fingerprint(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, make_post: PostFactory,
        account: Account) -> None:
    await platform.publish(make_post(), ctx)

    assert isinstance(ctx.rate, MemoryRateGate)
    assert len(ctx.rate.keys) == len(api.requests)
    assert len(set(ctx.rate.keys)) == 1
    assert account.secrets["access_token"] not in ctx.rate.keys[0]


async def test_cancel_deletes_a_post_that_is_still_processing(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, make_post: PostFactory) -> None:
    api.polls_until_done = 100
    api.faults.fail_from(1, 503)  # the create goes through, the first status check fails
    with pytest.raises(TransientError):
        await platform.publish(make_post(), ctx)
    api.faults.heal()

    await platform.cancel(ctx.next_attempt())

    [post] = api.posts.values()
    assert post.state == "cancelled"


async def test_cancelling_a_published_post_only_warns(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, make_post: PostFactory) -> None:
    await platform.publish(make_post(), ctx)
    after = ctx.next_attempt()

    await platform.cancel(after)

    assert [p.state for p in api.posts.values()] == ["published"]
    [warning] = after.warnings
    assert "is published" in warning


async def test_plan_lists_the_calls_without_sending_any(
        platform: ExamplePlatform, ctx: FakeJobContext, api: FakeExampleAPI, video: Path,
        make_post: PostFactory) -> None:
    planned = await platform.plan(make_post(media=(video,)), ctx)

    assert [(p.method, p.url.rsplit("/v1", 1)[1]) for p in planned] == [
        ("POST", "/media?kind=video"), ("POST", "/posts"), ("GET", "/posts/<post id>")]
    assert api.requests == []


async def test_a_refused_connection_is_transient(
        platform: ExamplePlatform, crosspost_job_context: ContextFactory, account: Account, tmp_path: Path,
        make_post: PostFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = isolated_settings(tmp_path, {"CROSSPOST_EXAMPLE_URL": f"http://127.0.0.1:{closed_port}"})
    ctx = crosspost_job_context("example:main", account=account, settings=settings)

    with pytest.raises(TransientError) as raised:
        await platform.publish(make_post(), ctx)

    assert raised.value.code == "connection"
