"""The plugin through crosspost's whole engine: a temporary hub publishes to the fake Example API."""

from __future__ import annotations

from pathlib import Path

import pytest
from crosspost.core.accounts import Account
from crosspost.core.errors import InvalidPost
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target

import crosspost_example.plugin
from crosspost_example.fake_server import FakeExampleAPI


@pytest.fixture
def crosspost_plugins() -> list[object]:
    """Register the plugin on the test hub (installed entry points are not loaded in tests)."""
    return [crosspost_example.plugin]


@pytest.fixture
async def hub(crosspost_hub: Hub, account: Account) -> Hub:
    await crosspost_hub.accounts.add(account)
    return crosspost_hub


async def test_the_hub_publishes_a_post_to_example_end_to_end(
        hub: Hub, api: FakeExampleAPI, video: Path) -> None:
    post = Post(content="Through the engine", targets=(Target.parse("example:main"),),
                media=(Media(type=MediaKind.VIDEO, path=str(video)),))

    record = await hub.publish(post)

    assert record.status is JobStatus.PUBLISHED
    [result] = record.targets
    assert result.publish_id in api.posts
    assert result.post_url is not None
    assert result.post_url.endswith(f"/p/{result.publish_id}")


async def test_the_hub_reports_every_problem_before_anything_is_uploaded(
        hub: Hub, api: FakeExampleAPI, tmp_path: Path) -> None:
    post = Post(content="x", targets=(Target.parse("example:main"),),
                media=(Media(type=MediaKind.IMAGE, path=str(tmp_path / "missing.jpg")),),
                target_options={"example": {"visibility": "everyone"}})

    with pytest.raises(InvalidPost) as invalid:
        await hub.publish(post)

    assert sorted(p.field for p in invalid.value.problems) == ["media[0].path", "target_options.example.visibility"]
    assert api.requests == []
