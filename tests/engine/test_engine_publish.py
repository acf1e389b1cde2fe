"""Publishing through the hub: validation before storing, results, idempotency, accounts, plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosspost.core.accounts import Account
from crosspost.core.errors import InvalidPost, Problem, TransientError
from crosspost.core.hub import Hub, PostNotFound
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from tests.engine.conftest import HubFactory
from tests.engine.engine_fakes import FakePlatform, Recorder


def post(content: str = "hello", *targets: str, **changes: object) -> Post:
    values: dict[str, object] = {"content": content, "targets": [Target.parse(t) for t in targets or ("fake:main",)]}
    values.update(changes)
    return Post(**values)  # type: ignore[arg-type]


async def test_publish_runs_the_job_to_published_with_its_result(hub: Hub, platform: FakePlatform,
                                                                 recorder: Recorder) -> None:
    record = await hub.publish(post())
    assert record.status is JobStatus.PUBLISHED
    assert record.done
    [target] = record.targets
    assert target.target == Target(platform="fake", account="main")
    assert target.publish_id == f"pub-{platform.publish_calls[0][0]}"
    assert target.post_url is not None
    assert target.error is None
    assert recorder.kinds() == ["post_scheduled", "target_published"]
    assert recorder.events[0][2] is None, "run_at is None for a post that runs now"
    kinds = [e.kind for e in await hub.events(record.id)]
    assert kinds == ["submitted", "started", "status", "status", "published"]


async def test_a_target_without_account_uses_the_platforms_only_account(hub: Hub) -> None:
    record = await hub.publish(post("hi", "fake"))
    assert str(record.targets[0].target) == "fake:main"


async def test_every_problem_of_every_target_is_reported_and_nothing_is_stored(
        hub: Hub, platform: FakePlatform) -> None:
    platform.problems = [Problem(field="target_options.fake.privacy", message="not offered; choose PUBLIC")]
    bad = post("hi", "fake:main", "open", "nowhere:acct", "fake:ghost",
               target_options={"fake": {"colour": "red", "content": "x" * 60}})
    with pytest.raises(InvalidPost) as caught:
        await hub.submit(bad)
    fields = [p.field for p in caught.value.problems]
    assert "fake:main: target_options.fake.colour" in fields
    assert "fake:main: content" in fields
    assert "open: media" in fields, "the platform's own checks run for a target without generic problems"
    assert "targets[2]" in fields
    assert "targets[3]" in fields
    assert any("no such platform" in p.message for p in caught.value.problems)
    assert any("no account fake:ghost" in p.message for p in caught.value.problems)
    assert await hub.list_posts() == []
    assert platform.publish_calls == []


async def test_platform_problems_are_reported_without_prefix_for_a_single_target(
        hub: Hub, platform: FakePlatform) -> None:
    platform.problems = [Problem(field="target_options.fake.privacy", message="not offered; choose PUBLIC")]
    with pytest.raises(InvalidPost) as caught:
        await hub.publish(post())
    assert [str(p) for p in caught.value.problems] == ["target_options.fake.privacy: not offered; choose PUBLIC"]
    assert await hub.list_posts() == []


async def test_the_same_account_twice_is_a_problem(hub: Hub) -> None:
    with pytest.raises(InvalidPost, match=r"targets\[1\]: same account as targets\[0\]"):
        await hub.submit(post("hi", "fake:main", "fake"))


async def test_validation_warnings_travel_with_the_result(hub: Hub, platform: FakePlatform) -> None:
    platform.warnings = ("captions over 40 characters are cut in previews",)
    checked = await hub.validate(post(target_options={"fake": {"privacy": "FRIENDS"}}))
    validation = checked[Target(platform="fake", account="main")]
    assert validation.warnings == ("captions over 40 characters are cut in previews",
                                   "privacy FRIENDS is shown as followers-only")
    record = await hub.publish(post(target_options={"fake": {"privacy": "FRIENDS"}}))
    assert record.targets[0].warnings == validation.warnings


async def test_a_platform_down_while_checking_stores_nothing(hub: Hub, platform: FakePlatform) -> None:
    platform.validate_error = TransientError("creator info answered 503")
    with pytest.raises(TransientError):
        await hub.submit(post())
    assert await hub.list_posts() == []


async def test_repeated_submit_with_an_idempotency_key_returns_the_first_post(hub: Hub,
                                                                              platform: FakePlatform) -> None:
    first = await hub.publish(post(idempotency_key="bot-42"))
    platform.problems = [Problem(field="content", message="would fail now")]
    again = await hub.publish(post("different", idempotency_key="bot-42"))
    assert again.id == first.id
    assert again.post.content == "hello"
    assert len(platform.publish_calls) == 1
    assert len(await hub.list_posts()) == 1


async def test_rewrite_hooks_change_what_is_published_but_not_what_is_stored(
        open_hub: HubFactory, platform: FakePlatform, plugins: list[object]) -> None:
    from crosspost.core import hookimpl

    class Signature:
        @hookimpl
        def rewrite_post(self, post: Post, target: Target) -> Post:
            return Post(content=post.content + " -- sent with crosspost", targets=post.targets)

    async with open_hub(plugins=[*plugins, Signature()]) as hub:
        await hub.accounts.add(Account(platform="fake", name="main"))
        record = await hub.publish(post("short"))
    assert record.post.content == "short"
    assert platform.publish_calls[0][1] == "short -- sent with crosspost"


async def test_plan_validates_and_lists_requests_without_publishing(hub: Hub, platform: FakePlatform) -> None:
    plans = await hub.plan(post(media=[Media(type=MediaKind.VIDEO, path=str(Path("/tmp/v.mp4")))]))
    assert {target: list(plan) for target, plan in plans.items()} == {Target(platform="fake", account="main"): []}
    assert platform.publish_calls == []
    assert await hub.list_posts() == []


async def test_get_and_list_posts(hub: Hub) -> None:
    published = await hub.publish(post())
    scheduled = await hub.submit(post("later", scheduled_at="2026-03-02T12:00:00Z"))
    assert (await hub.get(published.id)).status is JobStatus.PUBLISHED
    assert [r.id for r in await hub.list_posts()] == [scheduled.id, published.id]
    assert [r.id for r in await hub.list_posts(status=JobStatus.SCHEDULED)] == [scheduled.id]
    with pytest.raises(PostNotFound, match="no post 'nope'"):
        await hub.get("nope")


async def test_a_platform_without_accounts_publishes_to_the_inbox(hub: Hub) -> None:
    record = await hub.publish(post("hi", "open", media=[Media(type=MediaKind.VIDEO, url="https://x.test/v.mp4")]))
    assert record.status is JobStatus.INBOX
    assert record.targets[0].target == Target(platform="open")
