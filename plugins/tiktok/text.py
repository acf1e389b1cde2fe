"""Text as TikTok measures it: in UTF-16 code units, which is how its limits are counted.

TikTok's limits (caption 2,200, photo title 90, photo description 4,000) are "UTF-16 runes":
an emoji outside the Basic Multilingual Plane (🔥, 👍🏽) counts as two, so ``len(text)`` on a
Python string undercounts. Everything here is pure.
"""

from __future__ import annotations

import re

PHOTO_TITLE_LIMIT = 90
"""Longest photo title TikTok accepts, in UTF-16 code units."""

_HASHTAG = re.compile(r"(?<!\w)#\w+")
_URL = re.compile(r"(?:\bhttps?://|\bwww\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (a non-BMP character such as an emoji counts 2)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def truncate_utf16(text: str, limit: int) -> str:
    """The longest prefix of ``text`` at most ``limit`` UTF-16 units long.

    Cuts between characters only, so a surrogate pair (one emoji) is never split in half.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return text[:index]
    return text


def strip_for_title(content: str) -> str:
    """``content`` without hashtags and links, whitespace collapsed (not yet shortened)."""
    without = _URL.sub(" ", content)
    without = _HASHTAG.sub(" ", without)
    return _SPACE.sub(" ", without).strip()


def derive_photo_title(content: str) -> str:
    """The photo title the hosted services derive from a post's content.

    Hashtags (``#travel``) and links (``https://…``, ``www.…``) are removed, runs of whitespace
    become one space, and the result is cut to 90 UTF-16 units without splitting an emoji.
    Mentions (``@name``) are kept. The full text belongs in the photo ``description``.
    """
    return truncate_utf16(strip_for_title(content), PHOTO_TITLE_LIMIT).rstrip()
