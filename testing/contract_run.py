"""Running a platform against its HTTP fake: one fresh fake per scenario, and the scripted runs
the contract's clauses are made of (fault at request k, cancel at save n, then resume)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import attrs

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import Cancelled, PlatformError, Problem, TransientError, UncertainOutcome
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.platform import Platform
from crosspost.core.settings import Settings
from crosspost.testing.context import FakeJobContext, MemoryRateGate, isolated_settings
from crosspost.testing.contract_cases import ErrorCase
from crosspost.testing.faults import FaultPlan


class ContractFake(Protocol):
    """The platform's HTTP fake, as the contract drives it."""

    @property
    def faults(self) -> FaultPlan:
        """Counts requests and injects faults (install ``faults.middleware()`` outermost)."""
        ...

    def posts_created(self) -> int:
        """Posts that exist at the fake in any state; a second one for a job is a double post."""
        ...


class ContractFactories(Protocol):
    """What a contract subclass provides (see :class:`~crosspost.testing.contract.PlatformContract`)."""

    def make_platform(self) -> Platform: ...

    def valid_posts(self, media_dir: Path) -> Sequence[Post]: ...

    def fake_server(self, clock: FakeClock) -> AbstractAsyncContextManager[ContractFake]: ...

    def settings_env(self, fake: ContractFake) -> Mapping[str, str]: ...

    def make_account(self) -> Account | None: ...


@attrs.define(kw_only=True)
class Scenario:
    """One fresh fake and the settings pointing the platform at it."""

    run: ContractRun
    fake: ContractFake
    settings: Settings

    def context(self, **kwargs: Any) -> FakeJobContext:
        """A job context for the platform's target; ``kwargs`` go to :class:`FakeJobContext`."""
        arguments: dict[str, Any] = {
            "target": Target(platform=self.run.platform.name, account="main"), "http": self.run.http,
            "settings": self.settings, "clock": self.run.clock, "account": self.run.suite.make_account(),
        }
        arguments.update(kwargs)
        return FakeJobContext(**arguments)

    async def problems(self, post: Post) -> list[Problem]:
        """What the engine reports for ``post``: the declared limits' problems, or when they all
        hold, the platform's own ``validate`` (which may therefore rely on them)."""
        platform = self.run.platform
        generic = platform.generic_problems(post)
        if generic:
            return generic
        return list((await platform.validate(post, self.context())).problems)


@attrs.define(kw_only=True)
class ContractRun:
    """What each contract test works with: the platform, a session, a clock and the suite."""

    suite: ContractFactories
    platform: Platform
    http: aiohttp.ClientSession
    clock: FakeClock
    media_dir: Path
    _scenarios: int = 0

    @functools.cached_property
    def post(self) -> Post:
        """The post the publishing scenarios use: the first valid post."""
        posts = self.suite.valid_posts(self.media_dir)
        assert posts, "valid_posts() must return at least one post"
        return posts[0]

    @asynccontextmanager
    async def scenario(self) -> AsyncIterator[Scenario]:
        self._scenarios += 1
        async with self.suite.fake_server(self.clock) as fake:
            data_dir = self.media_dir.parent / f"scenario-{self._scenarios}"
            data_dir.mkdir(exist_ok=True)
            settings = isolated_settings(data_dir, self.suite.settings_env(fake))
            yield Scenario(run=self, fake=fake, settings=settings)

    async def publish_once(self) -> tuple[FakeJobContext, int]:
        """Publish the scenario post against a fresh fake; the context and the requests it took."""
        async with self.scenario() as sc:
            ctx = sc.context()
            before = sc.fake.faults.requests_seen
            await self.platform.publish(self.post, ctx)
            return ctx, sc.fake.faults.requests_seen - before


def fields(problems: Sequence[Problem]) -> set[str]:
    return {p.field for p in problems}



def context_texts(ctx: FakeJobContext) -> list[tuple[str, str]]:
    texts = [("saved checkpoints", repr(ctx.saves)), ("warnings", repr(ctx.warnings))]
    if isinstance(ctx.rate, MemoryRateGate):
        texts.append(("rate limit keys", repr(ctx.rate.keys)))
    return texts


