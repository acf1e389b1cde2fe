"""MastodonPlatform against the emulator over real loopback HTTP: publishing, resuming, limits, rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.errors import AuthError, InvalidPost, RateLimited, TransientError, UncertainOutcome
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.plugins.mastodon.emulator import EmulatorServer, RouteFault
from crosspost.plugins.mastodon.platform import MastodonPlatform
from crosspost.testing.context import FakeJobContext

TARGET = (Target(platform="mastodon", account="main"),)
STATUSES = "POST /api/v1/statuses"


def post(content: str = "Hello from crosspost", media: tuple[Media, ...] = (), **options: object) -> Post:
    return Post(content=content, targets=TARGET, media=media,
                target_options={"mastodon": options} if options else {})


async def test_a_text_status_is_published_with_its_options(platform: MastodonPlatform, ctx: FakeJobContext,
                                                           emulator: EmulatorServer) -> None:
    outcome = await platform.publish(post(visibility="unlisted", language="en", spoiler_text="cw"), ctx)
    (status,) = emulator.state.statuses.values()
    assert outcome.status is JobStatus.PUBLISHED
    assert outcome.publish_id == status.id
    assert outcome.post_url == f"{emulator.base_url}/@alice/{status.id}"
    assert (status.visibility, status.language, status.spoiler_text) == ("unlisted", "en", "cw")


async def test_photos_carry_their_alt_text_as_description(platform: MastodonPlatform, ctx: FakeJobContext,
                                                          emulator: EmulatorServer, photo: Path) -> None:
    media = (Media(type=MediaKind.IMAGE, path=str(photo), alt="a red kite"),
             Media(type=MediaKind.IMAGE, path=str(photo)))
    await platform.publish(post(media=media, sensitive=True), ctx)
    (status,) = emulator.state.statuses.values()
    described = [emulator.state.media[m].description for m in status.media_ids]
    assert described == ["a red kite", None]
    assert status.sensitive


async def test_video_is_polled_until_processed_and_never_attached_before(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, video: Path,
        fake_clock: FakeClock) -> None:
    emulator.state.config.processing_seconds = 5
    await platform.publish(post(media=(Media(type=MediaKind.VIDEO, path=str(video)),)), ctx)
    requests = [f"{m} {p}" for m, p in emulator.state.requests]
    polls = [r for r in requests if r.startswith("GET /api/v1/media/")]
    assert len(polls) >= 2  # 206 at least once, then 200
    assert requests.index(STATUSES) > requests.index(polls[-1])
    assert sum(fake_clock.slept) >= 5
    assert JobStatus.PROCESSING in ctx.statuses


async def test_media_still_processing_after_the_timeout_resumes_by_polling_only(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, video: Path,
        fake_clock: FakeClock) -> None:
    emulator.state.config.processing_seconds = 100  # the attempt waits 30 s (crosspost_env)
    the_post = post(media=(Media(type=MediaKind.VIDEO, path=str(video)),))
    with pytest.raises(TransientError) as raised:
        await platform.publish(the_post, ctx)
    assert raised.value.code == "still_processing"
    assert emulator.state.statuses == {}
    fake_clock.advance(100)
    await platform.publish(the_post, ctx.next_attempt())
    assert [f"{m} {p}" for m, p in emulator.state.requests].count("POST /api/v2/media") == 1
    assert len(emulator.state.statuses) == 1


async def test_a_lost_answer_after_the_status_was_created_leaves_exactly_one_status(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, photo: Path) -> None:
    emulator.state.faults.append(RouteFault(route=STATUSES, status=503, when="after"))
    the_post = post(media=(Media(type=MediaKind.IMAGE, path=str(photo)),))
    with pytest.raises(TransientError):
        await platform.publish(the_post, ctx)
    assert len(emulator.state.statuses) == 1  # committed, but we never heard
    outcome = await platform.publish(the_post, ctx.next_attempt())
    assert len(emulator.state.statuses) == 1
    assert outcome.publish_id == next(iter(emulator.state.statuses))
    assert [f"{m} {p}" for m, p in emulator.state.requests].count("POST /api/v2/media") == 1


async def test_a_dropped_connection_after_commit_is_retried_without_a_second_status(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer) -> None:
    emulator.state.faults.append(RouteFault(route=STATUSES, when="after", drop=True))
    with pytest.raises(TransientError):
        await platform.publish(post(), ctx)
    await platform.publish(post(), ctx.next_attempt())
    assert len(emulator.state.statuses) == 1


async def test_a_resend_later_than_the_servers_key_memory_is_uncertain_not_repeated(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, fake_clock: FakeClock) -> None:
    emulator.state.faults.append(RouteFault(route=STATUSES, when="after", drop=True))
    with pytest.raises(TransientError):
        await platform.publish(post(), ctx)
    fake_clock.advance(2 * 3600)
    with pytest.raises(UncertainOutcome, match="Idempotency-Key"):
        await platform.publish(post(), ctx.next_attempt())
    assert len(emulator.state.statuses) == 1


@pytest.mark.parametrize(("limit", "accepted"), [(1000, True), (500, False)])
async def test_a_700_character_post_fits_a_1000_instance_and_is_refused_by_a_500_one_before_any_upload(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, photo: Path,
        limit: int, accepted: bool) -> None:
    emulator.state.config.max_characters = limit
    the_post = post("w" * 700, media=(Media(type=MediaKind.IMAGE, path=str(photo)),))
    validation = await platform.validate(the_post, ctx)
    if accepted:
        assert validation.ok
        await platform.publish(the_post, ctx)
        assert len(emulator.state.statuses) == 1
    else:
        assert [p.field for p in validation.problems] == ["content"]
        assert "at most 500" in validation.problems[0].message
        with pytest.raises(InvalidPost):
            await platform.publish(the_post, ctx)
        assert emulator.state.media_requests() == 0
        assert emulator.state.statuses == {}


def long_text(words: int = 120) -> str:
    return " ".join(f"word{i:03d}" for i in range(words))


async def test_thread_true_posts_a_reply_chain_in_order(platform: MastodonPlatform, ctx: FakeJobContext,
                                                        emulator: EmulatorServer, photo: Path) -> None:
    emulator.state.config.max_characters = 100
    the_post = post(long_text(), media=(Media(type=MediaKind.IMAGE, path=str(photo)),), thread=True)
    validation = await platform.validate(the_post, ctx)
    assert validation.ok
    assert "thread of" in validation.warnings[0]
    outcome = await platform.publish(the_post, ctx)
    chain = sorted(emulator.state.statuses.values(), key=lambda s: int(s.id))
    assert len(chain) > 1
    assert chain[0].in_reply_to_id is None
    assert [s.in_reply_to_id for s in chain[1:]] == [s.id for s in chain[:-1]]
    assert " ".join(s.text for s in chain).split() == long_text().split()
    assert chain[0].media_ids
    assert not any(s.media_ids for s in chain[1:])
    assert outcome.publish_id == chain[0].id


async def test_a_thread_resumes_after_a_crash_between_parts_posting_each_part_once(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer) -> None:
    emulator.state.config.max_characters = 100
    the_post = post(long_text(), thread=True)
    # Part 1 is posted; part 2's request is committed and its answer lost (the worker dies).
    state = emulator.state
    state.faults.append(RouteFault(route=STATUSES, when="after", drop=True, times=1))
    original = state.take_fault
    calls = {"n": 0}

    def second_status_only(route: str) -> RouteFault | None:
        if route == STATUSES:
            calls["n"] += 1
            if calls["n"] != 2:
                return None
        return original(route)

    state.take_fault = second_status_only  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        await platform.publish(the_post, ctx)
    assert len(state.statuses) == 2
    assert len(ctx.checkpoint["parts"]) == 1
    await platform.publish(the_post, ctx.next_attempt())
    chain = sorted(state.statuses.values(), key=lambda s: int(s.id))
    texts = [s.text for s in chain]
    assert len(texts) == len(set(texts))  # no part twice
    assert " ".join(texts).split() == long_text().split()
    assert [s.in_reply_to_id for s in chain[1:]] == [s.id for s in chain[:-1]]


async def test_a_thread_keeps_its_first_split_when_the_instance_limit_changes(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer) -> None:
    emulator.state.config.max_characters = 100
    the_post = post(long_text(), thread=True)
    emulator.state.faults.append(RouteFault(route=STATUSES, status=503, when="before", times=1))
    state = emulator.state
    with pytest.raises(TransientError):
        await platform.publish(the_post, ctx)
    saved = list(ctx.checkpoint["texts"])
    state.config.max_characters = 200
    platform._limits.clear()
    await platform.publish(the_post, ctx.next_attempt())
    assert [s.text for s in sorted(state.statuses.values(), key=lambda s: int(s.id))] == saved


async def test_without_thread_a_long_post_is_refused_naming_the_limit_and_the_option(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer) -> None:
    validation = await platform.validate(post(long_text()), ctx)
    (problem,) = validation.problems
    assert problem.field == "content"
    assert "thread: true" in problem.message


async def test_every_problem_is_reported_at_once_before_any_request_that_uploads(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, photo: Path,
        tmp_path: Path) -> None:
    emulator.state.config.max_media_attachments = 2
    emulator.state.config.description_limit = 5
    media = (Media(type=MediaKind.IMAGE, path=str(photo), alt="far too long"),
             Media(type=MediaKind.IMAGE, path=str(tmp_path / "gone.jpg")),
             Media(type=MediaKind.IMAGE, url="http://169.254.169.254/latest/meta-data"))
    validation = await platform.validate(post("x" * 501, media=media, language="english"), ctx)
    fields = sorted(p.field for p in validation.problems)
    assert fields == ["content", "media", "media[0].alt", "media[1].path", "media[2].url",
                      "target_options.mastodon.language"]
    assert emulator.state.media_requests() == 0


async def test_instance_limits_are_cached_per_instance_until_they_expire(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, fake_clock: FakeClock) -> None:
    await platform.validate(post(), ctx)
    await platform.validate(post(), ctx)
    reads = lambda: sum(1 for _, p in emulator.state.requests if p.endswith("/instance"))  # noqa: E731
    assert reads() == 1
    emulator.state.config.max_characters = 10
    fake_clock.advance(3601)
    validation = await platform.validate(post("x" * 11), ctx)
    assert reads() == 2
    assert not validation.ok


async def test_a_pre_4_server_falls_back_to_v1(platform: MastodonPlatform, ctx: FakeJobContext,
                                               emulator: EmulatorServer) -> None:
    emulator.state.config.v2 = False
    emulator.state.config.max_characters = 5000
    validation = await platform.validate(post("x" * 4000), ctx)
    assert validation.ok
    assert validation.value.limits.source == "v1"


async def test_an_exhausted_window_waits_for_its_reset_instead_of_spinning(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, fake_clock: FakeClock) -> None:
    emulator.state.rate.limit = 1
    emulator.state.rate.window = 60
    await platform.publish(post(), ctx)  # the one call left: the status (instance reads are not counted)
    emulator.state.rate.used.clear()  # the server's window resets at the time it announced
    ctx2 = ctx.next_attempt(job_id="job-2", checkpoint={})
    await platform.publish(post("second"), ctx2)
    assert any(55 <= s <= 60 for s in fake_clock.slept)
    assert len(emulator.state.statuses) == 2


async def test_429_is_rate_limited_with_the_reset_as_retry_after(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer) -> None:
    emulator.state.rate.limit = 0
    emulator.state.rate.window = 120
    with pytest.raises(RateLimited) as raised:
        await platform.publish(post(), ctx)
    assert raised.value.retry_after == pytest.approx(120, abs=1)


async def test_plan_lists_the_calls_and_sends_nothing_that_publishes(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, photo: Path) -> None:
    planned = await platform.plan(post(media=(Media(type=MediaKind.IMAGE, path=str(photo), alt="x"),)), ctx)
    assert [p.method + " " + p.url.split(emulator.base_url)[1] for p in planned] == [
        "GET /api/v2/instance", "POST /api/v2/media", "GET /api/v1/media/<media 0 id>", "POST /api/v1/statuses"]
    assert "Idempotency-Key" in planned[-1].note
    assert emulator.state.media_requests() == 0
    assert emulator.state.statuses == {}


async def test_the_token_is_never_in_checkpoints_logs_or_errors(
        platform: MastodonPlatform, ctx: FakeJobContext, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture,
        emu_account: object) -> None:
    caplog.set_level("DEBUG")
    emulator.state.faults.append(RouteFault(route=STATUSES, status=401))
    with pytest.raises(AuthError) as raised:
        await platform.publish(post(), ctx)
    token = "emu-token-alice-0123456789"
    assert token not in repr(ctx.saves) + caplog.text + repr(raised.value) + str(raised.value)


def test_declared_capabilities() -> None:
    platform = MastodonPlatform()
    assert platform.alt_text
    assert platform.supports_login
    assert [f.name for f in platform.account_fields] == ["instance", "access_token"]
    assert [f.name for f in platform.login_fields] == ["instance"]
