"""Record keys, the post record and its embeds (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

from crosspost.plugins.bluesky import records


def test_record_keys_are_tids_distinct_increasing_and_stable_for_a_job() -> None:
    now = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    keys = records.record_keys(now, "job-1", 5)
    assert all(records.is_tid(k) for k in keys)
    assert keys == sorted(keys)
    assert len(set(keys)) == 5
    assert records.record_keys(now, "job-1", 5) == keys
    assert records.record_keys(now, "job-2", 1)[0] != keys[0]


def test_tid_matches_the_atproto_shape() -> None:
    value = records.tid(datetime(2024, 1, 1, tzinfo=UTC), 0)
    assert len(value) == 13
    assert value[0] in "234567abcdefghij"
    assert not records.is_tid("badkey")
    assert not records.is_tid("z" * 13)


def test_post_record_with_reply_langs_labels_and_images() -> None:
    root = records.StrongRef(uri="at://did:plc:a/app.bsky.feed.post/3aaaaaaaaaa22", cid="bafyroot")
    parent = records.StrongRef(uri="at://did:plc:a/app.bsky.feed.post/3aaaaaaaaab22", cid="bafyparent")
    blob = {"$type": "blob", "ref": {"$link": "bafkrei"}, "mimeType": "image/jpeg", "size": 10}
    embed = records.images_embed([records.ImageEmbed(blob=blob, alt="a cat", width=640, height=480),
                                  records.ImageEmbed(blob=blob, alt="", width=None, height=None)])
    record = records.post_record(text="hi", now=datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC),
                                 langs=["en"], labels=["nudity", "nudity"], reply=(root, parent), embed=embed)
    assert record == {
        "$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-01-02T03:04:05.678Z", "langs": ["en"],
        "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "nudity"}]},
        "reply": {"root": {"uri": root.uri, "cid": "bafyroot"}, "parent": {"uri": parent.uri, "cid": "bafyparent"}},
        "embed": {"$type": "app.bsky.embed.images", "images": [
            {"image": blob, "alt": "a cat", "aspectRatio": {"width": 640, "height": 480}},
            {"image": blob, "alt": ""}]},
    }


def test_video_and_link_card_embeds() -> None:
    blob = {"$type": "blob", "ref": {"$link": "bafkrei"}, "mimeType": "video/mp4", "size": 10}
    assert records.video_embed(blob, alt="clip", width=1920, height=1080) == {
        "$type": "app.bsky.embed.video", "video": blob, "alt": "clip", "aspectRatio": {"width": 1920, "height": 1080}}
    assert records.external_embed("https://example.com") == {
        "$type": "app.bsky.embed.external",
        "external": {"uri": "https://example.com", "title": "https://example.com", "description": ""}}


def test_post_url_and_rkey() -> None:
    ref = records.StrongRef(uri="at://did:plc:a/app.bsky.feed.post/3kabc", cid="c")
    assert ref.rkey == "3kabc"
    assert records.post_url("alice.test", ref.rkey) == "https://bsky.app/profile/alice.test/post/3kabc"
