"""Bluesky rich text, pure: grapheme counting, facet detection with UTF-8 byte offsets, threads.

Bluesky's servers detect nothing in a post's text: links, ``#tags`` and ``@mentions`` are only
clickable when the client sends *facets*, each spanning ``[byteStart, byteEnd)`` of the text
encoded as UTF-8. Python strings index code points, so every offset here is converted to bytes.

Lengths are counted in extended grapheme clusters (what a reader sees as one character), with
the ``regex`` module's ``\\X``: it follows the current Unicode segmentation rules (15.1's
conjunct rule included, which the reference PDS applies through ``Intl.Segmenter``), where the
older ``grapheme`` package still counts Unicode 13's way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs
import regex

MAX_GRAPHEMES = 300
"""A post's text: at most 300 graphemes ..."""
MAX_BYTES = 3000
"""... and at most 3,000 bytes of UTF-8 (the lexicon's two limits; both are enforced)."""
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640

FACET = "app.bsky.richtext.facet"

_GRAPHEME = regex.compile(r"\X")
# A link starts at the text's start or after whitespace or "("; trailing punctuation is trimmed.
_LINK = regex.compile(r"(?:^|(?<=[\s(]))https?://[^\s]+", regex.IGNORECASE)
_TRAILING = ".,;:!?\"'"
# A handle is two or more DNS labels; the mention must not run on into more handle characters.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_MENTION = regex.compile(rf"(?:^|(?<=[\s(]))@({_LABEL}(?:\.{_LABEL})+)(?![a-zA-Z0-9-])")
# A tag: "#" (or the full-width number sign U+FF03) after whitespace, up to the next space; trailing
# punctuation is not part of it, and a tag of digits only ("#1") is a number, not a tag.
_TAG = regex.compile(r"(?:^|(?<=\s))[#\uff03]([^\s#\uff03]+)")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_WORD = regex.compile(r"\s*\S+\s*")


def graphemes(text: str) -> int:
    """How many characters a reader sees (extended grapheme clusters), as Bluesky counts."""
    return sum(1 for _ in _GRAPHEME.finditer(text))


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def fits(text: str, *, max_graphemes: int = MAX_GRAPHEMES, max_bytes: int = MAX_BYTES) -> bool:
    """Whether ``text`` is within both of a post's limits."""
    return utf8_length(text) <= max_bytes and graphemes(text) <= max_graphemes


# -- facets -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Span:
    """One detected link, tag or mention: ``[start, end)`` in UTF-8 bytes of the text."""

    kind: Literal["link", "tag", "mention"]
    start: int
    end: int
    value: str
    """The link's URI, the tag without ``#``, or the mention's handle (lower-cased)."""


def detect(text: str) -> list[Span]:
    """Every link, tag and mention in ``text``, in order, none overlapping (an earlier one wins)."""
    found = [*_links(text), *_mentions(text), *_tags(text)]
    found.sort(key=lambda s: (s.start, -s.end))
    kept: list[Span] = []
    for span in found:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def _bytes_at(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _span(text: str, kind: Literal["link", "tag", "mention"], start: int, end: int, value: str) -> Span:
    return Span(kind=kind, start=_bytes_at(text, start), end=_bytes_at(text, end), value=value)


def _links(text: str) -> Iterable[Span]:
    for match in _LINK.finditer(text):
        uri = _trim_link(match.group())
        if len(uri) > len("https://"):
            yield _span(text, "link", match.start(), match.start() + len(uri), uri)


def _trim_link(uri: str) -> str:
    """Drop trailing sentence punctuation, and a ")" the link did not open."""
    while uri:
        if uri[-1] in _TRAILING or (uri[-1] == ")" and uri.count("(") < uri.count(")")):
            uri = uri[:-1]
        else:
            break
    return uri


def _mentions(text: str) -> Iterable[Span]:
    for match in _MENTION.finditer(text):
        yield _span(text, "mention", match.start(), match.end(), match.group(1).lower())


def _tags(text: str) -> Iterable[Span]:
    for match in _TAG.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", match.group(1))
        if not tag or tag.isdigit() or graphemes(tag) > MAX_TAG_GRAPHEMES or utf8_length(tag) > MAX_TAG_BYTES:
            continue
        yield _span(text, "tag", match.start(), match.start() + 1 + len(tag), tag)


def mention_handles(spans: Iterable[Span]) -> list[str]:
    """The distinct handles mentioned, in order of first appearance (each is resolved once)."""
    return list(dict.fromkeys(s.value for s in spans if s.kind == "mention"))


def facets(spans: Sequence[Span], dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``facets`` of a post: links and tags as found, mentions whose handle resolved to a
    DID in ``dids`` (an unresolved mention stays plain text; the caller warns)."""
    out: list[dict[str, Any]] = []
    for span in spans:
        if span.kind == "link":
            feature = {"$type": f"{FACET}#link", "uri": span.value}
        elif span.kind == "tag":
            feature = {"$type": f"{FACET}#tag", "tag": span.value}
        elif span.value in dids:
            feature = {"$type": f"{FACET}#mention", "did": dids[span.value]}
        else:
            continue
        out.append({"index": {"byteStart": span.start, "byteEnd": span.end}, "features": [feature]})
    return out


# -- threads ------------------------------------------------------------------------------------


def split_thread(text: str, *, max_graphemes: int = MAX_GRAPHEMES, max_bytes: int = MAX_BYTES) -> list[str]:
    """``text`` cut into posts that each fit, at word boundaries (a word longer than a whole post
    is cut between graphemes). Whitespace at the cuts is dropped; newlines inside a part stay."""
    text = text.strip()
    if fits(text, max_graphemes=max_graphemes, max_bytes=max_bytes):
        return [text]
    parts: list[str] = []
    current = ""
    for word in _WORD.findall(text):
        candidate = current + word
        if fits(candidate.strip(), max_graphemes=max_graphemes, max_bytes=max_bytes):
            current = candidate
            continue
        if current.strip():
            parts.append(current.strip())
        current = word
        while not fits(current.strip(), max_graphemes=max_graphemes, max_bytes=max_bytes):
            head, current = _cut(current.strip(), max_graphemes, max_bytes)
            parts.append(head)
    if current.strip():
        parts.append(current.strip())
    return parts


def _cut(word: str, max_graphemes: int, max_bytes: int) -> tuple[str, str]:
    """The longest grapheme-aligned head of ``word`` that fits, and the rest."""
    size = 0
    end = 0
    for count, match in enumerate(_GRAPHEME.finditer(word), start=1):
        size += utf8_length(match.group())
        if count > max_graphemes or size > max_bytes:
            break
        end = match.end()
    return word[:end], word[end:]
