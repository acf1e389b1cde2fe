"""A scriptable in-test platform and a recorder of lifecycle hooks for the engine tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from crosspost.core import hookimpl
from crosspost.core.errors import Problem
from crosspost.core.models import JobStatus, Post, TargetResult
from crosspost.core.platform import JobContext, Outcome, PlannedRequest, Platform, Validation

Action = Callable[[Post, JobContext], Awaitable[Outcome]]


async def publish_in_steps(post: Post, ctx: JobContext) -> Outcome:
    """What a well-behaved platform does: save before each side effect, report progress."""
    await ctx.save({**ctx.checkpoint, "uploaded": True}, status=JobStatus.UPLOADING)
    ctx.progress(10, 10)
    await ctx.save({**ctx.checkpoint, "publish_id": f"pub-{ctx.job_id}"}, status=JobStatus.PROCESSING)
    return Outcome(status=JobStatus.PUBLISHED, publish_id=f"pub-{ctx.job_id}",
                   post_url=f"https://fake.test/{ctx.job_id}")


def raising(exc: BaseException, *, save: Mapping[str, Any] | None = None) -> Action:
    """An action that (optionally saves a checkpoint, then) raises ``exc``."""

    async def action(post: Post, ctx: JobContext) -> Outcome:
        if save is not None:
            await ctx.save({**ctx.checkpoint, **save})
        raise exc

    return action


class FakePlatform(Platform):
    """Publishes by running scripted actions, one per call, keyed by the post's content."""

    name = "fake"
    caption_limit = 50
    option_names = frozenset({"privacy"})
    needs_account = True

    def __init__(self) -> None:
        self.scripts: dict[str, list[Action]] = {}
        self.publish_calls: list[tuple[str, str, dict[str, Any]]] = []
        """(job_id, content, checkpoint at the call)."""
        self.validate_calls: list[str] = []
        self.cancel_calls: list[tuple[str, dict[str, Any]]] = []
        self.problems: list[Problem] = []
        self.warnings: tuple[str, ...] = ()
        self.validate_error: BaseException | None = None
        self.seen_validations: list[Validation | None] = []
        """``ctx.validation`` at each publish call."""
        self.planned_with: list[Validation | None] = []

    def script(self, content: str, *actions: Action) -> None:
        self.scripts.setdefault(content, []).extend(actions)

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        self.validate_calls.append(post.content)
        if self.validate_error is not None:
            raise self.validate_error
        if post.options_for("fake").get("privacy") == "FRIENDS":
            ctx.warn("privacy FRIENDS is shown as followers-only")
        return Validation(problems=tuple(self.problems), warnings=self.warnings,
                          value=f"check {len(self.validate_calls)} of {post.content}")

    async def plan(self, post: Post, ctx: JobContext) -> list[PlannedRequest]:
        self.planned_with.append(ctx.validation)
        return []

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        self.publish_calls.append((ctx.job_id, post.content, dict(ctx.checkpoint)))
        self.seen_validations.append(ctx.validation)
        actions = self.scripts.get(post.content)
        action = actions.pop(0) if actions else publish_in_steps
        return await action(post, ctx)

    async def cancel(self, ctx: JobContext) -> None:
        self.cancel_calls.append((ctx.job_id, dict(ctx.checkpoint)))

    def calls_for(self, content: str) -> list[dict[str, Any]]:
        return [checkpoint for _, c, checkpoint in self.publish_calls if c == content]


class OpenPlatform(Platform):
    """A platform without accounts, for multi-target posts."""

    name = "open"
    caption_limit = 10
    needs_account = False

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        problems = [Problem(field="media", message="open needs a video")] if not post.media else []
        return Validation(problems=tuple(problems))

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        return Outcome(status=JobStatus.INBOX, publish_id="open-1")


def registering(*platforms: Platform) -> object:
    class _Plugin:
        @hookimpl
        def register_platforms(self, register: Callable[[Platform], None]) -> None:
            for platform in platforms:
                register(platform)

    return _Plugin()


class Recorder:
    """Lifecycle hooks as a bot implements them: some sync, some async."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    @hookimpl
    def post_scheduled(self, post_id: str, post: Post, run_at: str | None) -> None:
        self.events.append(("post_scheduled", post_id, run_at))

    @hookimpl
    async def target_published(self, post_id: str, result: TargetResult) -> None:
        await asyncio.sleep(0)
        self.events.append(("target_published", post_id, result))

    @hookimpl
    async def target_failed(self, post_id: str, result: TargetResult) -> None:
        self.events.append(("target_failed", post_id, result))

    @hookimpl
    def post_cancelled(self, post_id: str) -> None:
        self.events.append(("post_cancelled", post_id, None))

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]


class Broken:
    """A plugin whose lifecycle hooks raise: the others must still be called."""

    @hookimpl
    def post_scheduled(self, post_id: str, post: Post, run_at: str | None) -> None:
        raise RuntimeError("broken bot")

    @hookimpl
    async def target_published(self, post_id: str, result: TargetResult) -> None:
        raise RuntimeError("broken async bot")


class Gate:
    """Lets a test pause an action mid-publish and resume it."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.resume = asyncio.Event()
        self.done = asyncio.Event()
        self.errors: list[BaseException] = []
        self.seen: dict[str, Any] = {}


def paused(gate: Gate, *, first: Mapping[str, Any], then: Mapping[str, Any] | None = None) -> Action:
    """Save ``first`` (as uploading), wait for ``gate.resume``, then save ``then`` and publish."""

    async def action(post: Post, ctx: JobContext) -> Outcome:
        await ctx.save({**ctx.checkpoint, **first}, status=JobStatus.UPLOADING)
        gate.entered.set()
        try:
            await gate.resume.wait()
            if then is not None:
                await ctx.save({**ctx.checkpoint, **then})
        except BaseException as exc:
            gate.errors.append(exc)
            raise
        finally:
            gate.done.set()
        return Outcome(status=JobStatus.PUBLISHED, publish_id="paused-1")

    return action
