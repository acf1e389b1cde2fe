"""A seeded generator of malformed post requests (bytes of a request file), for the fuzz tests.

Every case starts from one valid request and applies one to three mutations, each of which makes
the request invalid on its own (so no case can be a post that should publish): bytes that are not
UTF-8, lone surrogate escapes, nesting thousands deep, a null byte in a path, a list or an object
where a string belongs, unsafe media URLs, malformed ``target_options.tiktok.content`` / ``media``
overrides, broken JSON, a top level that is not an object, unknown media keys.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import attrs

UNSAFE_URLS = (
    "file:///etc/passwd", "clip.mp4", "./media/clip.mp4", "/var/media/clip.mp4", "ftp://example.com/a.mp4",
    "javascript:alert(1)", "data:video/mp4;base64,AAAA", "gopher://example.com/", "//cdn.example.com/a.mp4",
    "https://", "http:///a.mp4", " https://cdn.example.com/a.mp4", "https://cdn.example.com/a.mp4\n",
    "http://127.0.0.1/a.mp4", "http://127.1/a.mp4", "http://2130706433/a.mp4", "http://0x7f.1/a.mp4",
    "http://[::1]/a.mp4", "http://[::ffff:127.0.0.1]/a.mp4", "http://10.0.0.1/a.mp4", "http://192.168.1.2/a.mp4",
    "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/a.mp4", "http://localhost:8080/a.mp4",
    "https://media.localhost/a.mp4", "http://0.0.0.0/a.mp4", "https://cdn.example.com:99999/a.mp4",
)
NOT_STRINGS: tuple[Any, ...] = ([], ["tiktok:main"], {}, {"a": 1}, 0, 17, -1.5, True, False)
STRING_FIELDS = ("content", "targets[0]", "media[0].type", "media[0].path", "scheduled_at", "timezone",
                 "idempotency_key", "target_options.tiktok.content")
SURROGATES = ("\\ud800", "\\udfff", "\\udc00x", "a\\ud83d")


@attrs.frozen
class Case:
    """One malformed request: its bytes, what was done to it, and whether the mistake is in the
    document as a whole (bytes, syntax, top level) rather than at one field."""

    seed: int
    raw: bytes
    mutations: tuple[str, ...]
    whole_document: bool


def base_request(video: str) -> dict[str, Any]:
    return {
        "content": "fuzzed #test",
        "targets": ["tiktok:main"],
        "media": [{"type": "video", "path": video}],
        "scheduled_at": "now",
        "target_options": {"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": True, "allow_duet": False,
                                      "allow_stitch": False}},
    }


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at a dotted path with ``[i]`` indexes (``media[0].path``)."""
    node: Any = data
    parts = path.replace("[", ".[").split(".")
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node.setdefault(part, {})
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value


MARK = "\x00MARK\x00"
"""Placeholder replaced in the serialized text (surrogate escapes and bad bytes cannot pass json.dumps)."""


DEEP = "\x00DEEP\x00"
"""Placeholder for a deeply nested value, written as text (json.dumps itself cannot go that deep)."""


def _nested(depth: int, rng: random.Random) -> bytes:
    opens, closes = [], []
    for _ in range(depth):
        if rng.random() < 0.5:
            opens.append(b"[")
            closes.append(b"]")
        else:
            opens.append(b'{"x":')
            closes.append(b"}")
    return b"".join(opens) + b'"bottom"' + b"".join(reversed(closes))


def generate(seed: int, video: str) -> Case:
    rng = random.Random(seed)
    data = base_request(video)
    textual: list[tuple[str, bytes]] = []
    deep: list[bytes] = []
    names: list[str] = []
    whole = False
    for _ in range(rng.choice((1, 1, 2, 3))):
        kind = rng.choice(("utf8", "surrogate", "deep", "null", "not_string", "url", "override", "media_key",
                           "syntax", "top_level", "url", "not_string"))
        names.append(kind)
        if kind == "utf8":
            textual.append(("utf8", rng.choice((b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\x80abc"))))
            _set(data, rng.choice(("content", "media[0].path", "target_options.tiktok.privacy_level")), MARK)
            whole = True
        elif kind == "surrogate":
            textual.append(("surrogate", rng.choice(SURROGATES).encode()))
            field = rng.choice(("content", "media[0].path", "targets[0]", "target_options.tiktok.privacy_level"))
            _set(data, field, MARK)
        elif kind == "deep":
            where = rng.choice(("content", "target_options.tiktok.extra", "media[0].alt", "idempotency_key"))
            _set(data, where, DEEP)
            deep.append(_nested(rng.choice((33, 100, 999, 5_000, 10_000)), rng))
        elif kind == "null":
            path = data["media"][0].get("path") or video
            cut = rng.randrange(len(path) + 1)
            data["media"][0] = {"type": "video", "path": path[:cut] + "\x00" + path[cut:]}
        elif kind == "not_string":
            _set(data, rng.choice(STRING_FIELDS), rng.choice(NOT_STRINGS))
        elif kind == "url":
            data["media"][0] = {"type": rng.choice(("video", "image")), "url": rng.choice(UNSAFE_URLS)}
        elif kind == "override":
            bad = rng.choice((("content", rng.choice(NOT_STRINGS)), ("media", rng.choice(({}, "clip.mp4", 3))),
                              ("media", [rng.choice(({"type": "video"}, "a.mp4", {"type": "gif", "path": "a"}))])))
            data["target_options"]["tiktok"][bad[0]] = bad[1]
        elif kind == "media_key":
            data["media"][0][rng.choice(("size", "mime", "Path", "urls"))] = "x"
        elif kind == "syntax" or kind == "top_level":
            whole = True
    text = json.dumps(data)
    raw = text.encode("utf-8")
    for _, payload in textual:
        raw = raw.replace(json.dumps(MARK).encode()[1:-1], payload, 1)
    raw = raw.replace(json.dumps(MARK).encode()[1:-1], b"x")
    for value in deep:
        raw = raw.replace(json.dumps(DEEP).encode(), value, 1)
    raw = raw.replace(json.dumps(DEEP).encode(), b'"x"')
    if "syntax" in names:
        raw = rng.choice((lambda r: r[: rng.randrange(1, max(2, len(r) - 1))], lambda r: r + b" }",
                          lambda r: r.replace(b":", b"=", 1), lambda r: b"{" + r))(raw)  # type: ignore[operator]
    if "top_level" in names:
        raw = rng.choice((b"[]", b'"a post"', b"42", b"null", b"[" + raw + b"]", b""))
    return Case(seed=seed, raw=raw, mutations=tuple(names), whole_document=whole)


Mutator = Callable[[bytes], bytes]
