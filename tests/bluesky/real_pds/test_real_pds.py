"""crosspost's Bluesky plugin against the reference PDS (@atproto/pds, started by .ci/run).

Every record is read back from the server: facets must slice exactly the text they mark, image
embeds must reference the uploaded blobs (same bytes), a thread's replies must point at the
right root and parent, a lost answer on the write must leave one post, and an expired session
must be refreshed against the server's own refreshSession.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
import pytest_asyncio
from PIL import Image

from crosspost.core.clock import FakeClock
from crosspost.core.errors import TransientError
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.plugins.bluesky import text as rich
from crosspost.plugins.bluesky.platform import BlueskyPlatform
from crosspost.testing.context import FakeJobContext, MemoryAccountAccess, MemoryRateGate, isolated_settings
from tests.bluesky.real_pds.pds_support import (
    PdsAccount,
    get_record,
    list_posts,
    losing_proxy,
    new_account,
    pds_url,
    xrpc,
)


@attrs.define(kw_only=True)
class Real:
    url: str
    http: aiohttp.ClientSession
    clock: FakeClock
    tmp: Path
    platform: BlueskyPlatform = attrs.field(factory=BlueskyPlatform)
    rate: MemoryRateGate = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        self.rate = MemoryRateGate(self.clock)

    @property
    def settings(self) -> Any:
        return isolated_settings(self.tmp, {})

    async def connect(self, account: PdsAccount, *, service: str | None = None) -> MemoryAccountAccess:
        ctx = attrs.make_class("Service", ["settings", "http", "clock", "rate", "log"])(
            self.settings, self.http, self.clock, self.rate, logging.getLogger("tests.real_pds"))
        stored = await self.platform.connect_account(
            "main", {"service": service or self.url, "handle": account.handle,
                     "app_password": account.app_password}, ctx)
        return MemoryAccountAccess(stored)

    def context(self, access: MemoryAccountAccess, job_id: str, **kw: Any) -> FakeJobContext:
        return FakeJobContext(target=Target(platform="bluesky", account="main"), http=self.http,
                              settings=self.settings, clock=self.clock, account=access, rate=self.rate,
                              job_id=job_id, **kw)

    async def publish(self, access: MemoryAccountAccess, post: Post, job_id: str) -> tuple[Any, FakeJobContext]:
        ctx = self.context(access, job_id)
        validation = await self.platform.validate(post, ctx)
        assert validation.ok, validation.problems
        ctx.validation = validation
        return await self.platform.publish(post, ctx), ctx


@pytest_asyncio.fixture
async def real(tmp_path: Path) -> AsyncIterator[Real]:
    url = pds_url()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        yield Real(url=url, http=http, clock=FakeClock(datetime.now(UTC)), tmp=tmp_path)


def sliced(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode("utf-8")[index["byteStart"]:index["byteEnd"]].decode("utf-8")


def post(content: str, media: tuple[Media, ...] = (), **options: Any) -> Post:
    return Post(content=content, targets=("bluesky:main",), media=media,
                target_options={"bluesky": options} if options else {})


async def test_text_with_facets_reads_back_with_byte_ranges_slicing_the_right_text(real: Real) -> None:
    alice, friend = await new_account(real.http, real.url), await new_account(real.http, real.url)
    access = await real.connect(alice)
    content = (f"héllo 👩‍👩‍👧‍👦 क्ष see https://example.com/ünï?q=1 #crosspost #日本 "
               f"@{friend.handle} and @ghost-{friend.handle}")
    outcome, ctx = await real.publish(access, post(content, langs=["en", "ja"], labels=["nudity"]), "facets")
    stored = await get_record(real.http, real.url, outcome.publish_id)
    value = stored["value"]
    assert value["text"] == content
    assert value["langs"] == ["en", "ja"]
    assert value["labels"]["values"] == [{"val": "nudity"}]
    marked = [(sliced(content, f), f["features"][0]) for f in value["facets"]]
    assert marked == [
        ("https://example.com/ünï?q=1",
         {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/ünï?q=1"}),
        ("#crosspost", {"$type": "app.bsky.richtext.facet#tag", "tag": "crosspost"}),
        ("#日本", {"$type": "app.bsky.richtext.facet#tag", "tag": "日本"}),
        (f"@{friend.handle}", {"$type": "app.bsky.richtext.facet#mention", "did": friend.did}),
    ]
    assert any(f"@ghost-{friend.handle}" in w for w in ctx.warnings)
    assert stored["uri"] == outcome.publish_id
    assert outcome.post_url.endswith(f"/profile/{alice.handle}/post/{stored['uri'].rsplit('/', 1)[1]}")


async def test_300_graphemes_as_the_server_counts_them_are_accepted(real: Real) -> None:
    access = await real.connect(await new_account(real.http, real.url))
    content = "क्ष" * 300  # one grapheme each under Unicode 15.1, 2,700 bytes
    outcome, _ = await real.publish(access, post(content), "graphemes")
    assert (await get_record(real.http, real.url, outcome.publish_id))["value"]["text"] == content
    validation = await real.platform.validate(post(content + "क्ष"), real.context(access, "over"))
    assert [p.field for p in validation.problems] == ["content"]


async def test_images_read_back_as_blob_refs_with_alt_and_aspect_ratio(real: Real) -> None:
    alice = await new_account(real.http, real.url)
    access = await real.connect(alice)
    files = []
    for i, size in enumerate(((800, 600), (300, 900))):
        path = real.tmp / f"photo{i}.jpg"
        Image.new("RGB", size, (30 * i, 90, 160)).save(path, quality=90)
        files.append(path)
    media = tuple(Media(type=MediaKind.IMAGE, path=str(p), alt=f"photo {i}") for i, p in enumerate(files))
    outcome, _ = await real.publish(access, post("two photos", media), "images")
    value = (await get_record(real.http, real.url, outcome.publish_id))["value"]
    images = value["embed"]["images"]
    assert value["embed"]["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in images] == ["photo 0", "photo 1"]
    assert [i["aspectRatio"] for i in images] == [{"width": 800, "height": 600}, {"width": 300, "height": 900}]
    for image, path in zip(images, files, strict=True):
        ref = image["image"]
        assert ref["mimeType"] == "image/jpeg"
        assert ref["size"] == path.stat().st_size
        async with real.http.get(f"{real.url}/xrpc/com.atproto.sync.getBlob",
                                 params={"did": alice.did, "cid": ref["ref"]["$link"]}) as response:
            assert response.status == 200
            assert await response.read() == path.read_bytes()


async def test_a_thread_reads_back_as_replies_to_the_right_root_and_parent(real: Real) -> None:
    alice = await new_account(real.http, real.url)
    access = await real.connect(alice)
    content = " ".join(f"Sentence {i} of a story told in a thread #story{i}." for i in range(25))
    outcome, _ = await real.publish(access, post(content, thread=True), "thread")
    parts = rich.split_thread(content)
    assert len(parts) >= 3
    posts = sorted(await list_posts(real.http, real.url, alice.did), key=lambda r: r["uri"])
    assert [p["value"]["text"] for p in posts] == parts
    root = {"uri": posts[0]["uri"], "cid": posts[0]["cid"]}
    assert outcome.publish_id == root["uri"]
    assert "reply" not in posts[0]["value"]
    for previous, reply in pairwise(posts):
        assert reply["value"]["reply"] == {"root": root, "parent": {"uri": previous["uri"], "cid": previous["cid"]}}
    for reply in posts:
        text = reply["value"]["text"]
        assert all(sliced(text, f) == "#" + f["features"][0]["tag"] for f in reply["value"]["facets"])


async def test_a_lost_answer_on_the_write_retried_leaves_exactly_one_record(real: Real) -> None:
    alice = await new_account(real.http, real.url)
    async with losing_proxy(real.url) as proxy:
        access = await real.connect(alice, service=proxy.url)
        proxy.lose["com.atproto.repo.createRecord"] = 1
        ctx = real.context(access, "lost-answer")
        with pytest.raises(TransientError):
            await real.platform.publish(post("exactly once on the real server"), ctx)
        assert proxy.lost == ["com.atproto.repo.createRecord -> 200"]  # the PDS committed it
        outcome = await real.platform.publish(post("exactly once on the real server"), ctx.next_attempt())
    posts = await list_posts(real.http, real.url, alice.did)
    assert [p["value"]["text"] for p in posts] == ["exactly once on the real server"]
    assert outcome.publish_id == posts[0]["uri"]


async def test_a_repeated_create_on_the_same_key_meets_the_real_500_and_reads_the_record(real: Real) -> None:
    alice = await new_account(real.http, real.url)
    async with losing_proxy(real.url) as proxy:
        access = await real.connect(alice, service=proxy.url)
        proxy.lose["com.atproto.repo.createRecord"] = 1
        ctx = real.context(access, "repeat-create")
        with pytest.raises(TransientError):
            await real.platform.publish(post("written once"), ctx)
        # Without the "writing" mark the retry sends createRecord again on the same key: the real
        # PDS answers 500 ("already a value at key"), and the plugin reads the record instead.
        outcome = await real.platform.publish(post("written once"),
                                              ctx.next_attempt(checkpoint={**ctx.checkpoint, "writing": None}))
    posts = await list_posts(real.http, real.url, alice.did)
    assert len(posts) == 1
    assert outcome.publish_id == posts[0]["uri"]


async def test_an_expired_session_is_refreshed_by_the_server_and_the_new_tokens_stored(real: Real) -> None:
    alice = await new_account(real.http, real.url)
    access = await real.connect(alice)
    before = dict(access.account.secrets)
    real.clock.advance(2 * 3600)  # past the access token's 2 hours: the plugin must refresh first
    outcome, _ = await real.publish(access, post("after a refresh"), "refresh")
    after = access.account.secrets
    # The PDS's access JWTs carry no nonce: one issued in the same second as the old one is
    # byte-identical. Its refresh JWTs carry a jti, so the rotation shows there.
    assert after["refresh_jwt"] != before["refresh_jwt"]  # rotated by the server, and stored
    assert after["app_password"] == before["app_password"]
    session = await xrpc(real.http, real.url, "GET", "com.atproto.server.getSession", token=after["access_jwt"])
    assert session["did"] == alice.did
    assert (await get_record(real.http, real.url, outcome.publish_id))["value"]["text"] == "after a refresh"
