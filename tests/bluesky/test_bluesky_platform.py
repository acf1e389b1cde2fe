"""The Bluesky platform against its emulator on loopback: accounts, posts, threads, exactly once."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from crosspost.core.errors import AuthError, ConfigError, InvalidPost, PermanentError, TransientError
from crosspost.core.models import JobStatus, Media, MediaKind, Post
from crosspost.plugins.bluesky import text as rich
from crosspost.plugins.bluesky.emulator import ASSETS
from crosspost.plugins.bluesky.limits import MAX_IMAGE_BYTES
from tests.bluesky.bluesky_support import APP_PASSWORD, FRIEND, HANDLE, Rig, rig, sliced, text_post


def photo(folder: Path, name: str, size: tuple[int, int] = (640, 480)) -> Path:
    path = folder / name
    Image.new("RGB", size, (200, 40, 90)).save(path)
    return path


def noisy_jpeg(folder: Path) -> Path:
    """A photo over Bluesky's 1,000,000 bytes (noise does not compress)."""
    path = folder / "noise.jpg"
    Image.frombytes("RGB", (900, 700), os.urandom(900 * 700 * 3)).save(path, quality=100)
    assert path.stat().st_size > MAX_IMAGE_BYTES
    return path


async def publish(r: Rig, post: Post, job_id: str = "job-1") -> tuple[object, list[str]]:
    ctx = r.context(job_id)
    validation = await r.platform.validate(post, ctx)
    assert validation.ok, validation.problems
    ctx.validation = validation
    outcome = await r.platform.publish(post, ctx)
    return outcome, [*validation.warnings, *ctx.warnings]


# -- accounts ----------------------------------------------------------------------------------


