"""Limits and option checks before any upload (no network)."""

from __future__ import annotations

from crosspost.core.models import Media, MediaKind, Post
from crosspost.plugins.bluesky import limits
from crosspost.plugins.bluesky.platform import BlueskyPlatform


def post(content: str = "hi", media: tuple[Media, ...] = (), **options: object) -> Post:
    return Post(content=content, targets=("bluesky:main",), media=media, target_options={"bluesky": options})


def fields(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [p.field for p in problems]


def test_text_over_300_graphemes_names_the_thread_option() -> None:
    [problem] = limits.text_problems("a" * 301, limits.Options())
    assert problem.field == "content"
    assert "301 graphemes" in problem.message
    assert "thread" in problem.message
    assert limits.text_problems("a" * 301, limits.Options(thread=True)) == []


def test_text_over_3000_bytes_is_refused_even_under_300_graphemes() -> None:
    text = "👩‍👩‍👧‍👦" * 121
    [problem] = limits.text_problems(text, limits.Options())
    assert "3025 bytes" in problem.message


def test_langs_count_and_shape() -> None:
    p = post(langs=["en", "pt-BR", "ja", "de"])
    problems = limits.option_problems(p, limits.Options.of(p))
    assert fields(problems) == ["target_options.bluesky.langs"]
    p = post(langs=["en", "not a tag"])
    assert fields(limits.option_problems(p, limits.Options.of(p))) == ["target_options.bluesky.langs[1]"]


def test_link_card_needs_a_link_and_no_media() -> None:
    image = Media(type=MediaKind.IMAGE, path="/x.jpg")
    p = post("no link here", media=(image,), link_card=True)
    problems = limits.option_problems(p, limits.Options.of(p))
    assert fields(problems) == ["target_options.bluesky.link_card", "target_options.bluesky.link_card"]


def test_media_mix_urls_and_empty_posts() -> None:
    video = Media(type=MediaKind.VIDEO, path="/v.mp4")
    remote = Media(type=MediaKind.IMAGE, url="https://example.com/a.jpg")
    assert fields(limits.media_problems(post("", media=(video, remote)))) == ["media", "media[1].url"]
    assert fields(limits.media_problems(post(""))) == ["content"]


def test_video_size_and_duration() -> None:
    problems = limits.video_problems(0, size=limits.MAX_VIDEO_BYTES + 1, duration=181.0)
    assert len(problems) == 2
    assert all(p.field == "media[0].path" for p in problems)


def test_generic_checks_catch_bad_labels_and_typos_with_a_suggestion() -> None:
    platform = BlueskyPlatform()
    problems = platform.generic_problems(post(labels=["nsfw"], thred=True))
    messages = {p.field: p.message for p in problems}
    assert "accepted: !no-unauthenticated" in messages["target_options.bluesky.labels"]
    assert "did you mean 'thread'" in messages["target_options.bluesky.thred"]
    assert platform.generic_problems(post(media=tuple(Media(type=MediaKind.IMAGE, path=f"/{i}.jpg")
                                                      for i in range(5))))[0].field == "media"
