"""Facets with UTF-8 byte offsets, grapheme counting and thread splitting (no network)."""

from __future__ import annotations

import pytest

from crosspost.plugins.bluesky import text as rich


def sliced(text: str, span: rich.Span) -> str:
    return text.encode("utf-8")[span.start:span.end].decode("utf-8")


def test_tag_after_a_two_byte_letter_starts_at_its_byte_offset() -> None:
    text = "héllo #tag"
    [span] = rich.detect(text)
    assert (span.kind, span.start, span.end, span.value) == ("tag", 7, 11, "tag")
    assert text.index("#") == 6  # the character index differs from the byte offset


@pytest.mark.parametrize("prefix", ["👩‍👩‍👧‍👦 ", "🇫🇷🇫🇷 ", "e\u0301e\u0301 ", "क्ष ", "日本語 "])
def test_every_facet_slices_exactly_its_text_after_multibyte_prefixes(prefix: str) -> None:
    text = f"{prefix}see https://example.com/a?b=1 #café and @alice.test!"
    spans = rich.detect(text)
    assert [(s.kind, sliced(text, s)) for s in spans] == [
        ("link", "https://example.com/a?b=1"), ("tag", "#café"), ("mention", "@alice.test")]


def test_links_drop_trailing_punctuation_and_unopened_parentheses() -> None:
    text = "(see https://example.com/wiki/A_(b)). Then https://x.org/path, done."
    links = [sliced(text, s) for s in rich.detect(text) if s.kind == "link"]
    assert links == ["https://example.com/wiki/A_(b)", "https://x.org/path"]


def test_not_facets_numbers_emails_and_words_glued_to_a_hash() -> None:
    text = "issue #123, mail bob@example.com, c#sharp, @nodot, #ok."
    assert [(s.kind, s.value) for s in rich.detect(text)] == [("tag", "ok")]


def test_tag_of_more_than_64_graphemes_is_left_as_text() -> None:
    assert rich.detect("#" + "a" * 65) == []
    assert [s.value for s in rich.detect("#" + "a" * 64)] == ["a" * 64]


def test_a_mention_inside_a_link_is_not_a_second_facet() -> None:
    text = "https://example.com/@alice.test/post"
    assert [s.kind for s in rich.detect(text)] == ["link"]


def test_facets_skip_unresolved_mentions_and_keep_links_and_tags() -> None:
    text = "hi @alice.test and @ghost.test #x https://a.example"
    spans = rich.detect(text)
    assert rich.mention_handles(spans) == ["alice.test", "ghost.test"]
    facets = rich.facets(spans, {"alice.test": "did:plc:alice"})
    features = [f["features"][0] for f in facets]
    assert features == [
        {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"},
        {"$type": "app.bsky.richtext.facet#tag", "tag": "x"},
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example"},
    ]
    first = facets[0]["index"]
    assert text.encode()[first["byteStart"]:first["byteEnd"]] == b"@alice.test"


def test_graphemes_count_what_a_reader_sees() -> None:
    assert rich.graphemes("👩‍👩‍👧‍👦") == 1
    assert rich.graphemes("e\u0301") == 1
    assert rich.graphemes("क्ष") == 1  # Unicode 15.1 conjunct: one grapheme, as the PDS counts
    assert len("👩‍👩‍👧‍👦") == 7


def test_fits_checks_both_graphemes_and_bytes() -> None:
    assert rich.fits("a" * 300)
    assert not rich.fits("a" * 301)
    family = "👩‍👩‍👧‍👦"  # one grapheme, 25 bytes
    assert rich.fits(family * 120)  # exactly 3,000 bytes
    assert rich.graphemes(family * 121) == 121
    assert not rich.fits(family * 121)


def test_thread_split_keeps_words_whole_and_every_part_fits() -> None:
    words = [f"word{i}" for i in range(200)]
    text = " ".join(words)
    parts = rich.split_thread(text)
    assert len(parts) > 1
    assert all(rich.fits(p) for p in parts)
    assert " ".join(parts).split() == words


def test_thread_split_cuts_a_giant_word_between_graphemes() -> None:
    text = "👩‍👩‍👧‍👦" * 500
    parts = rich.split_thread(text)
    assert "".join(parts) == text
    assert all(rich.fits(p) for p in parts)


def test_short_text_is_one_part() -> None:
    assert rich.split_thread("  hello world \n") == ["hello world"]
