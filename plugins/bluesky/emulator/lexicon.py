"""The ``app.bsky.feed.post`` checks the emulator applies on write, answered as the PDS does
(400 ``InvalidRequest``, "Invalid app.bsky.feed.post record: … at $.record.…").

It checks what the reference PDS checks (text length, ≤ 4 images with ``alt``, aspect ratios,
``createdAt``, ≤ 3 languages) and, stricter than the PDS, what apps would silently mishandle:
facet byte ranges inside the text and not overlapping, image blobs ≤ 1,000,000 bytes that were
uploaded by this account, and replies to posts that exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import regex

from crosspost.plugins.bluesky import text as rich
from crosspost.plugins.bluesky.records import EXTERNAL, IMAGES, POST, VIDEO

MAX_IMAGE_BYTES = 1_000_000
_LANG = regex.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")
_FEATURES = {"link": "uri", "mention": "did", "tag": "tag"}

BlobLookup = Callable[[str], Mapping[str, Any] | None]
"""The blob with that CID uploaded by the writing account, or None."""
RecordExists = Callable[[str], bool]


def problems(record: object, *, blob: BlobLookup, exists: RecordExists) -> str | None:
    """The first thing wrong with ``record``, worded like the PDS; None when it is valid."""
    if not isinstance(record, Mapping):
        return "Record must be an object at $.record"
    checks = (_type, _text, _created, _langs, _facets, _labels)
    for check in checks:
        found = check(record)
        if found:
            return found
    return _embed(record.get("embed"), blob) or _reply(record.get("reply"), exists)


def _bad(message: str, path: str) -> str:
    return f"Invalid {POST} record: {message} at $.record{path}"


def _type(record: Mapping[str, Any]) -> str | None:
    if record.get("$type", POST) != POST:
        return _bad(f"$type must be {POST}", ".$type")
    return None


def _text(record: Mapping[str, Any]) -> str | None:
    text = record.get("text")
    if not isinstance(text, str):
        return _bad("Record must have the property \"text\"", "")
    if rich.graphemes(text) > rich.MAX_GRAPHEMES:
        return _bad(f"grapheme too big (maximum {rich.MAX_GRAPHEMES}, got {rich.graphemes(text)})", ".text")
    if rich.utf8_length(text) > rich.MAX_BYTES:
        return _bad(f"string too long (maximum {rich.MAX_BYTES}, got {rich.utf8_length(text)})", ".text")
    return None


def _created(record: Mapping[str, Any]) -> str | None:
    value = record.get("createdAt")
    if not isinstance(value, str):
        return _bad("Record must have the property \"createdAt\"", "")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _bad("createdAt must be an valid atproto datetime", ".createdAt")
    if parsed.tzinfo is None:
        return _bad("createdAt must be an valid atproto datetime (with a timezone)", ".createdAt")
    return None


def _langs(record: Mapping[str, Any]) -> str | None:
    langs = record.get("langs", [])
    if not isinstance(langs, list) or len(langs) > 3:
        return _bad("langs must not have more than 3 elements", ".langs")
    for i, lang in enumerate(langs):
        if not isinstance(lang, str) or not _LANG.match(lang):
            return _bad("must be a well-formed BCP-47 language tag", f".langs/{i}")
    return None


def _facets(record: Mapping[str, Any]) -> str | None:
    size = rich.utf8_length(record.get("text", ""))
    end = 0
    facets = record.get("facets", [])
    if not isinstance(facets, list):
        return _bad("facets must be an array", ".facets")
    for i, facet in enumerate(sorted(facets, key=_start)):
        index = facet.get("index") if isinstance(facet, Mapping) else None
        start, stop = (index.get("byteStart"), index.get("byteEnd")) if isinstance(index, Mapping) else (None, None)
        if not isinstance(start, int) or not isinstance(stop, int) or not 0 <= start < stop <= size:
            return _bad(f"facet byte range must lie within the text's {size} bytes", f".facets/{i}/index")
        if start < end:
            return _bad("facets must not overlap", f".facets/{i}/index")
        end = stop
        for feature in facet.get("features") or [None]:
            kind = str(feature.get("$type", "")).rpartition("#")[2] if isinstance(feature, Mapping) else ""
            field = _FEATURES.get(kind)
            if field is None or not isinstance(feature, Mapping) or not isinstance(feature.get(field), str):
                return _bad("facet feature must be a link (uri), mention (did) or tag (tag)", f".facets/{i}/features")
    return None


def _start(facet: object) -> int:
    index = facet.get("index") if isinstance(facet, Mapping) else None
    start = index.get("byteStart") if isinstance(index, Mapping) else None
    return start if isinstance(start, int) else -1


def _labels(record: Mapping[str, Any]) -> str | None:
    labels = record.get("labels")
    if labels is None:
        return None
    values = labels.get("values") if isinstance(labels, Mapping) else None
    if not isinstance(values, list) or not all(isinstance(v, Mapping) and isinstance(v.get("val"), str)
                                               for v in values):
        return _bad("labels must be selfLabels with values [{val}]", ".labels")
    return None


def _embed(embed: object, blob: BlobLookup) -> str | None:
    if embed is None:
        return None
    if not isinstance(embed, Mapping):
        return _bad("embed must be an object", ".embed")
    kind = embed.get("$type")
    if kind == IMAGES:
        images = embed.get("images")
        if not isinstance(images, list) or len(images) > 4:
            return _bad("images must not have more than 4 elements", ".embed.images")
        for i, image in enumerate(images):
            found = _image(image, blob, f".embed.images/{i}")
            if found:
                return found
        return None
    if kind == VIDEO:
        ref = _blob(embed.get("video"), blob)
        if ref is None or not str(ref.get("mimeType", "")).startswith("video/"):
            return _bad("video must be an uploaded video blob", ".embed.video")
        return _ratio(embed.get("aspectRatio"), ".embed.aspectRatio")
    if kind == EXTERNAL:
        external = embed.get("external")
        if not isinstance(external, Mapping) or not all(isinstance(external.get(k), str)
                                                        for k in ("uri", "title", "description")):
            return _bad("external must have uri, title and description", ".embed.external")
        return None
    return _bad(f"embed $type {kind!r} is not supported by this emulator", ".embed")


def _image(image: object, blob: BlobLookup, path: str) -> str | None:
    if not isinstance(image, Mapping) or not isinstance(image.get("alt"), str):
        return _bad("Record must have the property \"alt\"", path)
    ref = _blob(image.get("image"), blob)
    if ref is None or not str(ref.get("mimeType", "")).startswith("image/"):
        return _bad("image must be an uploaded image blob", f"{path}.image")
    if int(ref.get("size", 0)) > MAX_IMAGE_BYTES:
        return _bad(f"image blob is {ref.get('size')} bytes; apps show at most {MAX_IMAGE_BYTES}", f"{path}.image")
    return _ratio(image.get("aspectRatio"), f"{path}.aspectRatio")


def _blob(value: object, blob: BlobLookup) -> Mapping[str, Any] | None:
    ref = value.get("ref") if isinstance(value, Mapping) else None
    link = ref.get("$link") if isinstance(ref, Mapping) else None
    return blob(link) if isinstance(link, str) else None


def _ratio(value: object, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(value.get(k), int) and value[k] >= 1
                                                 for k in ("width", "height")):
        return _bad("aspectRatio width and height must be integers of at least 1", path)
    return None


def _reply(reply: object, exists: RecordExists) -> str | None:
    if reply is None:
        return None
    for part in ("root", "parent"):
        ref = reply.get(part) if isinstance(reply, Mapping) else None
        if not isinstance(ref, Mapping) or not isinstance(ref.get("uri"), str) or not isinstance(ref.get("cid"), str):
            return _bad(f"reply.{part} must be a strong ref {{uri, cid}}", f".reply.{part}")
        if not exists(ref["uri"]):
            return _bad(f"reply.{part} points at no post on this server", f".reply.{part}")
    return None