async def test_connect_account_logs_in_once_and_stores_the_session(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        access = await r.connect()
        account = access.account
        assert set(account.secrets) == {"app_password", "access_jwt", "refresh_jwt"}
        assert account.profile["handle"] == HANDLE
        assert account.profile["service"] == r.server.url
        assert account.access_expires_at is not None
        assert account.refresh_expires_at is not None
        assert APP_PASSWORD not in repr(account)
        assert r.state.login_calls == 1
        info = await r.platform.account_info(access, r.service())
        assert info.username == HANDLE
        assert info.facts["did"] == account.profile["did"]


async def test_connect_account_with_a_wrong_password_fails_clearly(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        with pytest.raises(AuthError, match=r"did not accept handle 'alice\.test'") as caught:
            await r.connect(password="wron-gwro-ngwr-ongw")
        assert "App passwords" in str(caught.value)


async def test_connect_account_refuses_plain_http_off_loopback(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        with pytest.raises(ConfigError, match=r"--service.*only for a server on this machine"):
            await r.platform.connect_account("main", {"service": "http://bsky.example", "handle": HANDLE,
                                                      "app_password": APP_PASSWORD}, r.service())


# -- posting -----------------------------------------------------------------------------------


async def test_text_with_link_tag_and_mentions_becomes_facets_on_exact_bytes(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        content = f"héllo 👩‍👩‍👧‍👦 https://example.com/ü #crosspost @{FRIEND} and @nobody.test"
        outcome, warnings = await publish(r, text_post(content, langs=["en", "fr"], labels=["graphic-media"]))
        [record] = r.records()
        assert record["text"] == content
        assert record["langs"] == ["en", "fr"]
        assert record["labels"]["values"] == [{"val": "graphic-media"}]
        shown = [(sliced(content, f), f["features"][0]) for f in record["facets"]]
        friend = r.state.find(FRIEND)
        assert friend is not None
        assert shown == [
            ("https://example.com/ü", {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/ü"}),
            ("#crosspost", {"$type": "app.bsky.richtext.facet#tag", "tag": "crosspost"}),
            (f"@{FRIEND}", {"$type": "app.bsky.richtext.facet#mention", "did": friend.did}),
        ]
        assert any("@nobody.test" in w and "plain text" in w for w in warnings)
        assert outcome.post_url.startswith(f"https://bsky.app/profile/{HANDLE}/post/")  # type: ignore[attr-defined]


async def test_images_carry_alt_text_and_aspect_ratio_and_a_big_photo_is_reencoded(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        media = (Media(type=MediaKind.IMAGE, path=str(photo(tmp_path, "a.jpg")), alt="a red square"),
                 Media(type=MediaKind.IMAGE, path=str(noisy_jpeg(tmp_path)), alt="noise"))
        _, warnings = await publish(r, Post(content="two images", targets=("bluesky:main",), media=media))
        [record] = r.records()
        images = record["embed"]["images"]
        assert [i["alt"] for i in images] == ["a red square", "noise"]
        assert images[0]["aspectRatio"] == {"width": 640, "height": 480}
        assert images[1]["image"]["mimeType"] == "image/jpeg"
        assert images[1]["image"]["size"] <= MAX_IMAGE_BYTES
        assert images[1]["aspectRatio"]["width"] / images[1]["aspectRatio"]["height"] == pytest.approx(900 / 700, 0.01)
        assert any("re-encoded as a JPEG" in w for w in warnings)


async def test_link_card_for_the_first_link(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        await publish(r, text_post("read https://example.com/a then https://example.com/b", link_card=True))
        [record] = r.records()
        assert record["embed"]["external"]["uri"] == "https://example.com/a"


async def test_video_goes_through_the_video_service_and_its_job(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        media = (Media(type=MediaKind.VIDEO, path=str(ASSETS / "sample.mp4"), alt="clip"),)
        await publish(r, Post(content="a video", targets=("bluesky:main",), media=media))
        [record] = r.records()
        embed = record["embed"]
        assert embed["$type"] == "app.bsky.embed.video"
        assert embed["alt"] == "clip"
        assert embed["video"]["mimeType"] == "video/mp4"
        assert embed["video"]["size"] == (ASSETS / "sample.mp4").stat().st_size
        assert r.clock.slept, "the job was polled on the injected clock"


async def test_a_failed_video_job_fails_the_post_and_writes_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        r.state.faults.video_fail_code = "encoding_failure"
        media = (Media(type=MediaKind.VIDEO, path=str(ASSETS / "sample.mp4")),)
        with pytest.raises(PermanentError, match="could not process the video"):
            await publish(r, Post(content="a video", targets=("bluesky:main",), media=media))
        assert r.records() == []


async def test_video_refused_before_upload_when_the_account_may_not_upload(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        r.state.accounts[r.access.account.profile["did"]].email_confirmed = False  # type: ignore[union-attr]
        media = (Media(type=MediaKind.VIDEO, path=str(ASSETS / "sample.mp4")),)
        with pytest.raises(PermanentError, match="confirm your email"):
            await publish(r, Post(content="a video", targets=("bluesky:main",), media=media))
        assert r.state.video_jobs == {}


async def test_validate_reports_every_problem_at_once(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        missing = Media(type=MediaKind.IMAGE, path=str(tmp_path / "missing.jpg"))
        post = Post(content="x" * 301, targets=("bluesky:main",), media=(missing,),
                    target_options={"bluesky": {"langs": ["en", "fr", "de", "es"], "link_card": True}})
        validation = await r.platform.validate(post, r.context())
        fields = sorted({p.field for p in validation.problems})
        assert fields == ["content", "media[0].path", "target_options.bluesky.langs",
                          "target_options.bluesky.link_card"]
        with pytest.raises(InvalidPost):
            await r.platform.publish(post, r.context())
        assert r.state.create_calls == 0
        assert not r.state.blobs


# -- threads and exactly once ------------------------------------------------------------------


def long_text() -> str:
    return " ".join(f"sentence {i} of a long story #part{i}" for i in range(40))


async def test_thread_parts_are_replies_in_order_each_with_its_own_facets(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        outcome, _ = await publish(r, text_post(long_text(), thread=True))
        posts = r.state.posts()
        parts = rich.split_thread(long_text())
        assert [p["value"]["text"] for p in posts] == parts
        assert len(parts) >= 3
        root = {"uri": posts[0]["uri"], "cid": posts[0]["cid"]}
        assert "reply" not in posts[0]["value"]
        for previous, post in itertools.pairwise(posts):
            assert post["value"]["reply"] == {"root": root, "parent": {"uri": previous["uri"], "cid": previous["cid"]}}
        for post in posts:
            text = post["value"]["text"]
            assert all(sliced(text, f) == "#" + f["features"][0]["tag"] for f in post["value"]["facets"])
        assert outcome.publish_id == root["uri"]  # type: ignore[attr-defined]


async def test_a_thread_interrupted_at_part_two_resumes_and_writes_each_part_once(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        post = text_post(long_text(), thread=True)
        armed: list[bool] = []

        def refuse_the_second_write(index: int, checkpoint: Mapping[str, Any]) -> None:
            if len(checkpoint["posted"]) == 1 and not armed:  # the first part is written
                armed.append(True)
                r.state.faults.fail["com.atproto.repo.createRecord"].append(503)

        ctx = r.context(on_save=refuse_the_second_write)
        with pytest.raises(TransientError):
            await r.platform.publish(post, ctx)
        assert len(r.state.posts()) == 1
        assert r.state.create_calls == 1
        outcome = await r.platform.publish(post, ctx.next_attempt())
        assert outcome.status is JobStatus.PUBLISHED
        assert [p["value"]["text"] for p in r.state.posts()] == rich.split_thread(long_text())


async def test_a_lost_answer_after_the_write_is_retried_into_exactly_one_post(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        r.state.faults.lose_creates = 1
        ctx = r.context()
        with pytest.raises(TransientError, match="talking to"):
            await r.platform.publish(text_post("exactly once"), ctx)
        assert len(r.state.posts()) == 1
        outcome = await r.platform.publish(text_post("exactly once"), ctx.next_attempt())
        assert len(r.state.posts()) == 1
        assert r.state.create_calls == 1
        assert outcome.publish_id == r.state.posts()[0]["uri"]


async def test_a_repeated_create_on_a_taken_key_is_answered_500_and_settled_by_reading(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        r.state.faults.lose_creates = 1
        ctx = r.context()
        with pytest.raises(TransientError):
            await r.platform.publish(text_post("exactly once"), ctx)
        # A checkpoint that lost its "writing" mark (e.g. saved by an older version): the retry
        # sends createRecord again, meets the 500 of a taken key, and reads the record instead.
        checkpoint = {**ctx.checkpoint, "writing": None}
        outcome = await r.platform.publish(text_post("exactly once"), ctx.next_attempt(checkpoint=checkpoint))
        assert r.state.create_calls == 2
        assert len(r.state.posts()) == 1
        assert outcome.publish_id == r.state.posts()[0]["uri"]


async def test_a_key_holding_another_post_is_refused_not_overwritten(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        await publish(r, text_post("first"))
        with pytest.raises(PermanentError, match="holds another post"):
            await publish(r, text_post("second"))  # same job id and clock: the same key
        assert [p["value"]["text"] for p in r.state.posts()] == ["first"]


# -- sessions ----------------------------------------------------------------------------------


async def test_an_expired_access_token_is_refreshed_once_for_many_concurrent_jobs(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        access = await r.connect()
        old_refresh = access.account.secrets["refresh_jwt"]
        r.state.expire_access_tokens()
        await asyncio.gather(*(r.platform.publish(text_post(f"post {i}"), r.context(f"job-{i}")) for i in range(8)))
        assert len(r.state.posts()) == 8
        assert r.state.refresh_calls == 1
        assert r.state.login_calls == 1
        assert access.account.secrets["refresh_jwt"] != old_refresh  # the rotated token was stored


async def test_access_token_near_its_expiry_is_refreshed_before_the_call(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        r.clock.advance(2 * 3600)
        await publish(r, text_post("later"))
        assert r.state.refresh_calls == 1
        assert r.state.login_calls == 1


async def test_a_dead_refresh_token_falls_back_to_one_login_with_the_app_password(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        for token in r.state.tokens.values():
            token.expires = 0
        await publish(r, text_post("after a dead session"))
        assert r.state.login_calls == 2
        assert len(r.state.posts()) == 1


async def test_wrong_stored_app_password_marks_the_account_for_login(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        access = await r.connect()
        r.state.accounts[access.account.profile["did"]].app_passwords.clear()
        for token in r.state.tokens.values():
            token.expires = 0
        with pytest.raises(AuthError) as caught:
            await publish(r, text_post("x"))
        assert caught.value.needs_login


async def test_logins_beyond_the_servers_limit_wait_instead_of_hammering(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        access = await r.connect()  # login 1 of the server's 30 per 5 minutes

        async def publish_with_a_dead_session(i: int) -> None:
            for token in r.state.tokens.values():
                token.expires = 0
            await r.platform.publish(text_post(f"p{i}"), r.context(f"j{i}"))

        for i in range(29):
            await publish_with_a_dead_session(i)
        with pytest.raises(TransientError) as caught:
            await publish_with_a_dead_session(29)
        assert caught.value.code == "login_limit"  # held back by the client, before the server says 429
        assert caught.value.retry_after  # type: ignore[attr-defined]
        assert r.state.login_calls == 30
        assert access.account.needs_login is False


async def test_dry_run_plan_lists_the_calls_and_sends_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.connect()
        requests_before = r.state.plan.requests_seen
        planned = await r.platform.plan(text_post(f"hi @{FRIEND} " + "word " * 80, thread=True), r.context())
        assert [p.url.rsplit("/", 1)[-1].split("?")[0] for p in planned] == [
            "com.atproto.identity.resolveHandle", "com.atproto.repo.createRecord", "com.atproto.repo.createRecord"]
        assert r.state.plan.requests_seen == requests_before
        assert all(APP_PASSWORD not in repr(p) for p in planned)


async def test_a_png_within_the_limit_is_sent_as_png(tmp_path: Path) -> None:
    from crosspost.core.media import probe

    png = tmp_path / "shot.png"
    Image.new("RGB", (120, 80), (1, 2, 3)).save(png)
    if probe(png).problem:
        pytest.skip(f"core's media probe cannot read PNGs on this branch ({probe(png).problem}); "
                    "fixed in core, not in the plugin")
    async with rig(tmp_path) as r:
        await r.connect()
        await publish(r, Post(content="a screenshot", targets=("bluesky:main",),
                              media=(Media(type=MediaKind.IMAGE, path=str(png), alt="shot"),)))
        [record] = r.records()
        image = record["embed"]["images"][0]
        assert image["image"]["mimeType"] == "image/png"
        assert image["aspectRatio"] == {"width": 120, "height": 80}
