"""The demo's cross-post step, built neutrally from what each emulator offers (no emulator runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosspost.core.cli.demo import SHARED_CONTENT, cross_post
from crosspost.core.emulators import CrossPostPart, cross_post_part


class Offering:
    def __init__(self, text: str, photo: str | None) -> None:
        self.text, self.photo = text, photo

    def cross_post(self, media_dir: str) -> CrossPostPart:
        return CrossPostPart(options={"content": self.text, "required": media_dir}, photo=self.photo)


class Silent:
    """An emulator written before ``cross_post`` existed."""


def started(**emulators: object) -> list[Any]:
    return [(name, emulator, None) for name, emulator in emulators.items()]


def test_one_request_targets_every_offering_platform_with_its_own_block_and_the_first_photo() -> None:
    demo_post = cross_post(Path("/m"), started(a=Offering("A text", None), old=Silent(),
                                               b=Offering("B text", "/b.jpg"), c=Offering("C text", "/c.jpg")))
    assert demo_post is not None
    request = demo_post.request
    assert request["targets"] == ["a:demo", "b:demo", "c:demo"]
    assert request["content"] == SHARED_CONTENT
    assert request["target_options"] == {"a": {"content": "A text", "required": "/m/a"},
                                         "b": {"content": "B text", "required": "/m/b"},
                                         "c": {"content": "C text", "required": "/m/c"}}
    assert [m["path"] for m in request["media"]] == ["/b.jpg"]
    assert demo_post.report is not None
    assert demo_post.report([]) == ["a:demo was sent: 'A text'", "b:demo was sent: 'B text'",
                                    "c:demo was sent: 'C text'"]


def test_no_cross_post_step_when_fewer_than_two_platforms_offer_one() -> None:
    assert cross_post(Path("/m"), started(a=Offering("A", None), old=Silent())) is None
    assert cross_post_part(Silent(), "/m") is None  # type: ignore[arg-type]
