"""UTF-16 counting and the photo title derived from the content, as the hosted services do it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosspost.plugins.tiktok.text import derive_photo_title, truncate_utf16, utf16_len


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), ("日本", 2), ("🔥", 2), ("👍🏽", 4), ("a🔥b", 4), ("👨‍👩‍👧", 8)],
)
def test_utf16_len_counts_emoji_outside_the_bmp_as_two(text, units):
    assert utf16_len(text) == units


@given(st.text())
def test_utf16_len_equals_the_utf16_encoding_length(text):
    assert utf16_len(text) == len(text.encode("utf-16-le", "surrogatepass")) // 2


def test_truncate_utf16_never_splits_an_emoji():
    assert truncate_utf16("ab🔥", 3) == "ab"
    assert truncate_utf16("ab🔥", 4) == "ab🔥"
    assert truncate_utf16("abc", 0) == ""


@given(st.text(), st.integers(min_value=0, max_value=200))
def test_truncate_utf16_gives_the_longest_prefix_within_the_limit(text, limit):
    cut = truncate_utf16(text, limit)
    assert text.startswith(cut)
    assert utf16_len(cut) <= limit
    if cut != text:
        assert utf16_len(text[: len(cut) + 1]) > limit


def test_truncate_utf16_rejects_a_negative_limit():
    with pytest.raises(ValueError, match=">= 0"):
        truncate_utf16("x", -1)


@pytest.mark.parametrize(
    ("content", "title"),
    [
        ("My travel highlights", "My travel highlights"),
        ("Check out this amazing sunset! #sunset #nature", "Check out this amazing sunset!"),
        ("New cooking tutorial #recipe #foodtok", "New cooking tutorial"),
        ("See https://example.com/a?b=1 and www.example.org now", "See and now"),
        ("#only #tags", ""),
        ("C# and F# stay, #this goes", "C# and F# stay, goes"),
        ("Hello @tiktok   friends\n\nbye", "Hello @tiktok friends bye"),
        ("Día de playa #verano 🌊", "Día de playa 🌊"),
    ],
)
def test_photo_title_strips_hashtags_and_links_and_collapses_whitespace(content, title):
    assert derive_photo_title(content) == title


def test_photo_title_is_cut_to_90_units_without_splitting_a_surrogate_pair():
    title = derive_photo_title("a" * 89 + "🔥" + "b" * 10)
    assert title == "a" * 89
    assert utf16_len(derive_photo_title("🔥" * 60)) == 90


@given(st.text())
def test_derived_photo_title_is_always_within_90_units_and_hashtag_free(content):
    title = derive_photo_title(content)
    assert utf16_len(title) <= 90
    assert title == title.strip()
    assert "http://" not in title.lower()
    assert "https://" not in title.lower()
