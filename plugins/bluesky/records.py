"""The ``app.bsky.feed.post`` record and its embeds, built as plain JSON (pure: no I/O).

Record keys are chosen here, before any write: a post's key is a TID (13 characters of
base32-sortable time), derived from the job's clock and id, so a retry after a lost answer asks
for the same key and can look the record up instead of posting twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

POST = "app.bsky.feed.post"
IMAGES = "app.bsky.embed.images"
VIDEO = "app.bsky.embed.video"
EXTERNAL = "app.bsky.embed.external"
SELF_LABELS = "com.atproto.label.defs#selfLabels"

SELF_LABEL_VALUES = ("!no-unauthenticated", "porn", "sexual", "nudity", "graphic-media")
"""Values a user may put on their own post (``labels``): adult content warnings, and
``!no-unauthenticated`` to ask apps not to show the post to logged-out viewers."""

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID = frozenset(_TID_ALPHABET)


@attrs.frozen(kw_only=True)
class StrongRef:
    """A record's ``{uri, cid}``: what replies point at."""

    uri: str
    cid: str

    def to_json(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[-1]


def tid(when: datetime, clock_id: int) -> str:
    """The TID for ``when`` (microseconds since the epoch) and a 10-bit ``clock_id``."""
    micros = int(when.timestamp() * 1_000_000)
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_tid(value: str) -> bool:
    """Whether ``value`` is shaped like a TID (13 characters, the first one of ``234567abcdefghij``)."""
    return len(value) == 13 and set(value) <= _TID and value[0] in _TID_ALPHABET[:16]


def record_keys(now: datetime, job_id: str, count: int) -> list[str]:
    """``count`` distinct, increasing record keys for one job's posts (a thread's parts in order).

    The clock id comes from the job id, so two jobs posting in the same microsecond still get
    different keys; part ``i`` is ``i`` microseconds after the first."""
    clock_id = int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:2], "big") & 0x3FF
    base = int(now.timestamp() * 1_000_000)
    return [tid(datetime.fromtimestamp((base + i) / 1_000_000, tz=UTC), clock_id) for i in range(count)]


def created_at(now: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and ``Z`` (what Bluesky's own apps write)."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def self_labels(values: Sequence[str]) -> dict[str, Any]:
    return {"$type": SELF_LABELS, "values": [{"val": v} for v in dict.fromkeys(values)]}


def aspect_ratio(width: int | None, height: int | None) -> dict[str, int] | None:
    """``{width, height}`` when both are known and positive (the PDS refuses zeros)."""
    if not width or not height or width < 1 or height < 1:
        return None
    return {"width": width, "height": height}


@attrs.frozen(kw_only=True)
class ImageEmbed:
    """One uploaded image: its blob (as the PDS returned it), alt text and picture size."""

    blob: Mapping[str, Any]
    alt: str = ""
    width: int | None = None
    height: int | None = None


def images_embed(images: Sequence[ImageEmbed]) -> dict[str, Any]:
    items = []
    for image in images:
        item: dict[str, Any] = {"image": dict(image.blob), "alt": image.alt}
        ratio = aspect_ratio(image.width, image.height)
        if ratio is not None:
            item["aspectRatio"] = ratio
        items.append(item)
    return {"$type": IMAGES, "images": items}


def video_embed(blob: Mapping[str, Any], *, alt: str | None, width: int | None, height: int | None) -> dict[str, Any]:
    embed: dict[str, Any] = {"$type": VIDEO, "video": dict(blob)}
    if alt:
        embed["alt"] = alt
    ratio = aspect_ratio(width, height)
    if ratio is not None:
        embed["aspectRatio"] = ratio
    return embed


def external_embed(uri: str, *, title: str = "", description: str = "") -> dict[str, Any]:
    """A link card. crosspost does not fetch the page: the title defaults to the link itself."""
    return {"$type": EXTERNAL, "external": {"uri": uri, "title": title or uri, "description": description}}


def post_record(*, text: str, now: datetime, facets: Sequence[Mapping[str, Any]] = (),
                langs: Sequence[str] = (), labels: Sequence[str] = (),
                reply: tuple[StrongRef, StrongRef] | None = None,
                embed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One ``app.bsky.feed.post``. ``reply`` is ``(root, parent)``; optional fields are left out
    when empty, as the lexicon prefers."""
    record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": created_at(now)}
    if facets:
        record["facets"] = [dict(f) for f in facets]
    if langs:
        record["langs"] = list(langs)
    if labels:
        record["labels"] = self_labels(labels)
    if reply is not None:
        root, parent = reply
        record["reply"] = {"root": root.to_json(), "parent": parent.to_json()}
    if embed is not None:
        record["embed"] = dict(embed)
    return record


def post_url(handle_or_did: str, rkey: str) -> str:
    """Where people see the post in Bluesky's web app."""
    return f"https://bsky.app/profile/{handle_or_did}/post/{rkey}"