def error_mismatch(case: ErrorCase, exc: Exception) -> list[str]:
    if not isinstance(exc, case.expected):
        return [f"{case.label}: raised {type(exc).__name__}, expected {case.expected.__name__}"]
    problems: list[str] = []
    if isinstance(exc, PlatformError) and exc.retryable != getattr(case.expected, "retryable", exc.retryable):
        problems.append(f"{case.label}: retryable={exc.retryable}")
    if case.retry_after is not None and getattr(exc, "retry_after", None) != case.retry_after:
        problems.append(f"{case.label}: retry_after={getattr(exc, 'retry_after', None)}, "
                        f"expected {case.retry_after}")
    return problems


async def cancel_at_save(contract: ContractRun, sc: Scenario, index: int) -> list[str]:
    """Cancel the job at its ``index``-th save; publish must stop there and send nothing more."""
    faults = sc.fake.faults
    at_cancel: list[int] = []

    def record(i: int, _: Mapping[str, Any]) -> None:
        if i == index:
            at_cancel.append(faults.requests_seen)

    try:
        await contract.platform.publish(contract.post, sc.context(cancel_at_save=index, on_save=record))
    except Cancelled:
        pass
    except Exception as exc:
        return [f"save {index}: publish raised {exc!r}, not Cancelled"]
    else:
        return [f"save {index}: publish finished although ctx.save raised Cancelled"]
    problems = []
    if faults.requests_seen != at_cancel[0]:
        problems.append(f"save {index}: {faults.requests_seen - at_cancel[0]} request(s) sent after the "
                        "cancelled save")
    if index == 0 and sc.fake.posts_created():
        problems.append("a post was created before the first ctx.save")
    return problems


async def resume_after_fault(contract: ContractRun, sc: Scenario, k: int, lost: bool, label: str) -> list[str]:
    """Fail request ``k`` and every later one, then heal and run the job again from its checkpoint."""
    faults = sc.fake.faults
    faults.fail_from(faults.requests_seen + k, 503, after_handling=lost)
    ctx = sc.context()
    try:
        await contract.platform.publish(contract.post, ctx)
    except TransientError:
        pass
    except UncertainOutcome:
        # Honest when an answer was lost and retrying could post twice; the user reconciles.
        if lost and sc.fake.posts_created() <= 1:
            return []
        return [f"{label}: UncertainOutcome although no answer was lost"]
    except Exception as exc:
        return [f"{label}: first attempt raised {exc!r}, expected TransientError"]
    faults.heal()
    return await _one_post_after(contract, sc, ctx.next_attempt(), label)


async def _one_post_after(contract: ContractRun, sc: Scenario, ctx: FakeJobContext, label: str, *,
                          uncertain_ok: bool = False) -> list[str]:
    """Run the job again in ``ctx``: it must end published (or in the inbox) with exactly one post
    (``uncertain_ok``: or park itself with ``UncertainOutcome``, posting nothing more)."""
    try:
        outcome = await contract.platform.publish(contract.post, ctx)
    except UncertainOutcome:
        if uncertain_ok and sc.fake.posts_created() <= 1:
            return []
        return [f"{label}: the next run raised UncertainOutcome"]
    except Exception as exc:
        return [f"{label}: the next run raised {exc!r}"]
    problems = []
    if outcome.status not in (JobStatus.PUBLISHED, JobStatus.INBOX):
        problems.append(f"{label}: the next run ended {outcome.status}")
    if sc.fake.posts_created() != 1:
        problems.append(f"{label}: {sc.fake.posts_created()} posts exist after the next run, expected 1")
    return problems


class PowerCut(Exception):
    """Stands for the machine losing power at a save (raised from ``on_save``, so it is not stored)."""


async def resume_after_power_cut(contract: ContractRun, sc: Scenario, index: int | None) -> list[str]:
    """Cut the power at save ``index`` (None: after publish returned, before the engine's final
    write), then run the job again from what a power cut leaves: the last *durable* save."""
    label = f"power cut at save {index}" if index is not None else "power cut after publish returned"

    def cut(i: int, _: Mapping[str, Any]) -> None:
        if i == index:
            raise PowerCut(label)

    ctx = sc.context(on_save=cut)
    try:
        await contract.platform.publish(contract.post, ctx)
    except PowerCut:
        pass
    except Exception as exc:
        return [f"{label}: the first run raised {exc!r}"]
    return await _one_post_after(contract, sc, ctx.after_power_cut(), label, uncertain_ok=True)
